import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createCanaryClient } from "../../runtime/canary/client";
import { CanarySimulator } from "../../runtime/canary/simulator";
import { runPoll } from "../../runtime/capture/poll";
import { ManualClock } from "../../runtime/clock";
import { memoryLogger } from "../../runtime/log";
import { createLocalBox } from "../../runtime/secrets/local";
import { queryAll } from "../../runtime/store/dynamo";
import type { DeviceRecord, MinuteItem, RollupItem } from "../../runtime/store/items";
import { MetadataStore } from "../../runtime/store/metadata";
import type { LocalDynamo } from "../support/dynamo";

/**
 * The data every API test reads, written by a real poll cycle from the Canary simulator:
 * what the API serves is exactly what the capture pipeline stores. Tests use only the facts
 * returned here.
 */
export interface Seeded {
  /** The device whose day of readings the tests page through. */
  deviceId: string;
  /** A second device; none of its readings may appear in the first device's answers. */
  otherDeviceId: string;
  /** A device record with no readings and no lastReadingAt (a Canary View). */
  quietDeviceId: string;
  /** The full UTC day of minute readings: `${day}T00:00:00Z` to `${day}T23:59:00Z`. */
  day: string;
  /** Every minute item of `deviceId`, oldest first. */
  minutes: MinuteItem[];
  /** Hour rollups of `deviceId`, oldest first. */
  hours: RollupItem[];
  /** The day rollup of `deviceId`. */
  dayRollup: RollupItem;
  devices: DeviceRecord[];
  /** Text that identifies the other device's readings in any response body. */
  otherDeviceMarkers: string[];
  /** Text that identifies the stored token and credentials in any response body. */
  secretMarkers: string[];
}

const DAY = "2026-12-02";
const USERNAME = "owner@example.com";
const PASSWORD = "correct horse battery staple";

export async function seedReadings(dynamo: LocalDynamo): Promise<Seeded> {
  // The poll runs at midnight after DAY, so its 24-hour backfill is exactly that day.
  const clock = new ManualClock(`${DAY}T00:00:00Z`);
  clock.advance(24 * 3_600_000);
  const simulator = new CanarySimulator({
    clock,
    seed: 11,
    username: USERNAME,
    password: PASSWORD,
    // Some values read "unknown", so some minutes lack a sensor, as on real devices.
    unknownValueRate: 0.03,
    devices: [
      {
        id: 1174001,
        uuid: "a3c1e0f2a3c1e0f2a3c1e0f2a3c1e001",
        name: 'Living room "main"',
        typeId: 1,
        location: "Home / Ground floor",
      },
      {
        id: 1174002,
        uuid: "a3c1e0f2a3c1e0f2a3c1e0f2a3c1e002",
        name: "Café l'étage",
        typeId: 3,
        location: "Cabin",
      },
      {
        id: 1174003,
        uuid: "a3c1e0f2a3c1e0f2a3c1e0f2a3c1e003",
        name: "Garage",
        typeId: 4,
        location: "Garage",
      },
    ],
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-capture-seed-"));
  try {
    await simulator.start();
    simulator.setOnline(1174002, false);
    const box = await createLocalBox(dataDir);
    const summary = await runPoll({
      clock,
      log: memoryLogger(),
      canary: createCanaryClient({ baseUrl: simulator.url, clock }),
      credentials: { username: USERNAME, password: PASSWORD },
      dynamo: dynamo.doc,
      tables: dynamo.tables,
      box,
    });
    if (!summary.ok) throw new Error(`seeding poll failed: ${JSON.stringify(summary)}`);

    // A rejected login as the poll cycle records it, so the API can be shown never to serve it.
    const metadata = new MetadataStore(dynamo.doc, dynamo.tables.metadata);
    await metadata.saveLoginFailure({
      at: `${DAY}T23:59:30Z`,
      status: 400,
      sealedCredentials: await box.seal("login-failure", `${USERNAME}\nan old password`),
    });
    const token = await metadata.token();
    if (!token) throw new Error("seeding poll stored no token");
    const failure = await metadata.loginFailure();

    const ofDevice = (deviceId: string) =>
      queryAll(dynamo.doc, {
        TableName: dynamo.tables.readings,
        KeyConditionExpression: "deviceId = :d",
        ExpressionAttributeValues: { ":d": deviceId },
      });
    const items = await ofDevice("1174001");
    const other = await ofDevice("1174002");
    const ofKind = <T>(prefix: string) =>
      items.filter((item) => String(item.period).startsWith(prefix)).sort(byPeriod) as T[];
    const minutes = ofKind<MinuteItem>("minute#");
    const hours = ofKind<RollupItem>("hour#");
    const [dayRollup] = ofKind<RollupItem>("day#");
    if (minutes.length !== 1440 || hours.length !== 24 || !dayRollup) {
      throw new Error(`seeding stored ${minutes.length} minutes and ${hours.length} hours`);
    }
    const otherValues = other
      .filter((item) => String(item.period).startsWith("minute#"))
      .slice(0, 2)
      .map((item) => String(item.wifi));

    return {
      deviceId: "1174001",
      otherDeviceId: "1174002",
      quietDeviceId: "1174003",
      day: DAY,
      minutes,
      hours,
      dayRollup,
      devices: await metadata.devices(),
      otherDeviceMarkers: [...otherValues, "1174002"],
      secretMarkers: [
        token.sealed,
        await box.open("canary-token", token.sealed),
        failure?.sealedCredentials ?? "sealedCredentials",
        "sealedCredentials",
        "a3c1e0f2",
        "login-failure",
        "firstSeenAt",
        "sum",
      ],
    };
  } finally {
    await simulator.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function byPeriod(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a.period) < String(b.period) ? -1 : 1;
}
