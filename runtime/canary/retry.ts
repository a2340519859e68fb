/**
 * Backoff timing for the Canary client: exponential backoff with full jitter, and the
 * server's `Retry-After` when it sends one.
 */
export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** A number in [0, 1). */
  random: () => number;
}

/**
 * The wait before retry number `retry` (0 for the first retry): a uniformly random time
 * between 0 and `min(maxDelayMs, baseDelayMs * 2^retry)`. Full jitter spreads the retries of
 * many pollers that failed together instead of having them return in step.
 */
export function backoffDelay(retry: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  const fraction = Math.min(Math.max(options.random(), 0), 1);
  return Math.floor(ceiling * fraction);
}

/**
 * Milliseconds to wait as asked by a `Retry-After` header: delay-seconds or an HTTP date,
 * measured against `nowMs`. Undefined when the header is absent or unreadable, so the caller
 * falls back to its own backoff. Never negative; the caller applies its own cap.
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, date - nowMs);
}
