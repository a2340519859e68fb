import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { createCanaryClient } from "../../runtime/canary/client";
import {
  CanaryHttpError,
  CanaryIncompleteListingError,
  CanaryThrottledError,
  CanaryUnauthorizedError,
  LoginRejectedError,
  MfaRequiredError,
} from "../../runtime/canary/errors";
import { ManualClock } from "../../runtime/clock";
import { memoryLogger } from "../../runtime/log";
import {
  OWNER,
  type RunningSimulator,
  startSimulator,
  type TestSimulatorOptions,
} from "../support/simulator";

const PRO = "1174001";
const VIEW = "1174002";
const FLEX = "1174003";
const READINGS = "/v1/readings/";
const LOCATIONS = "/v1/locations/";
const TOKEN = "/o/access_token/";

/** 24 whole minutes-worth of hours, ending before the simulator's "now" (12:00:30). */
const DAY_FROM = Date.parse("2026-06-15T12:00:00Z");
const DAY_TO = Date.parse("2026-06-16T11:59:59Z");
const HOUR_FROM = Date.parse("2026-06-16T11:00:00Z");
const HOUR_TO = Date.parse("2026-06-16T11:59:59Z");

const running: RunningSimulator[] = [];
const servers: http.Server[] = [];

async function start(options: TestSimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = await startSimulator(options);
  running.push(sim);
  return sim;
}

/** A bare server for answers the simulator would never give. */
async function startRaw(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected a rejection, but the promise resolved");
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe("Canary client: login", () => {
  it("returns the access token and its lifetime for the right password", async () => {
    const sim = await start();
    const grant = await sim.client().login(OWNER.username, OWNER.password);

    expect(grant.accessToken).to.match(/^[0-9a-f]{40}$/);
    expect(grant.expiresIn).to.equal(31530999);
    expect(sim.simulator.successfulLogins).to.equal(1);
    const data = await sim.client().listDevices(grant.accessToken);
    expect(data).to.have.length(3);
  });

  it("sends the password grant form with the mobile app's client and user agent", async () => {
    const sim = await start();
    let seen: { headers: http.IncomingHttpHeaders; form: URLSearchParams } | undefined;
    const url = await startRaw((request, response) => {
      let body = "";
      request.on("data", (chunk) => {
        body += chunk;
      });
      request.on("end", () => {
        seen = { headers: request.headers, form: new URLSearchParams(body) };
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ access_token: "t0k3n", token_type: "Bearer" }));
      });
    });

    const grant = await sim.client({ baseUrl: url }).login("a@b.c", "pw&=?");

    expect(grant).to.deep.equal({ accessToken: "t0k3n" });
    expect(seen?.headers["content-type"]).to.equal("application/x-www-form-urlencoded");
    expect(seen?.headers["user-agent"]).to.match(/^Canary\/[\d.]+ \(iPhone;/);
    expect(Object.fromEntries(seen?.form ?? [])).to.deep.equal({
      username: "a@b.c",
      password: "pw&=?",
      client_id: "a183323eab0544d83808",
      client_secret: "ba883a083b2d45fa7c6a6567ca7a01e473c3a269",
      grant_type: "password",
      scope: "write",
    });
  });

  for (const status of [400, 401] as const) {
    it(`rejects a wrong password answered ${status} with LoginRejectedError and never retries it`, async () => {
      const sim = await start();
      sim.simulator.wrongPasswordStatus = status;
      const error = await rejection(sim.client().login(OWNER.username, "wrong"));

      expect(error).to.be.instanceOf(LoginRejectedError);
      expect(error).to.include({ status, method: "POST", url: TOKEN });
      expect(sim.simulator.logins).to.equal(1);
      expect(sim.simulator.requests[TOKEN]).to.equal(1);
      expect(sim.clock.sleeps).to.deep.equal([]);
    });
  }

  it("treats a locked account (423) as a rejected login", async () => {
    const sim = await start();
    sim.simulator.accountLocked = true;
    const error = await rejection(sim.client().login(OWNER.username, OWNER.password));

    expect(error).to.be.instanceOf(LoginRejectedError);
    expect(error).to.include({ status: 423 });
    expect(sim.simulator.requests[TOKEN]).to.equal(1);
  });

  it("reports a two-factor account as MfaRequiredError telling the owner to supply a token", async () => {
    const sim = await start({ mfaRequired: true });
    const error = await rejection(sim.client().login(OWNER.username, OWNER.password));

    expect(error).to.be.instanceOf(MfaRequiredError);
    expect(error).not.to.be.instanceOf(LoginRejectedError);
    expect(error).to.include({ status: 403, method: "POST", url: TOKEN });
    expect(error.message)
      .to.match(/two-factor/)
      .and.to.match(/supply a token/);
    expect(sim.simulator.requests[TOKEN]).to.equal(1);
  });

  it("retries a login the server declined with 429 or 503, so only one login is processed", async () => {
    const sim = await start();
    sim.simulator.setFaults({ serverErrorStatus: 503, retryAfter: 3 });
    sim.simulator.failNext(["429", "5xx"], TOKEN);
    const grant = await sim.client().login(OWNER.username, OWNER.password);

    expect(grant.accessToken).to.be.a("string");
    expect(sim.simulator.requests[TOKEN]).to.equal(3);
    expect(sim.simulator.logins).to.equal(1);
    expect(sim.clock.sleeps).to.deep.equal([3000, 500]);
  });

  it("retries a login whose connection was refused, since it never reached Canary", async () => {
    // A port nothing listens on until the first backoff, when a token endpoint appears there.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    let logins = 0;
    const server = http.createServer((_request, response) => {
      logins++;
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ access_token: "t0k3n" }));
    });
    servers.push(server);
    const clock = new ManualClock(0);
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms) => {
      await sleep(ms);
      if (!server.listening) {
        await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      }
    };
    const client = createCanaryClient({ baseUrl: `http://127.0.0.1:${port}`, clock });
    const grant = await client.login(OWNER.username, OWNER.password);

    expect(grant.accessToken).to.equal("t0k3n");
    expect(logins).to.equal(1);
    expect(clock.sleeps).to.have.length(1);
  });

  for (const kind of ["reset", "timeout", "processedThenDropped"] as const) {
    it(`does not repeat a login whose answer was lost (${kind}), since Canary may have processed it`, async () => {
      const sim = await start();
      sim.simulator.setFaults({ timeoutHoldMs: 1000 });
      sim.simulator.failNext(kind, TOKEN);
      const error = await rejection(
        sim.client({ loginTimeoutMs: 200 }).login(OWNER.username, OWNER.password),
      );

      expect(error).to.be.instanceOf(CanaryHttpError);
      expect(error).to.include({ status: 0, method: "POST", url: TOKEN });
      expect(error.message).to.include("not repeated");
      expect(sim.simulator.requests[TOKEN]).to.equal(1);
      expect(sim.clock.sleeps).to.deep.equal([]);
    });
  }

  it("makes Canary process exactly one login when the answer to a processed login is lost", async () => {
    const sim = await start();
    sim.simulator.failNext("processedThenDropped", TOKEN);
    const error = await rejection(sim.client().login(OWNER.username, OWNER.password));

    expect(sim.simulator.logins).to.equal(1);
    expect(sim.simulator.successfulLogins).to.equal(1);
    expect(error.message).to.match(
      /^Canary POST \/o\/access_token\/ failed with a network error: .*may have processed/,
    );
  });

  it("gives the login its own timeout, loginTimeoutMs, rather than timeoutMs", async () => {
    const sim = await start();
    sim.simulator.setFaults({ latencyMs: 300 });
    const client = sim.client({ timeoutMs: 100, loginTimeoutMs: 2000, maxRetries: 0 });
    const grant = await client.login(OWNER.username, OWNER.password);
    const error = await rejection(client.listDevices(grant.accessToken));

    expect(grant.accessToken).to.be.a("string");
    expect(error.message).to.include("no answer within 100 ms");
  });

  for (const [kind, status] of [
    ["5xx", 500],
    ["malformed", 200],
  ] as const) {
    it(`does not repeat a login answered ${status}${kind === "malformed" ? " with a cut-off body" : ""}, since the server may have processed it`, async () => {
      const sim = await start();
      sim.simulator.setFaults({ serverErrorStatus: 500 });
      sim.simulator.failNext(kind, TOKEN);
      const error = await rejection(sim.client().login(OWNER.username, OWNER.password));

      expect(error).to.be.instanceOf(CanaryHttpError);
      expect(error).to.include({ status, method: "POST", url: TOKEN });
      expect(sim.simulator.requests[TOKEN]).to.equal(1);
    });
  }
});

describe("Canary client: devices", () => {
  it("lists every device of every location, following meta.next across pages", async () => {
    const sim = await start({ locationPageSize: 1 });
    const devices = await sim.client().listDevices(sim.simulator.issueToken());

    expect(sim.simulator.requests[LOCATIONS]).to.equal(2);
    expect(devices).to.deep.equal([
      {
        id: PRO,
        uuid: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        name: "Hall",
        type: "Canary Pro",
        typeId: 1,
        location: "Home",
        online: true,
      },
      {
        id: VIEW,
        uuid: "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        name: "Living room",
        type: "Canary View",
        typeId: 4,
        location: "Home",
        online: true,
      },
      {
        id: FLEX,
        uuid: "5e2f0c9b8a7d46e3b1c0d9e8f7a6b5c4",
        name: "Porch",
        type: "Canary Flex",
        typeId: 3,
        location: "Cabin",
        online: true,
      },
    ]);
  });

  it("lists an offline device with online false", async () => {
    const sim = await start();
    sim.simulator.setOnline(FLEX, false);
    const devices = await sim.client().listDevices(sim.simulator.issueToken());

    expect(devices.find((device) => device.id === FLEX)?.online).to.equal(false);
    expect(devices.find((device) => device.id === PRO)?.online).to.equal(true);
  });

  it("stops after maxPages pages with an error that says so", async () => {
    const sim = await start({ locationPageSize: 1 });
    const error = await rejection(
      sim.client({ maxPages: 1 }).listDevices(sim.simulator.issueToken()),
    );

    expect(error).to.be.instanceOf(CanaryHttpError);
    expect(error.message).to.include("after 1 pages");
    expect(sim.simulator.requests[LOCATIONS]).to.equal(1);
  });

  it("refuses a meta.next that leads back to a page already fetched", async () => {
    let calls = 0;
    const url = await startRaw((_request, response) => {
      calls++;
      response.writeHead(200, { "Content-Type": "application/json" });
      const next = calls === 1 ? "/v1/locations/?offset=1" : "/v1/locations/";
      response.end(JSON.stringify({ meta: { next }, objects: [] }));
    });
    const error = await rejection(
      createCanaryClient({ baseUrl: url, clock: new ManualClock(0) }).listDevices("t"),
    );

    expect(error).to.be.instanceOf(CanaryHttpError);
    expect(error.message).to.include("a page already fetched");
    expect(calls).to.equal(2);
  });

  it("does not follow a meta.next to another host, so the token stays with Canary", async () => {
    let elsewhere = 0;
    const other = await startRaw((_request, response) => {
      elsewhere++;
      response.end("{}");
    });
    const url = await startRaw((_request, response) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ meta: { next: `${other}/v1/locations/` }, objects: [] }));
    });
    const error = await rejection(
      createCanaryClient({ baseUrl: url, clock: new ManualClock(0) }).listDevices("t"),
    );

    expect(error.message).to.include("another host");
    expect(elsewhere).to.equal(0);
  });
});

describe("Canary client: readings", () => {
  it("fetches 24 hours of a Canary Pro in pages of 500, exactly as the simulator serves them", async () => {
    const sim = await start();
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, DAY_FROM, DAY_TO);

    expect(result.readings).to.have.length(5760);
    expect(result.pages).to.equal(12);
    expect(result).to.include({ unparseable: 0, unknownSensor: 0 });
    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, DAY_FROM, DAY_TO));
    const sensors = new Set(result.readings.map((reading) => reading.sensor));
    expect([...sensors].sort()).to.deep.equal(["air_quality", "humidity", "temperature", "wifi"]);
    expect(sim.simulator.requestLog[0]?.query).to.deep.equal({
      created__range: "2026-06-15T12:00:00Z,2026-06-16T11:59:59Z",
      device: PRO,
      limit: "0",
    });
  });

  it("follows meta.next until null when the server answers only 20 rows a page", async () => {
    const sim = await start();
    sim.simulator.readingsMaxLimit = 20;
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, HOUR_FROM, HOUR_TO);

    expect(result.pages).to.equal(12);
    expect(result.readings).to.have.length(240);
    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, HOUR_FROM, HOUR_TO));
  });

  it("keeps only readings inside the window when it does not start on a whole second", async () => {
    const sim = await start();
    // Half a second after a reading: the query's whole-second range still includes it.
    const [first] = sim.simulator.readingsBetween(FLEX, HOUR_FROM, HOUR_TO);
    const from = (first?.time ?? 0) + 500;
    const result = await sim.client().readings(sim.simulator.issueToken(), FLEX, from, HOUR_TO);

    const served = sim.simulator.rowsBetween(FLEX, from - 500, HOUR_TO).map((row) => row.created);
    expect(served).to.include(from - 500);
    expect(result.readings.every((reading) => reading.time >= from)).to.equal(true);
    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(FLEX, from, HOUR_TO));
    expect(result.readings).to.have.length(118);
  });

  it("keeps the sensors of a minute on the right side of a window edge that splits them", async () => {
    const sim = await start({ staggerSensors: true });
    // The first minute of the hour whose four sensors report at four different seconds.
    const rows = sim.simulator.rowsBetween(PRO, HOUR_FROM, HOUR_TO);
    const minute = [...new Set(rows.map((row) => Math.floor(row.created / 60_000)))]
      .sort((a, b) => a - b)
      .find((candidate) => {
        const times = rows.filter((row) => Math.floor(row.created / 60_000) === candidate);
        return new Set(times.map((row) => row.created)).size === 4;
      });
    const times = rows
      .filter((row) => Math.floor(row.created / 60_000) === minute)
      .map((row) => row.created)
      .sort((a, b) => a - b);
    const edge = times[2] as number;
    const client = sim.client();
    const token = sim.simulator.issueToken();
    const before = await client.readings(token, PRO, HOUR_FROM, edge - 1);
    const after = await client.readings(token, PRO, edge, HOUR_TO);

    expect(before.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, HOUR_FROM, edge - 1));
    expect(after.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, edge, HOUR_TO));
    expect(before.readings.filter((r) => r.time >= (minute ?? 0) * 60_000)).to.have.length(2);
    expect(before.readings.length + after.readings.length).to.equal(240);
  });

  it("counts unknown values and unknown sensor types without returning them", async () => {
    const sim = await start({ unknownValueRate: 0.1, unknownSensorType: true });
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, DAY_FROM, DAY_TO);
    const rows = sim.simulator.rowsBetween(PRO, DAY_FROM, DAY_TO);
    const unknownValues = rows.filter((row) => row.value === "unknown").length;

    expect(unknownValues).to.be.within(400, 800);
    expect(result.unparseable).to.equal(unknownValues);
    expect(result.unknownSensor).to.equal(1440);
    expect(result.readings).to.have.length(5760 - unknownValues);
    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, DAY_FROM, DAY_TO));
    for (const reading of result.readings) {
      expect(reading.value).to.be.a("number");
      expect(Number.isFinite(reading.value)).to.equal(true);
    }
  });

  it("reads values that are not plain decimals as unparseable, never as NaN or zero", async () => {
    const values = ["", "NaN", "Infinity", "0x1f", "unknown", null, "21.5", "-7e1"];
    const url = await startRaw((_request, response) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      const objects = values.map((value, index) => ({
        created: `2026-06-16T11:0${index}:10`,
        value,
        sensor_type: { id: 2, name: "temperature" },
      }));
      response.end(JSON.stringify({ meta: { next: null }, objects }));
    });
    const client = createCanaryClient({ baseUrl: url, clock: new ManualClock(0) });
    const result = await client.readings("t", PRO, HOUR_FROM, HOUR_TO);

    expect(result.unparseable).to.equal(6);
    expect(result.readings).to.deep.equal([
      { sensor: "temperature", time: Date.parse("2026-06-16T11:06:10Z"), value: 21.5 },
      { sensor: "temperature", time: Date.parse("2026-06-16T11:07:10Z"), value: -70 },
    ]);
  });

  it("returns no readings newer than when a device went offline", async () => {
    const sim = await start();
    sim.clock.set("2026-06-16T11:30:00Z");
    sim.simulator.setOnline(FLEX, false);
    sim.clock.set("2026-06-16T12:00:30Z");
    const result = await sim
      .client()
      .readings(sim.simulator.issueToken(), FLEX, HOUR_FROM, HOUR_TO);

    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(FLEX, HOUR_FROM, HOUR_TO));
    expect(result.readings.length).to.be.within(60, 62);
    expect(Math.max(...result.readings.map((reading) => reading.time))).to.be.at.most(
      Date.parse("2026-06-16T11:30:00Z"),
    );
  });

  it("retries a listing that stops short without a meta.next and returns every reading", async () => {
    const sim = await start();
    sim.simulator.failNext("short", READINGS);
    const log = memoryLogger();
    const result = await sim
      .client({ log })
      .readings(sim.simulator.issueToken(), PRO, HOUR_FROM, HOUR_TO);

    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, HOUR_FROM, HOUR_TO));
    expect(result.readings).to.have.length(240);
    expect(sim.simulator.requestLog.map((request) => request.outcome)).to.deep.equal([
      "short",
      200,
    ]);
    expect(sim.clock.sleeps).to.deep.equal([250]);
    expect(log.lines.join("\n")).to.include("120 of 240");
  });

  it("retries a listing cut short on a later page, when the first page was whole", async () => {
    const rows = [0, 1, 2, 3, 4].map((minute) => ({
      created: `2026-06-16T11:0${minute}:10`,
      value: "21.5",
      sensor_type: { id: 2, name: "temperature" },
    }));
    const requested: string[] = [];
    const url = await startRaw((request, response) => {
      requested.push(request.url ?? "");
      const second = (request.url ?? "").includes("offset=2");
      // The first listing's second page stops after one row; the second listing is whole.
      const cut = requested.length === 2 ? 3 : 5;
      const meta = {
        total_count: 5,
        next: second ? null : "/v1/readings/?offset=2",
      };
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(
        JSON.stringify({ meta, objects: second ? rows.slice(2, cut) : rows.slice(0, 2) }),
      );
    });
    const clock = new ManualClock(0);
    const client = createCanaryClient({ baseUrl: url, clock, random: () => 0.5 });
    const result = await client.readings("t", PRO, HOUR_FROM, HOUR_TO);

    expect(result.readings).to.have.length(5);
    expect(result.pages).to.equal(2);
    expect(requested).to.have.length(4);
    expect(clock.sleeps).to.deep.equal([250]);
  });

  it("retries a listing that left out a whole sensor type and returns every sensor", async () => {
    const sim = await start();
    sim.simulator.setFaults({ droppedSensor: "temperature" });
    sim.simulator.failNext("dropSensor", READINGS);
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, HOUR_FROM, HOUR_TO);

    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, HOUR_FROM, HOUR_TO));
    expect(result.readings.filter((reading) => reading.sensor === "temperature")).to.have.length(
      60,
    );
    expect(sim.simulator.requestLog.map((request) => request.outcome)).to.deep.equal([
      "dropSensor",
      200,
    ]);
  });

  it("retries a multi-page listing that lost rows of one sensor type on one page", async () => {
    const sim = await start();
    sim.simulator.failNext("dropSensor", READINGS);
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, DAY_FROM, DAY_TO);

    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, DAY_FROM, DAY_TO));
    expect(result.pages).to.equal(12);
    expect(sim.simulator.requests[READINGS]).to.equal(24);
  });

  for (const kind of ["short", "dropSensor"] as const) {
    it(`gives up with an error saying the listing was short when every answer is ${kind}`, async () => {
      const sim = await start();
      sim.simulator.setFaults({ failureRate: 1, kinds: [kind], paths: [READINGS] });
      const token = sim.simulator.issueToken();
      const error = await rejection(sim.client().readings(token, PRO, HOUR_FROM, HOUR_TO));

      expect(error).to.be.instanceOf(CanaryIncompleteListingError);
      expect(error).to.be.instanceOf(CanaryHttpError);
      expect(error).to.include({
        status: 200,
        method: "GET",
        url: `${READINGS}?created__range=2026-06-16T11:00:00Z,2026-06-16T11:59:59Z&device=${PRO}&limit=0`,
        expected: 240,
      });
      expect(error.message).to.match(/listing was short: (120|180) of the 240 rows/);
      expect(error.message).not.to.include(token);
      expect(sim.simulator.requests[READINGS]).to.equal(5);
      expect(sim.clock.sleeps).to.deep.equal([250, 500, 1000, 2000]);
    });
  }

  it("accepts more rows than meta.total_count, as when readings arrive while paging", async () => {
    let calls = 0;
    const url = await startRaw((_request, response) => {
      calls++;
      response.writeHead(200, { "Content-Type": "application/json" });
      const objects = ["11:00:10", "11:01:10"].map((time) => ({
        created: `2026-06-16T${time}`,
        value: "21.5",
        sensor_type: { id: 2, name: "temperature" },
      }));
      response.end(JSON.stringify({ meta: { next: null, total_count: 1 }, objects }));
    });
    const clock = new ManualClock(0);
    const result = await createCanaryClient({ baseUrl: url, clock }).readings(
      "t",
      PRO,
      HOUR_FROM,
      HOUR_TO,
    );

    expect(result.readings).to.have.length(2);
    expect(calls).to.equal(1);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it("returns an empty result for a device without sensors", async () => {
    const sim = await start();
    const result = await sim.client().readings(sim.simulator.issueToken(), VIEW, DAY_FROM, DAY_TO);

    expect(result).to.deep.equal({ readings: [], unparseable: 0, unknownSensor: 0, pages: 1 });
  });
});

describe("Canary client: retries", () => {
  it("retries 5xx answers with exponential backoff and full jitter", async () => {
    const sim = await start();
    sim.simulator.failNext(["5xx", "5xx", "5xx"], READINGS);
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, HOUR_FROM, HOUR_TO);

    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, HOUR_FROM, HOUR_TO));
    expect(sim.simulator.requests[READINGS]).to.equal(4);
    // random() is 0.5: half of 500, 1000 and 2000 ms.
    expect(sim.clock.sleeps).to.deep.equal([250, 500, 1000]);
  });

  it("draws each backoff from the jitter source, up to maxDelayMs", async () => {
    const sim = await start();
    sim.simulator.failNext(["5xx", "5xx", "5xx", "5xx"], LOCATIONS);
    const draws = [0.99, 0, 0.99, 0.99];
    await sim
      .client({ random: () => draws.shift() ?? 0, maxDelayMs: 1500 })
      .listDevices(sim.simulator.issueToken());

    expect(sim.clock.sleeps).to.deep.equal([495, 0, 1485, 1485]);
  });

  it("waits as long as Retry-After says in seconds", async () => {
    const sim = await start();
    sim.simulator.setFaults({ retryAfter: 7 });
    sim.simulator.failNext("429", LOCATIONS);
    await sim.client().listDevices(sim.simulator.issueToken());

    expect(sim.clock.sleeps).to.deep.equal([7000]);
  });

  it("gives up at once when Retry-After asks for a longer wait than maxDelayMs", async () => {
    const sim = await start();
    sim.simulator.setFaults({ retryAfter: 3600 });
    sim.simulator.failNext("429", LOCATIONS);
    const error = await rejection(
      sim.client({ maxDelayMs: 20_000 }).listDevices(sim.simulator.issueToken()),
    );

    expect(error).to.be.instanceOf(CanaryThrottledError);
    expect(error).to.include({
      status: 429,
      method: "GET",
      url: LOCATIONS,
      retryAfterMs: 3_600_000,
    });
    expect(error.message).to.include("Canary asked to wait 3600 s");
    expect(sim.simulator.requests[LOCATIONS]).to.equal(1);
    expect(sim.clock.sleeps).to.deep.equal([]);
  });

  it("gives up on a login at once when Retry-After is longer than maxDelayMs", async () => {
    const sim = await start();
    sim.simulator.setFaults({ retryAfter: new Date(sim.clock.now() + 120_000).toUTCString() });
    sim.simulator.failNext("429", TOKEN);
    const error = await rejection(sim.client().login(OWNER.username, OWNER.password));

    expect(error).to.be.instanceOf(CanaryThrottledError);
    expect(error).to.include({ status: 429, method: "POST", url: TOKEN });
    expect(error.message).to.include("Canary asked to wait 120 s");
    expect(sim.simulator.requests[TOKEN]).to.equal(1);
    expect(sim.simulator.logins).to.equal(0);
  });

  it("waits until the time a Retry-After HTTP date names", async () => {
    const sim = await start();
    sim.simulator.setFaults({ retryAfter: new Date(sim.clock.now() + 12_000).toUTCString() });
    sim.simulator.failNext("429", READINGS);
    await sim.client().readings(sim.simulator.issueToken(), FLEX, HOUR_FROM, HOUR_TO);

    // The date has whole seconds and "now" is 30 s into a minute.
    expect(sim.clock.sleeps).to.deep.equal([12_000]);
  });

  it("retries a request that gets no answer within timeoutMs", async () => {
    const sim = await start();
    sim.simulator.setFaults({ timeoutHoldMs: 1000 });
    sim.simulator.failNext("timeout", READINGS);
    const started = Date.now();
    const result = await sim
      .client({ timeoutMs: 200 })
      .readings(sim.simulator.issueToken(), FLEX, HOUR_FROM, HOUR_TO);

    expect(Date.now() - started).to.be.below(1000);
    expect(result.readings).to.have.length(120);
    expect(sim.simulator.requests[READINGS]).to.equal(2);
  });

  it("retries a 200 answer whose JSON body is cut off", async () => {
    const sim = await start();
    sim.simulator.failNext(["malformed", "malformed"], READINGS);
    const result = await sim.client().readings(sim.simulator.issueToken(), PRO, DAY_FROM, DAY_TO);

    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, DAY_FROM, DAY_TO));
    expect(sim.simulator.requests[READINGS]).to.equal(14);
  });

  it("retries a 200 answer that is JSON of the wrong shape", async () => {
    let calls = 0;
    const url = await startRaw((_request, response) => {
      calls++;
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(
        calls === 1 ? '{"detail":"maintenance"}' : '{"meta":{"next":null},"objects":[]}',
      );
    });
    const clock = new ManualClock(0);
    const result = await createCanaryClient({ baseUrl: url, clock }).readings("t", PRO, 0, 1000);

    expect(result.pages).to.equal(1);
    expect(calls).to.equal(2);
    expect(clock.sleeps).to.have.length(1);
  });

  it("retries a connection reset", async () => {
    const sim = await start();
    sim.simulator.failNext("reset", READINGS);
    const result = await sim
      .client()
      .readings(sim.simulator.issueToken(), FLEX, HOUR_FROM, HOUR_TO);

    expect(result.readings).to.have.length(120);
    expect(sim.simulator.requests[READINGS]).to.equal(2);
  });

  it("gives up after maxRetries with a CanaryHttpError carrying status, method and URL", async () => {
    const sim = await start();
    sim.simulator.setFaults({ failureRate: 1, kinds: ["5xx"], serverErrorStatus: 503 });
    const error = await rejection(
      sim.client().readings(sim.simulator.issueToken(), PRO, HOUR_FROM, HOUR_TO),
    );

    expect(error).to.be.instanceOf(CanaryHttpError);
    expect(error).to.include({
      status: 503,
      method: "GET",
      url: `${READINGS}?created__range=2026-06-16T11:00:00Z,2026-06-16T11:59:59Z&device=${PRO}&limit=0`,
    });
    expect(error.message).to.include("status 503");
    expect(sim.simulator.requests[READINGS]).to.equal(5);
    expect(sim.clock.sleeps).to.have.length(4);
  });

  it("gives up on repeated timeouts with status 0 and says it timed out", async () => {
    const sim = await start();
    sim.simulator.setFaults({ timeoutHoldMs: 500 });
    sim.simulator.failNext(["timeout", "timeout"], LOCATIONS);
    const error = await rejection(
      sim.client({ timeoutMs: 100, maxRetries: 1 }).listDevices(sim.simulator.issueToken()),
    );

    expect(error).to.be.instanceOf(CanaryHttpError);
    expect(error).to.include({ status: 0, method: "GET", url: LOCATIONS });
    expect(error.message).to.include("no answer within 100 ms");
  });

  it("reports status 0 and a network error when nothing listens", async () => {
    const sim = await start();
    const client = sim.client({ maxRetries: 2 });
    await sim.close();
    const error = await rejection(client.listDevices("t"));

    expect(error).to.be.instanceOf(CanaryHttpError);
    expect(error).to.include({ status: 0, method: "GET", url: LOCATIONS });
    expect(error.message).to.include("ECONNREFUSED");
    expect(sim.clock.sleeps).to.have.length(2);
  });

  it("comes through a server that fails a third of its requests in every way", async () => {
    const sim = await start({ seed: 7 });
    sim.simulator.setFaults({ failureRate: 0.33, timeoutHoldMs: 300, retryAfter: 1 });
    const client = sim.client({ timeoutMs: 150, maxRetries: 8 });
    const token = sim.simulator.issueToken();
    const devices = await client.listDevices(token);
    const result = await client.readings(token, PRO, DAY_FROM, DAY_TO);

    expect(devices).to.have.length(3);
    expect(result.readings).to.deep.equal(sim.simulator.readingsBetween(PRO, DAY_FROM, DAY_TO));
    const faults = sim.simulator.requestLog.filter(
      (request) => typeof request.outcome === "string",
    );
    expect(faults.length).to.be.at.least(3);
  });
});

describe("Canary client: authorization", () => {
  it("raises CanaryUnauthorizedError at once when the token has expired, without retrying", async () => {
    const sim = await start();
    const token = sim.simulator.issueToken();
    sim.simulator.expireTokens();
    const client = sim.client();
    const listing = await rejection(client.listDevices(token));
    const reading = await rejection(client.readings(token, PRO, HOUR_FROM, HOUR_TO));

    expect(listing).to.be.instanceOf(CanaryUnauthorizedError);
    expect(reading).to.be.instanceOf(CanaryUnauthorizedError);
    expect(reading).to.include({ status: 401, method: "GET" });
    expect(sim.simulator.requests[LOCATIONS]).to.equal(1);
    expect(sim.simulator.requests[READINGS]).to.equal(1);
    expect(sim.clock.sleeps).to.deep.equal([]);
  });

  it("fails at once with the status when an endpoint has moved (404)", async () => {
    const sim = await start();
    const error = await rejection(
      sim.client({ baseUrl: `${sim.url}/api` }).listDevices(sim.simulator.issueToken()),
    );

    expect(error).to.be.instanceOf(CanaryHttpError);
    expect(error).not.to.be.instanceOf(CanaryUnauthorizedError);
    expect(error).to.include({ status: 404, url: "/api/v1/locations/" });
    expect(sim.clock.sleeps).to.deep.equal([]);
  });

  it("never puts the token or the password in an error or a log line", async () => {
    const sim = await start();
    const log = memoryLogger();
    const client = sim.client({ log, maxRetries: 1, timeoutMs: 100 });
    const token = sim.simulator.issueToken();
    const errors: Error[] = [];
    sim.simulator.setFaults({ timeoutHoldMs: 300 });

    errors.push(await rejection(client.login(OWNER.username, `${OWNER.password}!`)));
    sim.simulator.mfaRequired = true;
    errors.push(await rejection(client.login(OWNER.username, OWNER.password)));
    sim.simulator.failNext(["5xx", "timeout"], READINGS);
    errors.push(await rejection(client.readings(token, PRO, HOUR_FROM, HOUR_TO)));
    sim.simulator.failNext(["malformed", "reset"], LOCATIONS);
    errors.push(await rejection(client.listDevices(token)));
    sim.simulator.expireTokens();
    errors.push(await rejection(client.listDevices(token)));

    expect(errors).to.have.length(5);
    expect(log.lines.length).to.be.at.least(2);
    for (const text of [
      ...errors.map((error) => `${error.stack} ${JSON.stringify(error)}`),
      ...log.lines,
    ]) {
      expect(text).not.to.include(token);
      expect(text).not.to.include(OWNER.password);
      expect(text).not.to.include("Bearer");
    }
  });
});
