import * as crypto from "node:crypto";
import type { AddressInfo } from "node:net";
import { createDynamo, type Dynamo, ensureTables } from "../../runtime/store/dynamo";
import type { TableNames } from "../../runtime/store/tables";

// dynalite has no type declarations; it is a function returning an http.Server.
const dynalite: (options: { path?: string; createTableMs?: number }) => import("node:http").Server =
  require("dynalite");

export interface LocalDynamo extends Dynamo {
  endpoint: string;
  tables: TableNames;
  close(): Promise<void>;
}

/** Credentials dynalite accepts; it checks that they are present, not what they are. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * Starts an in-memory dynalite on 127.0.0.1 and an ephemeral port and creates both tables
 * under fresh names, so tests sharing one server never see each other's items.
 */
export async function startDynamo(options: { path?: string } = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dynamo = createDynamo({ endpoint, region: "us-east-1", credentials: LOCAL_CREDENTIALS });
  const suffix = crypto.randomBytes(4).toString("hex");
  const tables = { readings: `readings-${suffix}`, metadata: `metadata-${suffix}` };
  await ensureTables(dynamo.client, tables);

  return {
    ...dynamo,
    endpoint,
    tables,
    close: async () => {
      dynamo.client.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
