import * as crypto from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as ddb from "@aws-sdk/client-dynamodb";
import { type Clock, systemClock } from "../clock";
import { createLogger, type Logger } from "../log";
import { matches } from "./java";
import type { Integration, OpenApiDocument, Operation } from "./openapi";
import {
  type CompiledTemplate,
  compileTemplate,
  type MethodParams,
  renderTemplate,
  type TemplateInputs,
} from "./vtl";

/**
 * A local API Gateway for the read API: it serves the OpenAPI document that is deployed,
 * doing what API Gateway does for a non-proxy AWS integration, in the same order. Route
 * match, API key, request validator, Content-Type against passthroughBehavior, request
 * template, DynamoDB call, integration response chosen by selectionPattern against the
 * status, response template, responseOverride. Templates run in the Java-faithful emulator
 * (vtl.ts). Only DynamoDB `Query` integrations are supported; others fail at creation.
 */

export interface GatewayOptions {
  /** The document from buildOpenApi (or its JSON round trip). */
  document: OpenApiDocument;
  /**
   * Client the integrations call, e.g. pointed at dynalite. API Gateway calls DynamoDB once
   * per request, so give it `maxAttempts: 1` to see throttling as clients on AWS would.
   */
  dynamo: ddb.DynamoDBClient;
  /** API keys accepted in `x-api-key`. */
  apiKeys: Iterable<string>;
  /** Source of `$context.requestTimeEpoch`. @default systemClock */
  clock?: Clock;
  /** One line per request, and the reason for every 500. @default createLogger() */
  log?: Logger;
  /** `$context.stage`. @default "local" */
  stage?: string;
  /**
   * A request template that renders invalid JSON. "forward" does what AWS does (DynamoDB
   * answers 400 SerializationException); "fail" answers 500 and logs an error, for tests.
   * @default "forward"
   */
  invalidRequestJson?: "forward" | "fail";
  /** Called after each integration call with what was sent and received. For tests. */
  onIntegration?: (exchange: IntegrationExchange) => void;
}

export interface IntegrationExchange {
  operationId: string;
  /** The rendered request template, exactly as sent. */
  request: string;
  /** Whether `request` parsed as JSON; only parsed requests reach DynamoDB. */
  validJson: boolean;
  /** DynamoDB's HTTP status. */
  status: number;
  /** DynamoDB's answer as wire JSON: {Items, Count, ...} or {__type, message}. */
  body: string;
}

export interface GatewayRequest {
  method: string;
  /** Path and query string as sent, e.g. `/devices/1?limit=5`. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  sourceIp?: string;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface LocalGateway {
  /** Starts listening; resolves to the base URL. @default port 0 (ephemeral), 127.0.0.1 */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** Answers one request without the HTTP server. */
  handle(request: GatewayRequest): Promise<GatewayResponse>;
}

/** Renders a template as the gateway would, for unit tests; throws TemplateError on failure. */
export function render(template: string, inputs: TemplateInputs = {}): string {
  return renderTemplate(template, inputs).text;
}

interface Route {
  pathTemplate: string;
  method: string;
  segments: string[];
  operation: Operation;
  integration: Integration;
  requestTemplates: Map<string, CompiledTemplate>;
  responses: {
    pattern: string | null;
    statusCode: string;
    template?: CompiledTemplate;
    headers: Record<string, string>;
  }[];
  apiKeyRequired: boolean;
  requiredParams: { in: string; name: string }[];
}

const QUERY_URI = /^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:dynamodb:action\/Query$/;
const BODY_LIMIT = 10 * 1024 * 1024;
const DYNAMO_TYPE = "com.amazonaws.dynamodb.v20120810#";

export function createGateway(options: GatewayOptions): LocalGateway {
  const logger = options.log ?? createLogger();
  const clock = options.clock ?? systemClock;
  const stage = options.stage ?? "local";
  const apiKeys = new Set(options.apiKeys);
  const routes = compileRoutes(options.document);
  let server: http.Server | undefined;

  const handle = async (request: GatewayRequest): Promise<GatewayResponse> => {
    const started = clock.now();
    const requestId = crypto.randomUUID();
    const response = await answer(request, requestId, started);
    response.headers["x-amzn-requestid"] = requestId;
    logger.info("api request", {
      requestId,
      method: request.method,
      path: request.url.split("?")[0],
      status: response.status,
      durationMs: clock.now() - started,
    });
    return response;
  };

  const answer = async (
    request: GatewayRequest,
    requestId: string,
    now: number,
  ): Promise<GatewayResponse> => {
    const [rawPath, rawQuery = ""] = splitOnce(request.url, "?");
    const found = matchRoute(routes, request.method.toUpperCase(), rawPath);
    if (!found)
      return gatewayError(
        403,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
      );
    const { route, path } = found;

    const headers = request.headers ?? {};
    const apiKey = headerValue(headers, "x-api-key");
    if (route.apiKeyRequired && (apiKey === undefined || !apiKeys.has(apiKey))) {
      return gatewayError(403, "ForbiddenException", "Forbidden");
    }

    const params: MethodParams = {
      path,
      querystring: parseQuery(rawQuery),
      header: { ...headers },
    };
    const missing = route.requiredParams.filter((param) =>
      param.in === "path"
        ? !(param.name in params.path)
        : param.in === "query"
          ? !Object.hasOwn(params.querystring, param.name)
          : headerValue(headers, param.name) === undefined,
    );
    if (missing.length > 0) {
      const names = missing.map((param) => param.name).join(", ");
      return gatewayError(
        400,
        "BadRequestException",
        `Missing required request parameters: [${names}]`,
      );
    }

    const mediaType = (headerValue(headers, "content-type") ?? "application/json")
      .split(";")[0]
      .trim()
      .toLowerCase();
    const requestTemplate = route.requestTemplates.get(mediaType);
    const passthrough = (route.integration.passthroughBehavior ?? "when_no_match").toLowerCase();
    if (
      !requestTemplate &&
      (passthrough === "never" ||
        (passthrough === "when_no_templates" && route.requestTemplates.size > 0))
    ) {
      return gatewayError(415, "UnsupportedMediaTypeException", "Unsupported Media Type");
    }

    const inputs: TemplateInputs = {
      params,
      body: request.body ?? "",
      context: {
        requestId,
        stage,
        httpMethod: route.method,
        resourcePath: route.pathTemplate,
        path: `/${stage}${rawPath}`,
        requestTimeEpoch: now,
        sourceIp: request.sourceIp ?? "127.0.0.1",
        apiKey: route.apiKeyRequired ? (apiKey ?? null) : null,
        userAgent: headerValue(headers, "user-agent") ?? "",
      },
    };
    const operationId = route.operation.operationId;

    let rendered: string;
    try {
      rendered = requestTemplate
        ? renderTemplate(requestTemplate, inputs).text
        : (request.body ?? "");
    } catch (error) {
      logger.error("request template failed", { operationId, error: describe(error) });
      return gatewayError(500, "InternalServerErrorException", "Internal server error");
    }

    const result = await callDynamo(rendered);
    options.onIntegration?.({
      operationId,
      request: rendered,
      validJson: result.validJson,
      status: result.status,
      body: result.body,
    });
    if (!result.validJson && options.invalidRequestJson === "fail") {
      logger.error("request template rendered invalid JSON", { operationId });
      return gatewayError(500, "InternalServerErrorException", "Internal server error");
    }
    if (result.transportError) {
      logger.error("integration call failed", { operationId, error: result.transportError });
      return gatewayError(500, "InternalServerErrorException", "Internal server error");
    }

    const status = String(result.status);
    const selected =
      route.responses.find(
        (response) => response.pattern !== null && matches(status, response.pattern),
      ) ?? route.responses.find((response) => response.pattern === null);
    if (!selected) {
      logger.error("no integration response matches", { operationId, status });
      return gatewayError(500, "InternalServerErrorException", "Internal server error");
    }

    let body = result.body;
    let override: { status?: number; headers: Record<string, string> } = { headers: {} };
    if (selected.template) {
      try {
        const output = renderTemplate(selected.template, { ...inputs, body: result.body });
        body = output.text;
        override = output;
      } catch (error) {
        logger.error("response template failed", { operationId, status, error: describe(error) });
        return gatewayError(500, "InternalServerErrorException", "Internal server error");
      }
    }
    return {
      status: override.status ?? Number(selected.statusCode),
      headers: {
        "content-type": "application/json",
        ...selected.headers,
        ...lowerKeys(override.headers),
      },
      body,
    };
  };

  const callDynamo = async (
    rendered: string,
  ): Promise<{ validJson: boolean; status: number; body: string; transportError?: string }> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rendered);
    } catch {
      return serializationError(false);
    }
    // DynamoDB only takes a JSON object as a request; anything else fails to deserialize.
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return serializationError(true);
    try {
      const output = await options.dynamo.send(
        new ddb.QueryCommand(parsed as ddb.QueryCommandInput),
      );
      const { $metadata: _metadata, ...wire } = output;
      return { validJson: true, status: 200, body: JSON.stringify(toWire(wire)) };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      const { name, message } = error as Error;
      if (typeof status !== "number")
        return { validJson: true, status: 0, body: "", transportError: `${name}: ${message}` };
      return {
        validJson: true,
        status,
        body: JSON.stringify({ __type: `${DYNAMO_TYPE}${name}`, message }),
      };
    }
  };

  return {
    handle,
    listen: (port = 0, host = "127.0.0.1") =>
      new Promise<string>((resolve, reject) => {
        server = http.createServer((req, res) => {
          void serve(req, res, handle);
        });
        server.once("error", reject);
        server.listen(port, host, () => {
          const address = server?.address() as AddressInfo;
          // An IPv6 literal needs brackets in a URL.
          resolve(`http://${net.isIPv6(host) ? `[${host}]` : host}:${address.port}`);
        });
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
        server = undefined;
      }),
  };
}

async function serve(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handle: (request: GatewayRequest) => Promise<GatewayResponse>,
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) {
      res
        .writeHead(413, { "content-type": "application/json" })
        .end('{"message":"Request Too Long"}');
      return;
    }
    chunks.push(chunk as Buffer);
  }
  // Header names keep the case the client sent, as in $input.params().header.
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    headers[req.rawHeaders[i]] = req.rawHeaders[i + 1];
  const response = await handle({
    method: req.method ?? "GET",
    url: req.url ?? "/",
    headers,
    body: Buffer.concat(chunks).toString("utf8"),
    sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
  }).catch(
    (): GatewayResponse =>
      gatewayError(500, "InternalServerErrorException", "Internal server error"),
  );
  res.writeHead(response.status, response.headers).end(response.body);
}

function compileRoutes(document: OpenApiDocument): Route[] {
  const schemes = document.components?.securitySchemes ?? {};
  const validators = document["x-amazon-apigateway-request-validators"] ?? {};
  const routes: Route[] = [];
  for (const [pathTemplate, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const integration = operation["x-amazon-apigateway-integration"];
      const where = `${method.toUpperCase()} ${pathTemplate}`;
      if (integration?.type.toLowerCase() !== "aws" || !QUERY_URI.test(integration.uri)) {
        throw new Error(
          `local gateway: ${where} is not a DynamoDB Query integration; only those run locally`,
        );
      }
      const security = operation.security ?? document.security ?? [];
      const apiKeyRequired = security.some((requirement) =>
        Object.keys(requirement).some((name) => {
          const scheme = schemes[name];
          return (
            scheme?.type === "apiKey" &&
            scheme.in === "header" &&
            scheme.name?.toLowerCase() === "x-api-key"
          );
        }),
      );
      const validatorName =
        operation["x-amazon-apigateway-request-validator"] ??
        document["x-amazon-apigateway-request-validator"];
      const validatesParams = validatorName
        ? validators[validatorName]?.validateRequestParameters === true
        : false;
      // API Gateway refuses an integration response whose status is no method response.
      for (const [pattern, response] of Object.entries(integration.responses)) {
        if (!Object.hasOwn(operation.responses ?? {}, response.statusCode)) {
          throw new Error(
            `local gateway: ${where}: an integration response answers ${response.statusCode} ` +
              `(selection pattern ${JSON.stringify(pattern)}), which is not among the method's responses`,
          );
        }
      }
      const compile = (name: string, text: string) => {
        try {
          return compileTemplate(text);
        } catch (error) {
          throw new Error(`local gateway: ${where} ${name}: ${(error as Error).message}`);
        }
      };
      routes.push({
        pathTemplate,
        method: method.toUpperCase(),
        segments: pathTemplate.split("/").filter(Boolean),
        operation,
        integration,
        requestTemplates: new Map(
          Object.entries(integration.requestTemplates ?? {}).map(([type, text]) => [
            type.toLowerCase(),
            compile(`request template ${type}`, text),
          ]),
        ),
        responses: Object.entries(integration.responses).map(([pattern, response]) => {
          const text = response.responseTemplates?.["application/json"];
          return {
            pattern: pattern === "default" || pattern === "" ? null : pattern,
            statusCode: response.statusCode,
            ...(text === undefined ? {} : { template: compile(`response ${pattern}`, text) }),
            headers: staticHeaders(response.responseParameters ?? {}),
          };
        }),
        apiKeyRequired,
        requiredParams: validatesParams
          ? (operation.parameters ?? [])
              .filter((param) => param.required)
              .map((param) => ({ in: param.in, name: param.name }))
          : [],
      });
    }
  }
  // API Gateway prefers the most specific resource: literal segments before `{param}`.
  const literals = (route: Route) =>
    route.segments.filter((segment) => !segment.startsWith("{")).length;
  return routes.sort((a, b) => literals(b) - literals(a));
}

/** `method.response.header.X: "'value'"` mappings with a literal value. */
function staticHeaders(parameters: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [target, source] of Object.entries(parameters)) {
    const name = /^method\.response\.header\.(.+)$/.exec(target)?.[1];
    const literal = /^'(.*)'$/.exec(source)?.[1];
    if (name && literal !== undefined) headers[name.toLowerCase()] = literal;
  }
  return headers;
}

function matchRoute(
  routes: Route[],
  method: string,
  rawPath: string,
): { route: Route; path: Record<string, string> } | undefined {
  const segments = rawPath
    .split("/")
    .filter((segment, index, all) => index > 0 && (segment !== "" || index < all.length - 1));
  for (const route of routes) {
    if (route.method !== method) continue;
    const path: Record<string, string> = {};
    let matched = route.segments.length === segments.length;
    for (let i = 0; matched && i < route.segments.length; i++) {
      const expected = route.segments[i];
      const actual = segments[i];
      const param = /^\{([^}+]+)\}$/.exec(expected);
      if (param && actual !== "") path[param[1]] = decode(actual);
      else matched = expected === actual;
    }
    if (matched) return { route, path };
  }
  return undefined;
}

/** Query strings are form-encoded: `+` is a space. A repeated name keeps its last value. */
function parseQuery(raw: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const [name, value = ""] = splitOnce(pair, "=");
    query[decode(name.replace(/\+/g, " "))] = decode(value.replace(/\+/g, " "));
  }
  return query;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // A malformed escape stays as sent; the templates' allow-lists then reject it.
    return value;
  }
}

function splitOnce(value: string, separator: string): [string, string?] {
  const index = value.indexOf(separator);
  return index === -1 ? [value] : [value.slice(0, index), value.slice(index + 1)];
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((header) => header.toLowerCase() === wanted);
  return key === undefined ? undefined : headers[key];
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}

/** An answer API Gateway gives by itself, before or instead of the integration. */
function gatewayError(status: number, type: string, message: string): GatewayResponse {
  return {
    status,
    headers: { "content-type": "application/json", "x-amzn-errortype": type },
    body: JSON.stringify({ message }),
  };
}

function serializationError(validJson: boolean) {
  const body = {
    __type: "com.amazon.coral.service#SerializationException",
    Message: "Invalid request body",
  };
  return { validJson, status: 400, body: JSON.stringify(body) };
}

/** SDK output to DynamoDB's wire JSON: binary values back to base64 text. */
function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, toWire(item)]),
    );
  }
  return value;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}
