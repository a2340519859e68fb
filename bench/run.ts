/**
 * Measures what the project promises about speed, and prints one JSON line per number:
 *
 * - capture: a first 24-hour backfill of the simulator's two sensor devices, then a steady
 *   five-minute run, against dynalite (wall time of `runPoll`).
 * - read API: a full page (500 minutes) and the latest reading through the local gateway and
 *   its VTL templates, p50 and p95 over repeated requests.
 * - start-up: `npm start` on a fresh data directory until the demo's first poll has finished
 *   and `/devices` answers (the README's "within 30 seconds").
 *
 *   npm run bench
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { API_KEY, startApi } from "../test/api/harness";
import { seedReadings } from "../test/api/seed";
import { startCaptureHarness } from "../test/support/capture";
import { startDynamo } from "../test/support/dynamo";
import { npmStart } from "../test/support/npm-start";

const ROOT = path.resolve(__dirname, "..");

function print(result: Record<string, unknown>) {
  console.log(JSON.stringify(result));
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(1),
  );
}

async function capture() {
  const harness = await startCaptureHarness();
  try {
    let started = performance.now();
    const backfill = await harness.run();
    print({
      bench: "capture backfill, 24 h of 2 devices",
      ms: Math.round(performance.now() - started),
      readings: backfill.readingsFetched,
      itemsWritten: backfill.itemsWritten,
    });
    const steady: number[] = [];
    for (let run = 0; run < 20; run++) {
      harness.clock.advance(5 * 60_000);
      started = performance.now();
      await harness.run();
      steady.push(performance.now() - started);
    }
    print({
      bench: "capture steady run, 5 min of 2 devices",
      runs: 20,
      p50Ms: percentile(steady, 50),
      p95Ms: percentile(steady, 95),
    });
  } finally {
    await harness.close();
  }
}

async function readApi() {
  const dynamo = await startDynamo();
  const api = await startApi(dynamo);
  try {
    const seeded = await seedReadings(dynamo);
    for (const [name, route] of [
      [
        "read API, page of 500 minutes",
        `/devices/${seeded.deviceId}?from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&limit=500`,
      ],
      ["read API, latest reading", `/devices/${seeded.deviceId}/latest`],
      [
        "read API, hour rollups of a day",
        `/devices/${seeded.deviceId}?from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&resolution=hour`,
      ],
    ] as const) {
      const samples: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 60; i++) {
        const started = performance.now();
        const response = await fetch(`${api.url}${route}`, { headers: { "x-api-key": API_KEY } });
        bytes = (await response.text()).length;
        if (response.status !== 200) throw new Error(`${route} answered ${response.status}`);
        if (i >= 10) samples.push(performance.now() - started);
      }
      print({
        bench: name,
        requests: samples.length,
        p50Ms: percentile(samples, 50),
        p95Ms: percentile(samples, 95),
        bytes,
      });
    }
  } finally {
    await api.close();
    await dynamo.close();
  }
}

async function startUp() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-capture-bench-"));
  const started = performance.now();
  const run = npmStart(ROOT, { DATA_DIR: dataDir, PORT: "0" });
  try {
    const [curlLine] = await run.waitFor(/curl -s -H .*\/devices/, 60_000);
    const url = (curlLine.match(/http:\/\/[^ ]+\/devices/) ?? [""])[0];
    const key = fs.readFileSync(path.join(dataDir, "api-key"), "utf8").trim();
    for (;;) {
      const response = await fetch(`${url}/1174001/latest`, { headers: { "x-api-key": key } });
      const body = (await response.json()) as { reading: unknown };
      if (body.reading) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    print({
      bench: "npm start until demo data is served",
      ms: Math.round(performance.now() - started),
    });
  } finally {
    await run.interrupt();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  await capture();
  await readApi();
  await startUp();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
