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
  constructor(rejectedAt: string, retryAfter: string) {
    super(
      `Canary rejected these credentials at ${rejectedAt}; no new login is attempted before ${retryAfter}, so a wrong password cannot lock the account or flood the owner with login e-mails. Fix the username or password (a changed password is tried at once).`,
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
  private relogged = false;
  /** Password logins this run attempted. */
  logins = 0;

  constructor(private readonly options: SessionOptions) {}

  /** The token to use, loading or obtaining it once per run. */
  token(): Promise<string> {
    this.current ??= this.load();
    return this.current;
  }

  /**
   * Called after `stale` was answered with 401. Concurrent callers share one new login;
   * a second 401 in the same run is not answered with yet another login.
   */
  async refresh(stale: string): Promise<string> {
    const current = await this.token().catch(() => undefined);
    if (current !== undefined && current !== stale) return current;
    if ("token" in this.options.credentials) throw new TokenRejectedError();
    if (this.relogged) {
      throw new Error(
        "Canary answered 401 to a token obtained in this run; giving up until the next run",
      );
    }
    this.relogged = true;
    this.current = (async () => {
      await this.options.metadata.deleteToken();
      return this.login(this.options.credentials as { username: string; password: string });
    })();
    return this.current;
  }

  private async load(): Promise<string> {
    const { credentials, metadata, box, log } = this.options;
    if ("token" in credentials) return credentials.token;

    const stored = await metadata.token();
    if (stored) {
      try {
        return await box.open("canary-token", stored.sealed);
      } catch (error) {
        // A KMS outage must not cost the owner a login e-mail; only a token sealed with
        // another key (a replaced key file or KMS key) is useless and replaced.
        if (!(error instanceof SecretBoxError && error.invalidCiphertext)) throw error;
        log.warn("stored token cannot be opened; logging in again", { error });
      }
    }
    return this.login(credentials);
  }

  private async login(credentials: { username: string; password: string }): Promise<string> {
    const { canary, metadata, box, clock, log, loginCooldownMs } = this.options;
    const secret = `${credentials.username}\n${credentials.password}`;

    const failure = await metadata.loginFailure();
    if (failure && Date.parse(failure.at) + loginCooldownMs > clock.now()) {
      const same = await box.open("login-failure", failure.sealedCredentials).then(
        (rejected) => rejected === secret,
        () => true,
      );
      if (same) {
        throw new LoginCooldownError(
          failure.at,
          isoSeconds(Date.parse(failure.at) + loginCooldownMs),
        );
      }
    }

    this.logins++;
    log.info("logging in to Canary with the password");
    try {
      const grant = await canary.login(credentials.username, credentials.password);
      const now = isoSeconds(clock.now());
      await metadata.saveToken(await box.seal("canary-token", grant.accessToken), now);
      if (failure) await metadata.clearLoginFailure();
      return grant.accessToken;
    } catch (error) {
      if (error instanceof LoginRejectedError || error instanceof MfaRequiredError) {
        await metadata.saveLoginFailure({
          at: isoSeconds(clock.now()),
          status: error.status,
          sealedCredentials: await box.seal("login-failure", secret),
        });
      }
      throw error;
    }
  }
}
