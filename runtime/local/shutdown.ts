import * as os from "node:os";

/** How long the first Ctrl-C waits for a poll in progress. */
export const DEFAULT_GRACE_MS = 10_000;

/**
 * A signal this soon after the first is the same Ctrl-C delivered twice: npm forwards the
 * terminal's SIGINT to its child, and when that child is node itself (a shell that execs
 * the script's command, as on macOS) node gets both, about a millisecond apart.
 */
export const SAME_SIGNAL_WITHIN_MS = 250;

export interface StopOnSignalOptions {
  /** Stops polling, waits at most `waitMs` for a poll in progress, and closes every server. */
  stop(options: { waitMs: number }): Promise<{ pollFinished: boolean }>;
  /** Where the one-line messages go. */
  say(line: string): void;
  /** Ends the process with `code`. */
  exit(code: number): void;
  /** How long the first signal waits for a poll in progress. @default 10000 */
  graceMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export type StopSignal = "SIGINT" | "SIGTERM";

/**
 * What Ctrl-C (SIGINT) and SIGTERM do in local mode. The first waits for a poll in progress,
 * at most `graceMs`, closes the servers and exits: 0 when the poll finished, 128 + the
 * signal's number (130 for SIGINT) when it was cut short. A second exits at once with
 * 128 + its number. Either way the data stays consistent, since a poll moves a device's
 * cursor only after storing its readings: the next start fetches the rest.
 */
export function createStopOnSignal(options: StopOnSignalOptions): (signal: StopSignal) => void {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const now = options.now ?? Date.now;
  let firstAt: number | undefined;
  let exiting = false;
  const { say } = options;
  const exit = (code: number) => {
    exiting = true;
    options.exit(code);
  };

  return (signal) => {
    if (exiting) return;
    const code = 128 + os.constants.signals[signal];
    if (firstAt === undefined) {
      firstAt = now();
      say(
        `canary-capture: stopping; a poll in progress gets up to ${graceMs / 1000} s to finish (Ctrl-C again stops at once)`,
      );
      options.stop({ waitMs: graceMs }).then(
        ({ pollFinished }) => {
          if (pollFinished) {
            say("canary-capture: stopped");
            exit(0);
            return;
          }
          say(
            `canary-capture: stopped without the poll in progress, which did not finish within ${graceMs / 1000} s; the next start resumes from the stored cursors`,
          );
          exit(code);
        },
        (error: Error) => {
          say(`canary-capture: stopping failed: ${error.message}`);
          exit(1);
        },
      );
      return;
    }
    if (now() - firstAt < SAME_SIGNAL_WITHIN_MS) return;
    say(
      "canary-capture: stopped at once without waiting for the poll in progress; the next start resumes from the stored cursors",
    );
    exit(code);
  };
}
