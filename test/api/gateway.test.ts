import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import type { OpenApiDocument } from "../../runtime/api/openapi";
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
