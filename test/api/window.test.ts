import { expect } from "chai";
import { render } from "../../runtime/api/gateway";
import { buildOpenApi } from "../../runtime/api/openapi";
import { renderTemplate, type TemplateInputs } from "../../runtime/api/vtl";

/**
 * The window of GET /devices/{deviceId} and its paging token, through the gateway's render
 * entry point: what the templates compute when a window end is left out, when the request
 * time is unusable, and what the token carries.
 */

const document = buildOpenApi({
  tables: { readings: "readings-abc123", metadata: "metadata-abc123" },
  region: "us-east-1",
  credentialsRoleArn: "arn:aws:iam::123456789012:role/read-api",
});
const integration = document.paths["/devices/{deviceId}"].get["x-amazon-apigateway-integration"];
const json = (text?: string) => text ?? "";
const REQUEST = json(integration.requestTemplates?.["application/json"]);
const OK = json(integration.responses.default.responseTemplates?.["application/json"]);
const CLIENT_ERROR = json(integration.responses["4\\d{2}"].responseTemplates?.["application/json"]);
const SERVER_ERROR = json(integration.responses["5\\d{2}"].responseTemplates?.["application/json"]);
const VALIDATION = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ValidationException",
  message: "Limit must be greater than 0",
});

const NOW = Date.parse("2026-12-03T00:30:00Z");

const inputs = (
  querystring: Record<string, string>,
  requestTimeEpoch: number | string | null = NOW,
  body = "{}",
): TemplateInputs => ({
  params: { path: { deviceId: "1174001" }, querystring },
  context: { requestTimeEpoch },
  body,
});

/** The sort key bounds of the rendered Query, or an error when it is the refused one. */
function window(querystring: Record<string, string>, requestTimeEpoch?: number | string | null) {
  const query = JSON.parse(render(REQUEST, inputs(querystring, requestTimeEpoch))) as {
    Limit: number;
    ExpressionAttributeValues: Record<string, { S: string }>;
  };
  if (query.Limit === 0) return "refused";
  return [query.ExpressionAttributeValues[":lo"].S, query.ExpressionAttributeValues[":hi"].S];
}

/** 24 hours before an ISO time, whole seconds, as JavaScript's Date counts (years 0 to 9999). */
function dayBefore(iso: string): string {
  const [y, mo, d, h, mi, s] = iso.match(/\d+/g)?.slice(0, 6).map(Number) ?? [];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  const ms = Math.max(date.getTime() - 86_400_000, Date.parse("0000-01-01T00:00:00Z"));
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Whether the month of an ISO time has its day (2026-04-31 is no day). */
function dayExists(iso: string): boolean {
  const [y, mo, d] = iso.match(/\d+/g)?.slice(0, 3).map(Number) ?? [];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

describe("the window of GET /devices/{deviceId}, as the templates compute it", () => {
  describe("only to given: from is 24 hours earlier", () => {
    const boundaries = [
      "2026-11-01T00:00:00Z",
      "2026-12-03T00:10:00Z",
      "2026-03-01T05:06:07Z",
      "2028-03-01T00:00:00Z",
      "2028-02-29T23:59:59Z",
      "2000-03-01T12:00:00Z",
      "2100-03-01T12:00:00Z",
      "2027-01-01T00:00:00Z",
      "1970-01-01T00:00:00Z",
      "1970-01-02T00:00:00.999Z",
      "1969-07-20T20:17:40Z",
      "1600-03-01T00:00:00Z",
      "0001-01-01T00:00:00Z",
      "0000-03-01T00:00:00Z",
      "0000-01-02T00:00:00Z",
      "0000-01-01T12:00:00Z",
      "9999-12-31T23:59:59Z",
    ];

    it("at month, leap-year, century, epoch and four-digit-year boundaries", () => {
      for (const to of boundaries) {
        const whole = `${to.slice(0, 19)}Z`;
        expect(window({ to }), to).to.deep.equal([`minute#${dayBefore(to)}`, `minute#${whole}`]);
      }
      // Spot checks that do not depend on the reference.
      expect(dayBefore("2028-03-01T00:00:00Z")).to.equal("2028-02-29T00:00:00Z");
      expect(dayBefore("2100-03-01T12:00:00Z")).to.equal("2100-02-28T12:00:00Z");
      expect(dayBefore("0000-01-01T12:00:00Z")).to.equal("0000-01-01T00:00:00Z");
    });

    it("refuses a day the month does not have, which has no 24 hours before it", () => {
      for (const to of [
        "2026-02-29T10:00:00Z",
        "2026-02-31T10:00:00Z",
        "2026-04-31T00:00:00Z",
        "2100-02-29T00:00:00Z",
      ]) {
        expect(window({ to }), to).to.equal("refused");
        const result = renderTemplate(CLIENT_ERROR, inputs({ to }, NOW, VALIDATION));
        expect(result.status).to.equal(400);
        expect(JSON.parse(result.text)).to.deep.equal({
          message: "to must be an ISO-8601 UTC time such as 2026-12-03T18:33:00Z",
        });
      }
      expect(window({ to: "2028-02-29T10:00:00Z" })).to.deep.equal([
        "minute#2028-02-28T10:00:00Z",
        "minute#2028-02-29T10:00:00Z",
      ]);
    });

    it("for 400 times spread over years 0000 to 9999", () => {
      let seed = 7;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const two = (n: number) => String(n).padStart(2, "0");
      for (let i = 0; i < 400; i++) {
        const year = String(i < 200 ? random(10000) : 1960 + random(200)).padStart(4, "0");
        const to = `${year}-${two(1 + random(12))}-${two(1 + random(31))}T${two(random(24))}:${two(random(60))}:${two(random(60))}Z`;
        expect(window({ to }), to).to.deep.equal(
          dayExists(to) ? [`minute#${dayBefore(to)}`, `minute#${to}`] : "refused",
        );
      }
    });

    it("does not need the request time", () => {
      expect(window({ to: "2026-11-01T00:00:00Z" }, null)).to.deep.equal([
        "minute#2026-10-31T00:00:00Z",
        "minute#2026-11-01T00:00:00Z",
      ]);
    });
  });

  it("only from given: to is the request time", () => {
    expect(window({ from: "2026-12-02T10:00:00.5Z" })).to.deep.equal([
      "minute#2026-12-02T10:00:00Z",
      "minute#2026-12-03T00:30:00Z",
    ]);
  });

  it("neither given: the 24 hours up to the request time, given as a number or as digits", () => {
    const expected = ["minute#2026-12-02T00:30:00Z", "minute#2026-12-03T00:30:00Z"];
    expect(window({})).to.deep.equal(expected);
    expect(window({}, String(NOW))).to.deep.equal(expected);
    expect(window({}, NOW + 999)).to.deep.equal(expected);
    expect(window({}, 0)).to.deep.equal([
      "minute#1969-12-31T00:00:00Z",
      "minute#1970-01-01T00:00:00Z",
    ]);
    expect(window({}, 1000)).to.deep.equal([
      "minute#1969-12-31T00:00:01Z",
      "minute#1970-01-01T00:00:01Z",
    ]);
    expect(window({}, Date.parse("9999-12-31T23:59:59.999Z"))).to.deep.equal([
      "minute#9999-12-30T23:59:59Z",
      "minute#9999-12-31T23:59:59Z",
    ]);
  });

  describe("when $context.requestTimeEpoch is missing or not digits", () => {
    const unusable: (string | number | null)[] = [
      null,
      "",
      "abc",
      "-5",
      -5,
      1.5,
      "1764721800000.0",
      " 1764721800000",
      Date.parse("9999-12-31T23:59:59Z") + 1000,
      "1".repeat(16),
    ];

    it("sends the refused query where the window needs it, and answers a generic 502", () => {
      for (const epoch of unusable) {
        const queries: Record<string, string>[] = [
          {},
          { from: "2026-12-02T00:00:00Z" },
          { limit: "5" },
        ];
        for (const query of queries) {
          const label = `${JSON.stringify(epoch)} ${JSON.stringify(query)}`;
          expect(window(query, epoch), label).to.equal("refused");
          const clientError = renderTemplate(CLIENT_ERROR, inputs(query, epoch, VALIDATION));
          expect(clientError.status, label).to.equal(502);
          expect(JSON.parse(clientError.text), label).to.deep.equal({ message: "Bad gateway" });
          const serverError = renderTemplate(SERVER_ERROR, inputs(query, epoch, VALIDATION));
          // No override: the 5xx integration response's own 502.
          expect(serverError.status, label).to.equal(undefined);
          expect(JSON.parse(serverError.text), label).to.deep.equal({ message: "Bad gateway" });
        }
      }
    });

    it("still names the client's own mistake with a 400", () => {
      for (const epoch of unusable) {
        for (const template of [CLIENT_ERROR, SERVER_ERROR]) {
          const result = renderTemplate(template, inputs({ order: "up" }, epoch, VALIDATION));
          expect(result.status).to.equal(400);
          expect(JSON.parse(result.text)).to.deep.equal({ message: "order must be asc or desc" });
        }
      }
    });
  });
});

describe("the paging token of GET /devices/{deviceId}", () => {
  const lastKey = (period: string) =>
    JSON.stringify({
      Items: [],
      Count: 0,
      LastEvaluatedKey: { deviceId: { S: "1174001" }, period: { S: period } },
    });
  const next = (querystring: Record<string, string>, period: string) => {
    const page = JSON.parse(render(OK, inputs(querystring, NOW, lastKey(period)))) as {
      next: string;
    };
    expect(page.next).to.match(/^[A-Za-z0-9_-]+$/);
    return JSON.parse(Buffer.from(page.next, "base64url").toString("utf8"));
  };

  it("carries the window of the page it was issued with, whole seconds", () => {
    expect(next({}, "minute#2026-12-02T10:00:00Z")).to.deep.equal({
      deviceId: "1174001",
      period: "minute#2026-12-02T10:00:00Z",
      from: "2026-12-02T00:30:00Z",
      to: "2026-12-03T00:30:00Z",
    });
    expect(
      next(
        { from: "2026-12-02T00:00:00.250Z", to: "2026-12-02T23:59:59.999Z", resolution: "hour" },
        "hour#2026-12-02T10:00:00Z",
      ),
    ).to.deep.equal({
      deviceId: "1174001",
      period: "hour#2026-12-02T10:00:00Z",
      from: "2026-12-02T00:00:00Z",
      to: "2026-12-02T23:59:59Z",
    });
    expect(next({ to: "2026-11-01T00:00:00Z" }, "minute#2026-10-31T10:00:00Z")).to.include({
      from: "2026-10-31T00:00:00Z",
      to: "2026-11-01T00:00:00Z",
    });
  });

  it("keeps the window of the token it was asked with, whatever the request time", () => {
    const first = next({}, "minute#2026-12-02T10:00:00Z");
    const token = Buffer.from(JSON.stringify(first)).toString("base64url");
    const page = JSON.parse(
      render(
        OK,
        inputs({ next: token }, NOW + 25 * 3_600_000, lastKey("minute#2026-12-02T20:00:00Z")),
      ),
    ) as { next: string };
    expect(JSON.parse(Buffer.from(page.next, "base64url").toString("utf8"))).to.deep.equal({
      ...first,
      period: "minute#2026-12-02T20:00:00Z",
    });
    // ...and with no request time at all.
    expect(window({ next: token }, null)).to.deep.equal([
      "minute#2026-12-02T00:30:00Z",
      "minute#2026-12-03T00:30:00Z",
    ]);
  });
});
