import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as lib from "@aws-sdk/lib-dynamodb";
import { type CanaryClientOptions, createCanaryClient } from "../../runtime/canary/client";
import { CanarySimulator, type CanarySimulatorOptions } from "../../runtime/canary/simulator";
import type { CanaryClient } from "../../runtime/canary/types";
import { SENSORLESS_DEVICE_TYPES } from "../../runtime/canary/types";
import { sensorValues } from "../../runtime/capture/minutes";
import { type PollSettings, type PollSummary, runPoll } from "../../runtime/capture/poll";
import type { Credentials } from "../../runtime/capture/session";
import { ManualClock } from "../../runtime/clock";
import { memoryLogger } from "../../runtime/log";
import type { SecretBox } from "../../runtime/secrets/box";
import { createLocalBox } from "../../runtime/secrets/local";
import { createDynamo, queryAll } from "../../runtime/store/dynamo";
import type { DeviceRecord, SensorValues } from "../../runtime/store/items";
import { LOCAL_CREDENTIALS, type LocalDynamo, startDynamo } from "./dynamo";

/** Where simulated time starts: a whole minute, so windows line up with minutes. */
export const START = "2026-11-20T12:00:00Z";
export const SIMULATED_PASSWORD = "correct horse battery staple";
export const SIMULATED_USERNAME = "owner@example.com";

export interface CaptureHarness {
  clock: ManualClock;
  simulator: CanarySimulator;
  dynamo: LocalDynamo;
  dataDir: string;
  box: SecretBox;
  log: ReturnType<typeof memoryLogger>;
  /** Every error message a run produced or threw, for the no-secrets assertions. */
  errors: string[];
  /** Ids of the simulator's devices that have sensors. */
  sensorDevices: string[];
  canary: CanaryClient;
  /** One poll cycle, as the Lambda and the local mode run it. */
  run(options?: RunOptions): Promise<PollSummary>;
  /** Stored minute items of a device, by time, as sensor values. */
  storedMinutes(deviceId: string): Promise<Map<string, SensorValues>>;
  /** What the simulator served for `created` in [from, to], grouped as the cycle groups it. */
  expectedMinutes(deviceId: string, from: number, to: number): Map<string, SensorValues>;
  /** A device's record in the metadata table. */
  deviceRecord(deviceId: string): Promise<DeviceRecord | undefined>;
  /**
   * A device's stored minutes beside what the simulator served from 24 hours (the
   * backfill) before the device was first listed until now, both keyed by time.
   */
  capturedAndServed(
    deviceId: string,
  ): Promise<{ stored: Record<string, SensorValues>; served: Record<string, SensorValues> }>;
  /** Every item of the readings table. */
  scanReadings(): Promise<Record<string, unknown>[]>;
  /** Re-opens the local secret box from the data directory, as a restarted process would. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface RunOptions {
  credentials?: Credentials;
  settings?: Partial<PollSettings>;
  /** Send DynamoDB traffic here instead of straight to dynalite (a fault proxy). */
  dynamoEndpoint?: string;
  /** Another Canary client, e.g. one pointed at a fault proxy. */
  canary?: CanaryClient;
  /** Another secret box, e.g. a KMS one. */
  box?: SecretBox;
}

export async function startCaptureHarness(
  options: Partial<CanarySimulatorOptions> = {},
  clientOptions: Partial<CanaryClientOptions> = {},
): Promise<CaptureHarness> {
  const clock = new ManualClock(START);
  const simulator = new CanarySimulator({ clock, ...options });
  await simulator.start();
  const dynamo = await startDynamo();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-capture-test-"));
  const log = memoryLogger();
  const errors: string[] = [];
  // Small timeouts and no real waits: faults cost milliseconds, not seconds.
  const canary = createCanaryClient({
    baseUrl: simulator.url,
    clock,
    timeoutMs: 300,
    maxRetries: 6,
    ...clientOptions,
  });

  const harness: CaptureHarness = {
    clock,
    simulator,
    dynamo,
    dataDir,
    box: await createLocalBox(dataDir),
    log,
    errors,
    canary,
    sensorDevices: simulator.devices
      .filter((device) => !SENSORLESS_DEVICE_TYPES.has(device.typeId))
      .map((device) => String(device.id)),

    async run(runOptions = {}) {
      const proxied = runOptions.dynamoEndpoint
        ? createDynamo({
            endpoint: runOptions.dynamoEndpoint,
            region: "us-east-1",
            credentials: LOCAL_CREDENTIALS,
            maxAttempts: 1,
          })
        : undefined;
      try {
        const summary = await runPoll({
          clock,
          log,
          canary: runOptions.canary ?? canary,
          credentials: runOptions.credentials ?? {
            username: SIMULATED_USERNAME,
            password: SIMULATED_PASSWORD,
          },
          dynamo: proxied?.doc ?? dynamo.doc,
          tables: dynamo.tables,
          box: runOptions.box ?? harness.box,
          settings: runOptions.settings,
        });
        if (summary.error) errors.push(summary.error);
        return summary;
      } catch (error) {
        errors.push((error as Error).message);
        throw error;
      } finally {
        proxied?.client.destroy();
      }
    },

    async storedMinutes(deviceId) {
      const items = await queryAll(dynamo.doc, {
        TableName: dynamo.tables.readings,
        KeyConditionExpression: "deviceId = :d AND begins_with(#p, :prefix)",
        ExpressionAttributeNames: { "#p": "period" },
        ExpressionAttributeValues: { ":d": deviceId, ":prefix": "minute#" },
      });
      return new Map(items.map((item) => [item.time as string, sensorValues(item)]));
    },

    expectedMinutes(deviceId, from, to) {
      // Grouped here, not by the code under test: the minute is the reading's time with
      // its seconds cut off, and each sensor reports once a minute.
      const minutes = new Map<string, SensorValues>();
      for (const reading of simulator.readingsBetween(deviceId, from, to)) {
        const minute = `${new Date(reading.time).toISOString().slice(0, 16)}:00Z`;
        minutes.set(minute, { ...minutes.get(minute), [reading.sensor]: reading.value });
      }
      return new Map([...minutes].sort(([a], [b]) => a.localeCompare(b)));
    },

    async deviceRecord(deviceId) {
      const answer = await dynamo.doc.send(
        new lib.GetCommand({
          TableName: dynamo.tables.metadata,
          Key: { pk: "device", sk: deviceId },
        }),
      );
      return answer.Item as DeviceRecord | undefined;
    },

    async capturedAndServed(deviceId) {
      const firstSeen = Date.parse((await harness.deviceRecord(deviceId))?.firstSeenAt ?? "");
      if (!Number.isFinite(firstSeen)) throw new Error(`device ${deviceId} was never listed`);
      const served = harness.expectedMinutes(deviceId, firstSeen - 24 * 3_600_000, clock.now());
      return {
        stored: Object.fromEntries(await harness.storedMinutes(deviceId)),
        served: Object.fromEntries(served),
      };
    },

    async scanReadings() {
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.doc.send(
          new lib.ScanCommand({ TableName: dynamo.tables.readings, ExclusiveStartKey: startKey }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items.sort((a, b) =>
        `${a.deviceId}|${a.period}`.localeCompare(`${b.deviceId}|${b.period}`),
      );
    },

    async restart() {
      harness.box = await createLocalBox(dataDir);
    },

    async close() {
      await simulator.close();
      await dynamo.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
