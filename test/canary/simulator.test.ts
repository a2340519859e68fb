import { expect } from "chai";
import { sensorValue } from "../../runtime/canary/simulator-data";
import { SENSORS } from "../../runtime/store/tables";
import {
  OWNER,
  type RunningSimulator,
  startSimulator,
  type TestSimulatorOptions,
} from "../support/simulator";

const PRO = "1174001";
const FLEX = "1174003";
const HOUR_RANGE = "2026-06-16T11:00:00Z,2026-06-16T11:59:59Z";

interface RawRow {
  created: string;
  device: string;
  id: number;
  resource_uri: string;
  status: string | null;
  value: string;
  sensor_type: { id: number; name: string; resource_uri: string };
}

interface RawPage<T> {
  meta: {
    limit: number;
    next: string | null;
    offset: number;
    previous: string | null;
    total_count: number;
  };
  objects: T[];
}

const running: RunningSimulator[] = [];

async function start(options: TestSimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = await startSimulator(options);
  running.push(sim);
  return sim;
}

async function get(sim: RunningSimulator, path: string, token?: string) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(`${sim.url}${path}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function getJson<T>(sim: RunningSimulator, path: string, token: string): Promise<T> {
  const response = await get(sim, path, token);
  expect(response.status, path).to.equal(200);
  return JSON.parse(response.text) as T;
}

function login(sim: RunningSimulator, password: string) {
  const body = new URLSearchParams({
    username: OWNER.username,
    password,
    client_id: "a183323eab0544d83808",
    client_secret: "ba883a083b2d45fa7c6a6567ca7a01e473c3a269",
    grant_type: "password",
    scope: "write",
  });
  return fetch(`${sim.url}/o/access_token/`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

describe("Canary simulator: login and authorization", () => {
  it("grants a bearer token for the right password and counts every login it processes", async () => {
    const sim = await start();
    const wrong = await login(sim, "nope");
    const right = await login(sim, OWNER.password);
    const grant = (await right.json()) as Record<string, unknown>;

    expect(wrong.status).to.equal(400);
    expect(await wrong.json()).to.include({ error: "invalid_grant" });
    expect(right.status).to.equal(200);
    expect(grant).to.include({ token_type: "Bearer", expires_in: 31530999 });
    expect(grant.access_token).to.be.a("string");
    expect(sim.simulator).to.include({ logins: 2, successfulLogins: 1 });
  });

  it("answers a two-factor account's correct password with 403 mfa_required", async () => {
    const sim = await start({ mfaRequired: true });
    const response = await login(sim, OWNER.password);

    expect(response.status).to.equal(403);
    expect(await response.json()).to.deep.equal({ error: "mfa_required" });
    expect(sim.simulator.successfulLogins).to.equal(0);
  });

  it("answers 401 to data calls without a token, with an unknown one or with an expired one", async () => {
    const sim = await start();
    const token = sim.simulator.issueToken();
    expect((await get(sim, "/v1/locations/", token)).status).to.equal(200);

    expect((await get(sim, "/v1/locations/")).status).to.equal(401);
    expect((await get(sim, "/v1/locations/", "made-up")).status).to.equal(401);
    sim.simulator.expireTokens();
    expect((await get(sim, "/v1/locations/", token)).status).to.equal(401);
    expect(
      (await get(sim, `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}`, token)).status,
    ).to.equal(401);
    expect((await get(sim, "/v1/locations/", sim.simulator.issueToken())).status).to.equal(200);
  });
});

describe("Canary simulator: listings", () => {
  it("pages locations Tastypie-style, with a relative meta.next and devices in each", async () => {
    const sim = await start({ locationPageSize: 1 });
    const token = sim.simulator.issueToken();
    const first = await getJson<RawPage<{ name: string; devices: unknown[] }>>(
      sim,
      "/v1/locations/",
      token,
    );
    const next = first.meta.next ?? "";
    const second = await getJson<RawPage<{ name: string; devices: unknown[] }>>(sim, next, token);

    expect(first.meta).to.deep.equal({
      limit: 1,
      next: "/v1/locations/?offset=1&limit=1",
      offset: 0,
      previous: null,
      total_count: 2,
    });
    expect(first.objects.map((location) => location.name)).to.deep.equal(["Home"]);
    expect(first.objects[0]?.devices).to.have.length(2);
    expect(second.meta.next).to.equal(null);
    expect(second.objects[0]?.devices[0]).to.deep.include({
      id: Number(FLEX),
      device_type: { id: 3, name: "Canary Flex" },
      online: true,
      location: "/v1/locations/502/",
    });
  });

  it("serves readings grouped by sensor type and newest first, shaped as Canary's", async () => {
    const sim = await start();
    const token = sim.simulator.issueToken();
    const page = await getJson<RawPage<RawRow>>(
      sim,
      `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}&limit=0`,
      token,
    );
    const rows = page.objects;

    expect(page.meta).to.include({ limit: 500, next: null, total_count: 240 });
    expect(rows).to.have.length(240);
    const typeIds = rows.map((row) => row.sensor_type.id);
    expect([...new Set(typeIds)]).to.deep.equal([1, 2, 3, 8]);
    expect(typeIds).to.deep.equal([...typeIds].sort((a, b) => a - b));
    for (let index = 1; index < rows.length; index++) {
      const [before, row] = [rows[index - 1], rows[index]] as [RawRow, RawRow];
      if (before.sensor_type.id === row.sensor_type.id) {
        expect(before.created > row.created, `row ${index}`).to.equal(true);
      }
    }
    const row = rows[0] as RawRow;
    expect(row).to.include({
      device: "/v1/devices/0a1b2c3d4e5f60718293a4b5c6d7e8f9/",
      id: 1,
      resource_uri: "/v1/readings/1/",
      status: null,
    });
    expect(row.created).to.match(/^2026-06-16T11:59:\d{2}$/);
    expect(row.value).to.be.a("string");
    const minute = Date.parse(`${row.created.slice(0, 16)}:00Z`);
    expect(Number(row.value)).to.equal(sim.simulator.valueAt(PRO, "humidity", minute));
  });

  it("answers 20 readings a page without a limit, and at most 500 with limit=0 or a larger one", async () => {
    const sim = await start();
    const token = sim.simulator.issueToken();
    const base = `/v1/readings/?created__range=2026-06-15T12:00:00Z,2026-06-16T11:59:59Z&device=${PRO}`;
    const unlimited = await getJson<RawPage<RawRow>>(sim, base, token);
    const zero = await getJson<RawPage<RawRow>>(sim, `${base}&limit=0`, token);
    const large = await getJson<RawPage<RawRow>>(sim, `${base}&limit=5000&offset=5500`, token);

    expect(unlimited.objects).to.have.length(20);
    expect(unlimited.meta.next).to.equal(`${base}&limit=20&offset=20`);
    expect(zero.objects).to.have.length(500);
    expect(zero.meta).to.include({ limit: 500, total_count: 5760 });
    expect(large.objects).to.have.length(260);
    expect(large.meta).to.include({ limit: 500, offset: 5500, next: null });
    expect(large.meta.previous).to.match(/offset=5000$/);
  });

  it("sends battery charge states and wifi signal bars as the status", async () => {
    const sim = await start();
    const page = await getJson<RawPage<RawRow>>(
      sim,
      `/v1/readings/?created__range=${HOUR_RANGE}&device=${FLEX}&limit=0`,
      sim.simulator.issueToken(),
    );
    const statuses = (name: string) =>
      new Set(page.objects.filter((row) => row.sensor_type.name === name).map((row) => row.status));

    expect(page.objects).to.have.length(120);
    for (const status of statuses("battery")) expect(status).to.be.oneOf(["chrg", "not_chrg"]);
    for (const status of statuses("wifi")) expect(Number(status)).to.be.within(0, 15);
  });
});

describe("Canary simulator: readings it holds", () => {
  it("serves nothing created after now or before the history it keeps", async () => {
    const sim = await start({ historyHours: 2 });
    const now = sim.clock.now();
    const readings = sim.simulator.readingsBetween(FLEX, now - 100 * 3_600_000, now + 3_600_000);
    const times = readings.map((reading) => reading.time);

    expect(readings.length).to.be.within(2 * 119, 2 * 121);
    expect(Math.max(...times)).to.be.at.most(now);
    expect(Math.min(...times)).to.be.at.least(now - 2 * 3_600_000);
    expect(sim.simulator.valueAt(FLEX, "battery", now + 60_000)).to.equal(undefined);
    expect(sim.simulator.valueAt(FLEX, "temperature", now - 60_000)).to.equal(undefined);
  });

  it("derives every value from the seed, device, sensor and minute alone", async () => {
    const [a, b, c] = [
      await start({ seed: 5 }),
      await start({ seed: 5 }),
      await start({ seed: 6 }),
    ];
    const to = a.clock.now();
    const from = to - 6 * 3_600_000;

    expect(a.simulator.readingsBetween(PRO, from, to)).to.deep.equal(
      b.simulator.readingsBetween(PRO, from, to),
    );
    expect(a.simulator.readingsBetween(PRO, from, to)).not.to.deep.equal(
      c.simulator.readingsBetween(PRO, from, to),
    );
  });

  it("keeps each sensor in a plausible range with a daily cycle", () => {
    const ranges = {
      temperature: [18, 24, 3],
      humidity: [30, 60, 15],
      air_quality: [0.3, 1, 0.4],
      battery: [0, 100, 1],
      wifi: [-80, -40, 15],
    } as const;
    const firstMinute = Math.floor(Date.parse("2026-06-10T00:00:00Z") / 60_000);
    for (const sensor of SENSORS) {
      const [low, high, swing] = ranges[sensor];
      for (const device of [1174001, 1174003, 42]) {
        const week: number[] = [];
        for (let minute = firstMinute; minute < firstMinute + 7 * 1440; minute++) {
          week.push(sensorValue(1, device, sensor, minute));
        }
        const day = week.slice(0, 1440);
        expect(Math.min(...week), `${sensor} of ${device}`).to.be.at.least(low);
        expect(Math.max(...week), `${sensor} of ${device}`).to.be.at.most(high);
        expect(Math.max(...day) - Math.min(...day), `${sensor} swing`).to.be.above(swing);
      }
    }
  });

  it("leaves a gap while a device is offline and serves readings again once it is back", async () => {
    const sim = await start();
    const wentOffline = sim.clock.now();
    sim.simulator.setOnline(FLEX, false);
    sim.clock.advance(30 * 60_000);
    const cameBack = sim.clock.now();
    sim.simulator.setOnline(FLEX, true);
    sim.clock.advance(30 * 60_000);
    const times = sim.simulator
      .readingsBetween(FLEX, wentOffline - 3_600_000, sim.clock.now())
      .map((reading) => reading.time);

    expect(times.filter((time) => time > wentOffline && time <= cameBack)).to.deep.equal([]);
    expect(times.filter((time) => time > cameBack).length).to.be.within(2 * 29, 2 * 31);
    expect(times.filter((time) => time <= wentOffline).length).to.be.within(2 * 59, 2 * 61);
  });

  it("serves 'unknown' values and rows of an unknown sensor type when asked", async () => {
    const sim = await start({ unknownValueRate: 0.2, unknownSensorType: true });
    const page = await getJson<RawPage<RawRow>>(
      sim,
      `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}&limit=0`,
      sim.simulator.issueToken(),
    );
    const names = new Set(page.objects.map((row) => row.sensor_type.name));
    const unknown = page.objects.filter((row) => row.value === "unknown");

    expect(names).to.include("air_pressure");
    expect(page.objects).to.have.length(300);
    expect(unknown.length).to.be.within(24, 72);
    for (const row of unknown) {
      const minute = Date.parse(`${row.created.slice(0, 16)}:00Z`);
      const sensor = row.sensor_type.name as (typeof SENSORS)[number];
      expect(sim.simulator.valueAt(PRO, sensor, minute)).to.equal(undefined);
    }
  });
  it("creates each sensor's reading of a minute at its own second with staggerSensors", async () => {
    const [shared, staggered] = [await start(), await start({ staggerSensors: true })];
    const now = shared.clock.now();
    const secondsPerMinute = (sim: RunningSimulator) => {
      const seconds = new Map<number, Set<number>>();
      for (const row of sim.simulator.rowsBetween(PRO, now - 3_600_000, now)) {
        const minute = Math.floor(row.created / 60_000);
        seconds.set(minute, (seconds.get(minute) ?? new Set()).add(row.created % 60_000));
      }
      return [...seconds.values()].map((set) => set.size);
    };

    expect(new Set(secondsPerMinute(shared))).to.deep.equal(new Set([1]));
    const counts = secondsPerMinute(staggered);
    expect(counts.filter((count) => count > 1).length).to.be.at.least(counts.length - 5);
    const rows = staggered.simulator.rowsBetween(PRO, now - 3_600_000, now);
    const readings = staggered.simulator.readingsBetween(PRO, now - 3_600_000, now);
    expect(readings).to.have.length(rows.length);
    for (const reading of readings) {
      const minute = Math.floor(reading.time / 60_000) * 60_000;
      expect(staggered.simulator.valueAt(PRO, reading.sensor, minute)).to.equal(reading.value);
    }
    const times = readings.map((reading) => reading.time);
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
  });
});

describe("Canary simulator: faults", () => {
  async function outcomes(seed: number): Promise<Array<number | string>> {
    const sim = await start({ seed });
    sim.simulator.setFaults({ failureRate: 0.5, kinds: ["5xx", "429", "malformed"] });
    const token = sim.simulator.issueToken();
    for (let request = 0; request < 20; request++) await get(sim, "/v1/locations/", token);
    return sim.simulator.requestLog.map((request) => request.outcome);
  }

  it("decides random faults from its seed, so the same requests fail on every run", async () => {
    const first = await outcomes(3);
    const second = await outcomes(3);

    expect(first).to.deep.equal(second);
    expect(first.filter((outcome) => outcome === 200).length).to.be.within(4, 16);
    expect([...new Set(first)]).to.include.members(["5xx", "429", "malformed"]);
  });

  it("fails only the paths it is told to", async () => {
    const sim = await start();
    sim.simulator.setFaults({ failureRate: 1, kinds: ["5xx"], paths: ["/v1/readings/"] });
    const token = sim.simulator.issueToken();

    expect((await get(sim, "/v1/locations/", token)).status).to.equal(200);
    expect(
      (await get(sim, `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}`, token)).status,
    ).to.be.oneOf([500, 502, 503, 504]);
  });

  it("answers 429 with Retry-After and a malformed answer with a cut-off 200 body", async () => {
    const sim = await start();
    sim.simulator.setFaults({ retryAfter: 9 });
    sim.simulator.failNext(["429", "malformed"]);
    const token = sim.simulator.issueToken();
    const throttled = await get(sim, "/v1/locations/", token);
    const malformed = await get(sim, "/v1/locations/", token);

    expect(throttled.status).to.equal(429);
    expect(throttled.headers.get("retry-after")).to.equal("9");
    expect(malformed.status).to.equal(200);
    expect(() => JSON.parse(malformed.text)).to.throw(SyntaxError);
    expect(malformed.text.startsWith('{"meta":')).to.equal(true);
  });

  it("holds a timed-out request for timeoutHoldMs, then drops the connection", async () => {
    const sim = await start();
    sim.simulator.setFaults({ timeoutHoldMs: 150 });
    sim.simulator.failNext("timeout");
    const started = Date.now();
    const error = await get(sim, "/v1/locations/", sim.simulator.issueToken()).catch((e) => e);

    expect(error).to.be.instanceOf(TypeError);
    expect(Date.now() - started).to.be.within(140, 2000);
  });

  it("closes at once, even with a held request and an idle keep-alive connection", async () => {
    const sim = await start();
    const token = sim.simulator.issueToken();
    await get(sim, "/v1/locations/", token);
    sim.simulator.failNext("timeout");
    const held = get(sim, "/v1/locations/", token).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await sim.close();

    expect(Date.now() - started).to.be.below(1000);
    expect(await held).to.be.instanceOf(TypeError);
  });

  it("answers a short listing page with half its rows, no meta.next and the true total_count", async () => {
    const sim = await start({ locationPageSize: 1 });
    sim.simulator.failNext(["short", "short"]);
    const token = sim.simulator.issueToken();
    const readings = await getJson<RawPage<RawRow>>(
      sim,
      `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}&limit=0`,
      token,
    );
    const locations = await getJson<RawPage<unknown>>(sim, "/v1/locations/?limit=1", token);

    expect(readings.meta).to.include({ next: null, total_count: 240 });
    expect(readings.objects).to.have.length(120);
    expect(new Set(readings.objects.map((row) => row.sensor_type.name))).to.deep.equal(
      new Set(["humidity", "temperature"]),
    );
    expect(locations.meta).to.include({ next: null, total_count: 2 });
    expect(locations.objects).to.have.length(0);
    expect(sim.simulator.requestLog.map((request) => request.outcome)).to.deep.equal([
      "short",
      "short",
    ]);
  });

  it("leaves one sensor type out of a readings page on dropSensor, keeping next and the total", async () => {
    const sim = await start();
    const token = sim.simulator.issueToken();
    const base = `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}`;
    sim.simulator.failNext("dropSensor");
    const first = await getJson<RawPage<RawRow>>(sim, `${base}&limit=100`, token);
    sim.simulator.setFaults({ droppedSensor: "air_quality" });
    sim.simulator.failNext("dropSensor");
    const whole = await getJson<RawPage<RawRow>>(sim, `${base}&limit=0`, token);
    const names = (page: RawPage<RawRow>) => [
      ...new Set(page.objects.map((row) => row.sensor_type.name)),
    ];

    expect(first.meta).to.include({ next: `${base}&limit=100&offset=100`, total_count: 240 });
    expect(names(first)).to.deep.equal(["temperature"]);
    expect(first.objects).to.have.length(40);
    expect(whole.meta).to.include({ next: null, total_count: 240 });
    expect(names(whole)).to.deep.equal(["humidity", "temperature", "wifi"]);
    expect(whole.objects).to.have.length(180);
  });

  it("processes a login and then drops the connection on processedThenDropped", async () => {
    const sim = await start();
    sim.simulator.failNext("processedThenDropped");
    const error = await login(sim, OWNER.password).catch((e: unknown) => e);

    expect(error).to.be.instanceOf(TypeError);
    expect(sim.simulator).to.include({ logins: 1, successfulLogins: 1 });
    expect(sim.simulator.requestLog[0]?.outcome).to.equal("processedThenDropped");
  });

  it("keeps a scripted listing fault for the next listing, and never draws one for a login", async () => {
    const sim = await start();
    sim.simulator.failNext("dropSensor");
    sim.simulator.setFaults({ failureRate: 1, kinds: ["short", "dropSensor"] });
    const right = await login(sim, OWNER.password);
    const token = sim.simulator.issueToken();
    sim.simulator.setFaults({ failureRate: 0 });
    await getJson<RawPage<unknown>>(sim, "/v1/locations/", token);
    await getJson<RawPage<RawRow>>(
      sim,
      `/v1/readings/?created__range=${HOUR_RANGE}&device=${PRO}&limit=0`,
      token,
    );

    expect(right.status).to.equal(200);
    expect(sim.simulator.requestLog.map((request) => request.outcome)).to.deep.equal([
      200,
      200,
      "dropSensor",
    ]);
  });
});
