import * as ddb from "@aws-sdk/client-dynamodb";
import * as lib from "@aws-sdk/lib-dynamodb";
import { createTableInput, type TableDefinition, type TableNames, tables } from "./tables";

export interface DynamoOptions {
  /** AWS region. @default process.env.AWS_REGION, else "us-east-1" */
  region?: string;
  /**
   * DynamoDB endpoint, e.g. dynalite's `http://127.0.0.1:PORT` or a fault-injecting proxy.
   * @default the SDK's own resolution (AWS_ENDPOINT_URL_DYNAMODB, then the regional endpoint)
   */
  endpoint?: string;
  /** Static credentials, for local endpoints that ignore them. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK-level retries of throttled or failed calls. @default 3 */
  maxAttempts?: number;
}

export interface Dynamo {
  /** The low-level client: raw attribute values, as the read API's integration sends them. */
  client: ddb.DynamoDBClient;
  /** The document client: plain JavaScript values, as the poll cycle writes them. */
  doc: lib.DynamoDBDocumentClient;
}

export function createDynamo(options: DynamoOptions = {}): Dynamo {
  const client = new ddb.DynamoDBClient({
    region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
  });
  const doc = lib.DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { client, doc };
}

/** Every item a Query matches, following DynamoDB's pages. */
export async function queryAll(
  doc: lib.DynamoDBDocumentClient,
  input: lib.QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of lib.paginateQuery({ client: doc }, input)) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

/**
 * Creates each table that does not exist yet, waits until it is active and turns on TTL.
 * Used by the local mode and the tests; in AWS the Pulumi program owns the tables.
 */
export async function ensureTables(client: ddb.DynamoDBClient, names: TableNames): Promise<void> {
  const existing = new Set((await client.send(new ddb.ListTablesCommand({}))).TableNames ?? []);
  const byName: Record<string, TableDefinition> = Object.fromEntries(
    tables.map((table) => [table.name, table]),
  );

  for (const [logical, tableName] of Object.entries(names)) {
    const definition = byName[logical];
    if (!definition || existing.has(tableName)) continue;
    await client.send(new ddb.CreateTableCommand(createTableInput(definition, tableName)));
    await waitUntilActive(client, tableName);
    await enableTtl(client, tableName, definition.ttlAttribute);
  }
}

/**
 * Polls until the table is ACTIVE. The SDK's waiter sleeps at least 20 s after a first
 * CREATING answer, which dynalite gives for a moment even with `createTableMs: 0`.
 */
async function waitUntilActive(client: ddb.DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const { Table } = await client.send(new ddb.DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`DynamoDB table ${tableName} did not become ACTIVE within 30 s`);
}

async function enableTtl(client: ddb.DynamoDBClient, tableName: string, attribute: string) {
  try {
    await client.send(
      new ddb.UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // dynalite implements no TTL operations: locally, expired items stay until deleted.
    if ((error as Error).name !== "UnknownOperationException") throw error;
  }
}
