import type { Clock } from "../clock";
import type { Sensor } from "../store/tables";
import {
  MINUTE_MS,
  reportSecond,
  SENSOR_TYPE_IDS,
  type SimDevice,
  sensorReportSecond,
  sensorStatus,
  sensorsOf,
  sensorValue,
  UNKNOWN_SENSOR_TYPE,
  unitHash,
} from "./simulator-data";
import type { Reading } from "./types";

/** A row as the simulator serves it, before JSON: `value` may be "unknown". */
export interface SimRow {
  /** `sensor_type.name`, which may be one the client does not know. */
  sensor: string;
  sensorTypeId: number;
  /** Epoch ms, whole seconds. */
  created: number;
  value: string;
  status: string | null;
}

/** Settings read on every question, so the simulator can change them between requests. */
export interface WorldSettings {
  historyHours: number;
  unknownValueRate: number;
  unknownSensorType: boolean;
  /** Each sensor reports at its own second of a minute rather than the device's one. */
  staggerSensors: boolean;
}

export interface SimLocation {
  id: number;
  name: string;
}

interface DeviceState {
  device: SimDevice;
  location: SimLocation;
  /** Set while offline: when it went offline. */
  offlineSince?: number;
  /** Past offline periods: no readings were created in (from, to]. */
  gaps: Array<{ from: number; to: number }>;
}

interface SensorGroup {
  id: number;
  name: string;
}

const FIRST_LOCATION_ID = 501;
const HOUR_MS = 3_600_000;

/** Time first, then sensor name: the order the client returns readings in. */
function byTimeThenSensor(a: Reading, b: Reading): number {
  if (a.time !== b.time) return a.time - b.time;
  return a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0;
}

/**
 * The devices behind the simulator and the readings they have created by `clock.now()`.
 * Nothing is stored: a reading exists for every minute of every sensor, at the second the
 * device (or, with `staggerSensors`, the sensor) reports in that minute, within the history,
 * unless the device was offline.
 */
export class SimWorld {
  readonly locations: SimLocation[] = [];
  private readonly states: DeviceState[];
  private readonly clock: Clock;
  private readonly seed: number;
  private readonly settings: WorldSettings;

  constructor(options: {
    clock: Clock;
    seed: number;
    devices: SimDevice[];
    settings: WorldSettings;
  }) {
    this.clock = options.clock;
    this.seed = options.seed;
    this.settings = options.settings;
    this.states = options.devices.map((device) => {
      let location = this.locations.find((candidate) => candidate.name === device.location);
      if (!location) {
        location = { id: FIRST_LOCATION_ID + this.locations.length, name: device.location };
        this.locations.push(location);
      }
      const state: DeviceState = { device, location, gaps: [] };
      if (device.online === false) state.offlineSince = this.clock.now();
      return state;
    });
  }

  get devices(): SimDevice[] {
    return this.states.map((state) => state.device);
  }

  /** The devices of a location, each with whether it is online now. */
  devicesAt(location: SimLocation): Array<{ device: SimDevice; online: boolean }> {
    return this.states
      .filter((state) => state.location === location)
      .map((state) => ({ device: state.device, online: state.offlineSince === undefined }));
  }

  setOnline(deviceId: string | number, online: boolean): void {
    const state = this.state(deviceId);
    if (!state) throw new Error(`CanarySimulator: no device ${deviceId}`);
    const now = this.clock.now();
    if (!online && state.offlineSince === undefined) state.offlineSince = now;
    if (online && state.offlineSince !== undefined) {
      state.gaps.push({ from: state.offlineSince, to: now });
      state.offlineSince = undefined;
    }
  }

  valueAt(deviceId: string | number, sensor: Sensor, minuteStartMs: number): number | undefined {
    const state = this.state(deviceId);
    if (!state || !sensorsOf(state.device).includes(sensor)) return undefined;
    const minute = Math.floor(minuteStartMs / MINUTE_MS);
    const created = this.createdAt(state, SENSOR_TYPE_IDS[sensor], minute);
    if (!this.served(state, created)) return undefined;
    if (this.isUnknown(state, sensor, minute)) return undefined;
    return sensorValue(this.seed, state.device.id, sensor, minute);
  }

  /** Served readings of known sensors with numeric values, by time and then sensor name. */
  readingsBetween(deviceId: string | number, fromMs: number, toMs: number): Reading[] {
    const state = this.state(deviceId);
    if (!state) return [];
    const readings: Reading[] = [];
    for (const sensor of sensorsOf(state.device)) {
      const typeId = SENSOR_TYPE_IDS[sensor];
      for (const minute of this.servedMinutes(state, typeId, fromMs, toMs)) {
        if (this.isUnknown(state, sensor, minute)) continue;
        readings.push({
          sensor,
          time: this.createdAt(state, typeId, minute),
          value: sensorValue(this.seed, state.device.id, sensor, minute),
        });
      }
    }
    return readings.sort(byTimeThenSensor);
  }

  /**
   * Rows with `created` in [fromMs, toMs] in Canary's order (by sensor type id, newest first
   * within a type): `limit` of them from `offset`, and how many there are in all. Only the
   * page is built, so paging through days of history stays cheap.
   */
  rows(
    deviceId: string | number,
    fromMs: number,
    toMs: number,
    offset = 0,
    limit = Number.POSITIVE_INFINITY,
  ): { rows: SimRow[]; total: number } {
    const state = this.state(deviceId);
    if (!state) return { rows: [], total: 0 };
    const groups = this.sensorGroups(state).map((group) => ({
      group,
      minutes: this.servedMinutes(state, group.id, fromMs, toMs),
    }));
    const total = groups.reduce((sum, { minutes }) => sum + minutes.length, 0);
    const rows: SimRow[] = [];
    let start = 0;
    for (const { group, minutes } of groups) {
      const end = start + minutes.length;
      for (let index = Math.max(offset, start); index < Math.min(end, offset + limit); index++) {
        rows.push(this.row(state, group, minutes[index - start] as number));
      }
      start = end;
    }
    return { rows, total };
  }

  uuidOf(deviceId: string | number): string | undefined {
    return this.state(deviceId)?.device.uuid;
  }

  private state(deviceId: string | number): DeviceState | undefined {
    return this.states.find((state) => String(state.device.id) === String(deviceId));
  }

  /** When the reading of sensor type `typeId` in `minute` was created. */
  private createdAt(state: DeviceState, typeId: number, minute: number): number {
    const { id } = state.device;
    const second = this.settings.staggerSensors
      ? sensorReportSecond(this.seed, id, typeId, minute)
      : reportSecond(this.seed, id, minute);
    return minute * MINUTE_MS + second * 1000;
  }

  private served(state: DeviceState, created: number): boolean {
    const now = this.clock.now();
    if (created > now || created < now - this.settings.historyHours * HOUR_MS) return false;
    if (state.offlineSince !== undefined && created > state.offlineSince) return false;
    return !state.gaps.some((gap) => created > gap.from && created <= gap.to);
  }

  private isUnknown(state: DeviceState, sensor: Sensor, minute: number): boolean {
    const rate = this.settings.unknownValueRate;
    return (
      rate > 0 && unitHash(this.seed, state.device.id, SENSOR_TYPE_IDS[sensor], minute, 99) < rate
    );
  }

  /**
   * Minutes whose reading of sensor type `typeId` was created within [fromMs, toMs] and is
   * served, newest first.
   */
  private servedMinutes(
    state: DeviceState,
    typeId: number,
    fromMs: number,
    toMs: number,
  ): number[] {
    const now = this.clock.now();
    const low = Math.floor(
      Math.max(fromMs, now - this.settings.historyHours * HOUR_MS) / MINUTE_MS,
    );
    const high = Math.floor(Math.min(toMs, now) / MINUTE_MS);
    const minutes: number[] = [];
    for (let minute = high; minute >= low; minute--) {
      const created = this.createdAt(state, typeId, minute);
      if (created >= fromMs && created <= toMs && this.served(state, created)) minutes.push(minute);
    }
    return minutes;
  }

  private sensorGroups(state: DeviceState): SensorGroup[] {
    const sensors = sensorsOf(state.device);
    const groups: SensorGroup[] = sensors.map((sensor) => ({
      id: SENSOR_TYPE_IDS[sensor],
      name: sensor,
    }));
    if (this.settings.unknownSensorType && sensors.length > 0) groups.push(UNKNOWN_SENSOR_TYPE);
    return groups.sort((a, b) => a.id - b.id);
  }

  private row(state: DeviceState, group: SensorGroup, minute: number): SimRow {
    const { id } = state.device;
    const base = {
      sensor: group.name,
      sensorTypeId: group.id,
      created: this.createdAt(state, group.id, minute),
    };
    if (!(group.name in SENSOR_TYPE_IDS)) {
      const pressure = 1013 + 10 * (unitHash(this.seed, id, group.id, minute) - 0.5);
      return { ...base, value: String(pressure), status: null };
    }
    const sensor = group.name as Sensor;
    if (this.isUnknown(state, sensor, minute)) return { ...base, value: "unknown", status: null };
    const value = sensorValue(this.seed, id, sensor, minute);
    return {
      ...base,
      value: String(value),
      status: sensorStatus(this.seed, id, sensor, minute, value),
    };
  }
}
