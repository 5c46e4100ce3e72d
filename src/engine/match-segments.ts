import type { EvalConstraint, EvalSegment, EvalSegmentSet, SegmentMemo } from "../domain/evaluation-model.js";
import type { EvaluationInput } from "./evaluation-result.js";
import type { ExplainTracer } from "./explain-tracer.js";
import { constraintOutcome, Outcome, outcomeOf } from "./match-constraint.js";
import { compileSegment } from "./segment-code.js";
import { NO_STAMP, newSubject, type Subject } from "./subject.js";

/** Returned when an unsupported comparison type was reached: the whole evaluation fails. */
export const UNKNOWN_TYPE = "unknown-type";

/**
 * What `setKeys` returns when an unsupported comparison type was reached (`UNKNOWN_TYPE` of the readable
 * functions). An array like the answers it stands beside, so that the engine's tests of an answer compare objects
 * only; never an answer itself.
 */
export const UNKNOWN_KEYS: readonly string[] = Object.freeze(["unknown-type"]);

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
  return readable(evaluateSegment(segment, newSubject(input.entityId, input.context, false), tracer));
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
  const keys = setKeys(set, newSubject(input.entityId, input.context, false), tracer);
  return keys === UNKNOWN_KEYS ? UNKNOWN_TYPE : keys;
}

/** `matchSegment` for a Subject, remembering the answer under its stamp. */
export function segmentMatches(
  segment: EvalSegment,
  subject: Subject,
  tracer?: ExplainTracer,
): boolean | typeof UNKNOWN_TYPE {
  return readable(segmentOutcome(segment, subject, tracer));
}

/** `matchSegments` for a Subject, segments remembering their answers under its stamp. */
export function segmentSetMatches(
  set: EvalSegmentSet,
  subject: Subject,
  tracer?: ExplainTracer,
): readonly string[] | null | typeof UNKNOWN_TYPE {
  const keys = setKeys(set, subject, tracer);
  return keys === UNKNOWN_KEYS ? UNKNOWN_TYPE : keys;
}

/** An `Outcome` of a segment as `matchSegment` answers it. */
function readable(outcome: number): boolean | typeof UNKNOWN_TYPE {
  return outcome === Outcome.UNKNOWN_TYPE ? UNKNOWN_TYPE : outcome === Outcome.MATCH;
}

/**
 * The engine's form of `segmentSetMatches`: the matched keys, null when the set does not match, or `UNKNOWN_KEYS`.
 * Every answer is an array or null, so that a caller's test of it is a comparison of objects.
 */
export function setKeys(
  set: EvalSegmentSet,
  subject: Subject,
  tracer?: ExplainTracer,
): readonly string[] | null {
  // A compiled set of one segment (the usual set): its answer may be remembered for this Subject (a batch's earlier
  // flag), else its constraints decide. Kept this small so that it is inlined where rules and rollouts are evaluated.
  const memo = set.memo;
  if (memo !== undefined) {
    if (memo.stamp === subject.stamp) return memo.matched ? set.keys : null;
    // A compiled segment is called from here, without the calls of `singleSet` and `evaluateSegment`.
    const test = memo.test;
    if (test !== undefined && tracer === undefined) {
      const outcome = remember(memo, subject, test(subject.context, subject.entityId));
      return outcome === Outcome.MATCH ? set.keys : outcome === Outcome.NO_MATCH ? null : UNKNOWN_KEYS;
    }
    return singleSet(set, subject, tracer);
  }
  return matchSet(set, subject, tracer);
}

/** A set of one segment whose answer is not remembered: no bookkeeping of which segments matched. */
function singleSet(set: EvalSegmentSet, subject: Subject, tracer?: ExplainTracer): readonly string[] | null {
  const segment = set.segments[0] as EvalSegment;
  const outcome = evaluateSegment(segment, subject, tracer);
  tracer?.segment(segment, readable(outcome));
  return outcome === Outcome.MATCH ? set.keys : outcome === Outcome.NO_MATCH ? null : UNKNOWN_KEYS;
}

/** `segmentMatches` as an `Outcome` (MATCH, NO_MATCH or UNKNOWN_TYPE). */
function segmentOutcome(segment: EvalSegment, subject: Subject, tracer?: ExplainTracer): number {
  const memo = segment.memo;
  if (memo !== undefined && memo.stamp === subject.stamp) {
    return memo.matched ? Outcome.MATCH : Outcome.NO_MATCH;
  }
  return evaluateSegment(segment, subject, tracer);
}

/**
 * The segment's constraints against the Subject (its memo not consulted), the answer remembered: MATCH, NO_MATCH
 * or UNKNOWN_TYPE.
 */
function evaluateSegment(segment: EvalSegment, subject: Subject, tracer?: ExplainTracer): number {
  const memo = segment.memo;
  let outcome: number;
  if (memo === undefined || tracer !== undefined) {
    outcome = interpretSegment(segment, subject, tracer);
  } else {
    // A compiled segment gives the same answers faster; it is compiled once it has been evaluated often enough
    // (an explanation always reads the constraints one by one, to report each).
    let test = memo.test;
    if (test === undefined && ++memo.calls === COMPILE_AFTER) {
      test = compileSegment(segment);
      memo.test = test;
    }
    outcome =
      test === undefined ? interpretSegment(segment, subject) : test(subject.context, subject.entityId);
  }
  return memo === undefined ? outcome : remember(memo, subject, outcome);
}

/**
 * Keeps a segment's answer in its memo under the Subject's stamp (not for `NO_STAMP`, nor an unknown type, which
 * fails the evaluation); returns the answer.
 */
function remember(memo: SegmentMemo, subject: Subject, outcome: number): number {
  if (subject.stamp !== NO_STAMP && outcome !== Outcome.UNKNOWN_TYPE) {
    memo.stamp = subject.stamp;
    memo.matched = outcome === Outcome.MATCH;
  }
  return outcome;
}

/** A segment evaluated after this many evaluations by its constraints one by one is compiled (see `compileSegment`). */
export const COMPILE_AFTER = 64;

/** The segment's constraints against the Subject, one by one: MATCH, NO_MATCH or UNKNOWN_TYPE. */
function interpretSegment(segment: EvalSegment, subject: Subject, tracer?: ExplainTracer): number {
  const constraints = segment.constraints;
  const matchAll = segment.matchAll;
  const context = subject.context;
  // ALL stops at the first constraint that does not match, ANY at the first that does: the answer is then the
  // opposite of what an exhausted list answers (ALL: match; ANY: a match only when there is nothing to compare).
  const stopAt = matchAll ? Outcome.NO_MATCH : Outcome.MATCH;
  let matched = matchAll || constraints.length === 0;
  for (let index = 0; index < constraints.length; index++) {
    const constraint = constraints[index] as EvalConstraint;
    const value =
      constraint.type === "ENTITY_ID_COMPARISON_TYPE"
        ? subject.entityId
        : contextValue(context, constraint.property);
    let outcome = constraintOutcome(constraint, value);
    tracer?.constraint(constraint, value, outcomeOf(outcome));
    if (outcome === Outcome.UNKNOWN_TYPE) {
      return outcome;
    }
    if (outcome === Outcome.INVALID) {
      outcome = Outcome.NO_MATCH;
    }
    if (outcome === stopAt) {
      matched = !matchAll;
      break;
    }
  }
  return matched ? Outcome.MATCH : Outcome.NO_MATCH;
}

function matchSet(set: EvalSegmentSet, subject: Subject, tracer?: ExplainTracer): readonly string[] | null {
  const segments = set.segments;
  // Keys are copied out of `set.keys` only when some segment misses and another matches.
  let firstMiss = -1;
  let matched: string[] | undefined;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as EvalSegment;
    const outcome = segmentOutcome(segment, subject, tracer);
    tracer?.segment(segment, readable(outcome));
    if (outcome === Outcome.UNKNOWN_TYPE) {
      return UNKNOWN_KEYS;
    }
    if (outcome === Outcome.NO_MATCH) {
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

/**
 * A context value by exact key; a missing key (or an inherited property) reads as "", like a Go map. The value is
 * read first: a key that is missing (the usual miss) then costs no own-property test.
 */
function contextValue(context: Readonly<Record<string, string>>, property: string): string {
  const value = context[property];
  return typeof value === "string" && Object.hasOwn(context, property) ? value : "";
}

/** Whether the context has `property`, as `contextValue` tests it: only own properties count. */
export function hasContextKey(input: EvaluationInput, property: string): boolean {
  return Object.hasOwn(input.context, property);
}
