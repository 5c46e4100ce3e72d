/** What a JSON REST call answered: its status and its body, parsed (`{}` when it was empty). */
export interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** How long one request may take before the test fails instead of hanging (a write stuck on a lock, say). */
export const REQUEST_DEADLINE_MS = 20_000;

/**
 * Sends `method path` to `server` with `body` (if any) as JSON, and resolves with the status and the parsed answer,
 * whatever the status. A request not answered within `deadlineMs` fails.
 */
export async function restJson(
  server: { readonly httpUrl: string },
  method: string,
  path: string,
  body?: unknown,
  deadlineMs = REQUEST_DEADLINE_MS,
): Promise<JsonAnswer> {
  const response = await fetch(`${server.httpUrl}${path}`, {
    method,
    signal: AbortSignal.timeout(deadlineMs),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
}

/** The environments API's resources of `namespace` in environment `default`. */
export function resourcesPath(namespace = "default"): string {
  return `/api/v2/environments/default/namespaces/${namespace}/resources`;
}

/**
 * Creates (POST) or updates (PUT) a resource (a flag or segment payload with its `@type`) through the environments
 * API, at `revision` when given; resolves with the whole answer, whatever its status.
 */
export function writeResource(
  server: { readonly httpUrl: string },
  method: "POST" | "PUT",
  payload: { readonly key: string; readonly [field: string]: unknown },
  { namespace = "default", revision }: { namespace?: string; revision?: string } = {},
): Promise<JsonAnswer> {
  return restJson(server, method, resourcesPath(namespace), {
    key: payload.key,
    ...(revision === undefined ? {} : { revision }),
    payload,
  });
}
