/**
 * The embedded evaluator's public shapes. Requests and responses mirror Flipt's REST JSON (`/evaluate/v1/*`)
 * field for field, with enums as their names, so code can move between the library and a server unchanged.
 */

/** Flipt's `EvaluationReason`, by name. */
export type EvaluationReasonName =
  | "UNKNOWN_EVALUATION_REASON"
  | "FLAG_DISABLED_EVALUATION_REASON"
  | "MATCH_EVALUATION_REASON"
  | "DEFAULT_EVALUATION_REASON";

/** One evaluation: which flag of which namespace, for which entity, in what context. */
export interface EvaluationRequest {
  /** Defaults to `default` when absent or "". */
  readonly namespaceKey?: string | undefined;
  /** Must not be empty. */
  readonly flagKey: string;
  /** Part of the bucketing hash; "" is allowed. */
  readonly entityId: string;
  /** String values only, as in Flipt's API; a missing key reads as "". */
  readonly context?: Readonly<Record<string, string>> | undefined;
  /**
   * Echoed in the response, "" when absent. Unlike the server, which makes up a UUID to tie a response to its
   * log lines, the library makes none: it logs nothing, and the UUID would cost a fifth of an evaluation.
   */
  readonly requestId?: string | undefined;
}

/**
 * A boolean flag's answer: Flipt's `BooleanEvaluationResponse` without the envelope (request id, duration,
 * timestamp). What `resolveBoolean` returns.
 */
export interface BooleanResolution {
  readonly enabled: boolean;
  readonly reason: EvaluationReasonName;
  readonly flagKey: string;
  /** The matched segments of the rollout that decided, in the order the rollout lists them; else empty. */
  readonly segmentKeys: readonly string[];
}

/** Flipt's `BooleanEvaluationResponse`: the answer in its envelope. */
export interface BooleanEvaluationResponse extends BooleanResolution {
  readonly requestId: string;
  /**
   * Time spent evaluating, in fractional milliseconds: the monotonic clock (`performance.now()`) read as the call
   * starts, before the request is checked, and again once the flag has decided, before the response is built. The
   * two reads are part of it (about 45 ns each on the machine of `docs/performance.md`).
   */
  readonly requestDurationMillis: number;
  /**
   * When the evaluation finished (the second reading of `requestDurationMillis`) on the wall clock: RFC 3339, UTC,
   * millisecond precision (no fraction on a whole second). The wall clock's offset from the monotonic one is read
   * at most once a second, so a step of the system clock shows within a second.
   */
  readonly timestamp: string;
}

/**
 * A variant flag's answer: Flipt's `VariantEvaluationResponse` without the envelope (request id, duration,
 * timestamp). What `resolveVariant` returns.
 */
export interface VariantResolution {
  readonly match: boolean;
  /** The matched segments of the rule that decided, in the order the rule lists them; else empty. */
  readonly segmentKeys: readonly string[];
  readonly reason: EvaluationReasonName;
  /** The chosen variant, or the default variant, or "". */
  readonly variantKey: string;
  /** The variant's attachment as compact JSON text, `null` for a variant without one, "" when none was chosen. */
  readonly variantAttachment: string;
  readonly flagKey: string;
}

/** Flipt's `VariantEvaluationResponse`: the answer in its envelope. */
export interface VariantEvaluationResponse extends VariantResolution {
  readonly requestId: string;
  /** As `BooleanEvaluationResponse.requestDurationMillis`. */
  readonly requestDurationMillis: number;
  /** As `BooleanEvaluationResponse.timestamp`. */
  readonly timestamp: string;
}

/** Flipt's `ErrorEvaluationResponse`: a batch item that could not be evaluated. */
export interface ErrorEvaluationResponse {
  readonly flagKey: string;
  /** The item's namespaceKey as given ("" when it was absent, though `default` was used). */
  readonly namespaceKey: string;
  readonly reason: "UNKNOWN_ERROR_EVALUATION_REASON" | "NOT_FOUND_ERROR_EVALUATION_REASON";
}

/** One item of a batch response, tagged by `type` as Flipt's JSON is. */
export type EvaluationResponse =
  | { readonly type: "BOOLEAN_EVALUATION_RESPONSE_TYPE"; readonly booleanResponse: BooleanEvaluationResponse }
  | { readonly type: "VARIANT_EVALUATION_RESPONSE_TYPE"; readonly variantResponse: VariantEvaluationResponse }
  | { readonly type: "ERROR_EVALUATION_RESPONSE_TYPE"; readonly errorResponse: ErrorEvaluationResponse };

/** Flipt's `BatchEvaluationResponse`. */
export interface BatchEvaluationResponse {
  /** The batch's request id as given, else "". */
  readonly requestId: string;
  /**
   * One item per request, in request order. Every evaluated item carries the batch's duration and timestamp, as
   * Flipt's do.
   */
  readonly responses: readonly EvaluationResponse[];
  /** From the call's start to the end of its last item, as `BooleanEvaluationResponse.requestDurationMillis`. */
  readonly requestDurationMillis: number;
}

/** Options of one batch call. */
export interface BatchOptions {
  /** Echoed as the batch response's `requestId` ("" when absent). */
  readonly requestId?: string | undefined;
}

/** Where the evaluator's flag state stands. */
export interface EvaluatorStatus {
  /** The revision being served: a SHA-1 of the selected files' paths and bytes. */
  readonly revision: string;
  /** When the state being served was loaded (ISO 8601). */
  readonly loadedAt: string;
  /** Whether the directory is watched for changes. */
  readonly watching: boolean;
  /** Why the last reload failed, until one succeeds; the state loaded before it is still served. */
  readonly lastError: Error | undefined;
}

/**
 * Flipt v2 evaluation in-process. Evaluations are synchronous and read the current flag state once per call;
 * a reload swaps the state atomically between calls.
 */
export interface Evaluator {
  /**
   * Evaluates a boolean flag. Throws NotFoundError (`flag "<ns>/<key>" not found`, `namespace "<ns>" not
   * found`) or ValidationError (`flag type VARIANT_FLAG_TYPE invalid`, `unknown constraint type`, an empty
   * flag key, a context value that is not a string), with Flipt's messages.
   */
  boolean(request: EvaluationRequest): BooleanEvaluationResponse;
  /** Evaluates a variant flag. Throws as `boolean` does (`flag type BOOLEAN_FLAG_TYPE invalid`). */
  variant(request: EvaluationRequest): VariantEvaluationResponse;
  /**
   * `boolean` without the envelope: the same answer and the same errors, without the request id, the duration or
   * the timestamp, and so without reading the clock (two reads are about a third of a call). For callers that
   * want only the answer, such as an OpenFeature provider.
   */
  resolveBoolean(request: EvaluationRequest): BooleanResolution;
  /** `variant` without the envelope, as `resolveBoolean` is `boolean` without it. */
  resolveVariant(request: EvaluationRequest): VariantResolution;
  /**
   * Evaluates flags of either type in order. A flag that is missing or fails to evaluate becomes an error item;
   * only a malformed request (an empty flag key, a non-string context value) throws ValidationError.
   */
  batch(requests: readonly EvaluationRequest[], options?: BatchOptions): BatchEvaluationResponse;
  status(): EvaluatorStatus;
  /**
   * Reads the directory again now and serves it if it changed. Rejects with the ValidationError (the last
   * good state stays). With `documents` there is nothing to re-read and it resolves at once.
   */
  reload(): Promise<void>;
  /** Stops watching. Evaluation keeps working on the last loaded state. Safe to call twice. */
  close(): Promise<void>;
}
