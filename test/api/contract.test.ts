import { expect } from "chai";
import { ManualClock } from "../../runtime/clock";
import type { MinuteItem, RollupItem } from "../../runtime/store/items";
import { SENSORS } from "../../runtime/store/tables";
import { type LocalDynamo, startDynamo } from "../support/dynamo";
import { API_KEY, type Api, NOW, startApi } from "./harness";
import { type Seeded, seedReadings } from "./seed";

interface Reading {
  time: string;
  [sensor: string]: unknown;
}

interface ReadingsPage {
  deviceId: string;
  readings: Reading[];
  next: string | null;
}

/** What the API should answer for a stored minute item. */
function minuteReading(item: MinuteItem): Reading {
  const reading: Reading = { time: item.time };
  for (const sensor of SENSORS) if (item[sensor] !== undefined) reading[sensor] = item[sensor];
  return reading;
}

function rollupReading(item: RollupItem): Reading {
  return { ...minuteReading(item as MinuteItem), count: item.count, min: item.min, max: item.max };
}

describe("read API contract (local gateway over dynalite)", () => {
  let dynamo: LocalDynamo;
  let api: Api;
  let seeded: Seeded;
  const clock = new ManualClock(NOW);

  before(async () => {
    dynamo = await startDynamo();
    seeded = await seedReadings(dynamo);
    api = await startApi(dynamo, { clock });
  });
  after(async () => {
    await api?.close();
    await dynamo?.close();
  });
  afterEach(() => {
    // Every request template rendered JSON, or the gateway (in "fail" mode) answered 500.
    for (const exchange of api.exchanges)
      expect(exchange.validJson, exchange.request).to.equal(true);
  });

  const page = async (query: string, deviceId = seeded.deviceId): Promise<ReadingsPage> => {
    const response = await api.get(`/devices/${deviceId}?${query}`);
    expect(response.status, response.body).to.equal(200);
    return response.json as ReadingsPage;
  };

  /** Follows `next` from the first page to the last; returns every reading and the page sizes. */
  const allPages = async (query: string) => {
    const readings: Reading[] = [];
    const sizes: number[] = [];
    let next: string | null = null;
    do {
      const current: ReadingsPage = await page(
        next ? `${query}&next=${encodeURIComponent(next)}` : query,
      );
      readings.push(...current.readings);
      sizes.push(current.readings.length);
      next = current.next;
    } while (next !== null && sizes.length < 20);
    return { readings, sizes };
  };

  describe("API keys", () => {
    for (const path of ["/devices", "/devices/1174001", "/devices/1174001/latest"]) {
      it(`answers 403 Forbidden on ${path} without a key, or with a wrong one`, async () => {
        const attempts: Record<string, string>[] = [
          {},
          { "x-api-key": "wrong" },
          { "x-api-key": "" },
          { "x-api-key": `${API_KEY}x` },
          { "x-api-key": API_KEY.toUpperCase() },
        ];
        for (const headers of attempts) {
          const response = await api.get(path, headers);
          expect(response.status).to.equal(403);
          expect(response.json).to.deep.equal({ message: "Forbidden" });
        }
      });
    }

    it("accepts the key header in any letter case, as HTTP headers are", async () => {
      const response = await api.get("/devices", { "X-API-Key": API_KEY });
      expect(response.status).to.equal(200);
    });

    it("answers 403 Missing Authentication Token for a route that does not exist", async () => {
      for (const path of ["/", "/nothing", "/devices/1174001/latest/x"]) {
        const response = await api.get(path);
        expect(response.status).to.equal(403);
        expect(response.json).to.deep.equal({ message: "Missing Authentication Token" });
      }
    });
  });

  describe("GET /devices", () => {
    it("lists every device record with its public fields only", async () => {
      const response = await api.get("/devices");
      expect(response.status).to.equal(200);
      // DynamoDB orders a partition by sort key, byte by byte.
      const expected = [...seeded.devices].sort((a, b) => (a.sk < b.sk ? -1 : 1));
      expect(response.json).to.deep.equal({
        deviceIds: expected.map((device) => device.id),
        devices: expected.map((device) => ({
          id: device.id,
          name: device.name,
          type: device.type,
          location: device.location,
          online: device.online,
          lastReadingAt: device.lastReadingAt ?? null,
        })),
      });
      for (const marker of seeded.secretMarkers) expect(response.body).not.to.include(marker);
    });
  });

  describe("GET /devices/{deviceId}", () => {
    it("defaults to the last 24 hours of minute readings, oldest first, 500 a page", async () => {
      const first = await page("");
      const inWindow = seeded.minutes.filter((item) => item.time >= "2026-12-02T00:30:00Z");
      expect(first.deviceId).to.equal(seeded.deviceId);
      expect(first.readings).to.deep.equal(inWindow.slice(0, 500).map(minuteReading));
      expect(first.next).to.be.a("string");
    });

    it("pages through a full day of 1440 minutes oldest first with no gap and no repeat", async () => {
      const window = `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&limit=333`;
      const { readings, sizes } = await allPages(window);
      expect(sizes.slice(0, 4)).to.deep.equal([333, 333, 333, 333]);
      expect(readings).to.deep.equal(seeded.minutes.map(minuteReading));
    });

    it("pages through the same day newest first with no gap and no repeat", async () => {
      const window = `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&order=desc&limit=1000`;
      const { readings, sizes } = await allPages(window);
      expect(sizes[0]).to.equal(1000);
      expect(readings).to.deep.equal([...seeded.minutes].reverse().map(minuteReading));
    });

    it("answers exactly the readings inside an explicit window, both ends included", async () => {
      const result = await page(`from=${seeded.day}T10:00:00Z&to=${seeded.day}T10:04:00Z`);
      expect(result.readings.map((reading) => reading.time)).to.deep.equal(
        ["10:00", "10:01", "10:02", "10:03", "10:04"].map((hm) => `${seeded.day}T${hm}:00Z`),
      );
      expect(result.next).to.equal(null);
    });

    it("ignores fractions of a second in from and to", async () => {
      const result = await page(`from=${seeded.day}T10:00:00.250Z&to=${seeded.day}T10:01:00.999Z`);
      expect(result.readings.map((reading) => reading.time)).to.deep.equal([
        `${seeded.day}T10:00:00Z`,
        `${seeded.day}T10:01:00Z`,
      ]);
    });

    it("honours limit 1 and limit 1000", async () => {
      const window = `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z`;
      expect((await page(`${window}&limit=1`)).readings).to.have.length(1);
      expect((await page(`${window}&limit=1000`)).readings).to.have.length(1000);
    });

    it("answers hour rollups as means plus count, min and max, and nothing else", async () => {
      const window = `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z`;
      const result = await page(`${window}&resolution=hour`);
      expect(result.readings).to.deep.equal(seeded.hours.map(rollupReading));
      expect(result.next).to.equal(null);
    });

    it("answers the day rollup for resolution=day", async () => {
      const result = await page(
        `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&resolution=day`,
      );
      expect(result.readings).to.deep.equal([rollupReading(seeded.dayRollup)]);
    });

    it("pages through hour rollups newest first", async () => {
      const window = `from=${seeded.day}T00:00:00Z&to=${seeded.day}T23:59:59Z&resolution=hour&order=desc&limit=5`;
      const { readings } = await allPages(window);
      expect(readings).to.deep.equal([...seeded.hours].reverse().map(rollupReading));
    });

    it("answers an empty page for a device with no readings", async () => {
      const result = await page("", seeded.quietDeviceId);
      expect(result).to.deep.equal({ deviceId: seeded.quietDeviceId, readings: [], next: null });
    });

    it("never mixes in another device's readings", async () => {
      const response = await api.get(
        `/devices/${seeded.deviceId}?from=${seeded.day}T10:00:00Z&to=${seeded.day}T12:00:00Z`,
      );
      for (const marker of seeded.otherDeviceMarkers) expect(response.body).not.to.include(marker);
    });

    const invalid: [string, string][] = [
      ["limit=0", "limit must be a whole number from 1 to 1000"],
      ["limit=1001", "limit must be a whole number from 1 to 1000"],
      ["limit=-1", "limit must be a whole number from 1 to 1000"],
      ["limit=1.5", "limit must be a whole number from 1 to 1000"],
      ["limit=010", "limit must be a whole number from 1 to 1000"],
      ["limit=ten", "limit must be a whole number from 1 to 1000"],
      ["order=ASC", "order must be asc or desc"],
      ["order=random", "order must be asc or desc"],
      ["resolution=second", "resolution must be minute, hour or day"],
      ["resolution=Minute", "resolution must be minute, hour or day"],
      ["from=yesterday", "from must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z"],
      [
        "from=2026-12-02T10:00:00",
        "from must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z",
      ],
      [
        "from=2026-12-02T10:00:00%2B01:00",
        "from must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z",
      ],
      [
        "from=2026-13-02T10:00:00Z",
        "from must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z",
      ],
      ["to=2026-12-02T24:00:00Z", "to must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z"],
      ["to=2026-12-02", "to must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z"],
      ["from=2026-12-02T11:00:00Z&to=2026-12-02T10:00:00Z", "from must not be after to"],
      ["next=%%%", "next is not a paging token for this device, resolution and window"],
    ];
    for (const [query, message] of invalid) {
      it(`answers 400 "${message}" for ${query}`, async () => {
        const response = await api.get(`/devices/${seeded.deviceId}?${query}`);
        expect(response.status).to.equal(400);
        expect(response.json).to.deep.equal({ message });
      });
    }

    it("answers 400 for a deviceId outside the allow-list", async () => {
      for (const id of ["a.b", "x".repeat(65), "%27", "caf%C3%A9", "a%2Fb"]) {
        const response = await api.get(`/devices/${id}`);
        expect(response.status, id).to.equal(400);
        expect(response.json).to.deep.equal({
          message: "deviceId must be 1 to 64 letters, digits, underscores or hyphens",
        });
      }
    });

    describe("paging tokens", () => {
      const window = `from=${"2026-12-02"}T00:00:00Z&to=${"2026-12-02"}T23:59:59Z&limit=10`;
      const rejected = async (path: string) => {
        const response = await api.get(path);
        expect(response.status, response.body).to.equal(400);
        expect(response.json).to.deep.equal({
          message: "next is not a paging token for this device, resolution and window",
        });
      };

      it("are refused for another device", async () => {
        const { next } = await page(window);
        await rejected(`/devices/${seeded.otherDeviceId}?${window}&next=${next}`);
      });

      it("are refused for another resolution", async () => {
        const { next } = await page(window);
        await rejected(`/devices/${seeded.deviceId}?${window}&resolution=hour&next=${next}`);
      });

      it("are refused outside the window they would resume in", async () => {
        const { next } = await page(window);
        await rejected(`/devices/${seeded.deviceId}?from=2026-12-02T12:00:00Z&next=${next}`);
      });

      it("are refused when altered by a single character", async () => {
        const { next } = (await page(window)) as { next: string };
        const altered = `${next.slice(0, 20)}${next[20] === "A" ? "B" : "A"}${next.slice(21)}`;
        await rejected(`/devices/${seeded.deviceId}?${window}&next=${altered}`);
      });

      it("resume exactly after the last reading of the previous page", async () => {
        const first = await page(window);
        const second = await page(`${window}&next=${first.next}`);
        expect(second.readings[0].time).to.equal(seeded.minutes[10].time);
      });

      it("are refused when from or to differ from the window they were issued for", async () => {
        const { next } = await page(window);
        const base = `/devices/${seeded.deviceId}?limit=10&next=${next}`;
        await rejected(`${base}&from=2026-12-02T00:00:01Z&to=2026-12-02T23:59:59Z`);
        await rejected(`${base}&from=2026-12-02T00:00:00Z&to=2026-12-02T23:59:58Z`);
        await rejected(`${base}&to=2026-12-03T00:00:00Z`);
        // The same window, spelt with fractions or left out, is the same window.
        const same = [
          `${base}&from=2026-12-02T00:00:00.5Z&to=2026-12-02T23:59:59.999Z`,
          `${base}&from=2026-12-02T00:00:00Z`,
          `${base}&to=2026-12-02T23:59:59Z`,
          base,
        ];
        for (const path of same) {
          const response = await api.get(path);
          expect(response.status, path).to.equal(200);
          const readings = (response.json as ReadingsPage).readings;
          expect(readings[0].time, path).to.equal(seeded.minutes[10].time);
        }
      });
    });

    describe("paging tokens of the default window (the 24 hours up to the request)", () => {
      afterEach(() => clock.set(NOW));
      // The default window at NOW: the seeded day from 00:30 on.
      const inWindow = () => seeded.minutes.filter((item) => item.time >= "2026-12-02T00:30:00Z");
      const later: [string, number][] = [
        ["10 minutes", 10 * 60_000],
        ["25 hours", 25 * 3_600_000],
      ];

      for (const order of ["asc", "desc"]) {
        for (const limit of [7, 1000]) {
          for (const [label, ms] of later) {
            it(`continue the first page's window ${label} later (${order}, limit ${limit})`, async () => {
              const all = order === "asc" ? inWindow() : [...inWindow()].reverse();
              const query = `order=${order}&limit=${limit}`;
              const first = await page(query);
              expect(first.readings).to.deep.equal(all.slice(0, limit).map(minuteReading));
              clock.advance(ms);
              const second = await page(`${query}&next=${encodeURIComponent(String(first.next))}`);
              expect(second.readings).to.deep.equal(all.slice(limit, 2 * limit).map(minuteReading));
              expect(second.next === null).to.equal(all.length <= 2 * limit);
            });
          }
        }

        it(`page through the whole default window ${order} while the clock moves, no gap, no repeat`, async () => {
          const all = order === "asc" ? inWindow() : [...inWindow()].reverse();
          const readings: Reading[] = [];
          let next: string | null = null;
          let pages = 0;
          do {
            const current: ReadingsPage = await page(
              `order=${order}&limit=500${next ? `&next=${encodeURIComponent(next)}` : ""}`,
            );
            readings.push(...current.readings);
            next = current.next;
            clock.advance(10 * 60_000);
          } while (next !== null && ++pages < 10);
          expect(readings).to.deep.equal(all.map(minuteReading));
        });
      }
    });

    describe("a window given by one end", () => {
      const times = (result: ReadingsPage) => result.readings.map((reading) => reading.time);
      const lastQuery = () => {
        const exchange = api.exchanges[api.exchanges.length - 1];
        const query = JSON.parse(exchange.request) as {
          ExpressionAttributeValues: Record<string, { S: string }>;
        };
        return [query.ExpressionAttributeValues[":lo"].S, query.ExpressionAttributeValues[":hi"].S];
      };

      it("starts 24 hours before to when only to is given", async () => {
        const result = await page("to=2026-12-03T00:10:00Z&limit=3");
        expect(times(result)).to.deep.equal(
          ["00:10", "00:11", "00:12"].map((hm) => `${seeded.day}T${hm}:00Z`),
        );
        expect(lastQuery()).to.deep.equal([
          "minute#2026-12-02T00:10:00Z",
          "minute#2026-12-03T00:10:00Z",
        ]);
      });

      it("answers a window long before the request when only to is given", async () => {
        const result = await page("to=2026-11-01T00:00:00Z");
        expect(result).to.deep.equal({ deviceId: seeded.deviceId, readings: [], next: null });
        expect(lastQuery()).to.deep.equal([
          "minute#2026-10-31T00:00:00Z",
          "minute#2026-11-01T00:00:00Z",
        ]);
      });

      it("drops to's fraction before counting 24 hours back, and pages in that window", async () => {
        const first = await page("to=2026-12-02T10:04:30.900Z&order=desc&limit=2");
        expect(times(first)).to.deep.equal([`${seeded.day}T10:04:00Z`, `${seeded.day}T10:03:00Z`]);
        expect(lastQuery()).to.deep.equal([
          "minute#2026-12-01T10:04:30Z",
          "minute#2026-12-02T10:04:30Z",
        ]);
        clock.advance(25 * 3_600_000);
        try {
          const second = await page(
            `to=2026-12-02T10:04:30Z&order=desc&limit=2&next=${first.next}`,
          );
          expect(times(second)).to.deep.equal([
            `${seeded.day}T10:02:00Z`,
            `${seeded.day}T10:01:00Z`,
          ]);
        } finally {
          clock.set(NOW);
        }
      });

      it("ends at the request time when only from is given", async () => {
        const result = await page("from=2026-12-02T23:58:00Z");
        expect(times(result)).to.deep.equal([`${seeded.day}T23:58:00Z`, `${seeded.day}T23:59:00Z`]);
        expect(lastQuery()).to.deep.equal(["minute#2026-12-02T23:58:00Z", `minute#${NOW}`]);
        const response = await api.get(`/devices/${seeded.deviceId}?from=2026-12-03T00:31:00Z`);
        expect(response.status).to.equal(400);
        expect(response.json).to.deep.equal({ message: "from must not be after to" });
      });
    });
  });

  describe("GET /devices/{deviceId}/latest", () => {
    it("answers the newest minute reading, never a rollup", async () => {
      const response = await api.get(`/devices/${seeded.deviceId}/latest`);
      expect(response.status).to.equal(200);
      expect(response.json).to.deep.equal({
        deviceId: seeded.deviceId,
        reading: minuteReading(seeded.minutes[seeded.minutes.length - 1]),
      });
    });

    it("answers a null reading for a device with none", async () => {
      const response = await api.get(`/devices/${seeded.quietDeviceId}/latest`);
      expect(response.json).to.deep.equal({ deviceId: seeded.quietDeviceId, reading: null });
    });

    it("answers 400 for a deviceId outside the allow-list", async () => {
      const response = await api.get("/devices/a%20b/latest");
      expect(response.status).to.equal(400);
      expect(response.json).to.deep.equal({
        message: "deviceId must be 1 to 64 letters, digits, underscores or hyphens",
      });
    });
  });

  describe("what API Gateway itself answers", () => {
    it("refuses another Content-Type with 415, as passthroughBehavior never does", async () => {
      const response = await api.get("/devices", {
        "x-api-key": API_KEY,
        "content-type": "text/plain",
      });
      expect(response.status).to.equal(415);
      expect(response.json).to.deep.equal({ message: "Unsupported Media Type" });
    });

    it("answers with Content-Type application/json", async () => {
      const response = await fetch(`${api.url}/devices`, { headers: { "x-api-key": API_KEY } });
      expect(response.headers.get("content-type")).to.equal("application/json");
      await response.text();
    });
  });
});
