import type { Sensor } from "../store/tables";

/** A device as listed by Canary's `/v1/locations/`. */
export interface CanaryDevice {
  /** Numeric id as a string, e.g. "1174001"; used in readings queries and as the key. */
  id: string;
  uuid: string;
  name: string;
  /** `device_type.name`, e.g. "Canary Pro". */
  type: string;
  /** `device_type.id`: 1 Pro, 2 Plus, 3 Flex, 4 View (no sensors). */
  typeId: number;
  /** The location's name, e.g. "Home". */
  location: string;
  online: boolean;
}

/** One sensor value at one instant. */
export interface Reading {
  sensor: Sensor;
  /** Epoch milliseconds (UTC). */
  time: number;
  value: number;
}

export interface ReadingsResult {
  readings: Reading[];
  /** Values that did not parse to a finite number ("unknown", "", "NaN"). */
  unparseable: number;
  /** Rows of sensor types this project does not know. */
  unknownSensor: number;
  /** Pages fetched, following `meta.next`. */
  pages: number;
}

export interface TokenGrant {
  accessToken: string;
  /** Seconds, as Canary reported it; informational, since lifetimes are uncertain. */
  expiresIn?: number;
}

/** Device type ids that have no sensors and are listed but never polled. */
export const SENSORLESS_DEVICE_TYPES: ReadonlySet<number> = new Set([4]);

/** What the poll cycle needs from Canary. `runtime/canary/client.ts` implements it over HTTP. */
export interface CanaryClient {
  /** Password grant. Throws LoginRejectedError, MfaRequiredError or CanaryHttpError. */
  login(username: string, password: string): Promise<TokenGrant>;
  /** Every device of every location, following `meta.next`. */
  listDevices(token: string): Promise<CanaryDevice[]>;
  /** Readings of one device with `created` in [from, to] (epoch ms), following `meta.next`. */
  readings(token: string, deviceId: string, from: number, to: number): Promise<ReadingsResult>;
}
