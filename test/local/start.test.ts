import * as child from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { CanarySimulator } from "../../runtime/canary/simulator";
import { systemClock } from "../../runtime/clock";
import { npmStart, type Started } from "../support/npm-start";

const ROOT = path.resolve(__dirname, "../..");

interface Devices {
  deviceIds: string[];
  devices: Array<{ id: string; type: string; lastReadingAt: string | null }>;
}

describe("npm start (local mode)", function () {
  // Two real start-ups of ts-node, dynalite and a 24-hour demo backfill.
  this.timeout(120_000);

  let dataDir: string;
  let started: Started | undefined;
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-capture-start-"));
  });
  afterEach(async () => {
    await started?.interrupt();
    started = undefined;
  });
  after(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("says it runs the demo, serves demo data, and prints a curl line that works", async () => {
    started = npmStart(ROOT, { DATA_DIR: dataDir, PORT: "0", POLL_INTERVAL: "60" });

    const [curl] = await started.waitFor(/curl -s -H .*\/devices/, 60_000);
    const firstLines = started.stderr().split("\n").slice(0, 3).join(" ");
    expect(firstLines).to.match(/DEMO MODE/);
    await waitForLog(started, /"msg":"poll finished"/, 60_000);

    const devices = JSON.parse(child.execSync(curl, { encoding: "utf8" })) as Devices;
    expect(devices.deviceIds).to.deep.equal(["1174001", "1174002", "1174003"]);
    expect(devices.devices.find((d) => d.type === "Canary Pro")?.lastReadingAt).to.match(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    const readings = JSON.parse(
      child.execSync(curl.replace(/\/devices$/, "/devices/1174001?limit=5&order=desc"), {
        encoding: "utf8",
      }),
    ) as { readings: Array<Record<string, unknown>> };
    expect(readings.readings).to.have.length(5);
    expect(readings.readings[0]).to.have.all.keys(
      "time",
      "temperature",
      "humidity",
      "air_quality",
      "wifi",
    );

    // The key stays out of the output when nobody is watching; the curl line reads its file.
    const key = fs.readFileSync(path.join(dataDir, "api-key"), "utf8").trim();
    expect(started.stdout() + started.stderr()).to.not.include(key);
    expect(fs.statSync(path.join(dataDir, "api-key")).mode & 0o777).to.equal(0o600);

    await started.interrupt();
    expect(started.stderr()).to.match(
      /canary-capture: stopping;[^\n]*\ncanary-capture: stopped\n$/,
    );
    started = undefined;
  });

  it("resumes after Ctrl-C from the stored cursors, key and token, without logging in again", async () => {
    // A Canary that outlives both starts, as the real one does; the demo's does not.
    const canary = new CanarySimulator({ clock: systemClock });
    const url = await canary.start();
    const accountDir = path.join(dataDir, "account");
    const env = {
      DATA_DIR: accountDir,
      PORT: "0",
      POLL_INTERVAL: "60",
      CANARY_API_URL: url,
      CANARY_USERNAME: "owner@example.com",
      CANARY_PASSWORD: "correct horse battery staple",
    };
    try {
      started = npmStart(ROOT, env);
      const [firstCurl] = await started.waitFor(/curl -s -H .*\/devices/, 60_000);
      const first = await pollFinished(started);
      await started.interrupt();

      started = npmStart(ROOT, env);
      const [secondCurl] = await started.waitFor(/curl -s -H .*\/devices/, 60_000);
      const second = await pollFinished(started);

      expect(started.stderr()).to.not.match(/DEMO MODE/);
      expect(first).to.include({ ok: true, logins: 1 });
      expect(second).to.include({ ok: true, logins: 0 });
      expect(canary.logins).to.equal(1);
      // Only the overlap since the first run is fetched again, not another 24-hour backfill.
      expect(first.readingsFetched).to.be.above(5000);
      expect(second.readingsFetched).to.be.below(500);
      const key = (curl: string) => curl.replace(/http:\/\/127\.0\.0\.1:\d+/, "");
      expect(key(secondCurl)).to.equal(key(firstCurl));
      const devices = JSON.parse(child.execSync(secondCurl, { encoding: "utf8" })) as Devices;
      expect(devices.deviceIds).to.have.length(3);
    } finally {
      await started?.interrupt();
      started = undefined;
      await canary.close();
    }
  });

  describe("Ctrl-C while a poll waits on an unresponsive Canary", () => {
    // A Canary that holds every answer far longer than anyone would wait.
    let canary: CanarySimulator;
    let env: NodeJS.ProcessEnv;
    beforeEach(async () => {
      canary = new CanarySimulator({ clock: systemClock });
      const url = await canary.start();
      canary.setFaults({ latencyMs: 10 * 60_000 });
      env = {
        DATA_DIR: fs.mkdtempSync(path.join(dataDir, "slow-")),
        PORT: "0",
        POLL_INTERVAL: "60",
        CANARY_API_URL: url,
        CANARY_USERNAME: "owner@example.com",
        CANARY_PASSWORD: "correct horse battery staple",
      };
    });
    afterEach(async () => {
      // Whatever happened above, leave no process behind.
      if (started?.groupAlive() && started.process.pid)
        process.kill(-started.process.pid, "SIGKILL");
      started = undefined;
      await canary.close();
    });

    /** Starts, waits until the first poll is stuck on Canary, and presses Ctrl-C once. */
    const interruptStuckPoll = async (current: Started) => {
      await current.waitFor(/curl -s -H .*\/devices/, 60_000);
      await until(() => canary.requestLog.length > 0, 10_000, "no request reached Canary");
      current.signal("SIGINT");
      await current.waitFor(/canary-capture: stopping/, 5_000);
      // A person presses Ctrl-C again after reading the message, not within milliseconds.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(current.groupAlive(), "the first Ctrl-C waits for the poll").to.equal(true);
      expect(current.stderr()).to.not.match(/without waiting/);
    };

    it("stops at once on a second Ctrl-C and says it did not wait", async () => {
      started = npmStart(ROOT, env);
      await interruptStuckPoll(started);

      started.signal("SIGINT");
      await within(started.exited, 5_000, "npm start was still running 5 s after a second Ctrl-C");

      expect(started.groupAlive()).to.equal(false);
      expect(started.stderr()).to.match(
        /\ncanary-capture: stopped at once without waiting for the poll in progress[^\n]*\n$/,
      );
      const output = started.stdout() + started.stderr();
      expect(output).to.not.include("correct horse battery staple");
    });

    it("exits with 130 on a second Ctrl-C, and counts one Ctrl-C that npm forwards as one", async () => {
      // With bash, npm's child is node itself: one Ctrl-C reaches node from the terminal and
      // again from npm, a millisecond apart. That must not count as a second Ctrl-C.
      started = npmStart(ROOT, env, { scriptShell: "/bin/bash" });
      await interruptStuckPoll(started);

      started.signal("SIGINT");
      const code = await within(
        started.exited,
        5_000,
        "npm start was still running 5 s after a second Ctrl-C",
      );

      expect(code).to.equal(130);
      expect(started.stderr()).to.match(/stopped at once without waiting/);
    });
  });

  it("refuses a bad setting with a clear message and exit code 1", async () => {
    started = npmStart(ROOT, { DATA_DIR: dataDir, POLL_INTERVAL: "soon" });
    const code = await new Promise<number | null>((resolve) =>
      started?.process.once("exit", resolve),
    );
    expect(code).to.equal(1);
    expect(started.stderr()).to.match(/POLL_INTERVAL must be a whole number from 10 to 86400/);
    started = undefined;
  });
});

interface Finished {
  ok: boolean;
  logins: number;
  readingsFetched: number;
}

async function pollFinished(started: Started): Promise<Finished> {
  await waitForLog(started, /"msg":"poll finished"/, 60_000);
  const line = started
    .stdout()
    .split("\n")
    .find((text) => text.includes('"poll finished"'));
  return JSON.parse(line ?? "{}") as Finished;
}

async function waitForLog(started: Started, pattern: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(started.stdout())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the log within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves as `promise` does, or rejects with `failure` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, failure: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(failure)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
