import type { EvalFlag } from "../domain/evaluation-model.js";
import type { ExplainStep, RolloutStep, RuleStep, SegmentTrace } from "../domain/explain-trace.js";
import { VARIANT_BUCKETS } from "./bucketing.js";

/**
 * The final reason of an evaluation of `flag` in words, from its steps (the last one decides): which rule or
 * rollout decided and why, or why none did. For example `rule 2 matched (segment "pro"); bucket 417 fell in
 * variant "blue"'s range 300-700 of 0-1000`.
 */
export function explainSummary(flag: EvalFlag, steps: readonly ExplainStep[]): string {
  const last = steps.at(-1);
  const defaultVariant = flag.defaultVariant?.key ?? "";
  switch (last?.kind) {
    case "flag-disabled":
      return `the flag is disabled: ${defaultAnswer(defaultVariant)}`;
    case "rule":
      return ruleSummary(last, defaultVariant);
    case "rollout":
      return `rollout ${last.rank} matched${rolloutWhy(last)}: the flag answers ${last.value}`;
    case "fallback": {
      const before = steps.at(-2);
      if (before?.kind === "rule" && before.matched) {
        // Unreachable: the last bound is 1000, so a matched rule with distributions always picks one.
        return `${ruleSummary(before, defaultVariant)}, so the flag answers as if no rule matched`;
      }
      if (flag.type === "BOOLEAN_FLAG_TYPE") {
        const none = flag.rollouts.length === 0 ? "the flag has no rollouts" : "no rollout matched";
        return `${none}: the flag answers its enabled, ${last.enabled}`;
      }
      return `${flag.rules.length === 0 ? "the flag has no rules" : "no rule matched"}: ${defaultAnswer(defaultVariant)}`;
    }
    case "error":
      return `the evaluation failed: ${last.message}${failedAt(steps.at(-2))}`;
    default:
      return "nothing was evaluated";
  }
}

function defaultAnswer(defaultVariant: string): string {
  return defaultVariant === ""
    ? "the flag has no default variant, so no variant answers"
    : `the default variant "${defaultVariant}" answers`;
}

function ruleSummary(rule: RuleStep, defaultVariant: string): string {
  const matched = `rule ${rule.rank} matched${segmentsWhy(rule.segments)}`;
  const bucket = rule.bucket;
  if (bucket === undefined) return `${matched} and has no distributions: ${defaultAnswer(defaultVariant)}`;
  const taking = bucket.distributions.find((item) => item.variantKey === bucket.selectedVariantKey);
  if (taking === undefined) return `${matched}; bucket ${bucket.bucket} fell in no distribution's range`;
  return (
    `${matched}; bucket ${bucket.bucket} fell in variant "${taking.variantKey}"'s range ` +
    `${taking.bucketStart}-${taking.bucketEnd} of 0-${VARIANT_BUCKETS}`
  );
}

function rolloutWhy(rollout: RolloutStep): string {
  if (rollout.threshold !== undefined) {
    const { bucket, percentage } = rollout.threshold;
    return ` (threshold): bucket ${bucket} is below ${percentage}%`;
  }
  return rollout.segment === undefined ? "" : segmentsWhy(rollout.segment.segments);
}

/** ` (segment "a")`, ` (segments "a", "b")`, or ` (no segments)` for an AND set that is empty. */
function segmentsWhy(segments: readonly SegmentTrace[]): string {
  const keys = segments.filter((segment) => segment.matched).map((segment) => `"${segment.key}"`);
  if (keys.length === 0) return " (no segments)";
  return ` (${keys.length === 1 ? "segment" : "segments"} ${keys.join(", ")})`;
}

/** Where an unknown comparison type stopped the evaluation: the last constraint compared. */
function failedAt(step: ExplainStep | undefined): string {
  if (step === undefined || (step.kind !== "rule" && step.kind !== "rollout")) return "";
  const segments = step.kind === "rule" ? step.segments : (step.segment?.segments ?? []);
  // Segments and constraints are evaluated in order, so the last one evaluated is where it stopped.
  const segment = segments.filter((item) => item.evaluated).at(-1);
  const index = (segment?.constraints.filter((item) => item.evaluated).length ?? 0) - 1;
  const constraint = segment?.constraints[index];
  if (segment === undefined || constraint === undefined) return "";
  return ` (${step.kind} ${step.rank}, segment "${segment.key}", constraint ${index + 1}: ${constraint.type})`;
}
