import { LoginRejectedError, MfaRequiredError } from "../canary/errors";
import type { CanaryClient } from "../canary/types";
import { type Clock, isoSeconds } from "../clock";
import type { Logger } from "../log";
import type { SecretBox } from "../secrets/box";
import { SecretBoxError } from "../secrets/errors";
import type { MetadataStore } from "../store/metadata";

/** How the poll cycle authenticates: the owner's password, or a token they obtained. */
export type Credentials = { username: string; password: string } | { token: string };

/** A login was not attempted because these credentials were rejected recently. */
export class LoginCooldownError extends Error {
  override name = "LoginCooldownError";
  constructor(rejectedAt: string, retryAfter: string, status: number) {
    super(
      status === 403
        ? `Canary asked for two-factor authentication at ${rejectedAt}, so a password login cannot work for this account: supply a token instead (CANARY_TOKEN locally, the canaryToken config in AWS). No password login is attempted before ${retryAfter}.`
        : `Canary rejected these credentials at ${rejectedAt}; no new login is attempted before ${retryAfter}, so a wrong password cannot lock the account or flood the owner with login e-mails. Fix the username or password (a changed password is tried at once).`,
    );
  }
}

/** Canary refused a token that was obtained too recently to justify another login. */
export class RecentTokenRefusedError extends Error {
  override name = "RecentTokenRefusedError";
  constructor(obtainedAt: string, retryAfter: string) {
    super(
      `Canary answered 401 to a token obtained at ${obtainedAt}; no new login is attempted before ${retryAfter}, so a persistent 401 cannot send the owner a login e-mail on every run`,
    );
  }
}

/** The owner's pre-obtained token was refused and there is no password to log in with. */
export class TokenRejectedError extends Error {
  override name = "TokenRejectedError";
  constructor() {
    super(
      "Canary refused the configured token (401); obtain a new token and configure it, or configure a password instead",
    );
  }
}

export interface SessionOptions {
  canary: CanaryClient;
  credentials: Credentials;
  metadata: MetadataStore;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  /** How long a rejected login blocks further attempts with the same credentials. */
  loginCooldownMs: number;
}

/**
 * The Canary token for one run. Every password login e-mails the owner, so the token is
 * kept sealed in the metadata table and reused across runs and restarts; a 401 drops it
 * and logs in again at most once per run; a rejected login is remembered and not retried
 * with the same credentials before the cool-down ends.
 */
export class CanarySession {
  private current: Promise<string> | undefined;
  private refreshed: Promise<string> | undefined;
  /** When the stored token was obtained, and whether it replaced a refused one. */
  private stored: { obtainedAt: number; afterRefusal: boolean } | undefined;
  /** Password logins this run attempted. */
  logins = 0;

  constructor(private readonly options: SessionOptions) {}

  /** The token to use, loading or obtaining it once per run. */
  token(): Promise<string> {
    this.current ??= this.load();
    return this.current;
  }

  /**
   * Called after `stale` was answered with 401. The first caller claims the one new login
   * this run may make, synchronously, so concurrent 401s share it; a 401 to the new token
   * gets no further login. Nor does a 401 to a token that itself replaced a refused one
   * within the cool-down: a persistent 401 must not cost the owner a login e-mail every run.
   */
  refresh(stale: string): Promise<string> {
    this.refreshed ??= this.relogin();
    return this.refreshed.then((fresh) => {
      if (fresh === stale) {
        throw new Error(
          "Canary answered 401 to a token obtained in this run; giving up until the next run",
        );
      }
      return fresh;
    });
  }

  private async relogin(): Promise<string> {
    const { credentials, metadata, clock, loginCooldownMs } = this.options;
    if ("token" in credentials) throw new TokenRejectedError();
    await this.token().catch(() => undefined);
    if (this.logins > 0) {
      throw new Error(
        "Canary answered 401 to a token obtained in this run; giving up until the next run",
      );
    }
    const stored = this.stored;
    if (stored?.afterRefusal && stored.obtainedAt + loginCooldownMs > clock.now()) {
      throw new RecentTokenRefusedError(
        isoSeconds(stored.obtainedAt),
        isoSeconds(stored.obtainedAt + loginCooldownMs),
      );
    }
    await metadata.deleteToken();
    this.current = this.login(credentials, true);
    return this.current;
  }

  private async load(): Promise<string> {
    const { credentials, metadata, box, log } = this.options;
    if ("token" in credentials) return credentials.token;

    const stored = await metadata.token();
    if (stored) {
      try {
        const token = await box.open("canary-token", stored.sealed);
        this.stored = {
          obtainedAt: Date.parse(stored.obtainedAt),
          afterRefusal: stored.afterRefusal === true,
        };
        return token;
      } catch (error) {
        // A KMS outage must not cost the owner a login e-mail; only a token sealed with
        // another key (a replaced key file or KMS key) is useless and replaced.
        if (!(error instanceof SecretBoxError && error.invalidCiphertext)) throw error;
        log.warn("stored token cannot be opened; logging in again", { error });
      }
    }
    return this.login(credentials);
  }

  private async login(
    credentials: { username: string; password: string },
    afterRefusal = false,
  ): Promise<string> {
    const { canary, metadata, box, clock, log, loginCooldownMs } = this.options;
    const secret = `${credentials.username}\n${credentials.password}`;

    const failure = await metadata.loginFailure();
    if (failure && Date.parse(failure.at) + loginCooldownMs > clock.now()) {
      // Credentials that cannot be compared (no sealed copy, another key) count as the same.
      const same = failure.sealedCredentials
        ? await box.open("login-failure", failure.sealedCredentials).then(
            (rejected) => rejected === secret,
            () => true,
          )
        : true;
      if (same) {
        throw new LoginCooldownError(
          failure.at,
          isoSeconds(Date.parse(failure.at) + loginCooldownMs),
          failure.status,
        );
      }
    }

    this.logins++;
    log.info("logging in to Canary with the password");
    let accessToken: string;
    try {
      accessToken = (await canary.login(credentials.username, credentials.password)).accessToken;
    } catch (error) {
      if (error instanceof LoginRejectedError || error instanceof MfaRequiredError) {
        await this.recordRejection(error.status, secret);
      }
      throw error;
    }

    try {
      await metadata.saveToken(
        await box.seal("canary-token", accessToken),
        isoSeconds(clock.now()),
        afterRefusal,
      );
      if (failure) await metadata.clearLoginFailure();
    } catch (error) {
      // The login worked: use the token for this run rather than throw it away.
      log.warn("the new Canary token could not be stored; it serves this run only", { error });
    }
    return accessToken;
  }

  /** Remembers a rejected login; a failure to do so never hides the rejection itself. */
  private async recordRejection(status: number, secret: string): Promise<void> {
    const { metadata, box, clock, log } = this.options;
    const sealedCredentials = await box.seal("login-failure", secret).catch(() => undefined);
    try {
      await metadata.saveLoginFailure({
        at: isoSeconds(clock.now()),
        status,
        ...(sealedCredentials ? { sealedCredentials } : {}),
      });
    } catch (error) {
      log.warn("the rejected login could not be recorded", { error });
    }
  }
}
