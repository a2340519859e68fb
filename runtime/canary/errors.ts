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

/**
 * Canary asked, through `Retry-After`, for a longer wait than the client may spend on one
 * request. The request is given up; the next poll run asks again.
 */
export class CanaryThrottledError extends CanaryHttpError {
  override name = "CanaryThrottledError";
  constructor(
    status: number,
    method: string,
    url: string,
    /** The wait Canary asked for. */
    readonly retryAfterMs: number,
    maxDelayMs: number,
  ) {
    super(
      status,
      method,
      url,
      `Canary asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After), longer than the ${maxDelayMs} ms one request may wait; giving up on it, the next poll run will ask again`,
    );
  }
}

/**
 * A listing ended (`meta.next` null) with fewer rows than its `meta.total_count` announced,
 * on every attempt. Canary groups readings by sensor type, so the missing rows may be whole
 * sensor types.
 */
export class CanaryIncompleteListingError extends CanaryHttpError {
  override name = "CanaryIncompleteListingError";
  constructor(
    status: number,
    method: string,
    url: string,
    /** Rows received over all pages of the last attempt. */
    readonly received: number,
    /** `meta.total_count` of the last attempt's first page. */
    readonly expected: number,
    attempts: number,
  ) {
    super(
      status,
      method,
      url,
      `the listing was short: ${received} of the ${expected} rows meta.total_count announced arrived before meta.next ran out, on each of ${attempts} attempts; readings of whole sensor types may be missing, so none are returned`,
    );
  }
}
