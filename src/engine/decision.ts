import type { EvaluationReason } from "./evaluation-result.js";

/**
 * Where `decideVariant` and `decideBoolean` write their answer: the fields of Flipt's response that the flag
 * decides, without the envelope. A caller that wraps answers in its own objects (the library's responses, a batch)
 * passes one `Decision` to every call and copies the fields out right after each, so that the engine allocates
 * nothing per evaluation in the usual case. Fields a kind does not decide keep their last value.
 */
export interface Decision {
  /** Variant flags: whether a rule matched. */
  match: boolean;
  /** Boolean flags: the answer. */
  enabled: boolean;
  reason: EvaluationReason;
  /** Variant flags: the chosen (or default) variant, "" for none. */
  variantKey: string;
  /** Variant flags: its attachment as compact JSON text, "null" for a variant without one, "" for none. */
  variantAttachment: string;
  /** The matched segments of the rule or rollout that decided, in the order it lists them; else empty. */
  segmentKeys: readonly string[];
}

/** A Decision to pass to the engine (see `Decision`). */
export function newDecision(): Decision {
  return {
    match: false,
    enabled: false,
    reason: "UNKNOWN_EVALUATION_REASON",
    variantKey: "",
    variantAttachment: "",
    segmentKeys: NO_KEYS,
  };
}

/** The segment keys of an answer that no segment decided. */
export const NO_KEYS: readonly string[] = Object.freeze([]);
