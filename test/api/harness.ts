import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  createGateway,
  type IntegrationExchange,
  type LocalGateway,
} from "../../runtime/api/gateway";
import { buildOpenApi, type OpenApiDocument } from "../../runtime/api/openapi";
import { type Clock, ManualClock } from "../../runtime/clock";
import { memoryLogger } from "../../runtime/log";
import { LOCAL_CREDENTIALS, type LocalDynamo } from "../support/dynamo";

export const API_KEY = "test-key-0123456789abcdef";
/** The request time of every test request: half an hour into the day after the seeded day. */
export const NOW = "2026-12-03T00:30:00Z";

export interface Api {
  url: string;
  gateway: LocalGateway;
  document: OpenApiDocument;
  /** The gateway's clock: `$context.requestTimeEpoch` of every request. */
  clock: Clock;
  /** Every integration call, in order: what the request template rendered and the answer. */
  exchanges: IntegrationExchange[];
  log: ReturnType<typeof memoryLogger>;
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: string; json: unknown }>;
  close(): Promise<void>;
}

export interface ApiOptions {
  /** DynamoDB endpoint the integrations call. @default the dynalite's own */
  endpoint?: string;
  /** A changed copy of the document to serve. @default buildOpenApi for the dynalite's tables */
  document?: OpenApiDocument;
  invalidRequestJson?: "forward" | "fail";
  /** Source of `$context.requestTimeEpoch`. @default a ManualClock stopped at NOW */
  clock?: Clock;
}

export function documentFor(dynamo: LocalDynamo): OpenApiDocument {
  return buildOpenApi({
    tables: dynamo.tables,
    region: "us-east-1",
    credentialsRoleArn: "arn:aws:iam::123456789012:role/read-api",
  });
}

/** The local gateway over `dynamo`, on 127.0.0.1 and an ephemeral port, with a fixed clock. */
export async function startApi(dynamo: LocalDynamo, options: ApiOptions = {}): Promise<Api> {
  const document = options.document ?? documentFor(dynamo);
  // One attempt, as API Gateway makes one call; SDK retries would hide throttling.
  const client = new DynamoDBClient({
    region: "us-east-1",
    endpoint: options.endpoint ?? dynamo.endpoint,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const exchanges: IntegrationExchange[] = [];
  const log = memoryLogger();
  const clock = options.clock ?? new ManualClock(NOW);
  const gateway = createGateway({
    document,
    dynamo: client,
    apiKeys: [API_KEY],
    clock,
    log,
    invalidRequestJson: options.invalidRequestJson ?? "fail",
    onIntegration: (exchange) => exchanges.push(exchange),
  });
  const url = await gateway.listen();
  return {
    url,
    gateway,
    document,
    clock,
    exchanges,
    log,
    get: async (path, headers = { "x-api-key": API_KEY }) => {
      const response = await fetch(`${url}${path}`, { headers });
      const body = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new Error(
          `GET ${path}: ${response.status} answered with a body that is not JSON: ${body}`,
        );
      }
      return { status: response.status, body, json };
    },
    close: async () => {
      await gateway.close();
      client.destroy();
    },
  };
}
