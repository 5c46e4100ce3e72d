import type { EvalFlag, EvalRollout } from "../domain/evaluation-model.js";
import { BOOLEAN_BUCKETS, bucketOf } from "./bucketing.js";
import { crc32ConcatInt, crc32Int, utf8Length } from "./crc32.js";
import { type Decision, NO_KEYS, newDecision } from "./decision.js";
import {
  type BooleanEvaluation,
  type EvaluationInput,
  type EvaluationResult,
  UNKNOWN_CONSTRAINT_TYPE,
} from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { setKeys, UNKNOWN_KEYS } from "./match-segments.js";
import { entityCrc32, newSubject, type Subject } from "./subject.js";

/**
 * Evaluates a boolean flag as Flipt v2 does: rollouts in order, even when the flag is disabled (`enabled`
 * is only the fall-through answer, and there is no FLAG_DISABLED reason). A threshold rollout matches when
 * crc32(entityId + flagKey) % 100 < float32(percentage); a segment rollout when its segments match. The
 * first match answers its `value` with MATCH; otherwise `flag.enabled` with DEFAULT. The caller checks the
 * flag type (see `checkFlagType`).
 *
 * `tracer` is for explanations only (`explainFlag`): it hears each step as it is taken; without it, each report
 * is one test of an undefined argument.
 */
export function evaluateBoolean(
  flag: EvalFlag,
  input: EvaluationInput,
  tracer?: ExplainTracer,
): EvaluationResult<BooleanEvaluation> {
  const subject = newSubject(input.entityId, input.context, tracer === undefined);
  if (!decideBoolean(flag, input.flagKey, subject, scratch, tracer)) {
    return { ok: false, error: UNKNOWN_CONSTRAINT_TYPE };
  }
  return {
    ok: true,
    value: {
      kind: "boolean",
      flagKey: flag.key,
      enabled: scratch.enabled,
      reason: scratch.reason,
      segmentKeys: scratch.segmentKeys,
    },
  };
}

/** `evaluateBoolean`'s Decision, read right after each call. */
const scratch = newDecision();

/**
 * The core of `evaluateBoolean`: writes the answer's `enabled`, reason and segment keys to `out`, and returns false
 * instead when an unknown comparison type was reached (Flipt's `unknown constraint type` error). `flagKey` is the
 * key the request names (it is hashed). A caller evaluating several flags for one entity in one context passes them
 * one Subject (see `Subject`).
 */
export function decideBoolean(
  flag: EvalFlag,
  flagKey: string,
  subject: Subject,
  out: Decision,
  tracer?: ExplainTracer,
): boolean {
  const rollouts = flag.rollouts;
  let bucket = -1;
  for (let index = 0; index < rollouts.length; index++) {
    const rollout = rollouts[index] as EvalRollout;
    if (rollout.kind === "threshold") {
      const percentage = Math.fround(rollout.percentage);
      // A bucket is 0..99: 100 % or more takes every one and 0 % (or NaN) none, so no checksum is needed then
      // unless an explanation asks for the bucket.
      const decided = tracer === undefined && !(percentage > 0 && percentage < BOOLEAN_BUCKETS);
      if (bucket < 0 && !decided) bucket = bucketOf(booleanChecksum(flag, flagKey, subject), BOOLEAN_BUCKETS);
      const matched = decided ? percentage >= BOOLEAN_BUCKETS : bucket < percentage;
      tracer?.rollout(rollout, matched, bucket);
      if (matched) {
        out.enabled = rollout.value;
        out.reason = "MATCH_EVALUATION_REASON";
        out.segmentKeys = NO_KEYS;
        return true;
      }
    } else if (rollout.kind === "segment") {
      const segmentKeys = setKeys(rollout.segments, subject, tracer);
      if (segmentKeys === UNKNOWN_KEYS) {
        tracer?.rollout(rollout, false, -1);
        tracer?.error(UNKNOWN_CONSTRAINT_TYPE);
        return false;
      }
      tracer?.rollout(rollout, segmentKeys !== null, -1);
      if (segmentKeys !== null) {
        out.enabled = rollout.value;
        out.reason = "MATCH_EVALUATION_REASON";
        out.segmentKeys = segmentKeys;
        return true;
      }
    } else {
      tracer?.rollout(rollout, false, -1);
    }
  }
  tracer?.fallback();
  out.enabled = flag.enabled;
  out.reason = "DEFAULT_EVALUATION_REASON";
  out.segmentKeys = NO_KEYS;
  return true;
}

/**
 * crc32(entityId + flagKey), signed (see `crc32Int`): the entity's checksum (once per Subject) joined to the flag
 * key's, computed when the flag was compiled; hashed on from the entity's when the request names the flag by
 * another string.
 */
function booleanChecksum(flag: EvalFlag, flagKey: string, subject: Subject): number {
  const entity = entityCrc32(subject);
  return flagKey === flag.key
    ? crc32ConcatInt(entity, flag.keyCrc32, flag.keyBytes ?? utf8Length(flag.key))
    : crc32Int(flagKey, entity);
}
