import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
import type { Snapshot } from "../domain/snapshot.js";
import type { FlagEvaluation } from "../engine/evaluate-flag.js";
import { evaluateAnyRequest } from "../engine/evaluate-request.js";
import type { EvaluationError, EvaluationReason } from "../engine/evaluation-result.js";
import {
  BulkEvaluationResponseSchema,
  EvaluateReason,
  type EvaluationResponse,
  EvaluationResponseSchema,
  type OFREPService,
} from "../gen/flipt/ofrep/ofrep_pb.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import type { EvaluationRecorder } from "./evaluation-recorder.js";
import { ofrepFlagError } from "./ofrep-error.js";
import { bulkEtag } from "./ofrep-etag.js";
import { ENVIRONMENT_HEADER, environmentFromHeader, NAMESPACE_HEADER } from "./resolve-environment.js";

/** The context key OpenFeature uses for the entity being evaluated. */
export const TARGETING_KEY = "targetingKey";
/** The bulk request's context key listing the flags to evaluate, comma-separated. */
export const BULK_FLAGS_KEY = "flags";
/** The request header a bulk call's cached ETag arrives in. */
const IF_NONE_MATCH_HEADER = "if-none-match";

const MISSING_KEY_MESSAGE = "flag key was not provided";

/** Metadata keys of a variant flag's result, as Flipt names them. */
const METADATA_SEGMENTS = "segments";
const METADATA_ATTACHMENT = "attachment";

/** Where one OFREP call evaluates: the environment's snapshot, taken once, and the namespace. */
interface OfrepScope {
  readonly environment: Environment;
  readonly snapshot: Snapshot;
  readonly namespaceKey: string;
}

/**
 * `flipt.ofrep.OFREPService`: the OpenFeature Remote Evaluation Protocol, over gRPC, Connect and REST
 * (`POST /ofrep/v1/evaluate/flags/{key}`, `POST /ofrep/v1/evaluate/flags`), as Flipt v2 serves it.
 *
 * - The environment comes from the `X-Flipt-Environment` header only (an unknown one is NotFound, which OFREP
 *   reports as FLAG_NOT_FOUND, naming the flag of a single-flag call); the namespace from `X-Flipt-Namespace`,
 *   else `default`.
 * - The whole context is the evaluation context, and `context.targetingKey` is the entity id. **Without a
 *   targetingKey the entity id is the empty string**, so every such call lands in the same bucket and a
 *   percentage rollout answers the same every time. Flipt uses a random UUID there, which makes rollouts flicker
 *   from call to call; Pennant keeps evaluation deterministic instead.
 * - Bulk evaluates `context.flags` (comma-separated keys, spaces around them ignored), else every boolean flag
 *   and every enabled variant flag of the namespace in key order. One failing flag fails the call, as in Flipt.
 *   The response carries a weak ETag (`x-etag`, the REST `ETag`) and, when `If-None-Match` equals it, is empty
 *   with `x-http-code: 304` (a bodiless REST 304).
 * - Bulk answers advertise one SSE event stream, `endpoint: {requestUri}` only: no `origin`, so clients resolve the
 *   path against the base URL they already call (Flipt sent `"origin": ""` until it dropped the field).
 * - A call that succeeds records each flag it evaluated through `recorder`, as Flipt's OFREP bridge records through
 *   the evaluation API (its reason names and segments); a bulk call answered `304` records none.
 */
export function createOfrepService(
  environments: Environments,
  recorder: EvaluationRecorder,
): Partial<ServiceImpl<typeof OFREPService>> {
  return {
    async evaluateFlag(request, context) {
      const started = performance.now();
      const scope = await withFlagKey(request.key, () => resolveScope(environments, context));
      if (request.key === "") throw new ValidationError(MISSING_KEY_MESSAGE);
      const evaluation = evaluateOne(scope, request.key, request.context);
      const response = toResponse(evaluation);
      recorder.evaluated(scope.environment.key, scope.namespaceKey, evaluation, performance.now() - started);
      return response;
    },
    async evaluateBulk(request, context) {
      const started = performance.now();
      const scope = await resolveScope(environments, context);
      const evaluations = bulkFlagKeys(scope, request.context).map((key) => {
        if (key === "") throw new ValidationError(MISSING_KEY_MESSAGE);
        return evaluateOne(scope, key, request.context);
      });
      const flags = evaluations.map(toResponse);
      const etag = bulkEtag(
        scope.environment.key,
        scope.namespaceKey,
        flags.map((flag) => ({
          key: flag.key,
          variant: flag.variant,
          reason: EvaluateReason[flag.reason] ?? String(flag.reason),
          metadata: flag.metadata,
        })),
      );
      context.responseHeader.set("x-etag", etag);
      if (context.requestHeader.get(IF_NONE_MATCH_HEADER) === etag) {
        context.responseHeader.set("x-http-code", "304");
        return create(BulkEvaluationResponseSchema);
      }
      const response = create(BulkEvaluationResponseSchema, {
        flags,
        eventStreams: [
          {
            type: "sse",
            endpoint: { requestUri: streamUri(scope.environment.key, scope.namespaceKey) },
          },
        ],
      });
      const ms = performance.now() - started;
      for (const evaluation of evaluations) {
        recorder.evaluated(scope.environment.key, scope.namespaceKey, evaluation, ms);
      }
      return response;
    },
  };
}

/** The environment (header only; NotFound when unknown) and namespace (header, else `default`) of a call. */
async function resolveScope(environments: Environments, context: HandlerContext): Promise<OfrepScope> {
  const environment = environmentFromHeader(environments, context.requestHeader.get(ENVIRONMENT_HEADER));
  const namespaceHeader = context.requestHeader.get(NAMESPACE_HEADER);
  const namespaceKey =
    namespaceHeader === null || namespaceHeader === "" ? DEFAULT_NAMESPACE : namespaceHeader;
  return { environment, snapshot: await environment.snapshotFor(namespaceKey, "evaluate"), namespaceKey };
}

/**
 * Runs `resolve`, giving a NotFound it throws (an unknown environment) the flag key of a single-flag call.
 * Flipt leaves the key out there, and then OpenFeature's OFREP providers, which require `key` in a single-flag
 * error body, report a GENERAL "unexpected response" instead of FLAG_NOT_FOUND.
 */
async function withFlagKey<T>(key: string, resolve: () => Promise<T>): Promise<T> {
  try {
    return await resolve();
  } catch (error) {
    if (key !== "" && error instanceof NotFoundError) throw ofrepFlagError(error.message, Code.NotFound, key);
    throw error;
  }
}

/**
 * The flags a bulk call evaluates: `context.flags` split at commas (each trimmed), else the namespace's boolean
 * flags and enabled variant flags in key order. An unknown namespace is NotFound only in the second case; with
 * a list, each key reports it as its own FLAG_NOT_FOUND.
 */
function bulkFlagKeys(scope: OfrepScope, context: Readonly<Record<string, string>>): string[] {
  const listed = Object.hasOwn(context, BULK_FLAGS_KEY) ? context[BULK_FLAGS_KEY] : undefined;
  if (listed !== undefined) return listed.split(",").map((key) => key.trim());
  const namespace = scope.snapshot.namespaces.get(scope.namespaceKey);
  if (namespace === undefined) {
    throw new NotFoundError(`namespace "${scope.namespaceKey}" not found`);
  }
  const keys: string[] = [];
  for (const flag of namespace.evaluation.values()) {
    if (flag.type === "BOOLEAN_FLAG_TYPE" || flag.enabled) keys.push(flag.key);
  }
  return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One flag's evaluation, or the OFREP error naming the flag. */
function evaluateOne(
  scope: OfrepScope,
  key: string,
  context: Readonly<Record<string, string>>,
): FlagEvaluation {
  const result = evaluateAnyRequest(scope.snapshot, {
    namespaceKey: scope.namespaceKey,
    flagKey: key,
    entityId: targetingKeyOf(context),
    context,
  });
  if (!result.ok) throw toOfrepError(key, result.error);
  return result.value;
}

/**
 * The entity id of an OFREP context: its `targetingKey`, or "" when there is none. Flipt draws a random UUID
 * for a missing key; a fixed value keeps percentage rollouts stable for callers that send no key.
 */
export function targetingKeyOf(context: Readonly<Record<string, string>>): string {
  return Object.hasOwn(context, TARGETING_KEY) ? (context[TARGETING_KEY] ?? "") : "";
}

/** Flipt's OFREP errors: unknown flags and namespaces are FLAG_NOT_FOUND, data problems INVALID_CONTEXT. */
function toOfrepError(key: string, error: EvaluationError) {
  switch (error.code) {
    case "FLAG_NOT_FOUND":
    case "NAMESPACE_NOT_FOUND":
      return ofrepFlagError(`flag was not found ${key}`, Code.NotFound, key);
    default:
      return ofrepFlagError(error.message, Code.InvalidArgument, key);
  }
}

function toResponse(evaluation: FlagEvaluation): EvaluationResponse {
  if (evaluation.kind === "boolean") {
    return create(EvaluationResponseSchema, {
      key: evaluation.flagKey,
      reason: toReason(evaluation.reason),
      variant: String(evaluation.enabled),
      value: { kind: { case: "boolValue", value: evaluation.enabled } },
    });
  }
  const metadata: Record<string, string> = {};
  if (evaluation.segmentKeys.length > 0) metadata[METADATA_SEGMENTS] = evaluation.segmentKeys.join(",");
  if (evaluation.variantAttachment !== "") metadata[METADATA_ATTACHMENT] = evaluation.variantAttachment;
  return create(EvaluationResponseSchema, {
    key: evaluation.flagKey,
    reason: toReason(evaluation.reason),
    variant: evaluation.variantKey,
    value: { kind: { case: "stringValue", value: evaluation.variantKey } },
    metadata,
  });
}

function toReason(reason: EvaluationReason): EvaluateReason {
  switch (reason) {
    case "MATCH_EVALUATION_REASON":
      return EvaluateReason.TARGETING_MATCH;
    case "DEFAULT_EVALUATION_REASON":
      return EvaluateReason.DEFAULT;
    case "FLAG_DISABLED_EVALUATION_REASON":
      return EvaluateReason.DISABLED;
    default:
      return EvaluateReason.UNKNOWN;
  }
}

/** The SSE alias that announces changes to this environment's namespace (served by the snapshot stream). */
function streamUri(environmentKey: string, namespaceKey: string): string {
  return `/ofrep/v1/_stream/${encodeURIComponent(environmentKey)}/${encodeURIComponent(namespaceKey)}/events`;
}
