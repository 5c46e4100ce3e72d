import { request } from "node:http";

/** An answer, and which worker process (`server.workers`) gave it: its `pennant-worker` header, "" for none. */
export interface WorkerAnswer {
  readonly status: number;
  readonly worker: string;
  readonly body: string;
}

/**
 * One HTTP/1.1 request to `origin` on a connection of its own (cluster hands each new connection to the next
 * worker), with `body` as JSON (a string is sent as it is). Fails after 10 s without an answer.
 */
export function freshRequest(
  origin: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<WorkerAnswer> {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const call = request(
      `${origin}${path}`,
      { method, agent: false, headers: { "content-type": "application/json", ...headers } },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            worker: String(response.headers["pennant-worker"] ?? ""),
            body: text,
          }),
        );
      },
    );
    call.on("error", reject);
    call.setTimeout(10_000, () => call.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    call.end(payload);
  });
}
