import * as http from "node:http";

/**
 * Sends a request on to `backend` as it came and pipes the answer back: what the fault
 * proxies do with every request they do not fail. `body` is the request body when the
 * proxy has already read it; otherwise the request is streamed.
 */
export function forward(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  backend: URL,
  body?: Buffer,
): void {
  const forwarded = http.request(
    {
      host: backend.hostname,
      port: backend.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  forwarded.on("error", () => response.destroy());
  if (body) forwarded.end(body);
  else request.pipe(forwarded);
}
