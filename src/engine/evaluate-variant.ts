import type { EvalFlag, EvalRule } from "../domain/evaluation-model.js";
import { bucketOf, findBucket, VARIANT_BUCKETS } from "./bucketing.js";
import { crc32ConcatInt, crc32Int } from "./crc32.js";
import { type Decision, NO_KEYS, newDecision } from "./decision.js";
import {
  type EvaluationInput,
  type EvaluationReason,
  type EvaluationResult,
  UNKNOWN_CONSTRAINT_TYPE,
  type VariantEvaluation,
} from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { setKeys, UNKNOWN_KEYS } from "./match-segments.js";
import { entityBytes, newSubject, type Subject } from "./subject.js";

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
  const subject = newSubject(input.entityId, input.context, tracer === undefined);
  if (!decideVariant(flag, subject, scratch, tracer)) {
    return { ok: false, error: UNKNOWN_CONSTRAINT_TYPE };
  }
  return {
    ok: true,
    value: {
      kind: "variant",
      flagKey: flag.key,
      match: scratch.match,
      reason: scratch.reason,
      variantKey: scratch.variantKey,
      variantAttachment: scratch.variantAttachment,
      segmentKeys: scratch.segmentKeys,
    },
  };
}

/** `evaluateVariant`'s Decision, read right after each call. */
const scratch = newDecision();

/**
 * The core of `evaluateVariant`: writes the answer's match, reason, variant key, attachment and segment keys to
 * `out`, and returns false instead when an unknown comparison type was reached (Flipt's `unknown constraint type`
 * error). A caller evaluating several flags for one entity in one context passes them one Subject (see `Subject`).
 */
export function decideVariant(
  flag: EvalFlag,
  subject: Subject,
  out: Decision,
  tracer?: ExplainTracer,
): boolean {
  if (!flag.enabled) {
    tracer?.flagDisabled();
    fallback(flag, "FLAG_DISABLED_EVALUATION_REASON", false, NO_KEYS, out);
    return true;
  }
  const rules = flag.rules;
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index] as EvalRule;
    const segmentKeys = setKeys(rule.segments, subject, tracer);
    if (segmentKeys === UNKNOWN_KEYS) {
      tracer?.rule(rule, false, -1, -1);
      tracer?.error(UNKNOWN_CONSTRAINT_TYPE);
      return false;
    }
    if (segmentKeys === null) {
      tracer?.rule(rule, false, -1, -1);
      continue;
    }
    if (rule.validDistributions.length === 0) {
      tracer?.rule(rule, true, -1, -1);
      fallback(flag, "MATCH_EVALUATION_REASON", true, segmentKeys, out);
      return true;
    }
    // One distribution takes every bucket (its bound is 1000): no checksum is needed unless an explanation asks.
    const single = rule.validDistributions.length === 1 && tracer === undefined;
    const bucket = single ? 0 : bucketOf(variantChecksum(flag, subject), VARIANT_BUCKETS);
    const chosen = single ? 0 : findBucket(rule.bucketBounds, bucket);
    tracer?.rule(rule, true, bucket, chosen);
    const distribution = rule.validDistributions[chosen];
    if (distribution === undefined) {
      // Unreachable (the last bound is 1000); Flipt would answer "no match" keeping the fallback reason.
      tracer?.fallback();
      fallback(flag, defaultReason(flag), false, segmentKeys, out);
      return true;
    }
    out.match = true;
    out.reason = "MATCH_EVALUATION_REASON";
    out.variantKey = distribution.variantKey;
    out.variantAttachment = distribution.attachment;
    out.segmentKeys = segmentKeys;
    return true;
  }
  tracer?.fallback();
  fallback(flag, defaultReason(flag), false, NO_KEYS, out);
  return true;
}

/**
 * crc32(flagKey + entityId), signed (see `crc32Int`): the entity id hashed on from the flag key's checksum, or, when
 * the Subject already knows the entity's checksum (a batch), the two checksums joined.
 */
function variantChecksum(flag: EvalFlag, subject: Subject): number {
  return subject.hashed
    ? crc32ConcatInt(flag.keyCrc32, subject.entityCrc32, entityBytes(subject))
    : crc32Int(subject.entityId, flag.keyCrc32);
}

/** The reason when no rule decides: DEFAULT with a default variant, else UNKNOWN. */
function defaultReason(flag: EvalFlag): EvaluationReason {
  return flag.defaultVariant === undefined ? "UNKNOWN_EVALUATION_REASON" : "DEFAULT_EVALUATION_REASON";
}

/** An answer that keeps the default variant (if any). */
function fallback(
  flag: EvalFlag,
  reason: EvaluationReason,
  match: boolean,
  segmentKeys: readonly string[],
  out: Decision,
): void {
  const defaultVariant = flag.defaultVariant;
  out.match = match;
  out.reason = reason;
  out.variantKey = defaultVariant === undefined ? "" : defaultVariant.key;
  out.variantAttachment = defaultVariant === undefined ? "" : defaultVariant.attachment;
  out.segmentKeys = segmentKeys;
}
