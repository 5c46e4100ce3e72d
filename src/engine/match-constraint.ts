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
 * the entity id for ENTITY_ID constraints), per comparison type and operator exactly as Flipt v2 does: one
 * switch over the constraint's code (see `ConstraintCode`).
 *
 * Per type, Flipt checks in this order: `empty`/`notempty` (STRING) or `present`/`notpresent` (other types) on
 * the trimmed value; then an empty value matches nothing; then the value must parse as the type (else
 * "invalid"); then the operator compares.
 */
export function matchConstraint(constraint: EvalConstraint, value: string): ConstraintOutcome {
  switch (constraint.code) {
    case C.STRING_EMPTY:
      return isBlank(value);
    case C.STRING_NOT_EMPTY:
      return !isBlank(value);
    // A missing (or empty) value satisfies no other operator, negative ones included.
    case C.STRING_EQ:
      return value !== "" && value === constraint.value;
    case C.STRING_NEQ:
      return value !== "" && value !== constraint.value;
    case C.STRING_PREFIX:
      return value !== "" && goTrimSpace(value).startsWith(constraint.value);
    case C.STRING_SUFFIX:
      return value !== "" && goTrimSpace(value).endsWith(constraint.value);
    case C.STRING_CONTAINS:
      return value !== "" && value.includes(constraint.value);
    case C.STRING_NOT_CONTAINS:
      return value !== "" && !value.includes(constraint.value);
    case C.STRING_IS_ONE_OF:
      return value !== "" && stringSet(constraint).has(value);
    case C.STRING_IS_NOT_ONE_OF:
      return value !== "" && !stringSet(constraint).has(value);
    case C.STRING_OTHER:
      return false;

    case C.NUMBER_PRESENT:
    case C.BOOLEAN_PRESENT:
    case C.DATETIME_PRESENT:
      return !isBlank(value);
    case C.NUMBER_NOT_PRESENT:
    case C.BOOLEAN_NOT_PRESENT:
    case C.DATETIME_NOT_PRESENT:
      return isBlank(value);
    case C.NUMBER_EQ:
    case C.NUMBER_NEQ:
    case C.NUMBER_LT:
    case C.NUMBER_LTE:
    case C.NUMBER_GT:
    case C.NUMBER_GTE:
      return compareNumber(constraint, value);
    case C.NUMBER_IS_ONE_OF:
    case C.NUMBER_IS_NOT_ONE_OF: {
      if (value === "") return false;
      const number = parseGoFloat(value);
      if (number === undefined) return "invalid";
      return numberSet(constraint).has(number) === (constraint.code === C.NUMBER_IS_ONE_OF);
    }
    // An empty constraint value is not prepared at load; Flipt then fails to parse it here.
    case C.NUMBER_UNPREPARED:
    case C.DATETIME_UNPREPARED:
      return value === "" ? false : "invalid";
    case C.NUMBER_OTHER:
      return value === "" ? false : parseGoFloat(value) === undefined ? "invalid" : false;

    case C.BOOLEAN_TRUE:
    case C.BOOLEAN_FALSE: {
      if (value === "") return false;
      const bool = parseGoBool(value);
      if (bool === undefined) return "invalid";
      return bool === (constraint.code === C.BOOLEAN_TRUE);
    }
    case C.BOOLEAN_OTHER:
      return value === "" ? false : parseGoBool(value) === undefined ? "invalid" : false;

    case C.DATETIME_COMPARE: {
      if (value === "") return false;
      const instant = parseGoTime(value);
      if (instant === undefined) return "invalid";
      return compare(constraint.operator, instant, (constraint.prepared as DatetimeValue).nanos);
    }
    case C.DATETIME_OTHER:
      return value === "" ? false : parseGoTime(value) === undefined ? "invalid" : false;

    default:
      return "unknown-type";
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

function stringSet(constraint: EvalConstraint): ReadonlySet<string> {
  return (constraint.prepared as Extract<PreparedValue, { kind: "string-set" }>).values;
}

function numberSet(constraint: EvalConstraint): ReadonlySet<number> {
  return (constraint.prepared as Extract<PreparedValue, { kind: "number-set" }>).values;
}

/** `eq`..`gte` of a NUMBER constraint whose value was prepared, with IEEE semantics (NaN is only ever `neq`). */
function compareNumber(constraint: EvalConstraint, value: string): ConstraintOutcome {
  if (value === "") return false;
  const number = parseGoFloat(value);
  if (number === undefined) return "invalid";
  const expected = (constraint.prepared as Extract<PreparedValue, { kind: "number" }>).value;
  switch (constraint.code) {
    case C.NUMBER_EQ:
      return number === expected;
    case C.NUMBER_NEQ:
      return number !== expected;
    case C.NUMBER_LT:
      return number < expected;
    case C.NUMBER_LTE:
      return number <= expected;
    case C.NUMBER_GT:
      return number > expected;
    default:
      return number >= expected;
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
