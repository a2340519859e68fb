import { isoSeconds } from "../clock";
import type { RollupItem, SensorValues } from "../store/items";
import { periodKey, SENSORS, type Sensor } from "../store/tables";
import { sensorValues } from "./minutes";

export type RollupResolution = "hour" | "day";

const SPAN_MS: Record<RollupResolution, number> = { hour: 3_600_000, day: 86_400_000 };

/** The start of the UTC hour or day holding `ms`. */
export function spanStart(resolution: RollupResolution, ms: number): number {
  return Math.floor(ms / SPAN_MS[resolution]) * SPAN_MS[resolution];
}

/** The last whole second of the hour or day starting at `start`. */
export function spanEnd(resolution: RollupResolution, start: number): number {
  return start + SPAN_MS[resolution] - 1000;
}

/** Starts of every hour or day that [from, to] touches. */
export function spansTouched(resolution: RollupResolution, from: number, to: number): number[] {
  const starts: number[] = [];
  for (let start = spanStart(resolution, from); start <= to; start += SPAN_MS[resolution]) {
    starts.push(start);
  }
  return starts;
}

/** The sums behind a rollup: enough to combine hours into a day without the minutes. */
interface Totals {
  sum: SensorValues;
  count: SensorValues;
  min: SensorValues;
  max: SensorValues;
}

/**
 * Mean, min, max and count per sensor over stored minute items. Top-level sensor values
 * are the means, which is what the read API serves for hour and day resolutions; `sum` is
 * kept so days can be combined from hours. Returns undefined for a span with no minutes.
 */
export function rollup(
  deviceId: string,
  resolution: RollupResolution,
  start: number,
  minutes: readonly Record<string, unknown>[],
  expiresAt?: number,
): RollupItem | undefined {
  const totals: Totals = { sum: {}, count: {}, min: {}, max: {} };
  for (const minute of minutes) {
    for (const [sensor, value] of Object.entries(sensorValues(minute)) as [Sensor, number][]) {
      add(totals, sensor, value, 1, value, value);
    }
  }
  return item(deviceId, resolution, start, totals, expiresAt);
}

/**
 * A day's rollup from its stored hour rollups: counts and sums add up, extremes carry
 * over, so the day reads 24 items instead of 1440 minutes.
 */
export function combine(
  deviceId: string,
  resolution: RollupResolution,
  start: number,
  parts: readonly object[],
  expiresAt?: number,
): RollupItem | undefined {
  const totals: Totals = { sum: {}, count: {}, min: {}, max: {} };
  for (const item of parts) {
    const part = item as Partial<Record<"sum" | "count" | "min" | "max", unknown>>;
    const sum = (part.sum ?? {}) as SensorValues;
    const count = (part.count ?? {}) as SensorValues;
    const min = (part.min ?? {}) as SensorValues;
    const max = (part.max ?? {}) as SensorValues;
    for (const sensor of SENSORS) {
      const n = count[sensor];
      const total = sum[sensor];
      const low = min[sensor];
      const high = max[sensor];
      if (!n || total === undefined || low === undefined || high === undefined) continue;
      add(totals, sensor, total, n, low, high);
    }
  }
  return item(deviceId, resolution, start, totals, expiresAt);
}

function add(totals: Totals, sensor: Sensor, sum: number, count: number, min: number, max: number) {
  totals.sum[sensor] = (totals.sum[sensor] ?? 0) + sum;
  totals.count[sensor] = (totals.count[sensor] ?? 0) + count;
  totals.min[sensor] = Math.min(totals.min[sensor] ?? min, min);
  totals.max[sensor] = Math.max(totals.max[sensor] ?? max, max);
}

function item(
  deviceId: string,
  resolution: RollupResolution,
  start: number,
  totals: Totals,
  expiresAt: number | undefined,
): RollupItem | undefined {
  if (Object.keys(totals.count).length === 0) return undefined;
  const means: SensorValues = {};
  for (const sensor of SENSORS) {
    const n = totals.count[sensor];
    if (n) means[sensor] = (totals.sum[sensor] as number) / n;
  }
  const time = isoSeconds(start);
  return {
    deviceId,
    period: periodKey(resolution, time),
    time,
    ...means,
    ...totals,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}
