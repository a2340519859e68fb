import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { forward } from "./forward";

/**
 * A fault-injecting proxy in front of a DynamoDB endpoint. It forwards every request
 * untouched until told to fail: `failWritesAfter(n)` lets n more items through
 * BatchWriteItem and then answers every write with a 500, as if the process writing had
 * died midway. Tests point the SDK at `endpoint` instead of dynalite's.
 */
export interface DynamoProxy {
  endpoint: string;
  /** Items that reached the backend through BatchWriteItem. */
  itemsWritten: number;
  failWritesAfter(items: number): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  const backend = new URL(target);
  let allowance = Number.POSITIVE_INFINITY;

  const state = {
    itemsWritten: 0,
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const operation = String(request.headers["x-amz-target"] ?? "").split(".")[1];
      if (operation === "BatchWriteItem") {
        const items = countBatchItems(body);
        if (items > allowance) {
          allowance = 0;
          response.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
          response.end(
            JSON.stringify({
              __type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
              message: "injected write failure",
            }),
          );
          return;
        }
        allowance -= items;
        state.itemsWritten += items;
      }

      forward(request, response, backend, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get itemsWritten() {
      return state.itemsWritten;
    },
    failWritesAfter(items: number) {
      allowance = items;
    },
    heal() {
      allowance = Number.POSITIVE_INFINITY;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function countBatchItems(body: Buffer): number {
  const request = JSON.parse(body.toString("utf8")) as { RequestItems?: Record<string, unknown[]> };
  return Object.values(request.RequestItems ?? {}).reduce((sum, list) => sum + list.length, 0);
}
