import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import type { OpenApiDocument } from "../../runtime/api/openapi";
import type { Clock } from "../../runtime/clock";
import { type LocalDynamo, startDynamo } from "../support/dynamo";
import { type Api, documentFor, startApi } from "./harness";

/** A DynamoDB endpoint that answers every call with one configured error. */
async function startFailingDynamo() {
  const fault = { status: 400, type: "ThrottlingException" };
  const server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(fault.status, { "content-type": "application/x-amz-json-1.0" });
      response.end(
        JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`,
          message: "backend-detail-that-must-not-leak",
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fail(status: number, type: string) {
      fault.status = status;
      fault.type = type;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A deep copy of the document with one operation changed. */
function changed(
  document: OpenApiDocument,
  path: string,
  change: (operation: OpenApiDocument["paths"][string][string]) => void,
) {
  const copy = JSON.parse(JSON.stringify(document)) as OpenApiDocument;
  change(copy.paths[path].get);
  return copy;
}

describe("local gateway", () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynamo();
  });
  after(async () => {
    await dynamo?.close();
  });

  describe("when DynamoDB fails", () => {
    let failing: Awaited<ReturnType<typeof startFailingDynamo>>;
    let api: Api;
    before(async () => {
      failing = await startFailingDynamo();
      api = await startApi(dynamo, { endpoint: failing.endpoint });
    });
    after(async () => {
      await api?.close();
      await failing?.close();
    });

    const cases: [number, string, number, string][] = [
      [400, "ThrottlingException", 429, "Too many requests"],
      [400, "ProvisionedThroughputExceededException", 429, "Too many requests"],
      [400, "RequestLimitExceeded", 429, "Too many requests"],
      [400, "ValidationException", 502, "Bad gateway"],
      [400, "ResourceNotFoundException", 502, "Bad gateway"],
      [400, "AccessDeniedException", 502, "Bad gateway"],
      [500, "InternalServerError", 502, "Bad gateway"],
      [503, "ServiceUnavailable", 502, "Bad gateway"],
    ];
    for (const [status, type, expected, message] of cases) {
      it(`maps DynamoDB ${status} ${type} to ${expected} on every route`, async () => {
        failing.fail(status, type);
        for (const path of ["/devices", "/devices/1174001", "/devices/1174001/latest"]) {
          const response = await api.get(path);
          expect(response.status, path).to.equal(expected);
          expect(response.json).to.deep.equal({ message });
          expect(response.body).not.to.include("backend-detail");
        }
      });
    }

    it("still names the invalid parameter while DynamoDB throttles", async () => {
      failing.fail(400, "ThrottlingException");
      const response = await api.get("/devices/1174001?limit=5000");
      expect(response.status).to.equal(400);
      expect(response.json).to.deep.equal({
        message: "limit must be a whole number from 1 to 1000",
      });
    });

    for (const [status, type] of [
      [500, "InternalServerError"],
      [503, "ServiceUnavailable"],
    ] as const) {
      it(`still names the invalid parameter when DynamoDB answers ${status}`, async () => {
        failing.fail(status, type);
        const invalid: [string, string][] = [
          ["/devices/1174001?limit=5000", "limit must be a whole number from 1 to 1000"],
          [
            "/devices/1174001?next=%%%",
            "next is not a paging token for this device, resolution and window",
          ],
          [
            "/devices/1174001?from=2026-12-02T11:00:00Z&to=2026-12-02T10:00:00Z",
            "from must not be after to",
          ],
          ["/devices/a.b", "deviceId must be 1 to 64 letters, digits, underscores or hyphens"],
          [
            "/devices/a.b/latest",
            "deviceId must be 1 to 64 letters, digits, underscores or hyphens",
          ],
        ];
        for (const [path, message] of invalid) {
          const response = await api.get(path);
          expect(response.status, path).to.equal(400);
          expect(response.json, path).to.deep.equal({ message });
        }
        // A valid request is still a generic 502.
        const valid = await api.get("/devices/1174001?limit=5");
        expect(valid.status).to.equal(502);
        expect(valid.json).to.deep.equal({ message: "Bad gateway" });
      });
    }
  });

  describe("when the request time is missing or not digits", () => {
    /** A gateway whose clock gives `now` as the request time. */
    const clockAt = (now: number): Clock => ({ now: () => now, sleep: async () => {} });
    const window = "from=2026-12-02T00:00:00Z&to=2026-12-02T23:59:59Z";

    // NaN: the emulator then gives templates no $context.requestTimeEpoch at all.
    for (const [label, now] of [
      ["missing", Number.NaN],
      ["negative", -1],
      ["fractional", 1.5],
      ["beyond a four-digit year", 253402300800000],
    ] as const) {
      it(`answers a generic 502 where the default window needs it (${label}), never a 1970 window`, async () => {
        const api = await startApi(dynamo, { clock: clockAt(now) });
        try {
          for (const path of [
            "/devices/1174001",
            "/devices/1174001?from=2026-12-02T00:00:00Z",
            "/devices/1174001?limit=5&order=desc",
          ]) {
            const response = await api.get(path);
            expect(response.status, path).to.equal(502);
            expect(response.json, path).to.deep.equal({ message: "Bad gateway" });
          }
          // The query sent was the fixed refused one: no window was made up.
          for (const exchange of api.exchanges) expect(exchange.request).to.include('"Limit": 0');

          // Where the request time is not needed, the answer is as usual.
          const needless = [
            `/devices/1174001?${window}`,
            "/devices/1174001?to=2026-12-02T23:59:59Z",
            "/devices",
            "/devices/1174001/latest",
          ];
          for (const path of needless) expect((await api.get(path)).status, path).to.equal(200);
          // A client's own mistake is still named.
          const bad = await api.get("/devices/1174001?limit=5000");
          expect(bad.status).to.equal(400);
          expect(bad.json).to.deep.equal({
            message: "limit must be a whole number from 1 to 1000",
          });
        } finally {
          await api.close();
        }
      });
    }
  });

  describe("template failures", () => {
    it("answers 500 Internal server error when a request template fails to render", async () => {
      const document = changed(documentFor(dynamo), "/devices", (operation) => {
        operation["x-amazon-apigateway-integration"].requestTemplates = {
          "application/json": `#set($s = "abc")$s.substring(5)`,
        };
      });
      const api = await startApi(dynamo, { document });
      try {
        const response = await api.get("/devices");
        expect(response.status).to.equal(500);
        expect(response.json).to.deep.equal({ message: "Internal server error" });
        expect(api.log.lines.join("\n")).to.include("request template failed");
      } finally {
        await api.close();
      }
    });

    it("sends invalid JSON on like AWS: DynamoDB refuses it and the 4xx template answers", async () => {
      const document = changed(documentFor(dynamo), "/devices", (operation) => {
        operation["x-amazon-apigateway-integration"].requestTemplates = {
          "application/json": `{"TableName": `,
        };
      });
      const forwarding = await startApi(dynamo, { document, invalidRequestJson: "forward" });
      const failing = await startApi(dynamo, { document, invalidRequestJson: "fail" });
      try {
        const forwarded = await forwarding.get("/devices");
        expect(forwarded.status).to.equal(502);
        expect(forwarding.exchanges.map((exchange) => exchange.validJson)).to.deep.equal([false]);
        expect(forwarding.exchanges[0].body).to.include("SerializationException");

        const failed = await failing.get("/devices");
        expect(failed.status).to.equal(500);
        expect(failing.log.lines.join("\n")).to.include("rendered invalid JSON");
      } finally {
        await forwarding.close();
        await failing.close();
      }
    });

    it("applies $context.responseOverride status and headers from a response template", async () => {
      const document = changed(documentFor(dynamo), "/devices", (operation) => {
        operation["x-amazon-apigateway-integration"].responses.default.responseTemplates = {
          "application/json": `#set($context.responseOverride.status = 202)#set($context.responseOverride.header.X-Count = "$input.path('$.Count')"){"ok": true}`,
        };
      });
      const api = await startApi(dynamo, { document });
      try {
        const response = await fetch(`${api.url}/devices`, {
          headers: { "x-api-key": "test-key-0123456789abcdef" },
        });
        expect(response.status).to.equal(202);
        expect(response.headers.get("x-count")).to.equal("0");
        expect(await response.json()).to.deep.equal({ ok: true });
      } finally {
        await api.close();
      }
    });
  });

  describe("the document's own rules", () => {
    it("answers the request validator's 400 for a missing required parameter", async () => {
      const document = changed(documentFor(dynamo), "/devices/{deviceId}", (operation) => {
        for (const parameter of operation.parameters ?? []) {
          if (parameter.name === "from" || parameter.name === "to") parameter.required = true;
        }
      });
      const api = await startApi(dynamo, { document });
      try {
        const response = await api.get("/devices/1174001?to=2026-12-02T00:00:00Z");
        expect(response.status).to.equal(400);
        expect(response.json).to.deep.equal({
          message: "Missing required request parameters: [from]",
        });
        expect(api.exchanges).to.have.length(0);
      } finally {
        await api.close();
      }
    });

    it("serves an operation with security [] without an API key", async () => {
      const document = changed(documentFor(dynamo), "/devices", (operation) => {
        operation.security = [];
      });
      const api = await startApi(dynamo, { document });
      try {
        expect((await api.get("/devices", {})).status).to.equal(200);
        expect((await api.get("/devices/1174001", {})).status).to.equal(403);
      } finally {
        await api.close();
      }
    });

    it("refuses a document whose integration responses answer a status the method does not declare", async () => {
      for (const status of ["502", "400", "200"]) {
        const document = changed(documentFor(dynamo), "/devices/{deviceId}", (operation) => {
          delete operation.responses[status];
        });
        let error: unknown;
        try {
          const api = await startApi(dynamo, { document });
          await api.close();
        } catch (caught) {
          error = caught;
        }
        expect(String(error), status).to.include(
          `GET /devices/{deviceId}: an integration response answers ${status}`,
        );
      }
    });

    it("refuses a document with an integration it cannot run locally", async () => {
      const document = changed(documentFor(dynamo), "/devices", (operation) => {
        operation["x-amazon-apigateway-integration"].uri =
          "arn:aws:apigateway:us-east-1:dynamodb:action/Scan";
      });
      let error: unknown;
      try {
        await startApi(dynamo, { document });
      } catch (caught) {
        error = caught;
      }
      expect(String(error)).to.include("GET /devices is not a DynamoDB Query integration");
    });
  });
});
