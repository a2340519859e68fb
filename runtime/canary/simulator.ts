import * as crypto from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../clock";
import type { Sensor } from "../store/tables";
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from "./client";
import { DEVICE_TYPE_NAMES, defaultDevices, type SimDevice, seededRandom } from "./simulator-data";
import { type SimRow, SimWorld } from "./simulator-world";
import type { Reading } from "./types";

export type { SimDevice } from "./simulator-data";
export type { SimLocation, SimRow } from "./simulator-world";

/**
 * Ways a request can fail on purpose.
 * - "5xx" answers a server error; "429" answers Too Many Requests with `Retry-After`.
 * - "timeout" holds the request and then drops the connection; "reset" drops it at once.
 *   Both happen before the request is processed: a login is not counted.
 * - "processedThenDropped" processes the request (a login is counted and its token issued)
 *   and then drops the connection without answering, as a reset after the server did its work.
 * - "malformed" answers 200 with a truncated JSON body.
 * - "short" answers a listing page whose rows stop halfway, with `meta.next` null but an honest
 *   `meta.total_count`, as a paging cap would. Listings only; other requests never draw it.
 * - "dropSensor" leaves the rows of one sensor type (`SimFaults.droppedSensor`) out of a
 *   readings page, keeping `meta.next` and an honest `meta.total_count`. Readings only.
 */
export type FaultKind =
  | "5xx"
  | "429"
  | "timeout"
  | "malformed"
  | "reset"
  | "processedThenDropped"
  | "short"
  | "dropSensor";

export const FAULT_KINDS: readonly FaultKind[] = [
  "5xx",
  "429",
  "timeout",
  "malformed",
  "reset",
  "processedThenDropped",
  "short",
  "dropSensor",
];

/** Failures and delays the simulator injects; change them at any time. */
export interface SimFaults {
  /** Delay before every answer, in real milliseconds. @default 0 */
  latencyMs: number;
  /** Share of eligible requests that fail, picked by a PRNG seeded with `seed`. @default 0 */
  failureRate: number;
  /** Kinds a randomly failing request picks from, evenly. @default every kind */
  kinds: FaultKind[];
  /** Path prefixes that may fail at random, e.g. `["/v1/readings/"]`. @default every path */
  paths?: string[];
  /** Device ids whose readings requests may fail at random; others never do. @default all */
  devices?: string[];
  /** `Retry-After` of a "429": delay-seconds, or an HTTP date as a string. @default 1 */
  retryAfter: number | string;
  /** How long a "timeout" holds the request before dropping it, in real ms. @default 30000 */
  timeoutHoldMs: number;
  /** Status of a "5xx". @default 500, 502, 503 or 504, picked by the PRNG */
  serverErrorStatus?: number;
  /**
   * `sensor_type.name` whose rows a "dropSensor" leaves out; a page without it is served whole.
   * @default the first sensor type on the page
   */
  droppedSensor?: string;
}

export interface CanarySimulatorOptions {
  /** What "now" is: readings exist up to `clock.now()`. Required. */
  clock: Clock;
  /** Seeds sensor values and the fault PRNG. @default 1 */
  seed?: number;
  /** @default "owner@example.com" */
  username?: string;
  /** @default "correct horse battery staple" */
  password?: string;
  /** Answer correct logins with 403 `mfa_required`. @default false */
  mfaRequired?: boolean;
  /** How far back from now readings exist. @default 72 */
  historyHours?: number;
  /** @default a Canary Pro and a Canary View at "Home", a Canary Flex at "Cabin" */
  devices?: SimDevice[];
  /** Locations per page of `/v1/locations/`, and the most a client may ask for. @default 20 */
  locationPageSize?: number;
  /** Share of readings whose value is "unknown", fixed per device, sensor and minute. @default 0 */
  unknownValueRate?: number;
  /** Also serve rows of a sensor type the client does not know. @default false */
  unknownSensorType?: boolean;
  /**
   * Create each sensor's reading of a minute at its own second, instead of every sensor of a
   * device at one shared second, so a window edge can fall between the sensors of a minute.
   * @default false
   */
  staggerSensors?: boolean;
}

export interface SimRequestRecord {
  method: string;
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  /** Status answered, or the fault that replaced the answer. */
  outcome: number | FaultKind;
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A listing fault ("short", "dropSensor") shaped this answer. */
  faulty?: boolean;
}

const TOKEN_PATH = "/o/access_token/";
const LOCATIONS_PATH = "/v1/locations/";
const READINGS_PATH = "/v1/readings/";
const READINGS_DEFAULT_LIMIT = 20;
const TOKEN_LIFETIME_SECONDS = 31530999;

/**
 * A local stand-in for Canary's private API, behaving as its public clients have seen it:
 * the password grant, Tastypie-paged locations and readings grouped by sensor type newest
 * first, with faults on demand. It serves HTTP on 127.0.0.1 and an ephemeral port.
 *
 * Sensor values are computed, not stored, so any window of any length costs nothing to set
 * up; `readingsBetween` and `valueAt` tell a test exactly what the server would serve.
 */
export class CanarySimulator {
  /** Injected failures; assign fields or call `setFaults`. */
  faults: SimFaults = defaultFaults();
  /** As the option of the same name; every field below may be changed between requests. */
  mfaRequired: boolean;
  /** Answer every login with 423, as a locked account might. */
  accountLocked = false;
  /** Status of a wrong-password answer; sources disagree between 400 and 401. */
  wrongPasswordStatus: 400 | 401 = 400;
  /** As the option of the same name. */
  historyHours: number;
  /**
   * Most readings per page, and the page size `limit=0` gets. Set it to 20 to act like the
   * 2022 server that seemed to ignore `limit=0`.
   */
  readingsMaxLimit = 500;
  /** As the option of the same name. */
  unknownValueRate: number;
  /** As the option of the same name. */
  unknownSensorType: boolean;
  /** As the option of the same name; fixed, since changing it would rewrite the history. */
  readonly staggerSensors: boolean;

  /** Login requests the server processed, accepted or not. */
  logins = 0;
  successfulLogins = 0;
  /** Requests received, by path, faulty ones included. */
  readonly requests: Record<string, number> = {};
  readonly requestLog: SimRequestRecord[] = [];

  private readonly clock: Clock;
  private readonly seed: number;
  private readonly username: string;
  private readonly password: string;
  private readonly locationPageSize: number;
  private readonly world: SimWorld;
  private readonly tokens = new Set<string>();
  private readonly scripted: Array<{ kind: FaultKind; path?: string }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private random: () => number;
  private server?: http.Server;
  private baseUrl?: string;

  constructor(options: CanarySimulatorOptions) {
    this.clock = options.clock;
    this.seed = options.seed ?? 1;
    this.username = options.username ?? "owner@example.com";
    this.password = options.password ?? "correct horse battery staple";
    this.mfaRequired = options.mfaRequired ?? false;
    this.historyHours = options.historyHours ?? 72;
    this.locationPageSize = options.locationPageSize ?? 20;
    this.unknownValueRate = options.unknownValueRate ?? 0;
    this.unknownSensorType = options.unknownSensorType ?? false;
    this.staggerSensors = options.staggerSensors ?? false;
    this.random = seededRandom(this.seed);

    this.world = new SimWorld({
      clock: this.clock,
      seed: this.seed,
      devices: options.devices ?? defaultDevices(),
      // The simulator's own fields, so changing them takes effect on the next request.
      settings: this,
    });
  }

  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:49152`. */
  async start(): Promise<string> {
    if (this.baseUrl) return this.baseUrl;
    const server = http.createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) send(response, { status: 500, body: { error: "internal" } });
        else response.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Stops listening and drops every connection, held ones and idle keep-alive ones too. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.baseUrl = undefined;
    const closed = new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    server.closeAllConnections();
    await closed;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error("CanarySimulator: call start() before reading url");
    return this.baseUrl;
  }

  /** Replaces some fault settings; the rest keep their values. */
  setFaults(faults: Partial<SimFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** Back to no faults; also forgets scripted ones and restarts the fault PRNG. */
  clearFaults(): void {
    this.faults = defaultFaults();
    this.scripted.length = 0;
    this.random = seededRandom(this.seed);
  }

  /**
   * Makes the next matching requests fail with `kinds`, in order, before any random
   * failure. `path` limits them to one path, e.g. "/v1/readings/"; a listing fault ("short",
   * "dropSensor") also waits for a request it fits.
   */
  failNext(kinds: FaultKind | FaultKind[], path?: string): void {
    for (const kind of Array.isArray(kinds) ? kinds : [kinds]) this.scripted.push({ kind, path });
  }

  /** A valid token without a login, as if the owner had supplied one. */
  issueToken(): string {
    const token = crypto.randomBytes(20).toString("hex");
    this.tokens.add(token);
    return token;
  }

  /** Every token issued so far answers 401 from now on. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /**
   * Takes a device off line or back, at `clock.now()`. While offline it is listed with
   * `online: false` and has no readings newer than when it went offline; the gap stays.
   */
  setOnline(deviceId: string | number, online: boolean): void {
    this.world.setOnline(deviceId, online);
  }

  /** The devices, as configured. */
  get devices(): SimDevice[] {
    return this.world.devices;
  }

  /**
   * The value the server would serve for `sensor` of a device in the minute starting at
   * `minuteStartMs`, or undefined when it would serve none (no such sensor, not yet
   * created, outside the history, offline, or "unknown").
   */
  valueAt(deviceId: string | number, sensor: Sensor, minuteStartMs: number): number | undefined {
    return this.world.valueAt(deviceId, sensor, minuteStartMs);
  }

  /**
   * The readings a client should end up with for `created` in [fromMs, toMs]: every served
   * row of a known sensor with a numeric value, ordered by time and then sensor name. Faults
   * do not change it.
   */
  readingsBetween(deviceId: string | number, fromMs: number, toMs: number): Reading[] {
    return this.world.readingsBetween(deviceId, fromMs, toMs);
  }

  /** Every row the server would serve for [fromMs, toMs], in the server's order. */
  rowsBetween(deviceId: string | number, fromMs: number, toMs: number): SimRow[] {
    return this.world.rows(deviceId, fromMs, toMs).rows;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse) {
    const url = new URL(request.url ?? "/", "http://simulator");
    const method = request.method ?? "GET";
    const path = url.pathname;
    const record: SimRequestRecord = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      outcome: 0,
    };
    this.requests[path] = (this.requests[path] ?? 0) + 1;
    this.requestLog.push(record);

    const body = await readBody(request);
    if (this.faults.latencyMs > 0) await this.wait(this.faults.latencyMs);
    const fault = this.pickFault(path, url.searchParams.get("device"));
    if (fault) record.outcome = fault;

    if (fault === "reset") {
      request.socket.destroy();
      return;
    }
    if (fault === "timeout") {
      await this.wait(this.faults.timeoutHoldMs);
      request.socket.destroy();
      return;
    }
    if (fault === "5xx") {
      const status = this.faults.serverErrorStatus ?? [500, 502, 503, 504][this.pick(4)];
      send(response, { status, body: { error: "server_error" } });
      return;
    }
    if (fault === "429") {
      const retryAfter = String(this.faults.retryAfter);
      send(response, {
        status: 429,
        body: { error: "throttled" },
        headers: { "Retry-After": retryAfter },
      });
      return;
    }

    const answer = this.route(method, url, request.headers, body, fault);
    if (fault === "processedThenDropped") {
      request.socket.destroy();
      return;
    }
    if (fault === "malformed") {
      const text = JSON.stringify(answer.body);
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    // A listing fault shows in the log only when it shaped a page (not on a 401, say).
    if (!answer.faulty) record.outcome = answer.status;
    send(response, answer);
  }

  private pickFault(path: string, device: string | null): FaultKind | undefined {
    const index = this.scripted.findIndex(
      (fault) => (!fault.path || fault.path === path) && faultApplies(fault.kind, path),
    );
    if (index >= 0) return this.scripted.splice(index, 1)[0]?.kind;

    const { failureRate, paths, devices } = this.faults;
    const kinds = this.faults.kinds.filter((kind) => faultApplies(kind, path));
    if (failureRate <= 0 || kinds.length === 0) return undefined;
    if (paths && !paths.some((prefix) => path.startsWith(prefix))) return undefined;
    if (devices && (device === null || !devices.includes(device))) return undefined;
    if (this.random() >= failureRate) return undefined;
    return kinds[this.pick(kinds.length)];
  }

  private pick(count: number): number {
    return Math.min(count - 1, Math.floor(this.random() * count));
  }

  /** Real time, not the clock's: the client's request timeout is real time too. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private route(
    method: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: string,
    fault: FaultKind | undefined,
  ): Answer {
    if (url.pathname === TOKEN_PATH) {
      return method === "POST" ? this.login(headers, body) : methodNotAllowed();
    }
    if (url.pathname !== LOCATIONS_PATH && url.pathname !== READINGS_PATH) {
      return { status: 404, body: { error: "not_found" } };
    }
    if (method !== "GET") return methodNotAllowed();
    const token = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? "")?.[1];
    if (!token || !this.tokens.has(token)) {
      return { status: 401, body: { detail: "Authentication credentials were not valid." } };
    }
    return url.pathname === LOCATIONS_PATH
      ? this.locationsPage(url.searchParams, fault)
      : this.readingsPage(url.searchParams, fault);
  }

  private login(headers: http.IncomingHttpHeaders, body: string): Answer {
    if (!(headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return { status: 400, body: { error: "invalid_request" } };
    }
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "password") {
      return { status: 400, body: { error: "unsupported_grant_type" } };
    }
    if (
      form.get("client_id") !== DEFAULT_CLIENT_ID ||
      form.get("client_secret") !== DEFAULT_CLIENT_SECRET
    ) {
      return { status: 401, body: { error: "invalid_client" } };
    }
    this.logins++;
    if (this.accountLocked) return { status: 423, body: { error: "account_locked" } };
    if (form.get("username") !== this.username || form.get("password") !== this.password) {
      return {
        status: this.wrongPasswordStatus,
        body: { error: "invalid_grant", error_description: "Invalid credentials given." },
      };
    }
    if (this.mfaRequired) return { status: 403, body: { error: "mfa_required" } };

    this.successfulLogins++;
    return {
      status: 200,
      body: {
        access_token: this.issueToken(),
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME_SECONDS,
        scope: "read write read+write",
        refresh_token: crypto.randomBytes(20).toString("hex"),
      },
    };
  }

  private locationsPage(query: URLSearchParams, fault: FaultKind | undefined): Answer {
    const requested = nonNegative(query.get("limit")) ?? 0;
    const limit =
      requested === 0 ? this.locationPageSize : Math.min(requested, this.locationPageSize);
    const offset = nonNegative(query.get("offset")) ?? 0;
    const locations = this.world.locations;
    const objects = locations.slice(offset, offset + limit).map((location) => ({
      id: location.id,
      name: location.name,
      resource_uri: `${LOCATIONS_PATH}${location.id}/`,
      timezone: "Europe/Oslo",
      is_private: false,
      devices: this.world.devicesAt(location).map(({ device, online }) => ({
        id: device.id,
        uuid: device.uuid,
        resource_uri: `/v1/devices/${device.uuid}/`,
        name: device.name,
        device_type: { id: device.typeId, name: device.type ?? DEVICE_TYPE_NAMES[device.typeId] },
        online,
        device_activated: true,
        location: `${LOCATIONS_PATH}${location.id}/`,
      })),
    }));
    const link = (at: number) => `${LOCATIONS_PATH}?offset=${at}&limit=${limit}`;
    const meta = pageMeta(limit, offset, locations.length, link);
    if (fault === "short") return shortPage(meta, objects);
    return { status: 200, body: { meta, objects } };
  }

  private readingsPage(query: URLSearchParams, fault: FaultKind | undefined): Answer {
    const range = (query.get("created__range") ?? "").split(",");
    const from = parseRangeTime(range[0]);
    const to = parseRangeTime(range[1]);
    const deviceId = query.get("device");
    if (range.length !== 2 || from === undefined || to === undefined || !deviceId) {
      return { status: 400, body: { error: "created__range and device are required" } };
    }
    const requested = nonNegative(query.get("limit"));
    const limit =
      requested === undefined
        ? READINGS_DEFAULT_LIMIT
        : requested === 0
          ? this.readingsMaxLimit
          : Math.min(requested, this.readingsMaxLimit);
    const offset = nonNegative(query.get("offset")) ?? 0;

    // An unknown device gets an empty list, as a Tastypie filter matching nothing would.
    const { rows, total } = this.world.rows(deviceId, from, to, offset, limit);
    const deviceUri = `/v1/devices/${this.world.uuidOf(deviceId)}/`;
    const objects = rows.map((row) => ({
      created: new Date(row.created).toISOString().slice(0, 19),
      device: deviceUri,
      // Canary's rows carry placeholder ids; so do these, so nobody keys on them.
      id: 1,
      resource_uri: "/v1/readings/1/",
      status: row.status,
      value: row.value,
      sensor_type: {
        id: row.sensorTypeId,
        name: row.sensor,
        resource_uri: `/v1/sensors/${row.sensorTypeId}/`,
      },
    }));

    const rangeText = `${range[0]},${range[1]}`;
    const link = (at: number) =>
      `${READINGS_PATH}?created__range=${rangeText}&device=${deviceId}&limit=${limit}&offset=${at}`;
    const meta = pageMeta(limit, offset, total, link);
    if (fault === "short") return shortPage(meta, objects);
    if (fault === "dropSensor") {
      const dropped = this.faults.droppedSensor ?? objects[0]?.sensor_type.name;
      const kept = objects.filter((row) => row.sensor_type.name !== dropped);
      return { status: 200, body: { meta, objects: kept }, faulty: true };
    }
    return { status: 200, body: { meta, objects } };
  }
}

function defaultFaults(): SimFaults {
  return {
    latencyMs: 0,
    failureRate: 0,
    kinds: [...FAULT_KINDS],
    retryAfter: 1,
    timeoutHoldMs: 30_000,
  };
}

function pageMeta(limit: number, offset: number, total: number, link: (offset: number) => string) {
  return {
    limit,
    next: offset + limit < total ? link(offset + limit) : null,
    offset,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    total_count: total,
  };
}

/** Listing faults fit listings only, so a scripted one waits for a listing request. */
function faultApplies(kind: FaultKind, path: string): boolean {
  if (kind === "short") return path === LOCATIONS_PATH || path === READINGS_PATH;
  if (kind === "dropSensor") return path === READINGS_PATH;
  return true;
}

/** The first half of a page's rows and no `next`, with the real `total_count` kept. */
function shortPage(meta: ReturnType<typeof pageMeta>, objects: unknown[]): Answer {
  return {
    status: 200,
    body: {
      meta: { ...meta, next: null },
      objects: objects.slice(0, Math.floor(objects.length / 2)),
    },
    faulty: true,
  };
}

function methodNotAllowed(): Answer {
  return { status: 405, body: { error: "method_not_allowed" } };
}

function nonNegative(text: string | null): number | undefined {
  if (text === null || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** `2024-06-16T19:04:12Z`; the zone is optional, and UTC either way. */
function parseRangeTime(text: string | undefined): number | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?$/.test(text)) return undefined;
  const time = Date.parse(text.endsWith("Z") ? text : `${text}Z`);
  return Number.isFinite(time) ? time : undefined;
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: http.ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...answer.headers,
  });
  response.end(text);
}
