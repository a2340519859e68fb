/**
 * Where the current time comes from. The poll cycle, the Canary client's retries, the
 * simulator and the local mode all take a clock instead of calling `Date.now()`, so that a
 * simulation can run a week of polling in seconds and tests control every wait.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A clock that only moves when told to. `sleep` advances it at once, so code that backs off
 * or waits runs without real delays; `set` and `advance` move it between poll runs.
 */
export class ManualClock implements Clock {
  private current: number;
  /** Every sleep requested, in order, so tests can assert on backoff. */
  readonly sleeps: number[] = [];

  constructor(start: number | string | Date) {
    this.current = new Date(start).getTime();
    if (!Number.isFinite(this.current)) {
      throw new Error(`ManualClock: start time ${String(start)} is not a valid time`);
    }
  }

  now(): number {
    return this.current;
  }

  async sleep(ms: number): Promise<void> {
    const wait = Math.max(0, ms);
    this.sleeps.push(wait);
    this.current += wait;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(time: number | string | Date): void {
    this.current = new Date(time).getTime();
  }
}

/** `2026-12-03T18:33:00Z`: ISO-8601 in UTC, whole seconds, the form used everywhere. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
