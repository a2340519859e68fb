import type { Reading } from "../canary/types";
import { isoSeconds } from "../clock";
import type { MinuteItem, SensorValues } from "../store/items";
import { periodKey, SENSORS, type Sensor } from "../store/tables";

const MINUTE_MS = 60_000;

/** The start of the UTC minute holding `ms`. */
export function minuteStart(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/**
 * Groups readings into one set of sensor values per UTC minute (seconds truncated). Canary
 * sends one reading per sensor per minute; where a minute holds several of one sensor, the
 * newest wins, so the result does not depend on the order Canary listed them in.
 */
export function groupByMinute(readings: readonly Reading[]): Map<number, SensorValues> {
  const minutes = new Map<
    number,
    { values: SensorValues; times: Partial<Record<Sensor, number>> }
  >();
  for (const reading of readings) {
    const start = minuteStart(reading.time);
    let minute = minutes.get(start);
    if (!minute) {
      minute = { values: {}, times: {} };
      minutes.set(start, minute);
    }
    const seen = minute.times[reading.sensor];
    if (seen === undefined || reading.time >= seen) {
      minute.values[reading.sensor] = reading.value;
      minute.times[reading.sensor] = reading.time;
    }
  }
  return new Map([...minutes].map(([start, { values }]) => [start, values]));
}

/** The sensor values an item holds, whatever else it holds. */
export function sensorValues(item: Record<string, unknown>): SensorValues {
  const values: SensorValues = {};
  for (const sensor of SENSORS) {
    const value = item[sensor];
    if (typeof value === "number" && Number.isFinite(value)) values[sensor] = value;
  }
  return values;
}

export function minuteItem(
  deviceId: string,
  start: number,
  values: SensorValues,
  expiresAt?: number,
): MinuteItem {
  const time = isoSeconds(start);
  return {
    deviceId,
    period: periodKey("minute", time),
    time,
    ...values,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

/**
 * Merges fetched values into what is stored: a sensor missing from this fetch (a short
 * page, a sensor type Canary left out) keeps its stored value instead of being erased.
 * Returns undefined when nothing would change, so an unchanged minute is not written again.
 */
export function mergeMinute(
  stored: Record<string, unknown> | undefined,
  fetched: SensorValues,
): SensorValues | undefined {
  const before = stored ? sensorValues(stored) : {};
  const after = { ...before, ...fetched };
  const changed = SENSORS.some((sensor) => before[sensor] !== after[sensor]);
  return changed || !stored ? after : undefined;
}
