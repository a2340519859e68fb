import * as net from "node:net";
import * as path from "node:path";
import { isSafeCanaryUrl } from "../canary/client";
import type { Credentials } from "../capture/session";
import type { LogLevel } from "../log";

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
/** Dot-separated labels of letters, digits and inner hyphens (RFC 1123), 253 characters at most. */
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The local mode's settings, read from environment variables. */
export interface LocalConfig {
  /** `DATA_DIR`: DynamoDB data, the secret key file and the API key. @default "./.canary-capture" */
  dataDir: string;
  /** `POLL_INTERVAL`: seconds between poll runs, at least 10. @default 300 */
  pollIntervalSeconds: number;
  /** `HOST`: host name or IP address (IPv6 without brackets) the API listens on. @default "127.0.0.1" */
  host: string;
  /** `PORT`: port the API listens on; 0 picks a free one. @default 8787 */
  port: number;
  /** `CANARY_USERNAME` + `CANARY_PASSWORD`, or `CANARY_TOKEN`; neither means demo mode. */
  credentials?: Credentials;
  /**
   * `CANARY_API_URL`: Canary's base URL; only with credentials, since the demo uses the
   * built-in simulator. @default the client's, https://api.canaryis.com
   */
  canaryApiUrl?: string;
  /** `API_KEY`: the read API's key; otherwise one is generated once and kept in DATA_DIR. */
  apiKey?: string;
  /** `BACKFILL_HOURS`: history fetched for a new device. @default 24 */
  backfillHours: number;
  /** `RETENTION_DAYS`: days items are kept; 0 keeps everything. @default 0 */
  retentionDays: number;
  /** `LOG_LEVEL`: the lowest level logged, one of debug, info, warn, error. @default "info" */
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function readLocalConfig(env: NodeJS.ProcessEnv, cwd: string): LocalConfig {
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw ? raw : undefined;
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; it is "${raw}"`);
    }
    return Number(raw);
  };

  const username = value("CANARY_USERNAME");
  const password = env.CANARY_PASSWORD ? env.CANARY_PASSWORD : undefined;
  const token = value("CANARY_TOKEN");
  if (token && password) {
    throw new ConfigError("set either CANARY_TOKEN or CANARY_PASSWORD, not both");
  }
  if (password && !username) {
    throw new ConfigError("CANARY_PASSWORD is set but CANARY_USERNAME is not; set both");
  }
  if (username && !password && !token) {
    throw new ConfigError(
      "CANARY_USERNAME is set but neither CANARY_PASSWORD nor CANARY_TOKEN is; set one",
    );
  }
  const credentials: Credentials | undefined = token
    ? { token }
    : username && password
      ? { username, password }
      : undefined;

  const canaryApiUrl = value("CANARY_API_URL");
  if (canaryApiUrl && !isSafeCanaryUrl(canaryApiUrl)) {
    throw new ConfigError(
      `CANARY_API_URL must be an https URL (http only for localhost); it is "${canaryApiUrl}"`,
    );
  }
  if (canaryApiUrl && !credentials) {
    throw new ConfigError(
      "CANARY_API_URL needs CANARY_USERNAME and CANARY_PASSWORD, or CANARY_TOKEN; without an account the demo runs against the built-in simulator and would ignore it",
    );
  }
  const apiKey = value("API_KEY");
  if (apiKey !== undefined && !/^[\x21-\x7e]{20,128}$/.test(apiKey)) {
    throw new ConfigError("API_KEY must be 20 to 128 printable characters without spaces");
  }

  const host = value("HOST") ?? "127.0.0.1";
  if (!isHost(host)) {
    throw new ConfigError(
      `HOST must be a host name or an IP address, such as 127.0.0.1, 0.0.0.0 or ::1 (IPv6 without brackets); it is "${host}"`,
    );
  }
  const logLevel = value("LOG_LEVEL") ?? "info";
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}; it is "${logLevel}"`);
  }

  return {
    dataDir: path.resolve(cwd, value("DATA_DIR") ?? ".canary-capture"),
    pollIntervalSeconds: integer("POLL_INTERVAL", 300, 10, 86_400),
    host,
    port: integer("PORT", 8787, 0, 65_535),
    credentials,
    canaryApiUrl,
    apiKey,
    backfillHours: integer("BACKFILL_HOURS", 24, 1, 24 * 30),
    retentionDays: integer("RETENTION_DAYS", 0, 0, 36_500),
    logLevel: logLevel as LogLevel,
  };
}

/** An IP literal, or a name whose last label is not all digits, which would be a bad IPv4. */
function isHost(host: string): boolean {
  if (net.isIP(host) !== 0) return true;
  return HOST_NAME.test(host) && !/^\d+$/.test(host.slice(host.lastIndexOf(".") + 1));
}
