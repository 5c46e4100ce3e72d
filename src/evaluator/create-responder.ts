import { NotFoundError, ValidationError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
import type { Snapshot } from "../domain/snapshot.js";
import {
  type EvaluationRequest as EngineRequest,
  evaluateAnyRequest,
  evaluateBooleanRequest,
  evaluateVariantRequest,
} from "../engine/evaluate-request.js";
import type { BooleanEvaluation, EvaluationError, VariantEvaluation } from "../engine/evaluation-result.js";
import type {
  BatchEvaluationResponse,
  BatchOptions,
  BooleanEvaluationResponse,
  EvaluationRequest,
  EvaluationResponse,
  VariantEvaluationResponse,
} from "./evaluator.js";

/** The synchronous half of an evaluator: requests in, Flipt's response envelopes out. */
export interface Responder {
  boolean(request: EvaluationRequest): BooleanEvaluationResponse;
  variant(request: EvaluationRequest): VariantEvaluationResponse;
  batch(requests: readonly EvaluationRequest[], options?: BatchOptions): BatchEvaluationResponse;
}

const EMPTY_CONTEXT: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Evaluates against whatever snapshot `current` returns, taken once per call, and wraps the engine's results the
 * way Flipt's evaluation service does: the request id (a UUID when none is given), the duration in fractional
 * milliseconds, and the finishing time. Engine errors become NotFoundError or ValidationError with Flipt's
 * messages for single calls and error items in a batch.
 */
export function createResponder(current: () => Snapshot): Responder {
  return {
    boolean(request) {
      const started = performance.now();
      const result = evaluateBooleanRequest(current(), toInput(request, ""));
      if (!result.ok) throw toError(result.error);
      const finished = performance.now();
      return booleanResponse(
        result.value,
        request.requestId ?? "",
        finished - started,
        timestampAt(finished),
      );
    },

    variant(request) {
      const started = performance.now();
      const result = evaluateVariantRequest(current(), toInput(request, ""));
      if (!result.ok) throw toError(result.error);
      const finished = performance.now();
      return variantResponse(
        result.value,
        request.requestId ?? "",
        finished - started,
        timestampAt(finished),
      );
    },

    batch(requests, options) {
      const started = performance.now();
      const snapshot = current();
      const inputs = requests.map((request, index) => toInput(request, `requests[${index}].`));
      const results = inputs.map((input) => evaluateAnyRequest(snapshot, input));
      const finished = performance.now();
      const requestDurationMillis = finished - started;
      const timestamp = timestampAt(finished);
      const responses = results.map((result, index): EvaluationResponse => {
        const requestId = requests[index]?.requestId ?? "";
        if (!result.ok) {
          const request = requests[index] as EvaluationRequest;
          return {
            type: "ERROR_EVALUATION_RESPONSE_TYPE",
            errorResponse: {
              flagKey: request.flagKey,
              namespaceKey: request.namespaceKey ?? "",
              reason: isNotFound(result.error)
                ? "NOT_FOUND_ERROR_EVALUATION_REASON"
                : "UNKNOWN_ERROR_EVALUATION_REASON",
            },
          };
        }
        const value = result.value;
        return value.kind === "boolean"
          ? {
              type: "BOOLEAN_EVALUATION_RESPONSE_TYPE",
              booleanResponse: booleanResponse(value, requestId, requestDurationMillis, timestamp),
            }
          : {
              type: "VARIANT_EVALUATION_RESPONSE_TYPE",
              variantResponse: variantResponse(value, requestId, requestDurationMillis, timestamp),
            };
      });
      return {
        requestId: options?.requestId ?? "",
        responses,
        requestDurationMillis,
      };
    },
  };
}

function booleanResponse(
  value: BooleanEvaluation,
  requestId: string,
  requestDurationMillis: number,
  timestamp: string,
): BooleanEvaluationResponse {
  return {
    enabled: value.enabled,
    reason: value.reason,
    requestId,
    requestDurationMillis,
    timestamp,
    flagKey: value.flagKey,
    segmentKeys: value.segmentKeys,
  };
}

function variantResponse(
  value: VariantEvaluation,
  requestId: string,
  requestDurationMillis: number,
  timestamp: string,
): VariantEvaluationResponse {
  return {
    match: value.match,
    segmentKeys: value.segmentKeys,
    reason: value.reason,
    variantKey: value.variantKey,
    variantAttachment: value.variantAttachment,
    requestId,
    requestDurationMillis,
    timestamp,
    flagKey: value.flagKey,
  };
}

/**
 * The engine's input for a request, checked as Pennant's server checks it: a flag key is required and context
 * values must be strings (Flipt's API only carries strings; anything else would compare unpredictably).
 */
function toInput(request: EvaluationRequest, field: string): EngineRequest {
  const flagKey = request.flagKey;
  if (flagKey === "" || typeof flagKey !== "string") {
    throw new ValidationError(`invalid field ${field}flag_key: must not be empty`);
  }
  const context = request.context ?? EMPTY_CONTEXT;
  for (const key in context) {
    if (typeof context[key] !== "string") {
      throw new ValidationError(
        `invalid field ${field}context: the value of ${JSON.stringify(key)} must be a string`,
      );
    }
  }
  return {
    namespaceKey: request.namespaceKey || DEFAULT_NAMESPACE,
    flagKey,
    entityId: request.entityId ?? "",
    context,
  };
}

function isNotFound(error: EvaluationError): boolean {
  return error.code === "FLAG_NOT_FOUND" || error.code === "NAMESPACE_NOT_FOUND";
}

function toError(error: EvaluationError): Error {
  return isNotFound(error) ? new NotFoundError(error.message) : new ValidationError(error.message);
}

/** Wall-clock minus monotonic time, re-read from the system clock at most once per second. */
let clockOffset = 0;
let offsetReadAt = Number.NEGATIVE_INFINITY;
let lastMillis = Number.NaN;
let lastTimestamp = "";

/**
 * The wall-clock time at a `performance.now()` reading, as Flipt's JSON writes a timestamp (RFC 3339 in UTC
 * with 0 or 3 fraction digits, like protojson for a millisecond clock). One clock read per evaluation serves
 * both the duration and the timestamp; the text is formatted at most once per millisecond.
 */
function timestampAt(monotonic: number): string {
  if (monotonic - offsetReadAt > 1000) {
    offsetReadAt = monotonic;
    clockOffset = Date.now() - monotonic;
  }
  const millis = Math.floor(clockOffset + monotonic);
  if (millis !== lastMillis) {
    lastMillis = millis;
    const iso = new Date(millis).toISOString();
    lastTimestamp = iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
  }
  return lastTimestamp;
}
