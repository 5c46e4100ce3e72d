import type { EvalSegment, EvalSegmentSet } from "../domain/evaluation-model.js";
import type { EvaluationInput } from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { matchConstraint } from "./match-constraint.js";

/** Returned when an unsupported comparison type was reached: the whole evaluation fails. */
export const UNKNOWN_TYPE = "unknown-type";

/**
 * Whether one segment matches. Constraints run in order: ALL stops at the first non-match, ANY at the
 * first match; a value that does not parse counts as a non-match. A segment without constraints matches.
 * A tracer (explanations only) hears each constraint compared; `matchSegments` reports the segment's answer.
 */
export function matchSegment(
  segment: EvalSegment,
  input: EvaluationInput,
  tracer?: ExplainTracer,
): boolean | typeof UNKNOWN_TYPE {
  for (const constraint of segment.constraints) {
    const value =
      constraint.type === "ENTITY_ID_COMPARISON_TYPE"
        ? input.entityId
        : contextValue(input, constraint.property);
    const outcome = matchConstraint(constraint, value);
    tracer?.constraint(constraint, value, outcome);
    if (outcome === UNKNOWN_TYPE) {
      return UNKNOWN_TYPE;
    }
    const matched = outcome === true;
    if (segment.matchAll !== matched) {
      // ALL and a non-match, or ANY and a match: the answer is known.
      return matched;
    }
  }
  return segment.matchAll || segment.constraints.length === 0;
}

/**
 * The segments of a rule or rollout against one request: the matched keys (in listed order) when the set
 * matches (OR: at least one segment; AND: every segment, so an empty AND set matches with no keys), null
 * when it does not. Every segment is evaluated, so an unknown comparison type anywhere is reported. When every
 * segment matches, the answer is the set's own frozen `keys`, so the usual case allocates nothing. A tracer
 * (explanations only) hears every segment evaluated, in order: its constraints, then its answer.
 */
export function matchSegments(
  set: EvalSegmentSet,
  input: EvaluationInput,
  tracer?: ExplainTracer,
): readonly string[] | null | typeof UNKNOWN_TYPE {
  const segments = set.segments;
  // Keys are copied out of `set.keys` only when some segment misses and another matches.
  let firstMiss = -1;
  let matched: string[] | undefined;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as EvalSegment;
    const outcome = matchSegment(segment, input, tracer);
    tracer?.segment(segment, outcome);
    if (outcome === UNKNOWN_TYPE) {
      return UNKNOWN_TYPE;
    }
    if (!outcome) {
      if (firstMiss < 0) firstMiss = index;
    } else if (firstMiss >= 0) {
      matched ??= set.keys.slice(0, firstMiss);
      matched.push(segment.key);
    }
  }
  if (firstMiss < 0) {
    return segments.length > 0 || set.operator === "AND_SEGMENT_OPERATOR" ? set.keys : null;
  }
  if (set.operator === "AND_SEGMENT_OPERATOR") {
    return null;
  }
  return matched ?? (firstMiss > 0 ? set.keys.slice(0, firstMiss) : null);
}

/** A context value by exact key; a missing key (or an inherited property) reads as "", like a Go map. */
function contextValue(input: EvaluationInput, property: string): string {
  return Object.hasOwn(input.context, property) ? (input.context[property] ?? "") : "";
}

/** Whether the context has `property`, as `contextValue` tests it: only own properties count. */
export function hasContextKey(input: EvaluationInput, property: string): boolean {
  return Object.hasOwn(input.context, property);
}
