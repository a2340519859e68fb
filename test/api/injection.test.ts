import { expect } from "chai";
import { type LocalDynamo, startDynamo } from "../support/dynamo";
import { API_KEY, type Api, startApi } from "./harness";
import { HOSTILE } from "./hostile";
import { type Seeded, seedReadings } from "./seed";

const base64url = (text: string | Buffer) => Buffer.from(text).toString("base64url");
const FROM = "2026-12-02T00:00:00Z";
const TO = "2026-12-02T23:59:59Z";
/** A token's text: the first page's device, last key and window. */
const cursor = (deviceId: string, period: string, from = FROM, to = TO) =>
  JSON.stringify({ deviceId, period, from, to });

/**
 * Paging tokens that try to read another device, another resolution, another window, another
 * table or the stored token. Every one is refused whether or not the request names a window.
 */
function forgedTokens(seeded: Seeded, metadataTable: string): string[] {
  const inside = `minute#${seeded.day}T10:00:00Z`;
  const genuine = cursor(seeded.deviceId, inside);
  const window = `"from":"${FROM}","to":"${TO}"`;
  return [
    // Other devices, resolutions, positions.
    base64url(cursor(seeded.otherDeviceId, inside)),
    base64url(cursor(seeded.otherDeviceId, inside)).slice(0, -1),
    base64url(cursor(seeded.deviceId, `hour#${seeded.day}T10:00:00Z`)),
    base64url(cursor(seeded.deviceId, `day#${seeded.day}T00:00:00Z`)),
    base64url(cursor(seeded.deviceId, "minute#2026-11-01T10:00:00Z")),
    base64url(cursor(seeded.deviceId, `minute#${seeded.day}T10:00:00Z'`)),
    // Windows that are not windows: from after to, a period outside its own window, times
    // out of range, fractions, other zones, missing or extra fields.
    base64url(cursor(seeded.deviceId, inside, TO, FROM)),
    base64url(cursor(seeded.deviceId, inside, `${seeded.day}T10:00:01Z`, TO)),
    base64url(cursor(seeded.deviceId, inside, FROM, `${seeded.day}T09:59:59Z`)),
    base64url(cursor(seeded.deviceId, inside, "2026-12-02T00:00:00.000Z", TO)),
    base64url(cursor(seeded.deviceId, inside, "2026-12-02T00:00:00+00:00", TO)),
    base64url(cursor(seeded.deviceId, inside, "2026-13-02T00:00:00Z", TO)),
    base64url(cursor(seeded.deviceId, inside, FROM, "2026-12-02T24:00:00Z")),
    base64url(cursor(seeded.deviceId, inside, FROM, "")),
    base64url(JSON.stringify({ deviceId: seeded.deviceId, period: inside })),
    base64url(JSON.stringify({ deviceId: seeded.deviceId, period: inside, from: FROM })),
    base64url(
      `{"deviceId":"${seeded.deviceId}","period":"${inside}","to":"${TO}","from":"${FROM}"}`,
    ),
    base64url(`{"deviceId":"${seeded.deviceId}","period":"${inside}",${window},"from":"${FROM}"}`),
    // Other tables, other keys, JSON tricks.
    base64url(
      `{"deviceId":"${seeded.deviceId}","period":"${inside}",${window},"TableName":"${metadataTable}"}`,
    ),
    base64url(
      `{"TableName":"${metadataTable}","deviceId":"${seeded.deviceId}","period":"${inside}",${window}}`,
    ),
    base64url('{"pk":"auth","sk":"token"}'),
    base64url(`{"pk":"auth","sk":"token",${window}}`),
    base64url(`{"deviceId":"auth","period":"token",${window}}`),
    base64url(`{"deviceId":"${seeded.deviceId}\\",\\"x","period":"${inside}",${window}}`),
    base64url(`{"deviceId":"\\u0031174001","period":"${inside}",${window}}`),
    base64url(
      `{ "deviceId": "${seeded.deviceId}", "period": "${inside}", "from": "${FROM}", "to": "${TO}" }`,
    ),
    base64url(`${genuine}{"x":1}`),
    base64url(`${genuine}\n`),
    // Encodings and junk.
    `${Buffer.from(genuine).toString("base64")}+/`,
    `${base64url(genuine)}=`,
    base64url(genuine).slice(0, -2),
    base64url(Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0x80])),
    "A",
    "AB",
    "A".repeat(401),
    "_".repeat(64),
  ];
}

/**
 * Genuine tokens for another window than the request names: refused when the request names
 * its window, since a token must not be replayed against another one.
 */
function otherWindowTokens(seeded: Seeded): string[] {
  const inside = `minute#${seeded.day}T10:00:00Z`;
  return [
    base64url(cursor(seeded.deviceId, inside, `${seeded.day}T00:00:01Z`, TO)),
    base64url(cursor(seeded.deviceId, inside, FROM, `${seeded.day}T23:59:58Z`)),
    base64url(cursor(seeded.deviceId, inside, "2026-12-01T00:00:00Z", TO)),
    base64url(cursor(seeded.deviceId, inside, FROM, "2026-12-03T00:00:00Z")),
    base64url(cursor(seeded.deviceId, inside, "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z")),
    base64url(cursor(seeded.deviceId, inside, inside.slice(7), inside.slice(7))),
  ];
}

/** Percent-encodes as a client would; a lone surrogate goes as its raw (WTF-8) bytes. */
function encode(value: string): string {
  return Array.from(value, (ch) => {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      const bytes = [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
      return bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join("");
    }
    return encodeURIComponent(ch);
  }).join("");
}

const VALID: Record<string, RegExp> = {
  deviceId: /^[A-Za-z0-9_-]{1,64}$/,
  from: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z$/,
  limit: /^([1-9]\d{0,2}|1000)$/,
  order: /^(asc|desc)$/,
  resolution: /^(minute|hour|day)$/,
  next: /^$/,
};
VALID.to = VALID.from;

describe("read API under hostile input", () => {
  let dynamo: LocalDynamo;
  let api: Api;
  let seeded: Seeded;
  let requests = 0;

  before(async () => {
    dynamo = await startDynamo();
    seeded = await seedReadings(dynamo);
    api = await startApi(dynamo);
  });
  after(async () => {
    await api?.close();
    await dynamo?.close();
  });

  /** Sends one request and checks what must hold for every answer, whatever was asked. */
  const send = async (path: string, headers: Record<string, string> = {}) => {
    requests++;
    const response = await api.get(path, { "x-api-key": API_KEY, ...headers });
    // The device list names the other device by design; its readings are never in it.
    const markers =
      path === "/devices" ? seeded.otherDeviceMarkers.slice(0, 2) : seeded.otherDeviceMarkers;
    for (const marker of [...seeded.secretMarkers, ...markers]) {
      expect(response.body, `${path} leaked ${marker}`).not.to.include(marker);
    }
    expect(response.status, `${path}: ${response.body}`).to.be.oneOf([200, 400]);
    if (response.status === 400) {
      expect(response.json).to.have.all.keys("message");
      expect((response.json as { message: string }).message).to.be.a("string");
    }
    return response;
  };

  const window = () => `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&limit=50`;

  it("holds at least fifty hostile values and thirty forged tokens", async () => {
    expect(HOSTILE.length).to.be.at.least(50);
    expect(forgedTokens(seeded, dynamo.tables.metadata).length).to.be.at.least(30);
    // The genuine token the forgeries start from is accepted, so each refusal is for its change.
    const genuine = base64url(cursor(seeded.deviceId, `minute#${seeded.day}T10:00:00Z`));
    for (const query of [window(), "limit=50", `from=${FROM}`, `to=${TO}`]) {
      const response = await send(`/devices/${seeded.deviceId}?${query}&next=${genuine}`);
      expect(response.status, response.body).to.equal(200);
      const readings = (response.json as { readings: { time: string }[] }).readings;
      expect(readings[0].time).to.equal(`${seeded.day}T10:01:00Z`);
    }
    for (const token of otherWindowTokens(seeded)) {
      const response = await send(`/devices/${seeded.deviceId}?limit=50&next=${token}`);
      expect(response.status, response.body).to.equal(200);
    }
  });

  for (const route of ["", "/latest"]) {
    it(`answers 400 or an empty page for every hostile deviceId on /devices/{deviceId}${route}`, async () => {
      for (const value of HOSTILE) {
        // A client's URL parser rewrites "." and ".." segments before they are sent.
        if (value === "." || value === "..") continue;
        const response = await send(`/devices/${encode(value)}${route}`);
        if (VALID.deviceId.test(value)) {
          expect(response.status, value).to.equal(200);
          const empty =
            route === ""
              ? { deviceId: value, readings: [], next: null }
              : { deviceId: value, reading: null };
          expect(response.json, value).to.deep.equal(empty);
        } else {
          expect(response.status, JSON.stringify(value)).to.equal(400);
        }
      }
    });
  }

  for (const name of ["from", "to", "order", "limit", "resolution", "next"]) {
    it(`answers 400 for every hostile ${name}, and the default answer for an empty one`, async () => {
      const baseline = await send(`/devices/${seeded.deviceId}`);
      for (const value of HOSTILE) {
        const response = await send(`/devices/${seeded.deviceId}?${name}=${encode(value)}`);
        expect(
          VALID[name].test(value),
          `${name}=${JSON.stringify(value)} should be hostile`,
        ).to.equal(false);
        expect(response.status, `${name}=${JSON.stringify(value)}`).to.equal(400);
      }
      const empty = await send(`/devices/${seeded.deviceId}?${name}=`);
      expect(empty.body).to.equal(baseline.body);
    });
  }

  const badToken = { message: "next is not a paging token for this device, resolution and window" };

  it("refuses every forged paging token with 400, with or without a window in the request", async () => {
    for (const token of forgedTokens(seeded, dynamo.tables.metadata)) {
      for (const query of [window(), "limit=50", `from=${FROM}`, `to=${TO}`]) {
        const response = await send(`/devices/${seeded.deviceId}?${query}&next=${encode(token)}`);
        const decoded = Buffer.from(token, "base64url").toString("utf8");
        expect(response.status, `${query} ${decoded}`).to.equal(400);
        expect(response.json).to.deep.equal(badToken);
      }
    }
  });

  it("refuses a token for another window than the request names", async () => {
    for (const token of otherWindowTokens(seeded)) {
      const response = await send(`/devices/${seeded.deviceId}?${window()}&next=${encode(token)}`);
      expect(response.status, token).to.equal(400);
      expect(response.json).to.deep.equal(badToken);
    }
  });

  it("refuses a genuine token of the other device on this device", async () => {
    // Read as that device's owner would; its readings are rightly in this answer.
    const other = await api.get(
      `/devices/${seeded.otherDeviceId}?${window().replace("limit=50", "limit=5")}`,
    );
    const token = (other.json as { next: string }).next;
    expect(token).to.be.a("string");
    const response = await send(`/devices/${seeded.deviceId}?${window()}&next=${token}`);
    expect(response.status).to.equal(400);
  });

  it("ignores hostile headers named like parameters: the answer is the same", async () => {
    const path = `/devices/${seeded.deviceId}?${window()}`;
    const baseline = await send(path);
    expect(baseline.status).to.equal(200);
    // Header values must be printable ASCII to be sent at all, and fit Node's header limit.
    const sendable = HOSTILE.filter(
      (value) => /^[\x20-\x7e]*$/.test(value) && value.trim() === value && value.length <= 1000,
    );
    expect(sendable.length).to.be.at.least(30);
    for (const value of sendable) {
      const headers = Object.fromEntries(
        ["deviceId", "from", "to", "order", "limit", "next", "resolution", "x-amz-target"].map(
          (name) => [name, value],
        ),
      );
      const response = await send(path, headers);
      expect(response.body, value).to.equal(baseline.body);
    }
    const devices = await send("/devices");
    for (const value of sendable) {
      const headers = { pk: value, sk: value, TableName: value, "x-api-key-source": value };
      expect((await send("/devices", headers)).body, value).to.equal(devices.body);
    }
  });

  it("sent every integration request as JSON that stays in the allowed table and partition", () => {
    // The other device's page was read with api.get directly, outside `send`'s count.
    expect(api.exchanges.length).to.equal(requests + 1);
    for (const exchange of api.exchanges) {
      expect(exchange.validJson, exchange.request).to.equal(true);
      const query = JSON.parse(exchange.request) as {
        TableName: string;
        Limit: number;
        ExpressionAttributeValues: Record<string, { S: string }>;
        ExclusiveStartKey?: { deviceId: { S: string } };
      };
      if (exchange.operationId === "listDevices") {
        expect(query.TableName).to.equal(dynamo.tables.metadata);
        expect(query.ExpressionAttributeValues).to.deep.equal({ ":pk": { S: "device" } });
        continue;
      }
      expect(query.TableName, exchange.request).to.equal(dynamo.tables.readings);
      const device = query.ExpressionAttributeValues[":device"].S;
      expect(device, exchange.request).to.match(VALID.deviceId);
      if (query.ExclusiveStartKey) expect(query.ExclusiveStartKey.deviceId.S).to.equal(device);
      // A refused request carries nothing from the client.
      if (query.Limit === 0) expect(device).to.equal("-");
    }
  });
});
