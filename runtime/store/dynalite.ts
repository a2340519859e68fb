import type * as http from "node:http";
import type { AddressInfo } from "node:net";

// dynalite ships no type declarations: it is a function returning an http.Server. It is a
// dev dependency, used by the local mode and the tests only, never by the Lambda.
const dynalite: (options: { path?: string; createTableMs?: number }) => http.Server =
  require("dynalite");

/** Credentials dynalite accepts; it checks that they are present, not what they are. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export interface Dynalite {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** Stops listening and closes the LevelDB store, so its data is on disk. */
  close(): Promise<void>;
}

/**
 * Starts dynalite on 127.0.0.1 and an ephemeral port: in memory, or in LevelDB at `path`.
 * Tables are ACTIVE at once (`createTableMs: 0`).
 */
export async function startDynalite(options: { path?: string } = {}): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
