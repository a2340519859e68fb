import { type Clock, isoSeconds } from "../clock";
import type { Logger } from "../log";
import { SENSORS, type Sensor } from "../store/tables";
import {
  CanaryHttpError,
  CanaryIncompleteListingError,
  CanaryThrottledError,
  CanaryUnauthorizedError,
  LoginRejectedError,
  MfaRequiredError,
} from "./errors";
import { backoffDelay, parseRetryAfter } from "./retry";
import type { CanaryClient, CanaryDevice, Reading, ReadingsResult, TokenGrant } from "./types";

/** The mobile app's public OAuth client, as published in py-canary's `canary/const.py`. */
export const DEFAULT_CLIENT_ID = "a183323eab0544d83808";
export const DEFAULT_CLIENT_SECRET = "ba883a083b2d45fa7c6a6567ca7a01e473c3a269";
export const DEFAULT_BASE_URL = "https://api.canaryis.com";
export const DEFAULT_USER_AGENT = "Canary/5.9.0 (iPhone; iOS 15.4.1; Scale/3.00)";

export interface CanaryClientOptions {
  /** Where Canary's API lives. @default "https://api.canaryis.com" */
  baseUrl?: string;
  /** OAuth client id of the mobile app. @default "a183323eab0544d83808" */
  clientId?: string;
  /** OAuth client secret of the mobile app. @default "ba883a083b2d45fa7c6a6567ca7a01e473c3a269" */
  clientSecret?: string;
  /** Sent on every request. @default "Canary/5.9.0 (iPhone; iOS 15.4.1; Scale/3.00)" */
  userAgent?: string;
  /** Limit for one data request, response body included, in real time. @default 10000 */
  timeoutMs?: number;
  /**
   * Limit for one login request, in real time. Longer than `timeoutMs` because a login that
   * times out is not repeated (Canary may have processed it and e-mailed the owner), so a
   * slow answer is worth waiting for. @default 30000
   */
  loginTimeoutMs?: number;
  /**
   * Retries after the first attempt of one request (so up to 1 + maxRetries attempts); also
   * how many times a readings listing that came back short is fetched again. @default 4
   */
  maxRetries?: number;
  /** Ceiling of the first backoff; it doubles per retry. @default 500 */
  baseDelayMs?: number;
  /**
   * Longest wait between attempts. A `Retry-After` asking for longer gives the request up at
   * once with CanaryThrottledError rather than retrying early. @default 30000
   */
  maxDelayMs?: number;
  /** Most pages followed through `meta.next` for one listing. @default 1000 */
  maxPages?: number;
  /** Every backoff wait goes through `clock.sleep`. Required. */
  clock: Clock;
  /** Source of backoff jitter, a number in [0, 1). @default Math.random */
  random?: () => number;
  /** Receives retries and dropped rows; nothing sensitive is logged. @default no logging */
  log?: Logger;
}

const TOKEN_PATH = "/o/access_token/";
const LOCATIONS_PATH = "/v1/locations/";
const READINGS_PATH = "/v1/readings/";

/** Canary's sensor type ids, used only when a row has no sensor name. */
const SENSOR_BY_TYPE_ID: Record<number, Sensor> = {
  1: "humidity",
  2: "temperature",
  3: "air_quality",
  7: "battery",
  8: "wifi",
};

const KNOWN_SENSORS: ReadonlySet<string> = new Set(SENSORS);

/** A plain decimal or exponent number; rejects "", "0x1f", "Infinity" that `Number` accepts. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `2024-06-16T19:04:12`, optionally with fractional seconds and a zone. */
const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Socket error codes (undici's fetch puts them in `error.cause.code`) of a connection that
 * was never established, so the request cannot have reached Canary.
 */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** What one attempt of a request came to. */
type Outcome<T> =
  | { kind: "done"; value: T }
  | { kind: "retry"; error: CanaryHttpError; retryAfterMs?: number }
  | { kind: "fail"; error: CanaryHttpError };

interface Exchange<T> {
  method: "GET" | "POST";
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** Real-time limit of one attempt. */
  timeoutMs: number;
  /**
   * Whether an attempt whose answer was lost may be repeated. False for a login: only a
   * connection that was never established is retried, since any other may have been processed.
   */
  repeatable: boolean;
  /** What a lost answer of an unrepeatable request means for the caller. */
  lostAnswer?: string;
  /** Turns a response into an outcome; `json` is undefined when the body is not JSON. */
  interpret: (response: Response, json: unknown) => Outcome<T>;
}

interface Page {
  next: string | null;
  objects: unknown[];
  /** `meta.total_count` when it is a count; the rows the whole listing should hold. */
  totalCount?: number;
}

/**
 * Whether a base URL is fit to receive the owner's password: https, or plain http to this
 * machine only (the simulator, a local proxy).
 */
export function isSafeCanaryUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
}

export function createCanaryClient(options: CanaryClientOptions): CanaryClient {
  if (!isSafeCanaryUrl(options.baseUrl ?? DEFAULT_BASE_URL)) {
    throw new Error(
      `Canary base URL ${options.baseUrl} must be https (plain http only to localhost), since the password and token travel to it`,
    );
  }
  const base = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
  const basePath = base.pathname.replace(/\/+$/, "");
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const loginTimeoutMs = options.loginTimeoutMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 4;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const maxPages = options.maxPages ?? 1000;
  const backoff = {
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs,
    random: options.random ?? Math.random,
  };
  const { clock, log } = options;

  const endpoint = (path: string, query = "") =>
    new URL(`${base.origin}${basePath}${path}${query}`);

  async function attempt<T>(exchange: Exchange<T>): Promise<Outcome<T>> {
    const { method, url, timeoutMs } = exchange;
    const where = describeUrl(url);
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: exchange.headers,
        body: exchange.body,
        signal,
      });
    } catch (error) {
      const detail = networkDetail(error, timeoutMs);
      if (exchange.repeatable || neverSent(error)) {
        return { kind: "retry", error: new CanaryHttpError(0, method, where, detail) };
      }
      // A timeout or a reset after the request went out: Canary may have processed it.
      const consequence = exchange.lostAnswer ?? "Canary may have processed it; not repeated";
      return {
        kind: "fail",
        error: new CanaryHttpError(0, method, where, `${detail}; ${consequence}`),
      };
    }

    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The status line arrived but the body did not, so the request was processed.
      const failure = new CanaryHttpError(
        response.status,
        method,
        where,
        `the response body was cut off (${networkDetail(error, timeoutMs)})`,
      );
      return exchange.repeatable
        ? { kind: "retry", error: failure }
        : { kind: "fail", error: failure };
    }
    return exchange.interpret(response, parseJson(text));
  }

  async function send<T>(exchange: Exchange<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      const outcome = await attempt(exchange);
      if (outcome.kind === "done") return outcome.value;
      if (outcome.kind === "fail") throw outcome.error;

      // Retry-After is Canary's word: retrying sooner would only be declined again.
      const { error, retryAfterMs } = outcome;
      if (retryAfterMs !== undefined && retryAfterMs > maxDelayMs) {
        throw new CanaryThrottledError(
          error.status,
          error.method,
          error.url,
          retryAfterMs,
          maxDelayMs,
        );
      }
      if (retry >= maxRetries) throw error;

      const delayMs = retryAfterMs ?? backoffDelay(retry, backoff);
      log?.warn("canary request failed; retrying", {
        method: exchange.method,
        url: describeUrl(exchange.url),
        status: error.status,
        error: error.message,
        attempt: retry + 1,
        delayMs,
      });
      await clock.sleep(delayMs);
    }
  }

  /** 429 and 5xx are worth another try, after the server's `Retry-After` if it sent one. */
  const retryLater = (response: Response, error: CanaryHttpError): Outcome<never> => ({
    kind: "retry",
    error,
    retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), clock.now()),
  });

  /** One authenticated GET of a Tastypie listing page. */
  function getPage(token: string, url: URL): Promise<Page> {
    const where = describeUrl(url);
    return send<Page>({
      method: "GET",
      url,
      timeoutMs,
      repeatable: true,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
        "User-Agent": userAgent,
      },
      interpret: (response, json) => {
        const status = response.status;
        if (status >= 200 && status < 300) {
          const page = asPage(json);
          if (page) return { kind: "done", value: page };
          // A truncated or reshaped body is usually a proxy or deploy hiccup; try again.
          return {
            kind: "retry",
            error: new CanaryHttpError(status, "GET", where, "the body was not the expected JSON"),
          };
        }
        if (status === 401) {
          return {
            kind: "fail",
            error: new CanaryUnauthorizedError(
              status,
              "GET",
              where,
              "the token is no longer valid; log in again or supply a new token",
            ),
          };
        }
        if (status === 429 || status >= 500) {
          return retryLater(response, new CanaryHttpError(status, "GET", where));
        }
        return { kind: "fail", error: new CanaryHttpError(status, "GET", where) };
      },
    });
  }

  /**
   * Every row of a listing, following `meta.next` on Canary's host only. `totalCount` is
   * the first page's `meta.total_count`, when it is a count.
   */
  async function getAll(
    token: string,
    first: URL,
  ): Promise<{ rows: unknown[]; pages: number; totalCount?: number }> {
    const rows: unknown[] = [];
    const seen = new Set<string>();
    let url: URL | null = first;
    let pages = 0;
    let totalCount: number | undefined;
    while (url) {
      if (pages >= maxPages || seen.has(url.href)) {
        throw new CanaryHttpError(
          200,
          "GET",
          describeUrl(first),
          pages >= maxPages
            ? `meta.next was still set after ${maxPages} pages; refusing to follow further`
            : `meta.next led back to ${describeUrl(url)}, a page already fetched`,
        );
      }
      seen.add(url.href);
      const page = await getPage(token, url);
      if (pages === 0) totalCount = page.totalCount;
      pages++;
      for (const row of page.objects) rows.push(row);
      url = page.next === null ? null : resolveNext(page.next, url);
    }
    return { rows, pages, totalCount };
  }

  /**
   * A listing that holds at least the `meta.total_count` rows its first page announced. Canary
   * returns readings grouped by sensor type, so a listing that ends early (a paging cap) can
   * lack whole sensor types; it is fetched again, up to `maxRetries` times. More rows than
   * announced are fine: readings created while paging shift later pages.
   */
  async function getComplete(
    token: string,
    first: URL,
  ): Promise<{ rows: unknown[]; pages: number }> {
    for (let retry = 0; ; retry++) {
      const listing = await getAll(token, first);
      const expected = listing.totalCount;
      if (expected === undefined || listing.rows.length >= expected) return listing;

      const received = listing.rows.length;
      if (retry >= maxRetries) {
        throw new CanaryIncompleteListingError(
          200,
          "GET",
          describeUrl(first),
          received,
          expected,
          retry + 1,
        );
      }
      const delayMs = backoffDelay(retry, backoff);
      log?.warn("canary listing was short; fetching it again", {
        url: describeUrl(first),
        error: `${received} of ${expected} rows arrived`,
        rows: received,
        totalCount: expected,
        pages: listing.pages,
        attempt: retry + 1,
        delayMs,
      });
      await clock.sleep(delayMs);
    }
  }

  function resolveNext(next: string, current: URL): URL {
    const resolved = new URL(next, base);
    // The bearer token must not follow a link to another host.
    if (resolved.origin !== base.origin) {
      throw new CanaryHttpError(
        200,
        "GET",
        describeUrl(current),
        `meta.next points to another host (${resolved.origin}); not sending the token there`,
      );
    }
    return resolved;
  }

  return {
    async login(username, password) {
      const url = endpoint(TOKEN_PATH);
      const where = describeUrl(url);
      const form = new URLSearchParams({
        username,
        password,
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: "password",
        scope: "write",
      });
      return send<TokenGrant>({
        method: "POST",
        url,
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
          "User-Agent": userAgent,
        },
        body: form.toString(),
        timeoutMs: loginTimeoutMs,
        // Every login the server processes e-mails the owner a security alert. A login is
        // repeated only when Canary said it did not process it (429, 503) or when the
        // connection was never established. A timeout or reset after the form went out, a 500
        // or a cut-off 200 may follow a processed login: not repeated, the next run logs in.
        repeatable: false,
        lostAnswer:
          "Canary may have processed the login (each one e-mails the owner), so it is not repeated; the next poll run logs in again",
        interpret: (response, json) => {
          const status = response.status;
          if (status >= 200 && status < 300) {
            const grant = asGrant(json);
            if (grant) return { kind: "done", value: grant };
            return {
              kind: "fail",
              error: new CanaryHttpError(status, "POST", where, "the answer held no access_token"),
            };
          }
          if (status === 403 && oauthError(json) === "mfa_required") {
            return { kind: "fail", error: new MfaRequiredError(status, "POST", where) };
          }
          if (status === 400 || status === 401 || status === 423) {
            return { kind: "fail", error: new LoginRejectedError(status, "POST", where) };
          }
          if (status === 429 || status === 503) {
            return retryLater(response, new CanaryHttpError(status, "POST", where));
          }
          return { kind: "fail", error: new CanaryHttpError(status, "POST", where) };
        },
      });
    },

    async listDevices(token) {
      // Not held to total_count: a device missing from one listing is polled on the next run,
      // from its cursor, while readings missing from a window would be skipped for good.
      const { rows } = await getAll(token, endpoint(LOCATIONS_PATH));
      const devices = new Map<string, CanaryDevice>();
      for (const location of rows) {
        if (!isRecord(location)) continue;
        const locationName = typeof location.name === "string" ? location.name : "";
        const listed = Array.isArray(location.devices) ? location.devices : [];
        for (const row of listed) {
          const device = toDevice(row, locationName);
          if (device) devices.set(device.id, device);
          else log?.warn("canary listed a device without an id; skipping it", {});
        }
      }
      return [...devices.values()];
    },

    async readings(token, deviceId, from, to): Promise<ReadingsResult> {
      if (to < from) return { readings: [], unparseable: 0, unknownSensor: 0, pages: 0 };
      const range = `${isoSeconds(from)},${isoSeconds(to)}`;
      const query = `?created__range=${range}&device=${encodeURIComponent(deviceId)}&limit=0`;
      const { rows, pages } = await getComplete(token, endpoint(READINGS_PATH, query));

      // Offsets can shift between pages while new readings arrive, repeating a row; the
      // (sensor, time) pair is the key, never the placeholder row id.
      const byKey = new Map<string, Reading>();
      let unparseable = 0;
      let unknownSensor = 0;
      let outside = 0;
      for (const row of rows) {
        const sensor = sensorOf(row);
        if (sensor === undefined) {
          unknownSensor++;
          continue;
        }
        const time = isRecord(row) ? parseCreated(row.created) : undefined;
        const value = isRecord(row) ? parseValue(row.value) : undefined;
        if (time === undefined || value === undefined) {
          unparseable++;
          continue;
        }
        if (time < from || time > to) {
          outside++;
          continue;
        }
        const key = `${sensor}@${time}`;
        if (!byKey.has(key)) byKey.set(key, { sensor, time, value });
      }
      if (outside > 0) {
        log?.warn("canary returned readings outside the requested window; dropped them", {
          device: deviceId,
          readings: outside,
        });
      }
      const readings = [...byKey.values()].sort(compareReadings);
      return { readings, unparseable, unknownSensor, pages };
    },
  };
}

/** Time first, then sensor name: the order `readings` returns. */
export function compareReadings(a: Reading, b: Reading): number {
  if (a.time !== b.time) return a.time - b.time;
  return a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0;
}

/** Path and query: enough to find the call, and never a credential (those go in headers). */
function describeUrl(url: URL): string {
  return `${url.pathname}${url.search}`;
}

function networkDetail(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  // undici wraps the socket error; its code (ECONNRESET, ECONNREFUSED) says enough.
  const cause = error instanceof Error ? (error as { cause?: unknown }).cause : undefined;
  const code = isRecord(cause) && typeof cause.code === "string" ? cause.code : undefined;
  return code ?? (error instanceof Error ? error.name : "unknown error");
}

/** Whether a fetch failure proves the request never left this machine (see NEVER_SENT_CODES). */
function neverSent(error: unknown): boolean {
  const cause = error instanceof Error ? (error as { cause?: unknown }).cause : undefined;
  if (!isRecord(cause)) return false;
  // With several addresses to try, Node reports an AggregateError of each connect failure.
  const causes = Array.isArray(cause.errors) ? cause.errors : [cause];
  return (
    causes.length > 0 &&
    causes.every((each) => isRecord(each) && NEVER_SENT_CODES.has(String(each.code)))
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asPage(json: unknown): Page | undefined {
  if (!isRecord(json) || !Array.isArray(json.objects)) return undefined;
  const meta = json.meta;
  if (meta === undefined || meta === null) return { next: null, objects: json.objects };
  if (!isRecord(meta)) return undefined;
  const total = meta.total_count;
  const counted =
    typeof total === "number" && Number.isInteger(total) && total >= 0 ? { totalCount: total } : {};
  const next = meta.next;
  if (next === undefined || next === null || next === "")
    return { next: null, objects: json.objects, ...counted };
  if (typeof next !== "string") return undefined;
  return { next, objects: json.objects, ...counted };
}

function asGrant(json: unknown): TokenGrant | undefined {
  if (!isRecord(json) || typeof json.access_token !== "string" || json.access_token === "") {
    return undefined;
  }
  const expiresIn = Number(json.expires_in);
  return {
    accessToken: json.access_token,
    ...(json.expires_in !== undefined && Number.isFinite(expiresIn) ? { expiresIn } : {}),
  };
}

function oauthError(json: unknown): string | undefined {
  return isRecord(json) && typeof json.error === "string" ? json.error : undefined;
}

function toDevice(row: unknown, location: string): CanaryDevice | undefined {
  if (!isRecord(row)) return undefined;
  const id = typeof row.id === "number" || typeof row.id === "string" ? String(row.id) : "";
  if (id === "") return undefined;
  const type = isRecord(row.device_type) ? row.device_type : {};
  return {
    id,
    uuid: typeof row.uuid === "string" ? row.uuid : "",
    name: typeof row.name === "string" ? row.name : `Device ${id}`,
    type: typeof type.name === "string" ? type.name : "unknown",
    typeId: Number.isFinite(Number(type.id)) ? Number(type.id) : 0,
    location,
    // A device whose state is not reported is polled rather than skipped.
    online: row.online !== false,
  };
}

function sensorOf(row: unknown): Sensor | undefined {
  if (!isRecord(row) || !isRecord(row.sensor_type)) return undefined;
  const { name, id } = row.sensor_type;
  if (typeof name === "string") return KNOWN_SENSORS.has(name) ? (name as Sensor) : undefined;
  return typeof id === "number" ? SENSOR_BY_TYPE_ID[id] : undefined;
}

/** `created` carries no zone and is UTC; a zone, if Canary ever adds one, is respected. */
function parseCreated(created: unknown): number | undefined {
  if (typeof created !== "string" || !CREATED.test(created)) return undefined;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(created) ? created : `${created}Z`;
  const time = Date.parse(zoned);
  return Number.isFinite(time) ? time : undefined;
}

function parseValue(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string" || !DECIMAL.test(value.trim())) return undefined;
  const number = Number(value.trim());
  return Number.isFinite(number) ? number : undefined;
}
