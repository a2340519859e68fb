import * as crypto from "node:crypto";
import { LOCAL_CREDENTIALS, startDynalite } from "../../runtime/store/dynalite";
import { createDynamo, type Dynamo, ensureTables } from "../../runtime/store/dynamo";
import type { TableNames } from "../../runtime/store/tables";

export { LOCAL_CREDENTIALS };

export interface LocalDynamo extends Dynamo {
  endpoint: string;
  tables: TableNames;
  close(): Promise<void>;
}

/**
 * Starts an in-memory dynalite on 127.0.0.1 and an ephemeral port and creates both tables
 * under fresh names, so tests sharing one server never see each other's items.
 */
export async function startDynamo(options: { path?: string } = {}): Promise<LocalDynamo> {
  const server = await startDynalite(options);
  const endpoint = server.endpoint;
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
      await server.close();
    },
  };
}
