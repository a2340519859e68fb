import { expect } from "chai";
import {
  buildOpenApi,
  type OpenApiDocument,
  type OpenApiOptions,
  TEMPLATE_LIMIT_BYTES,
} from "../../runtime/api/openapi";

const OVERRIDE = /#set\(\s*\$context\.responseOverride\.status\s*=\s*(\d{3})\s*\)/g;

/**
 * Every status an operation can answer with from its integration: each integration response's
 * statusCode, and each status a response template can set through responseOverride. API
 * Gateway refuses an integration response whose statusCode has no method response.
 */
function integrationStatuses(document: OpenApiDocument): Map<string, Set<string>> {
  const statuses = new Map<string, Set<string>>();
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const found = new Set<string>();
      for (const response of Object.values(
        operation["x-amazon-apigateway-integration"].responses,
      )) {
        found.add(response.statusCode);
        for (const template of Object.values(response.responseTemplates ?? {}))
          for (const match of template.matchAll(OVERRIDE)) found.add(match[1]);
      }
      statuses.set(`${method} ${path}`, found);
    }
  }
  return statuses;
}

/** `"get /x: 429"` for every integration status the operation does not declare. */
function undeclaredStatuses(document: OpenApiDocument): string[] {
  const undeclared: string[] = [];
  for (const [where, statuses] of integrationStatuses(document)) {
    const [method, path] = where.split(" ");
    const declared = Object.keys(document.paths[path][method].responses);
    for (const status of statuses)
      if (!declared.includes(status)) undeclared.push(`${where}: ${status}`);
  }
  return undeclared;
}

const OPTIONS: OpenApiOptions = {
  tables: { readings: "readings-7f3a9c1", metadata: "metadata-7f3a9c1" },
  region: "eu-west-1",
  credentialsRoleArn: "arn:aws:iam::123456789012:role/read-api-role-1a2b",
};

describe("OpenAPI document of the read API", () => {
  const document = buildOpenApi(OPTIONS);
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

  it("is plain JSON: it survives a JSON round trip unchanged", () => {
    expect(JSON.parse(JSON.stringify(document))).to.deep.equal(document);
  });

  it("has exactly the three GET routes of the contract", () => {
    expect(operations.map(({ path, method }) => `${method} ${path}`)).to.deep.equal([
      "get /devices",
      "get /devices/{deviceId}",
      "get /devices/{deviceId}/latest",
    ]);
  });

  it("requires the x-api-key header on every method", () => {
    expect(document["x-amazon-apigateway-api-key-source"]).to.equal("HEADER");
    expect(document.components.securitySchemes).to.deep.equal({
      api_key: { type: "apiKey", name: "x-api-key", in: "header" },
    });
    for (const { operation } of operations)
      expect(operation.security).to.deep.equal([{ api_key: [] }]);
  });

  it("validates request parameters on every method", () => {
    expect(document["x-amazon-apigateway-request-validators"]).to.deep.equal({
      parameters: { validateRequestParameters: true, validateRequestBody: false },
    });
    expect(document["x-amazon-apigateway-request-validator"]).to.equal("parameters");
  });

  it("integrates every method directly with DynamoDB Query, never passing a body through", () => {
    for (const { operation } of operations) {
      const integration = operation["x-amazon-apigateway-integration"];
      expect(integration).to.include({
        type: "aws",
        httpMethod: "POST",
        uri: "arn:aws:apigateway:eu-west-1:dynamodb:action/Query",
        credentials: OPTIONS.credentialsRoleArn,
        passthroughBehavior: "never",
      });
      expect(Object.keys(integration.requestTemplates ?? {})).to.deep.equal(["application/json"]);
      expect(Object.keys(integration.responses)).to.deep.equal(["default", "4\\d{2}", "5\\d{2}"]);
      expect(integration.responses.default.statusCode).to.equal("200");
      expect(integration.responses["5\\d{2}"].statusCode).to.equal("502");
      for (const response of Object.values(integration.responses)) {
        expect(Object.keys(response.responseTemplates ?? {})).to.deep.equal(["application/json"]);
      }
    }
  });

  it("declares as method responses every status an integration response can answer", () => {
    const statuses = integrationStatuses(document);
    // The override parser finds what the templates set, so the check below is not vacuous.
    expect([...(statuses.get("get /devices/{deviceId}") ?? [])].sort()).to.deep.equal([
      "200",
      "400",
      "429",
      "502",
    ]);
    expect([...(statuses.get("get /devices") ?? [])].sort()).to.include.members(["429", "502"]);
    expect(undeclaredStatuses(document)).to.deep.equal([]);
  });

  it("would catch a document that leaves 429 and 502 out of its method responses", () => {
    const copy = JSON.parse(JSON.stringify(document)) as OpenApiDocument;
    for (const methods of Object.values(copy.paths))
      for (const operation of Object.values(methods)) {
        delete operation.responses["429"];
        delete operation.responses["502"];
      }
    expect(undeclaredStatuses(copy)).to.have.members(
      operations.flatMap(({ path, method }) => [
        `${method} ${path}: 429`,
        `${method} ${path}: 502`,
      ]),
    );
  });

  it("fills every placeholder and splices every fragment, within API Gateway's size limit", () => {
    for (const { operation } of operations) {
      const integration = operation["x-amazon-apigateway-integration"];
      const templates = [
        ...Object.values(integration.requestTemplates ?? {}),
        ...Object.values(integration.responses).flatMap((response) =>
          Object.values(response.responseTemplates ?? {}),
        ),
      ];
      for (const template of templates) {
        expect(template).not.to.match(/__[A-Z_]+__/);
        expect(template).not.to.match(/^##>/m);
        expect(template).not.to.match(/#(parse|include)\s*\(/);
        expect(Buffer.byteLength(template)).to.be.below(TEMPLATE_LIMIT_BYTES);
      }
    }
  });

  it("reads the metadata table only for /devices, only in the device partition", () => {
    const templates = operations.map(
      ({ operation }) =>
        operation["x-amazon-apigateway-integration"].requestTemplates?.["application/json"] ?? "",
    );
    expect(
      templates.filter((template) => template.includes(OPTIONS.tables.metadata)),
    ).to.have.length(1);
    expect(templates[0]).to.include(`"TableName": "${OPTIONS.tables.metadata}"`);
    expect(templates[0]).to.include(`":pk": {"S": "device"}`);
    expect(templates[0]).not.to.include("$input");
  });

  it("refuses deployment values that could break out of a template", () => {
    const bad: Partial<OpenApiOptions>[] = [
      { tables: { readings: 'readings", "x": "', metadata: "metadata" } },
      { tables: { readings: "readings", metadata: "meta$util" } },
      { region: "eu-west-1:dynamodb:action/Scan#" },
      { credentialsRoleArn: 'arn:aws:iam::123456789012:role/x"' },
    ];
    for (const change of bad)
      expect(() => buildOpenApi({ ...OPTIONS, ...change })).to.throw(/buildOpenApi/);
  });
});
