/**
 * The two tables, defined once. The Pulumi program, the local mode, the read API's
 * OpenAPI document and the tests all build from these definitions, so a key name or the
 * TTL attribute cannot drift between them.
 *
 * Readings table: one item per device per minute, plus hour and day rollups, all under the
 * device's partition. The sort key `period` is `<resolution>#<ISO time>`, so one Query with
 * `BETWEEN` reads any resolution over any time range, in either order.
 *
 * Metadata table: device records (partition `device`), the cached Canary token and the
 * last rejected login (partition `auth`). The read API may only read partition `device`,
 * enforced by the integration role's `dynamodb:LeadingKeys` condition.
 */
export type KeyType = "S" | "N";

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyType;
}

export interface TableDefinition {
  /** Logical name: the Pulumi resource suffix and the local table name. */
  readonly name: string;
  readonly hashKey: KeyAttribute;
  readonly rangeKey: KeyAttribute;
  /** Attribute holding the epoch-seconds expiry that DynamoDB's TTL deletes on. */
  readonly ttlAttribute: string;
}

export const readingsTable = {
  name: "readings",
  hashKey: { name: "deviceId", type: "S" },
  rangeKey: { name: "period", type: "S" },
  ttlAttribute: "expiresAt",
} as const satisfies TableDefinition;

export const metadataTable = {
  name: "metadata",
  hashKey: { name: "pk", type: "S" },
  rangeKey: { name: "sk", type: "S" },
  ttlAttribute: "expiresAt",
} as const satisfies TableDefinition;

export const tables: readonly TableDefinition[] = [readingsTable, metadataTable];

/** Physical table names, as deployed or created locally. */
export interface TableNames {
  readings: string;
  metadata: string;
}

export type Resolution = "minute" | "hour" | "day";

export const resolutions: readonly Resolution[] = ["minute", "hour", "day"];

/** Sort key of a readings item: `minute#2026-12-03T18:33:00Z`. */
export function periodKey(resolution: Resolution, isoTime: string): string {
  return `${resolution}#${isoTime}`;
}

/** Partition of the metadata table that holds one record per device (sort key: device id). */
export const DEVICE_PARTITION = "device";
/** Partition of the metadata table that holds the token and the last rejected login. */
export const AUTH_PARTITION = "auth";
export const TOKEN_SORT_KEY = "token";
export const LOGIN_FAILURE_SORT_KEY = "login-failure";

/** The sensor types Canary devices report and this project stores. */
export const SENSORS = ["temperature", "humidity", "air_quality", "battery", "wifi"] as const;
export type Sensor = (typeof SENSORS)[number];

/** `CreateTable` input for a definition: used by the local mode and the tests. */
export function createTableInput(definition: TableDefinition, tableName: string) {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: [
      { AttributeName: definition.hashKey.name, AttributeType: definition.hashKey.type },
      { AttributeName: definition.rangeKey.name, AttributeType: definition.rangeKey.type },
    ],
    KeySchema: [
      { AttributeName: definition.hashKey.name, KeyType: "HASH" as const },
      { AttributeName: definition.rangeKey.name, KeyType: "RANGE" as const },
    ],
  };
}
