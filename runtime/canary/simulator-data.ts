/**
 * The simulated world behind `CanarySimulator`: devices, and sensor values that are pure
 * functions of (seed, device, sensor, minute), so a test can ask what any minute held
 * without a server, and two runs with the same seed see the same house.
 */
import type { Sensor } from "../store/tables";

/** A device the simulator lists and serves readings for. */
export interface SimDevice {
  /** Canary's numeric device id, e.g. 1174001. */
  id: number;
  /** 32 hex characters. */
  uuid: string;
  name: string;
  /** 1 Pro, 2 Plus, 3 Flex, 4 View. */
  typeId: number;
  /** `device_type.name`. @default the usual name of `typeId`, e.g. "Canary Pro" */
  type?: string;
  /** Name of the location the device belongs to; locations are listed in order of first use. */
  location: string;
  /** Sensors it reports. @default those of its type (none for a View) */
  sensors?: Sensor[];
  /** Whether it starts online. @default true */
  online?: boolean;
}

export const DEVICE_TYPE_NAMES: Record<number, string> = {
  1: "Canary Pro",
  2: "Canary Plus",
  3: "Canary Flex",
  4: "Canary View",
};

/** The Plus's sensors are not documented; it is assumed to match the Pro. */
export const SENSORS_BY_TYPE: Record<number, readonly Sensor[]> = {
  1: ["temperature", "humidity", "air_quality", "wifi"],
  2: ["temperature", "humidity", "air_quality", "wifi"],
  3: ["battery", "wifi"],
  4: [],
};

/** Canary's `sensor_type.id` of each sensor; rows are grouped in this order. */
export const SENSOR_TYPE_IDS: Record<Sensor, number> = {
  humidity: 1,
  temperature: 2,
  air_quality: 3,
  battery: 7,
  wifi: 8,
};

/** A sensor type this project does not know, served when asked to exercise the client. */
export const UNKNOWN_SENSOR_TYPE = { id: 5, name: "air_pressure" } as const;

/** Three devices across two locations: one of each kind that matters to the poller. */
export function defaultDevices(): SimDevice[] {
  return [
    {
      id: 1174001,
      uuid: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
      name: "Hall",
      typeId: 1,
      location: "Home",
    },
    {
      id: 1174002,
      uuid: "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
      name: "Living room",
      typeId: 4,
      location: "Home",
    },
    {
      id: 1174003,
      uuid: "5e2f0c9b8a7d46e3b1c0d9e8f7a6b5c4",
      name: "Porch",
      typeId: 3,
      location: "Cabin",
    },
  ];
}

export function sensorsOf(device: SimDevice): readonly Sensor[] {
  return device.sensors ?? SENSORS_BY_TYPE[device.typeId] ?? [];
}

/** A 32-bit hash of small integers (murmur3's finaliser over an FNV-style fold). */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x01000193);
    h = Math.imul(h ^ (Math.floor(part / 0x100000000) | 0), 0x01000193);
    h ^= h >>> 15;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) determined by `parts`. */
export function unitHash(...parts: number[]): number {
  return hash32(...parts) / 0x100000000;
}

/** A seeded PRNG (mulberry32): the same seed gives the same sequence of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}

export const MINUTE_MS = 60_000;
const MINUTES_PER_DAY = 1440;
/** The battery drains over four days, then charges. */
const BATTERY_CYCLE_MINUTES = 4 * MINUTES_PER_DAY;
const BATTERY_CHARGING_SHARE = 0.1;

/** Salts so that the sensors of one device do not move in lockstep. */
const SALT: Record<Sensor, number> = {
  temperature: 11,
  humidity: 13,
  air_quality: 17,
  battery: 19,
  wifi: 23,
};

/** Second within the minute at which a device reports: all its sensors share it. */
export function reportSecond(seed: number, deviceId: number, minute: number): number {
  return hash32(seed, deviceId, minute, 7) % 60;
}

/** Second within the minute at which one sensor type of a device reports, when staggered. */
export function sensorReportSecond(
  seed: number,
  deviceId: number,
  sensorTypeId: number,
  minute: number,
): number {
  return hash32(seed, deviceId, minute, 7, sensorTypeId) % 60;
}

/**
 * The value of `sensor` on `deviceId` in the minute `minute` (minutes since the epoch).
 * Indoor values follow a daily cycle (UTC) with a per-device phase and a little noise.
 */
export function sensorValue(
  seed: number,
  deviceId: number,
  sensor: Sensor,
  minute: number,
): number {
  const salt = SALT[sensor];
  const phase = unitHash(seed, deviceId, salt) * 2 * Math.PI;
  const day =
    (2 * Math.PI * (((minute % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY)) /
    MINUTES_PER_DAY;
  const noise = unitHash(seed, deviceId, salt, minute) - 0.5;
  const wave = Math.sin(day + phase);
  switch (sensor) {
    case "temperature":
      return 21 + 2.4 * wave + 0.8 * noise;
    case "humidity":
      return 45 - 12 * wave + 4 * noise;
    case "air_quality":
      return Math.min(1, Math.max(0.3, 0.65 + 0.3 * wave + 0.1 * noise));
    case "battery": {
      const cycle = batteryCycle(seed, deviceId, minute);
      return cycle.charging
        ? 5 + (95 * cycle.progress) / BATTERY_CHARGING_SHARE
        : 100 - (95 * cycle.progress) / (1 - BATTERY_CHARGING_SHARE);
    }
    case "wifi":
      return -60 + 12 * wave + 8 * noise;
  }
}

/** The `status` Canary sends with a reading: charge state for battery, signal bars for wifi. */
export function sensorStatus(
  seed: number,
  deviceId: number,
  sensor: Sensor,
  minute: number,
  value: number,
): string | null {
  if (sensor === "battery") {
    return batteryCycle(seed, deviceId, minute).charging ? "chrg" : "not_chrg";
  }
  if (sensor === "wifi") {
    return String(Math.max(0, Math.min(15, Math.round(((value + 90) / 50) * 15))));
  }
  return null;
}

function batteryCycle(seed: number, deviceId: number, minute: number) {
  const offset = hash32(seed, deviceId, SALT.battery) % BATTERY_CYCLE_MINUTES;
  const position =
    (((minute + offset) % BATTERY_CYCLE_MINUTES) + BATTERY_CYCLE_MINUTES) % BATTERY_CYCLE_MINUTES;
  const fraction = position / BATTERY_CYCLE_MINUTES;
  const draining = 1 - BATTERY_CHARGING_SHARE;
  return fraction < draining
    ? { charging: false, progress: fraction }
    : { charging: true, progress: fraction - draining };
}
