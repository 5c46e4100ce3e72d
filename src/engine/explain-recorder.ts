import type {
  EvalConstraint,
  EvalDistribution,
  EvalFlag,
  EvalRollout,
  EvalRule,
  EvalSegment,
  EvalSegmentSet,
} from "../domain/evaluation-model.js";
import type { BucketTrace, ConstraintTrace, ExplainStep, SegmentTrace } from "../domain/explain-trace.js";
import type { EvaluationError, EvaluationInput } from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import type { ConstraintOutcome } from "./match-constraint.js";
import { hasContextKey } from "./match-segments.js";

/**
 * Records one evaluation of a flag for an input as the engine reports it (see `ExplainTracer`), as explain steps.
 * Constraints gather into their segment when the segment reports its answer, segments into their rule or rollout
 * when it reports its own; whatever the engine never reported by then (after a segment's answer was known, or
 * after an unknown comparison type stopped the evaluation) is filled in from the flag as not evaluated.
 *
 * A class, one per explanation: the engine calls it at every constraint, and methods on a prototype cost no
 * closures per explanation and keep those call sites monomorphic.
 */
export class ExplainRecorder implements ExplainTracer {
  /** The steps so far, in order. */
  readonly steps: ExplainStep[] = [];
  #constraints: ConstraintTrace[] = [];
  #segments: SegmentTrace[] = [];
  readonly #flag: EvalFlag;
  readonly #input: EvaluationInput;

  constructor(flag: EvalFlag, input: EvaluationInput) {
    this.#flag = flag;
    this.#input = input;
  }

  constraint(constraint: EvalConstraint, value: string, outcome: ConstraintOutcome): void {
    const entity = constraint.type === "ENTITY_ID_COMPARISON_TYPE";
    this.#constraints.push(
      constraintTrace(
        constraint,
        value,
        entity || hasContextKey(this.#input, constraint.property),
        true,
        outcome === true,
      ),
    );
  }

  segment(segment: EvalSegment, outcome: boolean | "unknown-type"): void {
    const constraints = this.#constraints;
    for (let index = constraints.length; index < segment.constraints.length; index++) {
      constraints.push(notEvaluatedConstraint(segment.constraints[index] as EvalConstraint));
    }
    this.#constraints = [];
    this.#segments.push({
      key: segment.key,
      matchType: segment.matchAll ? "ALL_MATCH_TYPE" : "ANY_MATCH_TYPE",
      evaluated: true,
      matched: outcome === true,
      constraints,
    });
  }

  rule(rule: EvalRule, matched: boolean, bucket: number, distribution: number): void {
    this.steps.push({
      kind: "rule",
      rank: rule.rank,
      segmentOperator: rule.segments.operator,
      segments: this.#takeSegments(rule.segments),
      matched,
      bucket: bucket < 0 ? undefined : bucketTrace(rule, bucket, distribution),
    });
  }

  rollout(rollout: EvalRollout, matched: boolean, bucket: number): void {
    switch (rollout.kind) {
      case "threshold":
        this.steps.push({
          kind: "rollout",
          rank: rollout.rank,
          segment: undefined,
          threshold: { percentage: rollout.percentage, bucket },
          matched,
          value: rollout.value,
        });
        break;
      case "segment":
        this.steps.push({
          kind: "rollout",
          rank: rollout.rank,
          segment: {
            segmentOperator: rollout.segments.operator,
            segments: this.#takeSegments(rollout.segments),
          },
          threshold: undefined,
          matched,
          value: rollout.value,
        });
        break;
      default:
        this.steps.push({
          kind: "rollout",
          rank: rollout.rank,
          segment: undefined,
          threshold: undefined,
          matched,
          value: false,
        });
    }
  }

  flagDisabled(): void {
    this.steps.push({ kind: "flag-disabled", defaultVariantKey: this.#flag.defaultVariant?.key ?? "" });
  }

  fallback(): void {
    const flag = this.#flag;
    this.steps.push({
      kind: "fallback",
      defaultVariantKey: flag.type === "VARIANT_FLAG_TYPE" ? (flag.defaultVariant?.key ?? "") : "",
      enabled: flag.enabled,
    });
  }

  error(error: EvaluationError): void {
    this.steps.push({ kind: "error", message: error.message });
  }

  /** The segments heard since the last rule or rollout, completed with those of `set` the engine did not reach. */
  #takeSegments(set: EvalSegmentSet): SegmentTrace[] {
    const segments = this.#segments;
    for (let index = segments.length; index < set.segments.length; index++) {
      segments.push(notEvaluatedSegment(set.segments[index] as EvalSegment));
    }
    this.#segments = [];
    return segments;
  }
}

/** Every constraint trace has this one shape, field for field. */
function constraintTrace(
  constraint: EvalConstraint,
  contextValue: string,
  contextPresent: boolean,
  evaluated: boolean,
  matched: boolean,
): ConstraintTrace {
  return {
    type: constraint.type,
    // An entity id constraint reads no context key, whatever its `property` says.
    property: constraint.type === "ENTITY_ID_COMPARISON_TYPE" ? "" : constraint.property,
    operator: constraint.operator,
    value: constraint.value,
    contextValue,
    contextPresent,
    evaluated,
    matched,
  };
}

function notEvaluatedConstraint(constraint: EvalConstraint): ConstraintTrace {
  return constraintTrace(constraint, "", false, false, false);
}

function notEvaluatedSegment(segment: EvalSegment): SegmentTrace {
  return {
    key: segment.key,
    matchType: segment.matchAll ? "ALL_MATCH_TYPE" : "ANY_MATCH_TYPE",
    evaluated: false,
    matched: false,
    constraints: segment.constraints.map(notEvaluatedConstraint),
  };
}

/** The bucket and every taking part distribution's range, from the rule's bounds (the first starts at 0). */
function bucketTrace(rule: EvalRule, bucket: number, distribution: number): BucketTrace {
  return {
    bucket,
    distributions: rule.validDistributions.map((taking: EvalDistribution, index) => ({
      variantKey: taking.variantKey,
      rollout: taking.rollout,
      bucketStart: index === 0 ? 0 : (rule.bucketBounds[index - 1] ?? 0),
      bucketEnd: rule.bucketBounds[index] ?? 0,
    })),
    selectedVariantKey: rule.validDistributions[distribution]?.variantKey ?? "",
  };
}
