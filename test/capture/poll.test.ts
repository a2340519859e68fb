import * as lib from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { isoSeconds } from "../../runtime/clock";
import { SENSORS } from "../../runtime/store/tables";
import { type CaptureHarness, START, startCaptureHarness } from "../support/capture";
import { type DynamoProxy, startDynamoProxy } from "../support/dynamo-proxy";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const start = Date.parse(START);

describe("poll cycle against the Canary simulator and dynalite", () => {
  describe("backfill and incremental runs", () => {
    let harness: CaptureHarness;
    before(async () => {
      harness = await startCaptureHarness();
    });
    after(async () => {
      await harness.close();
    });

    it("backfills 24 hours per sensor device at one item per minute, equal to what was served", async () => {
      const summary = await harness.run();

      expect(summary).to.include({ ok: true, devices: 3, polled: 2, errors: 0, logins: 1 });
      expect(harness.sensorDevices).to.have.length(2);
      for (const device of harness.sensorDevices) {
        const stored = await harness.storedMinutes(device);
        const expected = harness.expectedMinutes(device, start - 24 * HOUR, start);
        expect(stored.size).to.be.within(1440, 1441);
        expect([...stored.keys()].sort()).to.deep.equal([...expected.keys()]);
        expect(Object.fromEntries(stored)).to.deep.equal(Object.fromEntries(expected));
      }
    });

    it("lists a device without sensors but never polls it", async () => {
      const view = harness.simulator.devices.find((device) => device.typeId === 4);
      expect(view, "the simulator has a Canary View").to.not.equal(undefined);
      expect((await harness.storedMinutes(String(view?.id))).size).to.equal(0);
      const record = await harness.dynamo.doc.send(
        new lib.GetCommand({
          TableName: harness.dynamo.tables.metadata,
          Key: { pk: "device", sk: String(view?.id) },
        }),
      );
      expect(record.Item).to.include({ type: "Canary View", online: true });
      expect(record.Item).to.not.have.property("lastReadingAt");
    });

    it("adds only the new minutes on the next run and keeps every earlier item as it was", async () => {
      const before = await harness.scanReadings();
      harness.clock.advance(7 * MINUTE);

      const summary = await harness.run();

      expect(summary.ok).to.equal(true);
      const after = await harness.scanReadings();
      const beforeKeys = new Set(before.map((item) => `${item.deviceId}|${item.period}`));
      const added = after.filter(
        (item) =>
          String(item.period).startsWith("minute#") &&
          !beforeKeys.has(`${item.deviceId}|${item.period}`),
      );
      expect(added).to.have.length(2 * 7);
      const unchangedMinutes = before.filter((item) => String(item.period).startsWith("minute#"));
      const afterByKey = new Map(after.map((item) => [`${item.deviceId}|${item.period}`, item]));
      for (const item of unchangedMinutes) {
        expect(afterByKey.get(`${item.deviceId}|${item.period}`)).to.deep.equal(item);
      }
      for (const device of harness.sensorDevices) {
        const { stored, served } = await harness.capturedAndServed(device);
        expect(stored).to.deep.equal(served);
      }
    });

    it("records a device going offline and back, and keeps its cursor", async () => {
      const flex = harness.sensorDevices[1] as string;
      const before = await harness.deviceRecord(flex);
      harness.simulator.setOnline(flex, false);
      harness.clock.advance(MINUTE);

      await harness.run();
      const offline = await harness.deviceRecord(flex);
      harness.simulator.setOnline(flex, true);
      await harness.run();
      const online = await harness.deviceRecord(flex);

      expect(offline).to.include({ online: false, updatedAt: isoSeconds(harness.clock.now()) });
      expect(offline?.lastReadingAt).to.equal(before?.lastReadingAt);
      expect(offline?.firstSeenAt).to.equal(START);
      expect(online?.online).to.equal(true);
    });

    it("changes nothing when a window is run again, even a whole backfill", async () => {
      const before = await harness.scanReadings();

      const again = await harness.run();
      // Forget one device's cursor so its whole 24 hours are fetched and merged again.
      await harness.dynamo.doc.send(
        new lib.UpdateCommand({
          TableName: harness.dynamo.tables.metadata,
          Key: { pk: "device", sk: harness.sensorDevices[0] },
          UpdateExpression: "REMOVE lastReadingAt, checkedThrough",
        }),
      );
      const refetched = await harness.run();

      expect(again.ok && refetched.ok).to.equal(true);
      expect(refetched.readingsFetched).to.be.greaterThan(1000);
      expect(await harness.scanReadings()).to.deep.equal(before);
    });

    it("stores hourly and daily rollups equal to the mean, min, max and count of the stored minutes", async () => {
      const items = await harness.scanReadings();
      for (const device of harness.sensorDevices) {
        const minutes = items.filter(
          (item) => item.deviceId === device && String(item.period).startsWith("minute#"),
        );
        for (const [resolution, keyLength, suffix] of [
          ["hour", 13, ":00:00Z"],
          ["day", 10, "T00:00:00Z"],
        ] as const) {
          const groups = new Map<string, Record<string, unknown>[]>();
          for (const minute of minutes) {
            const key = `${String(minute.time).slice(0, keyLength)}${suffix}`;
            groups.set(key, [...(groups.get(key) ?? []), minute]);
          }
          const rollups = items.filter(
            (item) => item.deviceId === device && String(item.period).startsWith(`${resolution}#`),
          );
          expect(rollups.map((item) => item.time)).to.deep.equal([...groups.keys()].sort());
          for (const item of rollups) {
            assertRollup(item, groups.get(item.time as string) ?? []);
          }
        }
      }
    });
  });

  describe("outages, offline devices and retention", () => {
    let harness: CaptureHarness;
    afterEach(async () => {
      await harness.close();
    });

    it("catches up a gap of several steps, across hours when a device was offline", async () => {
      harness = await startCaptureHarness();
      const flex = harness.sensorDevices[1] as string;
      await harness.run();

      // The poller stops for 20 hours; in the middle of them the Flex is offline for 8.
      harness.clock.advance(6 * HOUR);
      harness.simulator.setOnline(flex, false);
      harness.clock.advance(8 * HOUR);
      harness.simulator.setOnline(flex, true);
      harness.clock.advance(6 * HOUR);
      const caughtUp = await harness.run();

      expect(caughtUp.ok).to.equal(true);
      for (const device of harness.sensorDevices) {
        const { stored, served } = await harness.capturedAndServed(device);
        expect(stored).to.deep.equal(served);
      }
      const flexMinutes = await harness.storedMinutes(flex);
      expect(flexMinutes.size).to.be.below(1440 + 20 * 60 - 7 * 60);
    });

    it("reads an offline device from where it was last checked, not from its last reading", async () => {
      harness = await startCaptureHarness();
      const flex = harness.sensorDevices[1] as string;
      await harness.run();
      harness.simulator.setOnline(flex, false);
      for (let run = 0; run < 12; run++) {
        harness.clock.advance(6 * HOUR);
        await harness.run();
      }

      const before = harness.simulator.requestLog.length;
      harness.clock.advance(5 * MINUTE);
      await harness.run();
      const readingsCalls = harness.simulator.requestLog
        .slice(before)
        .filter((request) => request.path === "/v1/readings/" && request.query.device === flex);
      // Three days offline: one short window, not three days in 6-hour steps.
      expect(readingsCalls).to.have.length(1);
      const [range] = String(readingsCalls[0]?.query.created__range).split(",");
      expect(Date.parse(range as string)).to.be.at.least(harness.clock.now() - 30 * MINUTE);
      const record = await harness.deviceRecord(flex);
      expect(Date.parse(record?.lastReadingAt as string)).to.be.below(start + MINUTE);
    });

    it("gives every minute and rollup an expiry when a retention is set", async () => {
      harness = await startCaptureHarness();
      await harness.run({ settings: { retentionDays: 30 } });

      const items = await harness.scanReadings();
      expect(items.length).to.be.greaterThan(2900);
      for (const item of items) {
        const expected = Math.floor(Date.parse(item.time as string) / 1000) + 30 * 86_400;
        expect(item.expiresAt, String(item.period)).to.equal(expected);
      }

      // Changing the retention rewrites what the next window touches with the new expiry.
      harness.clock.advance(5 * MINUTE);
      await harness.run({ settings: { retentionDays: 7 } });
      const recent = (await harness.scanReadings()).filter(
        (item) => Date.parse(item.time as string) >= harness.clock.now() - 10 * MINUTE,
      );
      expect(recent.length).to.be.greaterThan(0);
      for (const item of recent) {
        const expected = Math.floor(Date.parse(item.time as string) / 1000) + 7 * 86_400;
        expect(item.expiresAt, String(item.period)).to.equal(expected);
      }
    });
  });

  describe("faults", () => {
    let harness: CaptureHarness;
    let proxy: DynamoProxy | undefined;
    afterEach(async () => {
      await proxy?.close();
      proxy = undefined;
      await harness.close();
    });

    it("ends with exactly the simulator's data after repeated runs with 20% of requests failing", async () => {
      // One retry per request: faults get through to the poll cycle, not only to the client.
      // Sensors report at different seconds, so window edges split minutes.
      harness = await startCaptureHarness(
        { seed: 7, staggerSensors: true },
        { maxRetries: 1, baseDelayMs: 200 },
      );
      harness.simulator.setFaults({
        failureRate: 0.2,
        kinds: ["5xx", "429", "timeout", "malformed", "reset", "short", "dropSensor"],
        retryAfter: 2,
        timeoutHoldMs: 600,
      });

      const summaries = [];
      for (let run = 0; run < 12; run++) {
        summaries.push(await harness.run());
        harness.clock.advance(5 * MINUTE);
      }
      const failed = summaries.filter((summary) => !summary.ok).length;
      harness.simulator.clearFaults();
      const last = await harness.run();

      expect(failed, "some runs met faults they could not retry away").to.be.greaterThan(0);
      expect(last.ok).to.equal(true);
      // The backfill reaches back 24 hours from when each device was first listed.
      for (const device of harness.sensorDevices) {
        const { stored, served } = await harness.capturedAndServed(device);
        expect(stored).to.deep.equal(served);
      }
    });

    it("completes the data after a run whose writes fail midway", async () => {
      harness = await startCaptureHarness();
      proxy = await startDynamoProxy(harness.dynamo.endpoint);
      // Early in the first step, so the lost part lies far outside the next run's overlap.
      proxy.failWritesAfter(100);

      const killed = await harness.run({ dynamoEndpoint: proxy.endpoint });
      expect(killed.ok).to.equal(false);
      expect(proxy.itemsWritten).to.be.within(1, 100);
      const partial = await harness.storedMinutes(harness.sensorDevices[0] as string);
      expect(partial.size).to.be.lessThan(1440);

      harness.clock.advance(5 * MINUTE);
      const next = await harness.run();

      expect(next.ok).to.equal(true);
      for (const device of harness.sensorDevices) {
        const { stored, served } = await harness.capturedAndServed(device);
        expect(stored).to.deep.equal(served);
      }
    });

    it("keeps polling the other devices when one device fails", async () => {
      harness = await startCaptureHarness();
      const [broken, healthy] = harness.sensorDevices as [string, string];
      harness.simulator.setFaults({ failureRate: 1, kinds: ["5xx"], devices: [broken] });

      const summary = await harness.run();

      expect(summary).to.include({ ok: false, errors: 1, polled: 1 });
      expect((await harness.storedMinutes(broken)).size).to.equal(0);
      expect((await harness.storedMinutes(healthy)).size).to.be.within(1440, 1441);
      expect((await harness.deviceRecord(broken))?.lastReadingAt).to.equal(undefined);

      harness.simulator.clearFaults();
      harness.clock.advance(5 * MINUTE);
      expect((await harness.run()).ok).to.equal(true);
      // Its backfill still reaches back 24 hours from the run that first listed it.
      expect((await harness.deviceRecord(broken))?.firstSeenAt).to.equal(START);
      const { stored, served } = await harness.capturedAndServed(broken);
      expect(stored).to.deep.equal(served);
    });
  });
});

function assertRollup(item: Record<string, unknown>, minutes: Record<string, unknown>[]): void {
  const count = item.count as Record<string, number>;
  const min = item.min as Record<string, number>;
  const max = item.max as Record<string, number>;
  const sensors = Object.keys(count).sort();
  expect(sensors.length).to.be.greaterThan(0);
  // Every sensor the minutes hold is rolled up, and no other.
  const inMinutes = new Set(
    minutes.flatMap((minute) => SENSORS.filter((sensor) => typeof minute[sensor] === "number")),
  );
  expect(sensors).to.deep.equal([...inMinutes].sort());
  for (const sensor of sensors) {
    const values = minutes
      .map((minute) => minute[sensor])
      .filter((value): value is number => typeof value === "number");
    expect(count[sensor], `${item.period} ${sensor} count`).to.equal(values.length);
    expect(min[sensor]).to.equal(Math.min(...values));
    expect(max[sensor]).to.equal(Math.max(...values));
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(item[sensor] as number).to.be.closeTo(mean, 1e-9);
  }
  expect(isoSeconds(Date.parse(item.time as string))).to.equal(item.time);
}
