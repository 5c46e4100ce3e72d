import type { EvalFlag } from "../domain/evaluation-model.js";
import { findBucket, variantBucket } from "./bucketing.js";
import {
  type EvaluationInput,
  type EvaluationReason,
  type EvaluationResult,
  UNKNOWN_CONSTRAINT_TYPE,
  type VariantEvaluation,
} from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { matchSegments, UNKNOWN_TYPE } from "./match-segments.js";

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * Evaluates a variant flag as Flipt v2 does. The default variant (if any) is the answer unless a rule
 * matches, and stays in the answer of a disabled flag and of a rule that matches without distributions.
 * The first matching rule decides: its variant is picked by crc32(flagKey + entityId) % 1000 against the
 * rule's float32 bucket bounds. The caller checks the flag type (see `checkFlagType`).
 *
 * `tracer` is for explanations only (`explainFlag`): it hears each step as it is taken; without it, each report
 * is one test of an undefined argument.
 */
export function evaluateVariant(
  flag: EvalFlag,
  input: EvaluationInput,
  tracer?: ExplainTracer,
): EvaluationResult<VariantEvaluation> {
  if (!flag.enabled) {
    tracer?.flagDisabled();
    return { ok: true, value: fallback(flag, "FLAG_DISABLED_EVALUATION_REASON", false, NO_KEYS) };
  }
  for (const rule of flag.rules) {
    const segmentKeys = matchSegments(rule.segments, input, tracer);
    if (segmentKeys === UNKNOWN_TYPE) {
      tracer?.rule(rule, false, -1, -1);
      tracer?.error(UNKNOWN_CONSTRAINT_TYPE);
      return { ok: false, error: UNKNOWN_CONSTRAINT_TYPE };
    }
    if (segmentKeys === null) {
      tracer?.rule(rule, false, -1, -1);
      continue;
    }
    if (rule.validDistributions.length === 0) {
      tracer?.rule(rule, true, -1, -1);
      return { ok: true, value: fallback(flag, "MATCH_EVALUATION_REASON", true, segmentKeys) };
    }
    const bucket = variantBucket(flag.key, input.entityId, flag.keyCrc32);
    const index = findBucket(rule.bucketBounds, bucket);
    tracer?.rule(rule, true, bucket, index);
    const distribution = rule.validDistributions[index];
    if (distribution === undefined) {
      // Unreachable (the last bound is 1000); Flipt would answer "no match" keeping the fallback reason.
      tracer?.fallback();
      return { ok: true, value: fallback(flag, defaultReason(flag), false, segmentKeys) };
    }
    return {
      ok: true,
      value: {
        kind: "variant",
        flagKey: flag.key,
        match: true,
        reason: "MATCH_EVALUATION_REASON",
        variantKey: distribution.variantKey,
        variantAttachment: distribution.attachment,
        segmentKeys,
      },
    };
  }
  tracer?.fallback();
  return { ok: true, value: fallback(flag, defaultReason(flag), false, NO_KEYS) };
}

/** The reason when no rule decides: DEFAULT with a default variant, else UNKNOWN. */
function defaultReason(flag: EvalFlag): EvaluationReason {
  return flag.defaultVariant === undefined ? "UNKNOWN_EVALUATION_REASON" : "DEFAULT_EVALUATION_REASON";
}

/** An answer that keeps the default variant (if any), built only when it is the answer. */
function fallback(
  flag: EvalFlag,
  reason: EvaluationReason,
  match: boolean,
  segmentKeys: readonly string[],
): VariantEvaluation {
  return {
    kind: "variant",
    flagKey: flag.key,
    match,
    reason,
    variantKey: flag.defaultVariant?.key ?? "",
    variantAttachment: flag.defaultVariant?.attachment ?? "",
    segmentKeys,
  };
}
