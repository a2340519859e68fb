import type { LogLevel } from "../log";
import type { TableNames } from "../store/tables";

/**
 * The poller Lambda's environment variables, named once: the Pulumi program sets them and
 * the entry reads them, so the two cannot drift apart.
 */
export const POLLER_ENV = {
  readingsTable: "READINGS_TABLE",
  metadataTable: "METADATA_TABLE",
  keyId: "KMS_KEY_ID",
  stack: "STACK_NAME",
  username: "CANARY_USERNAME",
  passwordCiphertext: "CANARY_PASSWORD_CIPHERTEXT",
  tokenCiphertext: "CANARY_TOKEN_CIPHERTEXT",
  canaryApiUrl: "CANARY_API_URL",
  backfillHours: "BACKFILL_HOURS",
  retentionDays: "RETENTION_DAYS",
  logLevel: "LOG_LEVEL",
} as const;

/** How the poller authenticates: ciphertexts only, opened with the KMS key at run time. */
export type SealedCredentials =
  | { username: string; passwordCiphertext: string }
  | { tokenCiphertext: string };

export interface PollerEnvironment {
  tables: TableNames;
  /** The KMS key that opens the credentials and seals the cached token. */
  keyId: string;
  /** The Pulumi stack: part of every KMS encryption context. */
  stack: string;
  credentials: SealedCredentials;
  /** Canary's API; undefined leaves the client's own default. */
  canaryApiUrl?: string;
  backfillHours?: number;
  retentionDays?: number;
  logLevel: LogLevel;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * Reads and checks the poller's environment. Errors name the variable and never echo a
 * value, since two of them hold ciphertexts.
 */
export function readPollerEnvironment(env: Record<string, string | undefined>): PollerEnvironment {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new Error(`poller environment: ${name} is not set; redeploy with the Pulumi program`);
    }
    return value;
  };
  const optional = (name: string): string | undefined => env[name] || undefined;

  const password = optional(POLLER_ENV.passwordCiphertext);
  const token = optional(POLLER_ENV.tokenCiphertext);
  if (Boolean(password) === Boolean(token)) {
    throw new Error(
      `poller environment: set exactly one of ${POLLER_ENV.passwordCiphertext} and ${POLLER_ENV.tokenCiphertext}`,
    );
  }
  const credentials: SealedCredentials = password
    ? { username: required(POLLER_ENV.username), passwordCiphertext: password }
    : { tokenCiphertext: token as string };

  const logLevel = optional(POLLER_ENV.logLevel) ?? "info";
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new Error(
      `poller environment: ${POLLER_ENV.logLevel} must be one of ${LOG_LEVELS.join(", ")}`,
    );
  }

  return {
    tables: {
      readings: required(POLLER_ENV.readingsTable),
      metadata: required(POLLER_ENV.metadataTable),
    },
    keyId: required(POLLER_ENV.keyId),
    stack: required(POLLER_ENV.stack),
    credentials,
    canaryApiUrl: optional(POLLER_ENV.canaryApiUrl),
    backfillHours: wholeNumber(env, POLLER_ENV.backfillHours),
    retentionDays: wholeNumber(env, POLLER_ENV.retentionDays),
    logLevel: logLevel as LogLevel,
  };
}

function wholeNumber(env: Record<string, string | undefined>, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) {
    throw new Error(`poller environment: ${name} must be a whole number, got "${value}"`);
  }
  return Number(value);
}
