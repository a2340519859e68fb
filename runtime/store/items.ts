import type { Sensor } from "./tables";

/**
 * The shapes of the items stored, as the poll cycle writes them and the read API's
 * templates read them. Times are ISO-8601 UTC strings with whole seconds and a `Z`.
 */

/** Sensor values of one minute, as DynamoDB numbers; only sensors that reported appear. */
export type SensorValues = Partial<Record<Sensor, number>>;

/** Readings table: one device, one minute (UTC, seconds truncated). */
export interface MinuteItem extends SensorValues {
  deviceId: string;
  /** `minute#<time>` */
  period: string;
  time: string;
  /** Epoch seconds; present only when a retention is set. */
  expiresAt?: number;
}

/** Readings table: one device, one hour or day. Top-level sensor values are the means. */
export interface RollupItem extends SensorValues {
  deviceId: string;
  /** `hour#<time>` or `day#<time>`, time at the start of the hour or day. */
  period: string;
  time: string;
  count: SensorValues;
  min: SensorValues;
  max: SensorValues;
  /** Sums behind the means, so days combine from hours; not served by the read API. */
  sum: SensorValues;
  expiresAt?: number;
}

/** Metadata table, partition `device`, sort key = device id. Readable by the read API. */
export interface DeviceRecord {
  pk: "device";
  sk: string;
  id: string;
  uuid: string;
  name: string;
  /** Canary's device type name, e.g. "Canary Pro". */
  type: string;
  location: string;
  online: boolean;
  /**
   * Time of the newest reading stored for this device. It is also the device's cursor:
   * it only moves after that reading's item was written.
   */
  lastReadingAt?: string;
  /**
   * End of the newest window whose readings are fetched and stored. The next window starts
   * an overlap before it, so a device without readings (offline) is not re-read from its
   * last reading on every run.
   */
  checkedThrough?: string;
  /** When the poll cycle first listed the device; its backfill reaches back from here. */
  firstSeenAt: string;
  /** When Canary last reported a change to the name, type, location or online state. */
  updatedAt: string;
}

/** Metadata table, partition `auth`, sort key `token`. Never readable by the read API. */
export interface TokenRecord {
  pk: "auth";
  sk: "token";
  /** The access token, sealed by the secret box. */
  sealed: string;
  obtainedAt: string;
  /** Obtained because Canary refused the token before it; a 401 to this one, soon after,
   * means logging in does not help, and no further login is made within the cool-down. */
  afterRefusal?: boolean;
}

/** Metadata table, partition `auth`, sort key `login-failure`: the last rejected login. */
export interface LoginFailureRecord {
  pk: "auth";
  sk: "login-failure";
  at: string;
  status: number;
  /**
   * The rejected credentials, sealed, so a changed password is tried at once. Absent when
   * sealing failed; the cool-down then applies to any credentials.
   */
  sealedCredentials?: string;
}
