import * as lib from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../clock";
import { queryAll } from "./dynamo";
import { periodKey, type Resolution, readingsTable } from "./tables";

/** DynamoDB's BatchWriteItem limit. */
const BATCH_SIZE = 25;

export interface BatchPutOptions {
  clock: Clock;
  /** Attempts per batch while DynamoDB leaves items unprocessed. @default 8 */
  maxAttempts?: number;
  /** First backoff between attempts; doubles each time, with full jitter. @default 50 */
  baseDelayMs?: number;
  random?: () => number;
}

/**
 * Writes items with BatchWriteItem, 25 per request, retrying unprocessed items with
 * exponential backoff. Resolves only when every item is stored; otherwise throws, and the
 * caller must not advance any cursor past these items.
 */
export async function batchPut(
  doc: lib.DynamoDBDocumentClient,
  tableName: string,
  items: readonly object[],
  options: BatchPutOptions,
): Promise<number> {
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const random = options.random ?? Math.random;

  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    let pending = items
      .slice(start, start + BATCH_SIZE)
      .map((item) => ({ PutRequest: { Item: item as Record<string, unknown> } }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > maxAttempts) {
        throw new Error(
          `DynamoDB left ${pending.length} items unprocessed in ${tableName} after ${maxAttempts} attempts`,
        );
      }
      if (attempt > 1) await options.clock.sleep(random() * baseDelayMs * 2 ** (attempt - 2));
      const answer = await doc.send(
        new lib.BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = (answer.UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
        request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
      );
    }
  }
  return items.length;
}

/**
 * Every item of one device and resolution whose time lies in [fromIso, toIso], oldest
 * first, following DynamoDB's pages.
 */
export async function queryPeriods(
  doc: lib.DynamoDBDocumentClient,
  tableName: string,
  deviceId: string,
  resolution: Resolution,
  fromIso: string,
  toIso: string,
): Promise<Record<string, unknown>[]> {
  // Strongly consistent: rollups are recomputed from minutes written a moment before.
  return queryAll(doc, {
    TableName: tableName,
    ConsistentRead: true,
    KeyConditionExpression: "#device = :device AND #period BETWEEN :from AND :to",
    ExpressionAttributeNames: {
      "#device": readingsTable.hashKey.name,
      "#period": readingsTable.rangeKey.name,
    },
    ExpressionAttributeValues: {
      ":device": deviceId,
      ":from": periodKey(resolution, fromIso),
      ":to": periodKey(resolution, toIso),
    },
  });
}
