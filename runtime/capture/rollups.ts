import { isoSeconds } from "../clock";
import type { RollupItem, SensorValues } from "../store/items";
import { periodKey, SENSORS } from "../store/tables";
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

/**
 * Mean, min, max and count per sensor over stored minute items. Top-level sensor values
 * are the means, which is what the read API serves for hour and day resolutions. Returns
 * undefined for a span with no minutes.
 */
export function rollup(
  deviceId: string,
  resolution: RollupResolution,
  start: number,
  minutes: readonly Record<string, unknown>[],
  expiresAt?: number,
): RollupItem | undefined {
  const sum: SensorValues = {};
  const count: SensorValues = {};
  const min: SensorValues = {};
  const max: SensorValues = {};

  for (const minute of minutes) {
    for (const [sensor, value] of Object.entries(sensorValues(minute)) as [
      (typeof SENSORS)[number],
      number,
    ][]) {
      sum[sensor] = (sum[sensor] ?? 0) + value;
      count[sensor] = (count[sensor] ?? 0) + 1;
      min[sensor] = Math.min(min[sensor] ?? value, value);
      max[sensor] = Math.max(max[sensor] ?? value, value);
    }
  }
  if (Object.keys(count).length === 0) return undefined;

  const means: SensorValues = {};
  for (const sensor of SENSORS) {
    const n = count[sensor];
    if (n) means[sensor] = (sum[sensor] as number) / n;
  }
  const time = isoSeconds(start);
  return {
    deviceId,
    period: periodKey(resolution, time),
    time,
    ...means,
    count,
    min,
    max,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}
