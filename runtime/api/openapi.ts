import * as fs from "node:fs";
import * as path from "node:path";
import {
  DEVICE_PARTITION,
  metadataTable,
  readingsTable,
  SENSORS,
  type TableNames,
} from "../store/tables";

/**
 * The read API as one OpenAPI 3 document with API Gateway's extensions: every method is a
 * direct DynamoDB Query integration with VTL mapping templates, guarded by an API key. The
 * Pulumi program deploys this document as the REST API body; the local gateway (gateway.ts)
 * serves the very same document, so the templates tested locally are the ones deployed.
 *
 * Templates live in templates/*.vm. API Gateway has no #parse or #include, so shared pieces
 * are spliced in here: a line `##> name.vm` is replaced by that file. Placeholders such as
 * `__READINGS_TABLE__` are then replaced by deployment values that were checked to be safe
 * inside a JSON string and inside VTL.
 */

export interface OpenApiOptions {
  /** Physical table names the integrations query. */
  tables: TableNames;
  /** AWS region of the tables, used in the integration URI, e.g. "eu-west-1". */
  region: string;
  /**
   * Role API Gateway assumes to call DynamoDB. It should allow only `dynamodb:Query` on the
   * readings table, and on the metadata table only with `dynamodb:LeadingKeys` = ["device"].
   */
  credentialsRoleArn: string;
  /** `info.title`, which becomes the REST API's name on import. @default "canary-capture" */
  title?: string;
}

/** Integration response, keyed in the document by its selection pattern ("default" if none). */
export interface IntegrationResponse {
  statusCode: string;
  responseTemplates?: Record<string, string>;
  responseParameters?: Record<string, string>;
}

export interface Integration {
  type: string;
  httpMethod: string;
  uri: string;
  credentials?: string;
  passthroughBehavior?: string;
  requestTemplates?: Record<string, string>;
  responses: Record<string, IntegrationResponse>;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  description?: string;
  schema?: object;
}

export interface Operation {
  operationId: string;
  summary?: string;
  parameters?: Parameter[];
  /** Per-operation security; `[]` serves the method without an API key. */
  security?: Record<string, string[]>[];
  responses: Record<string, object>;
  "x-amazon-apigateway-request-validator"?: string;
  "x-amazon-apigateway-integration": Integration;
}

export interface SecurityScheme {
  type: string;
  name?: string;
  in?: string;
}

export interface RequestValidator {
  validateRequestParameters?: boolean;
  validateRequestBody?: boolean;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  security?: Record<string, string[]>[];
  components: { securitySchemes: Record<string, SecurityScheme>; schemas: Record<string, object> };
  "x-amazon-apigateway-api-key-source"?: string;
  "x-amazon-apigateway-request-validators"?: Record<string, RequestValidator>;
  "x-amazon-apigateway-request-validator"?: string;
}

/** API Gateway refuses mapping templates over 300 KB. */
export const TEMPLATE_LIMIT_BYTES = 300 * 1024;

const TEMPLATE_DIR = path.join(__dirname, "templates");
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
// Loose on purpose: the local mode uses "local". It only has to be safe inside an ARN.
const REGION = /^[a-z0-9-]{1,32}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export function buildOpenApi(options: OpenApiOptions): OpenApiDocument {
  checkOptions(options);
  // The templates spell the key attributes out; fail here, not at runtime, if they drift.
  const keys = [
    readingsTable.hashKey.name,
    readingsTable.rangeKey.name,
    metadataTable.hashKey.name,
  ];
  if (keys.join(",") !== "deviceId,period,pk") {
    throw new Error(
      `buildOpenApi: the templates assume keys deviceId, period, pk; tables.ts has ${keys}`,
    );
  }

  const placeholders: Record<string, string> = {
    __READINGS_TABLE__: options.tables.readings,
    __METADATA_TABLE__: options.tables.metadata,
    __DEVICE_PARTITION__: DEVICE_PARTITION,
    __SENSORS__: `[${SENSORS.map((sensor) => `'${sensor}'`).join(", ")}]`,
  };
  const template = (name: string) => loadTemplate(name, placeholders);
  // `checks` is the parameter-check fragment the error templates re-run to name a problem.
  const withChecks = (checks: string | undefined, name: string) =>
    [checks, name].map((part) => (part ? template(part) : "")).join("");
  const integration = (request: string, ok: string, checks?: string): Integration => ({
    type: "aws",
    httpMethod: "POST",
    uri: `arn:aws:apigateway:${options.region}:dynamodb:action/Query`,
    credentials: options.credentialsRoleArn,
    // NEVER: a request with another Content-Type gets 415 instead of reaching DynamoDB as is.
    passthroughBehavior: "never",
    requestTemplates: { "application/json": template(request) },
    responses: {
      default: { statusCode: "200", responseTemplates: { "application/json": template(ok) } },
      // Each statusCode, and each status the templates set through responseOverride (400, 429,
      // 502), must be a method response of the operation (see responses() below).
      "4\\d{2}": {
        statusCode: "400",
        responseTemplates: { "application/json": withChecks(checks, "error-4xx.vm") },
      },
      "5\\d{2}": {
        statusCode: "502",
        responseTemplates: { "application/json": withChecks(checks, "error-5xx.vm") },
      },
    },
  });
  const apiKey = [{ api_key: [] }];
  const deviceId: Parameter = {
    name: "deviceId",
    in: "path",
    required: true,
    description: "Canary device id: 1 to 64 letters, digits, `_` or `-`.",
    schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
  };
  const query = (name: string, description: string, schema: object): Parameter => ({
    name,
    in: "query",
    required: false,
    description,
    schema,
  });
  const isoTime = { type: "string", format: "date-time" };

  return {
    openapi: "3.0.1",
    info: {
      title: options.title ?? "canary-capture",
      version: "1.0",
      description:
        "Readings of Canary devices, read straight from DynamoDB. Every route needs an " +
        "x-api-key header. Times are ISO-8601 UTC with Z; sensor values are numbers.",
    },
    paths: {
      "/devices": {
        get: {
          operationId: "listDevices",
          summary: "The devices this deployment polls.",
          security: apiKey,
          responses: responses("Devices"),
          "x-amazon-apigateway-integration": integration(
            "devices-request.vm",
            "devices-response.vm",
          ),
        },
      },
      "/devices/{deviceId}": {
        get: {
          operationId: "getReadings",
          summary: "A device's readings over a window, a page at a time.",
          security: apiKey,
          parameters: [
            deviceId,
            query(
              "from",
              "Window start, inclusive. Fractions of a second are ignored. @default 24 hours before the request",
              isoTime,
            ),
            query("to", "Window end, inclusive. @default the request time", isoTime),
            query("order", "Time order. @default asc", { type: "string", enum: ["asc", "desc"] }),
            query("limit", "Readings per page, 1 to 1000. @default 500", {
              type: "integer",
              minimum: 1,
              maximum: 1000,
            }),
            query("next", "The `next` token of the previous page.", { type: "string" }),
            query(
              "resolution",
              "minute readings, or hour/day rollups (means plus count, min and max). @default minute",
              { type: "string", enum: ["minute", "hour", "day"] },
            ),
          ],
          responses: responses("Readings"),
          "x-amazon-apigateway-integration": integration(
            "readings-request.vm",
            "readings-response.vm",
            "readings-params.vm",
          ),
        },
      },
      "/devices/{deviceId}/latest": {
        get: {
          operationId: "getLatestReading",
          summary: "A device's newest minute reading, or null.",
          security: apiKey,
          parameters: [deviceId],
          responses: responses("Latest"),
          "x-amazon-apigateway-integration": integration(
            "latest-request.vm",
            "latest-response.vm",
            "device-id.vm",
          ),
        },
      },
    },
    components: {
      securitySchemes: { api_key: { type: "apiKey", name: "x-api-key", in: "header" } },
      schemas: schemas(),
    },
    "x-amazon-apigateway-api-key-source": "HEADER",
    "x-amazon-apigateway-request-validators": {
      parameters: { validateRequestParameters: true, validateRequestBody: false },
    },
    "x-amazon-apigateway-request-validator": "parameters",
  };
}

function checkOptions(options: OpenApiOptions): void {
  for (const [logical, name] of Object.entries(options.tables)) {
    if (!TABLE_NAME.test(name)) {
      throw new Error(
        `buildOpenApi: tables.${logical} ${JSON.stringify(name)} is not a DynamoDB table name`,
      );
    }
  }
  if (!REGION.test(options.region)) {
    throw new Error(`buildOpenApi: region ${JSON.stringify(options.region)} is not an AWS region`);
  }
  if (!ROLE_ARN.test(options.credentialsRoleArn)) {
    throw new Error("buildOpenApi: credentialsRoleArn is not an IAM role ARN");
  }
}

/** Reads a template, splices in its `##> fragment.vm` lines and fills the placeholders. */
export function loadTemplate(name: string, placeholders: Record<string, string>): string {
  const text = expandFragments(name, []);
  const filled = text.replace(/__[A-Z_]+__/g, (placeholder) => {
    const value = placeholders[placeholder];
    if (value === undefined)
      throw new Error(`template ${name}: unknown placeholder ${placeholder}`);
    return value;
  });
  if (Buffer.byteLength(filled) > TEMPLATE_LIMIT_BYTES) {
    throw new Error(`template ${name} is over API Gateway's ${TEMPLATE_LIMIT_BYTES} bytes`);
  }
  return filled;
}

function expandFragments(name: string, stack: string[]): string {
  if (stack.includes(name))
    throw new Error(`template fragments loop: ${[...stack, name].join(" > ")}`);
  const text = fs.readFileSync(path.join(TEMPLATE_DIR, name), "utf8");
  return text.replace(/^##> *([\w.-]+\.vm) *\n/gm, (_line, fragment: string) =>
    expandFragments(fragment, [...stack, name]),
  );
}

function responses(schema: string): Record<string, object> {
  const json = (ref: string, description: string) => ({
    description,
    content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
  });
  return {
    "200": json(schema, "OK"),
    "400": json("Error", "A parameter is invalid; the message says which."),
    "403": json("Error", "Missing or unknown API key."),
    "429": json("Error", "DynamoDB throttled the request; retry later."),
    "502": json("Error", "DynamoDB failed."),
  };
}

function schemas(): Record<string, object> {
  const sensorValues = Object.fromEntries(SENSORS.map((sensor) => [sensor, { type: "number" }]));
  const reading = {
    type: "object",
    required: ["time"],
    properties: {
      time: { type: "string", format: "date-time" },
      ...sensorValues,
      count: { type: "object", properties: sensorValues },
      min: { type: "object", properties: sensorValues },
      max: { type: "object", properties: sensorValues },
    },
  };
  return {
    Error: { type: "object", required: ["message"], properties: { message: { type: "string" } } },
    Reading: reading,
    Devices: {
      type: "object",
      required: ["deviceIds", "devices"],
      properties: {
        deviceIds: { type: "array", items: { type: "string" } },
        devices: {
          type: "array",
          items: {
            type: "object",
            properties: {
              id: { type: "string" },
              name: { type: "string" },
              type: { type: "string" },
              location: { type: "string" },
              online: { type: "boolean" },
              lastReadingAt: { type: "string", format: "date-time", description: "or null" },
            },
          },
        },
      },
    },
    Readings: {
      type: "object",
      required: ["deviceId", "readings", "next"],
      properties: {
        deviceId: { type: "string" },
        readings: { type: "array", items: { $ref: "#/components/schemas/Reading" } },
        next: { type: "string", description: "null on the last page" },
      },
    },
    Latest: {
      type: "object",
      required: ["deviceId", "reading"],
      properties: {
        deviceId: { type: "string" },
        // Models document the shape only; API Gateway does not check responses against them.
        reading: { $ref: "#/components/schemas/Reading" },
      },
    },
  };
}
