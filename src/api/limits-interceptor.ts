import { Buffer } from "node:buffer";
import type {
  Interceptor,
  StreamRequest,
  StreamResponse,
  UnaryRequest,
  UnaryResponse,
} from "@connectrpc/connect";
import { LimitExceededError, ValidationError } from "../domain/errors.js";
import { clientAddressKey } from "./context-keys.js";
import { whenStreamEnds } from "./when-stream-ends.js";

/** Limits on what one call may carry and on how many streams may be open (`limits.*`). */
export interface RequestLimits {
  /** `limits.max_context_entries`: the most entries an evaluation context may have. */
  readonly maxContextEntries: number;
  /** `limits.max_context_value_bytes`: the longest context key or value, in UTF-8 bytes. */
  readonly maxContextValueBytes: number;
  /** `limits.max_streams`: the most server streams open at once, in all. */
  readonly maxStreams: number;
  /** `limits.max_streams_per_client`: the most server streams open at once from one client address. */
  readonly maxStreamsPerClient: number;
}

type Context = Readonly<Record<string, string>>;

/** The evaluation contexts a request carries, with the field path that names each in an error. */
function contextsOf(typeName: string, message: unknown): Array<[string, Context]> {
  switch (typeName) {
    case "flipt.evaluation.EvaluationRequest":
    case "flipt.ofrep.EvaluateFlagRequest":
    case "flipt.ofrep.EvaluateBulkRequest":
      return [["context", (message as { context: Context }).context]];
    case "flipt.evaluation.BatchEvaluationRequest":
      return (message as { requests: Array<{ context: Context }> }).requests.map((request, index) => [
        `requests[${index}].context`,
        request.context,
      ]);
    default:
      return [];
  }
}

/**
 * Enforces `RequestLimits` on every RPC, whichever protocol carried it. An evaluation context over its limits is
 * InvalidArgument naming the field, the key and the limit's config key (OFREP answers INVALID_CONTEXT). A server
 * stream over either stream limit is ResourceExhausted (HTTP 429) naming the limit; a stream's slot is given back
 * when it ends, however it ends.
 */
export function createLimitsInterceptor(limits: RequestLimits): Interceptor {
  let open = 0;
  const openByClient = new Map<string, number>();
  const release = (client: string) => {
    open--;
    const left = (openByClient.get(client) ?? 1) - 1;
    if (left === 0) openByClient.delete(client);
    else openByClient.set(client, left);
  };

  return (next) => (req) => {
    if (!req.stream) {
      for (const [field, context] of contextsOf(req.method.input.typeName, req.message)) {
        checkContext(field, context, limits);
      }
    }
    return req.method.methodKind === "server_streaming" ? openStream(next, req) : next(req);
  };

  async function openStream(
    next: Parameters<Interceptor>[0],
    req: UnaryRequest | StreamRequest,
  ): Promise<UnaryResponse | StreamResponse> {
    const client = req.contextValues.get(clientAddressKey);
    if (open >= limits.maxStreams) {
      throw new LimitExceededError(`${open} streams are open, the most allowed (limits.max_streams)`);
    }
    const mine = openByClient.get(client) ?? 0;
    if (mine >= limits.maxStreamsPerClient) {
      throw new LimitExceededError(
        `${mine} streams are open from this client, the most allowed (limits.max_streams_per_client)`,
      );
    }
    open++;
    openByClient.set(client, mine + 1);
    try {
      const response = await next(req);
      if (!response.stream) {
        release(client);
        return response;
      }
      return { ...response, message: whenStreamEnds(response.message, req.signal, () => release(client)) };
    } catch (error) {
      release(client);
      throw error;
    }
  }
}

function checkContext(field: string, context: Context, limits: RequestLimits): void {
  const keys = Object.keys(context);
  if (keys.length > limits.maxContextEntries) {
    throw new ValidationError(
      `invalid field ${field}: ${keys.length} entries, more than ${limits.maxContextEntries} (limits.max_context_entries)`,
    );
  }
  for (const key of keys) {
    for (const [what, text] of [
      ["key", key],
      ["value", context[key] as string],
    ] as const) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only long strings need counting.
      if (
        text.length * 3 > limits.maxContextValueBytes &&
        Buffer.byteLength(text) > limits.maxContextValueBytes
      ) {
        throw new ValidationError(
          `invalid field ${field}: the ${what} of entry ${JSON.stringify(key.slice(0, 64))} is longer than ${limits.maxContextValueBytes} bytes (limits.max_context_value_bytes)`,
        );
      }
    }
  }
}
