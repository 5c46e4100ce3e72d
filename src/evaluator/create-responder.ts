import { NotFoundError, ValidationError } from "../domain/errors.js";
import type { EvalFlag } from "../domain/evaluation-model.js";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
import type { Snapshot } from "../domain/snapshot.js";
import { type Decision, newDecision } from "../engine/decision.js";
import { decideBoolean } from "../engine/evaluate-boolean.js";
import { checkFlagType } from "../engine/evaluate-flag.js";
import { notFoundError } from "../engine/evaluate-request.js";
import { decideVariant } from "../engine/evaluate-variant.js";
import { type EvaluationError, UNKNOWN_CONSTRAINT_TYPE } from "../engine/evaluation-result.js";
import { entityCrc32, newSubject, renewSubject, type Subject } from "../engine/subject.js";
import type {
  BatchEvaluationResponse,
  BatchOptions,
  BooleanEvaluationResponse,
  BooleanResolution,
  EvaluationRequest,
  EvaluationResponse,
  VariantEvaluationResponse,
  VariantResolution,
} from "./evaluator.js";

/** The synchronous half of an evaluator: requests in, Flipt's response envelopes out. */
export interface Responder {
  boolean(request: EvaluationRequest): BooleanEvaluationResponse;
  variant(request: EvaluationRequest): VariantEvaluationResponse;
  resolveBoolean(request: EvaluationRequest): BooleanResolution;
  resolveVariant(request: EvaluationRequest): VariantResolution;
  batch(requests: readonly EvaluationRequest[], options?: BatchOptions): BatchEvaluationResponse;
}

const EMPTY_CONTEXT: Readonly<Record<string, string>> = Object.freeze({});
const NO_FLAGS: ReadonlyMap<string, EvalFlag> = new Map();

/** What a responder keeps between calls (see `createResponder`). */
interface ResponderState {
  /** The snapshot and namespace of the last lookup, and the namespace's flags (empty when it is missing). */
  snapshot: Snapshot | undefined;
  namespaceKey: string;
  flags: ReadonlyMap<string, EvalFlag>;
  /** The single calls' Subject while no call has it out. */
  spare: Subject | undefined;
}

/** The global `performance`, read once: the global is a getter, and every evaluation reads the clock twice. */
const clock = performance;

/** A response as it is built: a batch fills in the duration and timestamp once every item is evaluated. */
type Building<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Evaluates against whatever snapshot `current` returns, taken once per call, and wraps the engine's answers the
 * way Flipt's evaluation service does: the request id (as given; see `EvaluationRequest.requestId`), the duration
 * in fractional milliseconds, and the finishing time. Engine errors become NotFoundError or ValidationError with
 * Flipt's messages for single calls and error items in a batch.
 *
 * What each call does beyond the engine's work is kept small, since it is paid on every evaluation: the engine
 * writes its answer into one Decision reused by every call, and each response is the only object built for it; the
 * namespace of the last lookup is remembered with its snapshot (held until the next call); consecutive items of a
 * batch for the same entity id and context object share a Subject, so each segment is evaluated once for all of
 * them and the entity id is hashed once.
 */
export function createResponder(current: () => Snapshot): Responder {
  const decision = newDecision();
  // Kept in one object rather than in variables of this closure: its fields are plain loads and stores.
  const state: ResponderState = {
    snapshot: undefined,
    namespaceKey: "",
    flags: NO_FLAGS,
    spare: newSubject("", EMPTY_CONTEXT),
  };

  /** The flag a request names, undefined when it or its namespace is missing. */
  const lookup = (snapshot: Snapshot, namespaceKey: string, flagKey: string): EvalFlag | undefined => {
    if (snapshot !== state.snapshot || namespaceKey !== state.namespaceKey) {
      state.flags = snapshot.namespaces.get(namespaceKey)?.evaluation ?? NO_FLAGS;
      state.snapshot = snapshot;
      state.namespaceKey = namespaceKey;
    }
    return state.flags.get(flagKey);
  };

  // Single calls reuse one Subject: taken for a call and given back after it (a call made while it is out, from a
  // context's getter, gets its own).
  const takeSubject = (entityId: string, context: Readonly<Record<string, string>>): Subject => {
    const subject = state.spare;
    if (subject === undefined) return newSubject(entityId, context);
    state.spare = undefined;
    renewSubject(subject, entityId, context);
    return subject;
  };

  /**
   * A single call's work: checks the request, finds its flag of `type` and writes the flag's answer to `decision`;
   * returns the flag, or throws what Flipt answers (NotFound, a wrong type, an unknown constraint type).
   */
  const decide = (request: EvaluationRequest, type: EvalFlag["type"]): EvalFlag => {
    const flagKey = checkFlagKey(request, -1);
    const context = checkContext(request.context, -1);
    const snapshot = current();
    const namespaceKey = request.namespaceKey || DEFAULT_NAMESPACE;
    const flag = lookup(snapshot, namespaceKey, flagKey);
    if (flag === undefined || flag.type !== type) {
      throw refusal(snapshot, namespaceKey, flagKey, flag, type);
    }
    const subject = takeSubject(request.entityId ?? "", context);
    const ok =
      type === "BOOLEAN_FLAG_TYPE"
        ? decideBoolean(flag, flag.key, subject, decision)
        : decideVariant(flag, subject, decision);
    state.spare = subject;
    if (!ok) throw toError(UNKNOWN_CONSTRAINT_TYPE);
    return flag;
  };

  return {
    boolean(request) {
      const started = clock.now();
      const flag = decide(request, "BOOLEAN_FLAG_TYPE");
      const finished = clock.now();
      return booleanResponse(
        decision,
        flag.key,
        request.requestId ?? "",
        finished - started,
        timestampAt(finished),
      );
    },

    variant(request) {
      const started = clock.now();
      const flag = decide(request, "VARIANT_FLAG_TYPE");
      const finished = clock.now();
      return variantResponse(
        decision,
        flag.key,
        request.requestId ?? "",
        finished - started,
        timestampAt(finished),
      );
    },

    resolveBoolean(request) {
      const flag = decide(request, "BOOLEAN_FLAG_TYPE");
      return {
        enabled: decision.enabled,
        reason: decision.reason,
        flagKey: flag.key,
        segmentKeys: decision.segmentKeys,
      };
    },

    resolveVariant(request) {
      const flag = decide(request, "VARIANT_FLAG_TYPE");
      return {
        match: decision.match,
        segmentKeys: decision.segmentKeys,
        reason: decision.reason,
        variantKey: decision.variantKey,
        variantAttachment: decision.variantAttachment,
        flagKey: flag.key,
      };
    },

    batch(requests, options) {
      const started = clock.now();
      const snapshot = current();
      // A malformed item fails the whole batch before anything is evaluated.
      let checked: unknown;
      for (let index = 0; index < requests.length; index++) {
        const request = requests[index] as EvaluationRequest;
        checkFlagKey(request, index);
        if (request.context !== checked) {
          checkContext(request.context, index);
          checked = request.context;
        }
      }
      const responses: EvaluationResponse[] = [];
      // Consecutive items for the same entity in the same context object share a Subject: each segment is then
      // evaluated once for all of them, and the entity's checksum is computed once.
      let subject: Subject | undefined;
      for (let index = 0; index < requests.length; index++) {
        const request = requests[index] as EvaluationRequest;
        const context = request.context ?? EMPTY_CONTEXT;
        const entityId = request.entityId ?? "";
        if (subject === undefined || context !== subject.context || entityId !== subject.entityId) {
          subject = newSubject(entityId, context);
          entityCrc32(subject);
        }
        const flag = lookup(snapshot, request.namespaceKey || DEFAULT_NAMESPACE, request.flagKey);
        if (flag === undefined) {
          responses.push(errorItem(request, "NOT_FOUND_ERROR_EVALUATION_REASON"));
        } else if (flag.type === "BOOLEAN_FLAG_TYPE") {
          if (decideBoolean(flag, flag.key, subject, decision)) {
            responses.push({
              type: "BOOLEAN_EVALUATION_RESPONSE_TYPE",
              booleanResponse: booleanResponse(decision, flag.key, request.requestId ?? "", Number.NaN, ""),
            });
          } else {
            responses.push(errorItem(request, "UNKNOWN_ERROR_EVALUATION_REASON"));
          }
        } else if (decideVariant(flag, subject, decision)) {
          responses.push({
            type: "VARIANT_EVALUATION_RESPONSE_TYPE",
            variantResponse: variantResponse(decision, flag.key, request.requestId ?? "", Number.NaN, ""),
          });
        } else {
          responses.push(errorItem(request, "UNKNOWN_ERROR_EVALUATION_REASON"));
        }
      }
      const finished = clock.now();
      const requestDurationMillis = finished - started;
      const timestamp = timestampAt(finished);
      // Every answer of a batch carries the batch's duration and finishing time, as Flipt's do.
      for (let index = 0; index < responses.length; index++) {
        const item = responses[index] as EvaluationResponse;
        const answer: Building<BooleanEvaluationResponse | VariantEvaluationResponse> | undefined =
          item.type === "BOOLEAN_EVALUATION_RESPONSE_TYPE"
            ? item.booleanResponse
            : item.type === "VARIANT_EVALUATION_RESPONSE_TYPE"
              ? item.variantResponse
              : undefined;
        if (answer !== undefined) {
          answer.requestDurationMillis = requestDurationMillis;
          answer.timestamp = timestamp;
        }
      }
      return {
        requestId: options?.requestId ?? "",
        responses,
        requestDurationMillis,
      };
    },
  };
}

function booleanResponse(
  decision: Decision,
  flagKey: string,
  requestId: string,
  requestDurationMillis: number,
  timestamp: string,
): Building<BooleanEvaluationResponse> {
  return {
    enabled: decision.enabled,
    reason: decision.reason,
    requestId,
    requestDurationMillis,
    timestamp,
    flagKey,
    segmentKeys: decision.segmentKeys,
  };
}

function variantResponse(
  decision: Decision,
  flagKey: string,
  requestId: string,
  requestDurationMillis: number,
  timestamp: string,
): Building<VariantEvaluationResponse> {
  return {
    match: decision.match,
    segmentKeys: decision.segmentKeys,
    reason: decision.reason,
    variantKey: decision.variantKey,
    variantAttachment: decision.variantAttachment,
    requestId,
    requestDurationMillis,
    timestamp,
    flagKey,
  };
}

function errorItem(
  request: EvaluationRequest,
  reason: "NOT_FOUND_ERROR_EVALUATION_REASON" | "UNKNOWN_ERROR_EVALUATION_REASON",
): EvaluationResponse {
  return {
    type: "ERROR_EVALUATION_RESPONSE_TYPE",
    errorResponse: { flagKey: request.flagKey, namespaceKey: request.namespaceKey ?? "", reason },
  };
}

/** The prefix of a field's name in an error: "" for a single call, `requests[<item>].` for a batch's item. */
function field(item: number): string {
  return item < 0 ? "" : `requests[${item}].`;
}

/** The request's flag key, checked as Pennant's server checks it: it is required. */
function checkFlagKey(request: EvaluationRequest, item: number): string {
  const flagKey = request.flagKey;
  if (flagKey === "" || typeof flagKey !== "string") {
    throw new ValidationError(`invalid field ${field(item)}flag_key: must not be empty`);
  }
  return flagKey;
}

/**
 * The request's context, checked as Pennant's server checks it: values must be strings (Flipt's API only carries
 * strings; anything else would compare unpredictably). An absent context is empty.
 */
function checkContext(
  context: Readonly<Record<string, string>> | undefined,
  item: number,
): Readonly<Record<string, string>> {
  if (context === undefined) return EMPTY_CONTEXT;
  for (const key in context) {
    if (typeof context[key] !== "string") {
      throw new ValidationError(
        `invalid field ${field(item)}context: the value of ${JSON.stringify(key)} must be a string`,
      );
    }
  }
  return context;
}

/** Why a single call cannot evaluate `flag`: it is missing (or its namespace is), or of the other type. */
function refusal(
  snapshot: Snapshot,
  namespaceKey: string,
  flagKey: string,
  flag: EvalFlag | undefined,
  type: EvalFlag["type"],
): Error {
  return toError(
    flag === undefined
      ? notFoundError(snapshot, namespaceKey, flagKey)
      : (checkFlagType(flag, type) as EvaluationError),
  );
}

function isNotFound(error: EvaluationError): boolean {
  return error.code === "FLAG_NOT_FOUND" || error.code === "NAMESPACE_NOT_FOUND";
}

function toError(error: EvaluationError): Error {
  return isNotFound(error) ? new NotFoundError(error.message) : new ValidationError(error.message);
}

/**
 * What `timestampAt` keeps: wall-clock minus monotonic time, re-read from the system clock at most once a second
 * (`offsetReadAt`), and the text of the last millisecond formatted. Fields of one object, which V8 updates in place.
 */
const wall = { offset: 0, offsetReadAt: Number.NEGATIVE_INFINITY, millis: Number.NaN, text: "" };

/**
 * The wall-clock time at a `clock.now()` reading, as Flipt's JSON writes a timestamp (RFC 3339 in UTC
 * with 0 or 3 fraction digits, like protojson for a millisecond clock). One clock read per evaluation serves
 * both the duration and the timestamp; the text is formatted at most once per millisecond.
 */
function timestampAt(monotonic: number): string {
  if (monotonic - wall.offsetReadAt > 1000) {
    wall.offsetReadAt = monotonic;
    wall.offset = Date.now() - monotonic;
  }
  const millis = Math.floor(wall.offset + monotonic);
  if (millis !== wall.millis) {
    wall.millis = millis;
    const iso = new Date(millis).toISOString();
    wall.text = iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
  }
  return wall.text;
}
