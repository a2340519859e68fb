import type * as lib from "@aws-sdk/lib-dynamodb";
import { CanaryUnauthorizedError } from "../canary/errors";
import { type CanaryClient, type CanaryDevice, SENSORLESS_DEVICE_TYPES } from "../canary/types";
import { type Clock, isoSeconds } from "../clock";
import type { Logger } from "../log";
import type { SecretBox } from "../secrets/box";
import type { DeviceRecord } from "../store/items";
import { MetadataStore } from "../store/metadata";
import { batchPut, queryPeriods } from "../store/readings";
import type { Resolution, TableNames } from "../store/tables";
import { groupByMinute, mergeMinute, minuteItem, minuteStart, sensorValues } from "./minutes";
import { combine, rollup, spanEnd, spansTouched } from "./rollups";
import { CanarySession, type Credentials } from "./session";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface PollSettings {
  /** Hours fetched for a device seen for the first time. @default 24 */
  backfillHours: number;
  /** Minutes before the cursor that every window re-reads, for late readings. @default 15 */
  overlapMinutes: number;
  /** Longest span fetched, written and committed in one step. @default 6 */
  stepHours: number;
  /** Oldest gap a run still catches up after an outage. @default 168 (a week) */
  maxCatchUpHours: number;
  /** Devices polled at once. @default 2 */
  concurrency: number;
  /** Days after which stored items expire through DynamoDB's TTL; 0 keeps everything. @default 0 */
  retentionDays: number;
  /** Minutes a rejected login blocks another try with the same credentials. @default 60 */
  loginCooldownMinutes: number;
}

export const defaultPollSettings: PollSettings = {
  backfillHours: 24,
  overlapMinutes: 15,
  stepHours: 6,
  maxCatchUpHours: 168,
  concurrency: 2,
  retentionDays: 0,
  loginCooldownMinutes: 60,
};

export interface PollDependencies {
  clock: Clock;
  log: Logger;
  canary: CanaryClient;
  credentials: Credentials;
  dynamo: lib.DynamoDBDocumentClient;
  tables: TableNames;
  box: SecretBox;
  settings?: Partial<PollSettings>;
}

export interface PollSummary {
  /** True when every device was polled without error. */
  ok: boolean;
  /** Devices Canary listed. */
  devices: number;
  /** Devices with sensors whose readings were fetched. */
  polled: number;
  readingsFetched: number;
  /** Minute and rollup items written; unchanged minutes are not written again. */
  itemsWritten: number;
  /** Readings that did not parse or were of an unknown sensor type. */
  readingsSkipped: number;
  errors: number;
  /** Password logins attempted. */
  logins: number;
  durationMs: number;
  /** Why the run failed as a whole (login, device list); never holds a secret. */
  error?: string;
}

/**
 * One poll cycle: list devices, then per device fetch the window since its cursor, store
 * one item per minute, recompute the touched hour and day rollups, and only then move the
 * cursor. The Lambda and the local mode both call this, unchanged.
 */
export async function runPoll(deps: PollDependencies): Promise<PollSummary> {
  const settings = { ...defaultPollSettings, ...deps.settings };
  const { clock, log } = deps;
  const started = clock.now();
  const metadata = new MetadataStore(deps.dynamo, deps.tables.metadata);
  const session = new CanarySession({
    canary: deps.canary,
    credentials: deps.credentials,
    metadata,
    box: deps.box,
    clock,
    log,
    loginCooldownMs: settings.loginCooldownMinutes * MINUTE_MS,
  });
  const summary: PollSummary = {
    ok: true,
    devices: 0,
    polled: 0,
    readingsFetched: 0,
    itemsWritten: 0,
    readingsSkipped: 0,
    errors: 0,
    logins: 0,
    durationMs: 0,
  };

  try {
    const devices = await authed(session, (token) => deps.canary.listDevices(token));
    summary.devices = devices.length;
    const now = isoSeconds(clock.now());
    const records = new Map((await metadata.devices()).map((record) => [record.id, record]));
    for (const device of devices) {
      const record = records.get(device.id);
      if (record && !changed(record, device)) continue;
      await metadata.upsertDevice(device, now);
      records.set(device.id, {
        ...record,
        ...device,
        firstSeenAt: record?.firstSeenAt ?? now,
      } as DeviceRecord);
    }
    const withSensors = devices.filter((device) => !SENSORLESS_DEVICE_TYPES.has(device.typeId));
    await forEachLimited(withSensors, settings.concurrency, async (device) => {
      try {
        const result = await pollDevice(
          deps,
          settings,
          session,
          metadata,
          device,
          records.get(device.id),
        );
        summary.polled++;
        summary.readingsFetched += result.fetched;
        summary.itemsWritten += result.written;
        summary.readingsSkipped += result.skipped;
      } catch (error) {
        summary.errors++;
        log.error("device poll failed", { device: device.id, error });
      }
    });
  } catch (error) {
    summary.errors++;
    summary.error = (error as Error).message;
    log.error("poll failed", { error });
  }

  summary.ok = summary.errors === 0;
  summary.logins = session.logins;
  summary.durationMs = clock.now() - started;
  log.info("poll finished", { ...summary });
  return summary;
}

interface DeviceResult {
  fetched: number;
  written: number;
  skipped: number;
}

async function pollDevice(
  deps: PollDependencies,
  settings: PollSettings,
  session: CanarySession,
  metadata: MetadataStore,
  device: CanaryDevice,
  record: DeviceRecord | undefined,
): Promise<DeviceResult> {
  const { clock, log } = deps;
  const result: DeviceResult = { fetched: 0, written: 0, skipped: 0 };
  const end = Math.floor(clock.now() / 1000) * 1000;
  // Resume an overlap before what is known to be stored; a new device is backfilled from
  // when it was first seen, so a first run that fails loses nothing either.
  const known = record?.checkedThrough ?? record?.lastReadingAt;
  const firstSeen = record?.firstSeenAt ? Date.parse(record.firstSeenAt) : end;
  const wanted =
    known === undefined
      ? firstSeen - settings.backfillHours * HOUR_MS
      : Date.parse(known) - settings.overlapMinutes * MINUTE_MS;
  const reach = Math.max(settings.maxCatchUpHours, settings.backfillHours) * HOUR_MS;
  if (wanted < end - reach) {
    log.warn("gap older than the catch-up limit is not fetched", {
      device: device.id,
      window: { from: isoSeconds(wanted), to: isoSeconds(end - reach) },
    });
  }
  const start = minuteStart(Math.max(wanted, end - reach));
  let newestStored = record?.lastReadingAt ? Date.parse(record.lastReadingAt) : undefined;

  // Bounded steps: each is fetched, written and committed before the next, so a run cut
  // short after a long outage keeps everything up to its last finished step.
  for (let from = start; from < end; from += settings.stepHours * HOUR_MS) {
    const to = Math.min(from + settings.stepHours * HOUR_MS, end);
    const stepStarted = clock.now();
    const fetched = await authed(session, (token) =>
      deps.canary.readings(token, device.id, from, to),
    );
    result.fetched += fetched.readings.length;
    result.skipped += fetched.unparseable + fetched.unknownSensor;
    if (fetched.readings.length === 0) {
      await metadata.recordProgress(device.id, isoSeconds(to));
      continue;
    }

    const written = await storeMinutes(
      deps,
      settings,
      device.id,
      from,
      to,
      groupByMinute(fetched.readings),
    );
    const rolled = await storeRollups(
      deps,
      settings,
      device.id,
      fetched.readings.map((r) => r.time),
    );
    result.written += written + rolled;

    const newest = latest(fetched.readings.map((reading) => reading.time));
    const advanced = newestStored === undefined || newest > newestStored;
    await metadata.recordProgress(
      device.id,
      isoSeconds(to),
      advanced ? isoSeconds(newest) : undefined,
    );
    if (advanced) newestStored = newest;
    log.info("device window stored", {
      device: device.id,
      window: { from: isoSeconds(from), to: isoSeconds(to) },
      readings: fetched.readings.length,
      skipped: fetched.unparseable + fetched.unknownSensor,
      itemsWritten: written + rolled,
      durationMs: clock.now() - stepStarted,
    });
  }
  return result;
}

/** Writes the minutes that are new or changed; returns how many items were written. */
async function storeMinutes(
  deps: PollDependencies,
  settings: PollSettings,
  deviceId: string,
  from: number,
  to: number,
  minutes: Map<number, Record<string, number>>,
): Promise<number> {
  const table = deps.tables.readings;
  const stored = await queryPeriods(
    deps.dynamo,
    table,
    deviceId,
    "minute",
    isoSeconds(from),
    isoSeconds(to),
  );
  const byTime = new Map(stored.map((item) => [item.time as string, item]));

  const items = [];
  for (const [start, values] of [...minutes].sort(([a], [b]) => a - b)) {
    const stored = byTime.get(isoSeconds(start));
    const merged = mergeMinute(stored, values);
    const expiresAt = expiry(settings, start);
    // A changed retention rewrites the minute too, so its expiry follows the setting.
    if (merged || stored?.expiresAt !== expiresAt) {
      items.push(minuteItem(deviceId, start, merged ?? sensorValues(stored ?? {}), expiresAt));
    }
  }
  return batchPut(deps.dynamo, table, items, { clock: deps.clock });
}

/**
 * Recomputes every hour that holds one of `times` from its stored minutes, then every day
 * from its stored hours. Spans are recomputed whole, so the result does not depend on
 * which minutes this run happened to write.
 */
async function storeRollups(
  deps: PollDependencies,
  settings: PollSettings,
  deviceId: string,
  times: readonly number[],
): Promise<number> {
  const table = deps.tables.readings;
  const from = earliest(times);
  const to = latest(times);
  const span = (resolution: Resolution, start: number, end: number) =>
    queryPeriods(deps.dynamo, table, deviceId, resolution, isoSeconds(start), isoSeconds(end));

  const hours = [];
  for (const start of spansTouched("hour", from, to)) {
    const minutes = await span("minute", start, spanEnd("hour", start));
    const item = rollup(deviceId, "hour", start, minutes, expiry(settings, start));
    if (item) hours.push(item);
  }
  let written = await batchPut(deps.dynamo, table, hours, { clock: deps.clock });

  const days = [];
  for (const start of spansTouched("day", from, to)) {
    const stored = await span("hour", start, spanEnd("day", start));
    const item = combine(deviceId, "day", start, stored, expiry(settings, start));
    if (item) days.push(item);
  }
  written += await batchPut(deps.dynamo, table, days, { clock: deps.clock });
  return written;
}

/** The largest of many times; spreading 100,000 arguments into Math.max would throw. */
function latest(times: readonly number[]): number {
  let newest = Number.NEGATIVE_INFINITY;
  for (const time of times) if (time > newest) newest = time;
  return newest;
}

function earliest(times: readonly number[]): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const time of times) if (time < oldest) oldest = time;
  return oldest;
}

/** Whether Canary's view of a device differs from its stored record. */
function changed(record: DeviceRecord, device: CanaryDevice): boolean {
  return (["uuid", "name", "type", "location", "online"] as const).some(
    (field) => record[field] !== device[field],
  );
}

function expiry(settings: PollSettings, time: number): number | undefined {
  if (settings.retentionDays <= 0) return undefined;
  return Math.floor(time / 1000) + settings.retentionDays * 86_400;
}

/** Runs `call` with the session's token; after a 401, once more with a fresh token. */
async function authed<T>(session: CanarySession, call: (token: string) => Promise<T>): Promise<T> {
  const token = await session.token();
  try {
    return await call(token);
  } catch (error) {
    if (!(error instanceof CanaryUnauthorizedError)) throw error;
    return call(await session.refresh(token));
  }
}

/** Calls `task` for every item, at most `limit` at a time. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
