import type { EvalConstraint, PreparedValue } from "../domain/evaluation-model.js";
import { goTrimSpace, isGoSpace } from "../go/go-trim-space.js";
import { parseGoBool } from "../go/parse-go-bool.js";
import { parseGoFloat } from "../go/parse-go-float.js";
import { parseGoTime } from "../go/parse-go-time.js";
import { ConstraintCode as C } from "./constraint-code.js";

/**
 * How one constraint judged one value: `true`/`false`, `"invalid"` when the value (or an unprepared
 * constraint value) does not parse as the type needs (Flipt logs it; it counts as a non-match), or
 * `"unknown-type"` for an unsupported comparison type (an evaluation error in Flipt).
 */
export type ConstraintOutcome = boolean | "invalid" | "unknown-type";

/**
 * Evaluates one prepared constraint against the value it compares (the context value, "" when missing, or
 * the entity id for ENTITY_ID constraints), per comparison type and operator exactly as Flipt v2 does (see
 * `constraintOutcome`, which the engine calls: this is the same answer in readable form).
 */
export function matchConstraint(constraint: EvalConstraint, value: string): ConstraintOutcome {
  return outcomeOf(constraintOutcome(constraint, value));
}

/** `constraintOutcome`'s answers: small integers, so that the engine's tests of them are integer compares. */
export const Outcome = {
  NO_MATCH: 0,
  MATCH: 1,
  /** The value (or an unprepared constraint value) does not parse as the type needs: a non-match in Flipt. */
  INVALID: 2,
  /** An unsupported comparison type: an evaluation error. */
  UNKNOWN_TYPE: 3,
} as const;

/** A `constraintOutcome` answer as a `ConstraintOutcome`. */
export function outcomeOf(outcome: number): ConstraintOutcome {
  return outcome === Outcome.MATCH
    ? true
    : outcome === Outcome.NO_MATCH
      ? false
      : outcome === Outcome.INVALID
        ? "invalid"
        : "unknown-type";
}

const NO = Outcome.NO_MATCH;
const YES = Outcome.MATCH;
const INVALID = Outcome.INVALID;

/** 1 for true, 0 for false. */
function bit(value: boolean): number {
  return value ? YES : NO;
}

/**
 * `matchConstraint` as an `Outcome`: one switch over the constraint's code (see `ConstraintCode`).
 *
 * Per type, Flipt checks in this order: `empty`/`notempty` (STRING) or `present`/`notpresent` (other types) on
 * the trimmed value; then an empty value matches nothing; then the value must parse as the type (else
 * INVALID); then the operator compares.
 */
export function constraintOutcome(constraint: EvalConstraint, value: string): number {
  switch (constraint.code) {
    case C.STRING_EMPTY:
      return bit(isBlank(value));
    case C.STRING_NOT_EMPTY:
      return bit(!isBlank(value));
    // A missing (or empty) value satisfies no other operator, negative ones included.
    case C.STRING_EQ:
      return bit(value !== "" && value === constraint.value);
    case C.STRING_NEQ:
      return bit(value !== "" && value !== constraint.value);
    case C.STRING_PREFIX:
      return bit(value !== "" && goTrimSpace(value).startsWith(constraint.value));
    case C.STRING_SUFFIX:
      return bit(value !== "" && goTrimSpace(value).endsWith(constraint.value));
    case C.STRING_CONTAINS:
      return bit(value !== "" && value.includes(constraint.value));
    case C.STRING_NOT_CONTAINS:
      return bit(value !== "" && !value.includes(constraint.value));
    case C.STRING_IS_ONE_OF:
      return bit(value !== "" && stringSet(constraint).has(value));
    case C.STRING_IS_NOT_ONE_OF:
      return bit(value !== "" && !stringSet(constraint).has(value));
    case C.STRING_OTHER:
      return NO;

    case C.NUMBER_PRESENT:
    case C.BOOLEAN_PRESENT:
    case C.DATETIME_PRESENT:
      return bit(!isBlank(value));
    case C.NUMBER_NOT_PRESENT:
    case C.BOOLEAN_NOT_PRESENT:
    case C.DATETIME_NOT_PRESENT:
      return bit(isBlank(value));
    case C.NUMBER_EQ:
    case C.NUMBER_NEQ:
    case C.NUMBER_LT:
    case C.NUMBER_LTE:
    case C.NUMBER_GT:
    case C.NUMBER_GTE:
      return compareNumber(constraint, value);
    case C.NUMBER_IS_ONE_OF:
    case C.NUMBER_IS_NOT_ONE_OF: {
      if (value === "") return NO;
      const number = parseGoFloat(value);
      if (number === undefined) return INVALID;
      return bit(numberSet(constraint).has(number) === (constraint.code === C.NUMBER_IS_ONE_OF));
    }
    // An empty constraint value is not prepared at load; Flipt then fails to parse it here.
    case C.NUMBER_UNPREPARED:
    case C.DATETIME_UNPREPARED:
      return value === "" ? NO : INVALID;
    case C.NUMBER_OTHER:
      return value === "" ? NO : parseGoFloat(value) === undefined ? INVALID : NO;

    case C.BOOLEAN_TRUE:
    case C.BOOLEAN_FALSE: {
      if (value === "") return NO;
      const bool = parseGoBool(value);
      if (bool === undefined) return INVALID;
      return bit(bool === (constraint.code === C.BOOLEAN_TRUE));
    }
    case C.BOOLEAN_OTHER:
      return value === "" ? NO : parseGoBool(value) === undefined ? INVALID : NO;

    case C.DATETIME_COMPARE: {
      if (value === "") return NO;
      const instant = parseGoTime(value);
      if (instant === undefined) return INVALID;
      return bit(compare(constraint.operator, instant, (constraint.prepared as DatetimeValue).nanos));
    }
    case C.DATETIME_OTHER:
      return value === "" ? NO : parseGoTime(value) === undefined ? INVALID : NO;

    default:
      return Outcome.UNKNOWN_TYPE;
  }
}

type DatetimeValue = Extract<PreparedValue, { kind: "datetime" }>;

/** Go's `strings.TrimSpace(value) == ""` without building the trimmed string. */
function isBlank(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (!isGoSpace(value.charCodeAt(i))) return false;
  }
  return true;
}

/** The set of an `isoneof`/`isnotoneof` STRING or ENTITY_ID constraint whose list was prepared. */
export function stringSet(constraint: EvalConstraint): ReadonlySet<string> {
  return (constraint.prepared as Extract<PreparedValue, { kind: "string-set" }>).values;
}

function numberSet(constraint: EvalConstraint): ReadonlySet<number> {
  return (constraint.prepared as Extract<PreparedValue, { kind: "number-set" }>).values;
}

/** `eq`..`gte` of a NUMBER constraint whose value was prepared, with IEEE semantics (NaN is only ever `neq`). */
function compareNumber(constraint: EvalConstraint, value: string): number {
  if (value === "") return NO;
  const number = parseGoFloat(value);
  if (number === undefined) return INVALID;
  const expected = (constraint.prepared as Extract<PreparedValue, { kind: "number" }>).value;
  switch (constraint.code) {
    case C.NUMBER_EQ:
      return bit(number === expected);
    case C.NUMBER_NEQ:
      return bit(number !== expected);
    case C.NUMBER_LT:
      return bit(number < expected);
    case C.NUMBER_LTE:
      return bit(number <= expected);
    case C.NUMBER_GT:
      return bit(number > expected);
    default:
      return bit(number >= expected);
  }
}

/** `actual <operator> expected` for instants. */
function compare(operator: string, actual: bigint, expected: bigint): boolean {
  switch (operator) {
    case "eq":
      return actual === expected;
    case "neq":
      return actual !== expected;
    case "lt":
      return actual < expected;
    case "lte":
      return actual <= expected;
    case "gt":
      return actual > expected;
    default:
      return actual >= expected;
  }
}
