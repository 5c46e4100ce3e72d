import type { EvalConstraint, PreparedValue } from "../domain/evaluation-model.js";
import { CONSTRAINT_OPERATORS, type Constraint } from "../domain/flag-state.js";
import { parseGoFloat } from "../go/parse-go-float.js";
import { parseGoTime } from "../go/parse-go-time.js";
import { constraintCode } from "./constraint-code.js";
import { parseNumberSet } from "./parse-number-set.js";
import { parseStringSet } from "./parse-string-set.js";

/** A constraint ready for evaluation, or why its value cannot be prepared (the segment is then dropped). */
export type PreparedConstraint =
  | { readonly ok: true; readonly constraint: EvalConstraint }
  | { readonly ok: false; readonly reason: string };

const NONE: PreparedValue = { kind: "none" };

/**
 * The names the engine compares on every evaluation, as the domain's own string constants: a name read from a
 * file is a slice of the file's text, and V8 compares two internalized strings by identity but others by content.
 */
const canonical = <T extends string>(names: readonly T[]): ReadonlyMap<string, T> =>
  new Map(names.map((name) => [name, name]));
const COMPARISON_TYPES = canonical([
  "UNKNOWN_COMPARISON_TYPE",
  ...(Object.keys(CONSTRAINT_OPERATORS) as (keyof typeof CONSTRAINT_OPERATORS)[]),
]);
const OPERATORS = canonical(Object.values(CONSTRAINT_OPERATORS).flat());

/** Operators whose NUMBER or DATETIME constraint value is parsed at load time when it is non-empty. */
const COMPARISONS: ReadonlySet<string> = new Set(["eq", "neq", "lt", "lte", "gt", "gte"]);

/**
 * Parses a constraint's value once, as Flipt does when it builds a snapshot: `isoneof`/`isnotoneof` lists of
 * STRING, ENTITY_ID and NUMBER constraints into sets, non-empty NUMBER comparison values with Go's
 * `ParseFloat`, non-empty DATETIME comparison values as RFC 3339 or date-only instants. Everything else is
 * left unprepared and judged at evaluation time.
 */
export function prepareConstraint(constraint: Constraint): PreparedConstraint {
  const prepared = prepareValue(constraint);
  if (typeof prepared === "string") {
    return { ok: false, reason: prepared };
  }
  const operator = OPERATORS.get(constraint.operator) ?? constraint.operator;
  return {
    ok: true,
    constraint: {
      type: COMPARISON_TYPES.get(constraint.type) ?? constraint.type,
      property: constraint.property,
      operator,
      value: constraint.value,
      prepared,
      code: constraintCode(constraint.type, operator, prepared),
    },
  };
}

/** The prepared value, or the reason it cannot be prepared. */
function prepareValue({ type, operator, value }: Constraint): PreparedValue | string {
  const list = operator === "isoneof" || operator === "isnotoneof";
  switch (type) {
    case "STRING_COMPARISON_TYPE":
    case "ENTITY_ID_COMPARISON_TYPE": {
      if (!list) {
        return NONE;
      }
      const values = parseStringSet(value);
      return values === undefined
        ? `${operator} value is not a JSON array of strings`
        : { kind: "string-set", values };
    }
    case "NUMBER_COMPARISON_TYPE": {
      if (list) {
        const values = parseNumberSet(value);
        return values === undefined
          ? `${operator} value is not a JSON array of numbers`
          : { kind: "number-set", values };
      }
      if (!COMPARISONS.has(operator) || value === "") {
        return NONE;
      }
      const number = parseGoFloat(value);
      return number === undefined
        ? `value ${JSON.stringify(value)} is not a number`
        : { kind: "number", value: number };
    }
    case "DATETIME_COMPARISON_TYPE": {
      if (!COMPARISONS.has(operator) || value === "") {
        return NONE;
      }
      const nanos = parseGoTime(value);
      return nanos === undefined
        ? `value ${JSON.stringify(value)} is not an RFC 3339 datetime or a YYYY-MM-DD date`
        : { kind: "datetime", nanos };
    }
    default:
      return NONE;
  }
}
