import type { SpawnedServer } from "./spawn-server.js";

/** One boolean evaluation, as `POST /evaluate/v1/boolean` takes it. */
export interface Evaluation {
  readonly namespaceKey: string;
  readonly flagKey: string;
  readonly entityId: string;
  readonly context: Readonly<Record<string, string>>;
}

/** The answer of one evaluation over REST, without what differs per call (request id, duration, time). */
export async function answer(server: SpawnedServer, evaluation: Evaluation): Promise<string> {
  const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
    method: "POST",
    body: JSON.stringify(evaluation),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200)
    throw new Error(`evaluation failed with ${response.status}: ${JSON.stringify(body)}`);
  return JSON.stringify([body.flagKey, body.enabled, body.reason, body.segmentKeys]);
}
