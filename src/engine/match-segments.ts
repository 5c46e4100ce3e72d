import type { EvalConstraint, EvalSegment, EvalSegmentSet } from "../domain/evaluation-model.js";
import type { EvaluationInput } from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { matchConstraint } from "./match-constraint.js";
import { NO_STAMP, newSubject, type Subject } from "./subject.js";

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
  return segmentMatches(segment, newSubject(input.entityId, input.context, false), tracer);
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
  return segmentSetMatches(set, newSubject(input.entityId, input.context, false), tracer);
}

/** `matchSegment` for a Subject, remembering the answer under its stamp. */
export function segmentMatches(
  segment: EvalSegment,
  subject: Subject,
  tracer?: ExplainTracer,
): boolean | typeof UNKNOWN_TYPE {
  const memo = segment.memo;
  if (memo !== undefined && memo.stamp === subject.stamp) {
    return memo.matched;
  }
  return evaluateSegment(segment, subject, tracer);
}

/** The segment's constraints against the Subject (its memo not consulted), the answer remembered. */
function evaluateSegment(
  segment: EvalSegment,
  subject: Subject,
  tracer?: ExplainTracer,
): boolean | typeof UNKNOWN_TYPE {
  const memo = segment.memo;
  const stamp = subject.stamp;
  const constraints = segment.constraints;
  const matchAll = segment.matchAll;
  let matched = matchAll || constraints.length === 0;
  for (let index = 0; index < constraints.length; index++) {
    const constraint = constraints[index] as EvalConstraint;
    const value =
      constraint.type === "ENTITY_ID_COMPARISON_TYPE"
        ? subject.entityId
        : contextValue(subject.context, constraint.property);
    const outcome = matchConstraint(constraint, value);
    tracer?.constraint(constraint, value, outcome);
    if (outcome === UNKNOWN_TYPE) {
      return UNKNOWN_TYPE;
    }
    if (matchAll !== (outcome === true)) {
      // ALL and a non-match, or ANY and a match: the answer is known.
      matched = !matchAll;
      break;
    }
  }
  if (memo !== undefined && stamp !== NO_STAMP) {
    memo.stamp = stamp;
    memo.matched = matched;
  }
  return matched;
}

/** `matchSegments` for a Subject, segments remembering their answers under its stamp. */
export function segmentSetMatches(
  set: EvalSegmentSet,
  subject: Subject,
  tracer?: ExplainTracer,
): readonly string[] | null | typeof UNKNOWN_TYPE {
  // A compiled set of one segment (the usual set) whose answer another flag for the same Subject already found
  // (a batch). Kept this small so that it is inlined where rules and rollouts are evaluated.
  const memo = set.memo;
  if (memo !== undefined && memo.stamp === subject.stamp) {
    return memo.matched ? set.keys : null;
  }
  return matchSet(set, subject, tracer);
}

function matchSet(
  set: EvalSegmentSet,
  subject: Subject,
  tracer?: ExplainTracer,
): readonly string[] | null | typeof UNKNOWN_TYPE {
  const segments = set.segments;
  if (set.memo !== undefined) {
    // One segment, not remembered: no bookkeeping of which segments matched.
    const segment = segments[0] as EvalSegment;
    const outcome = evaluateSegment(segment, subject, tracer);
    tracer?.segment(segment, outcome);
    if (outcome === UNKNOWN_TYPE) {
      return UNKNOWN_TYPE;
    }
    return outcome ? set.keys : null;
  }
  // Keys are copied out of `set.keys` only when some segment misses and another matches.
  let firstMiss = -1;
  let matched: string[] | undefined;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as EvalSegment;
    const outcome = segmentMatches(segment, subject, tracer);
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
function contextValue(context: Readonly<Record<string, string>>, property: string): string {
  return Object.hasOwn(context, property) ? (context[property] ?? "") : "";
}

/** Whether the context has `property`, as `contextValue` tests it: only own properties count. */
export function hasContextKey(input: EvaluationInput, property: string): boolean {
  return Object.hasOwn(input.context, property);
}
