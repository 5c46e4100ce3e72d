/**
 * What the engine returns. Names follow Flipt's protobuf enums so the api layer can map them by name
 * (`EvaluationReason[result.reason]` on the generated enum).
 */

/** Flipt's `EvaluationReason` enum, by name. Boolean flags never return `FLAG_DISABLED_EVALUATION_REASON`. */
export type EvaluationReason =
  | "UNKNOWN_EVALUATION_REASON"
  | "FLAG_DISABLED_EVALUATION_REASON"
  | "MATCH_EVALUATION_REASON"
  | "DEFAULT_EVALUATION_REASON";

/** One evaluation request, as the engine needs it. */
export interface EvaluationInput {
  /** The flag key from the request; it is part of the bucketing hash. */
  readonly flagKey: string;
  readonly entityId: string;
  /** Only own properties are read; a missing key reads as "". */
  readonly context: Readonly<Record<string, string>>;
}

/** The result of a variant flag (Flipt's `VariantEvaluationResponse` without the envelope fields). */
export interface VariantEvaluation {
  readonly kind: "variant";
  readonly flagKey: string;
  readonly match: boolean;
  readonly reason: EvaluationReason;
  readonly variantKey: string;
  /** Compact JSON text; "null" for a variant without attachment, "" when no variant was chosen. */
  readonly variantAttachment: string;
  /** Matched segment keys in the order the rule lists them (Flipt's order is random). */
  readonly segmentKeys: readonly string[];
}

/** The result of a boolean flag (Flipt's `BooleanEvaluationResponse` without the envelope fields). */
export interface BooleanEvaluation {
  readonly kind: "boolean";
  readonly flagKey: string;
  readonly enabled: boolean;
  readonly reason: EvaluationReason;
  /** Matched segment keys of the matching segment rollout, in the order it lists them; else empty. */
  readonly segmentKeys: readonly string[];
}

/**
 * Why an evaluation could not produce a result.
 * - `UNKNOWN_CONSTRAINT_TYPE`: a constraint with an unsupported comparison type was reached; Flipt answers
 *   InvalidArgument for a single call and an UNKNOWN_ERROR item in a batch. Message `unknown constraint type`.
 * - `INVALID_FLAG_TYPE`: the flag is not of the type the call asks for (see `checkFlagType`); Flipt answers
 *   InvalidArgument `flag type <TYPE> invalid`.
 * - `NAMESPACE_NOT_FOUND`, `FLAG_NOT_FOUND`: what the request names is not in the snapshot (NotFound).
 */
export interface EvaluationError {
  readonly code: "UNKNOWN_CONSTRAINT_TYPE" | "INVALID_FLAG_TYPE" | "NAMESPACE_NOT_FOUND" | "FLAG_NOT_FOUND";
  readonly message: string;
}

/** A result or an error; the engine never throws for a data problem. */
export type EvaluationResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: EvaluationError };

/** The error every unknown comparison type produces. */
export const UNKNOWN_CONSTRAINT_TYPE: EvaluationError = {
  code: "UNKNOWN_CONSTRAINT_TYPE",
  message: "unknown constraint type",
};
