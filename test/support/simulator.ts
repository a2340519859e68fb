import { type CanaryClientOptions, createCanaryClient } from "../../runtime/canary/client";
import { CanarySimulator, type CanarySimulatorOptions } from "../../runtime/canary/simulator";
import type { CanaryClient } from "../../runtime/canary/types";
import { ManualClock } from "../../runtime/clock";

/** The simulator's default account, for tests that log in. */
export const OWNER = { username: "owner@example.com", password: "correct horse battery staple" };

/** A time with no special meaning, 30 s into a minute so windows have a partial minute. */
export const SIM_START = "2026-06-16T12:00:30Z";

/** Simulator options, with the clock optional since tests want a ManualClock they can move. */
export type TestSimulatorOptions = Omit<Partial<CanarySimulatorOptions>, "clock"> & {
  clock?: ManualClock;
};

export interface RunningSimulator {
  simulator: CanarySimulator;
  clock: ManualClock;
  url: string;
  /** A client of this simulator sharing its clock; `options` override the test defaults. */
  client(options?: Partial<CanaryClientOptions>): CanaryClient;
  close(): Promise<void>;
}

/**
 * Starts a Canary simulator on an ephemeral port with a ManualClock at `SIM_START` (unless
 * a clock is given). Clients made by `client()` back off on the same clock, so retries take
 * no real time, and use a fixed jitter of one half so backoff waits are predictable.
 */
export async function startSimulator(
  options: TestSimulatorOptions = {},
): Promise<RunningSimulator> {
  const clock = options.clock ?? new ManualClock(SIM_START);
  const simulator = new CanarySimulator({ ...options, clock });
  const url = await simulator.start();
  return {
    simulator,
    clock,
    url,
    client: (overrides = {}) =>
      createCanaryClient({ baseUrl: url, clock, random: () => 0.5, timeoutMs: 2000, ...overrides }),
    close: () => simulator.close(),
  };
}
