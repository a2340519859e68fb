import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { forward } from "./forward";

/**
 * A fault-injecting proxy in front of Canary (the simulator in tests). It forwards every
 * request untouched unless told to answer 401 in Canary's place: to every data call, or to
 * data calls that carry given tokens. Tests point the client's base URL at `url`.
 */
export interface CanaryProxy {
  url: string;
  /** Answer 401 to every call but the login, whatever token it carries. */
  refuseAllTokens: boolean;
  /** Answer 401 to readings calls that carry one of these tokens. */
  readonly refusedOnReadings: Set<string>;
  /** 401s the proxy answered. */
  refusals: number;
  close(): Promise<void>;
}

export async function startCanaryProxy(target: string): Promise<CanaryProxy> {
  const backend = new URL(target);
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://proxy").pathname;
    const token = String(request.headers.authorization ?? "").replace(/^Bearer /, "");
    const login = path.startsWith("/o/access_token");
    const refused =
      !login &&
      (proxy.refuseAllTokens ||
        (path.startsWith("/v1/readings/") && proxy.refusedOnReadings.has(token)));
    if (refused) {
      proxy.refusals++;
      response.writeHead(401, { "content-type": "application/json" });
      response.end(JSON.stringify({ detail: "Invalid token." }));
      request.resume();
      return;
    }
    forward(request, response, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  const proxy: CanaryProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refuseAllTokens: false,
    refusedOnReadings: new Set(),
    refusals: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
