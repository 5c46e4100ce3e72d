import type { EvalConstraint, EvalRollout, EvalRule, EvalSegment } from "../domain/evaluation-model.js";
import type { EvaluationError } from "./evaluation-result.js";
import type { ConstraintOutcome } from "./match-constraint.js";

/**
 * What the evaluation functions tell an explanation as they go (see `explainFlag`). They take it as an optional last
 * argument and call it only through `tracer?.`, so a plain evaluation (no tracer) pays one well-predicted test per
 * call site and evaluates none of the arguments. The calls arrive in the order the engine did the work: a segment's
 * constraints, then the segment; a rule's (or rollout's) segments, then the rule; then at most one of `flagDisabled`,
 * `fallback` or `error`. Whatever the engine skipped is simply never reported, and the recorder marks it so.
 */
export interface ExplainTracer {
  /** A constraint was compared: `value` is what it read (the context value, "" when missing, or the entity id). */
  constraint(constraint: EvalConstraint, value: string, outcome: ConstraintOutcome): void;
  /** A segment's answer is known (told by `matchSegments`), after its constraints (those not heard were not compared). */
  segment(segment: EvalSegment, outcome: boolean | "unknown-type"): void;
  /**
   * A variant flag's rule was considered: whether its segments matched and, when it picked a variant by bucket, the
   * bucket and the index in `rule.validDistributions` of the distribution that took it (-1 for both otherwise).
   */
  rule(rule: EvalRule, matched: boolean, bucket: number, distribution: number): void;
  /** A boolean flag's rollout was considered; `bucket` is the threshold bucket, -1 for other rollouts. */
  rollout(rollout: EvalRollout, matched: boolean, bucket: number): void;
  /** A disabled variant flag answered at once. */
  flagDisabled(): void;
  /** Nothing decided: the fallback (default variant, or a boolean flag's `enabled`) answered. */
  fallback(): void;
  /** The evaluation failed. */
  error(error: EvaluationError): void;
}
