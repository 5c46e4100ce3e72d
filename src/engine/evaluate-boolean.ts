import type { EvalFlag } from "../domain/evaluation-model.js";
import { booleanBucket } from "./bucketing.js";
import {
  type BooleanEvaluation,
  type EvaluationInput,
  type EvaluationResult,
  UNKNOWN_CONSTRAINT_TYPE,
} from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { matchSegments, UNKNOWN_TYPE } from "./match-segments.js";

const NO_KEYS: readonly string[] = Object.freeze([]);

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
  let bucket: number | undefined;
  for (const rollout of flag.rollouts) {
    if (rollout.kind === "threshold") {
      bucket ??= booleanBucket(input.entityId, input.flagKey);
      const matched = bucket < Math.fround(rollout.percentage);
      tracer?.rollout(rollout, matched, bucket);
      if (matched) {
        return {
          ok: true,
          value: {
            kind: "boolean",
            flagKey: flag.key,
            enabled: rollout.value,
            reason: "MATCH_EVALUATION_REASON",
            segmentKeys: NO_KEYS,
          },
        };
      }
    } else if (rollout.kind === "segment") {
      const segmentKeys = matchSegments(rollout.segments, input, tracer);
      if (segmentKeys === UNKNOWN_TYPE) {
        tracer?.rollout(rollout, false, -1);
        tracer?.error(UNKNOWN_CONSTRAINT_TYPE);
        return { ok: false, error: UNKNOWN_CONSTRAINT_TYPE };
      }
      tracer?.rollout(rollout, segmentKeys !== null, -1);
      if (segmentKeys !== null) {
        return {
          ok: true,
          value: {
            kind: "boolean",
            flagKey: flag.key,
            enabled: rollout.value,
            reason: "MATCH_EVALUATION_REASON",
            segmentKeys,
          },
        };
      }
    } else {
      tracer?.rollout(rollout, false, -1);
    }
  }
  tracer?.fallback();
  return {
    ok: true,
    value: {
      kind: "boolean",
      flagKey: flag.key,
      enabled: flag.enabled,
      reason: "DEFAULT_EVALUATION_REASON",
      segmentKeys: NO_KEYS,
    },
  };
}
