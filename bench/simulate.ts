/**
 * A seeded simulation: days of polling every five minutes against the Canary simulator
 * with faults, on simulated time, then a check of every stored minute against what the
 * simulator served. Prints how long it took and what it verified.
 *
 *   npm run bench:simulate -- [days=2] [failureRate=0.1] [seed=1]
 */
import { startCaptureHarness } from "../test/support/capture";

const MINUTE = 60_000;

async function main() {
  const [days = 2, failureRate = 0.1, seed = 1] = process.argv.slice(2).map(Number);
  const harness = await startCaptureHarness({ seed, historyHours: 24 * (days + 2) });
  const started = performance.now();
  try {
    harness.simulator.setFaults({
      failureRate,
      kinds: ["5xx", "429", "malformed", "reset"],
      retryAfter: 1,
    });
    const runs = Math.round((days * 24 * 60) / 5);
    let failedRuns = 0;
    let logins = 0;
    for (let run = 0; run < runs; run++) {
      const summary = await harness.run();
      if (!summary.ok) failedRuns++;
      logins += summary.logins;
      harness.clock.advance(5 * MINUTE);
    }
    harness.simulator.clearFaults();
    await harness.run();
    const simulatedMs = performance.now() - started;

    let verified = 0;
    let mismatched = 0;
    for (const device of harness.sensorDevices) {
      const { stored, served } = await harness.capturedAndServed(device);
      for (const [time, values] of Object.entries(served)) {
        if (canonical(stored[time]) === canonical(values)) verified++;
        else mismatched++;
      }
      mismatched += Object.keys(stored).filter((time) => !(time in served)).length;
    }

    console.log(
      JSON.stringify({
        bench: "simulate",
        days,
        failureRate,
        seed,
        runs: runs + 1,
        failedRuns,
        logins,
        wallMs: Math.round(simulatedMs),
        runsPerSecond: Number(((runs + 1) / (simulatedMs / 1000)).toFixed(1)),
        minutesVerified: verified,
        minutesMismatched: mismatched,
      }),
    );
    if (mismatched > 0) process.exitCode = 1;
  } finally {
    await harness.close();
  }
}

/** JSON with sorted keys, so equal values compare equal whatever order DynamoDB kept. */
function canonical(values: Record<string, number> | undefined): string {
  return JSON.stringify(Object.entries(values ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
