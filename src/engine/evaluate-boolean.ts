import type { EvalFlag } from "../domain/evaluation-model.js";
import { booleanBucket } from "./bucketing.js";
import {
  type BooleanEvaluation,
  type EvaluationInput,
  type EvaluationResult,
  UNKNOWN_CONSTRAINT_TYPE,
} from "./evaluation-result.js";
import { matchSegments, UNKNOWN_TYPE } from "./match-segments.js";

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * Evaluates a boolean flag as Flipt v2 does: rollouts in order, even when the flag is disabled (`enabled`
 * is only the fall-through answer, and there is no FLAG_DISABLED reason). A threshold rollout matches when
 * crc32(entityId + flagKey) % 100 < float32(percentage); a segment rollout when its segments match. The
 * first match answers its `value` with MATCH; otherwise `flag.enabled` with DEFAULT. The caller checks the
 * flag type (see `checkFlagType`).
 */
export function evaluateBoolean(flag: EvalFlag, input: EvaluationInput): EvaluationResult<BooleanEvaluation> {
  let bucket: number | undefined;
  for (const rollout of flag.rollouts) {
    if (rollout.kind === "threshold") {
      bucket ??= booleanBucket(input.entityId, input.flagKey);
      if (bucket < Math.fround(rollout.percentage)) {
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
      const segmentKeys = matchSegments(rollout.segments, input);
      if (segmentKeys === UNKNOWN_TYPE) {
        return { ok: false, error: UNKNOWN_CONSTRAINT_TYPE };
      }
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
    }
  }
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
