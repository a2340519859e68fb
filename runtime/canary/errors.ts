/**
 * Errors from Canary's API. Each carries the status, method and URL of the request that
 * failed, and never a token, password or response body that could hold one.
 */
export class CanaryHttpError extends Error {
  override name = "CanaryHttpError";
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    detail?: string,
  ) {
    super(
      `Canary ${method} ${url} failed with ${status === 0 ? "a network error" : `status ${status}`}${detail ? `: ${detail}` : ""}`,
    );
  }
}

/** A data call answered 401: the token is no longer valid. */
export class CanaryUnauthorizedError extends CanaryHttpError {
  override name = "CanaryUnauthorizedError";
}

/** The password grant was refused (`invalid_grant`, a wrong password or a locked account). */
export class LoginRejectedError extends CanaryHttpError {
  override name = "LoginRejectedError";
  constructor(status: number, method: string, url: string) {
    super(
      status,
      method,
      url,
      "Canary rejected the username or password; check them (a wrong password is not retried for a cool-down period)",
    );
  }
}

/** The account has two-factor authentication: a password login cannot work. */
export class MfaRequiredError extends CanaryHttpError {
  override name = "MfaRequiredError";
  constructor(status: number, method: string, url: string) {
    super(
      status,
      method,
      url,
      "this Canary account uses two-factor authentication; supply a token obtained by logging in with the code (CANARY_TOKEN locally, the canaryToken config in AWS) instead of a password",
    );
  }
}
