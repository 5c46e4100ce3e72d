import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EvalConstraint } from "../domain/evaluation-model.js";
import { CONSTRAINT_OPERATORS, type ComparisonType } from "../domain/flag-state.js";
import { goTrimSpace } from "../go/go-trim-space.js";
import { parseGoBool } from "../go/parse-go-bool.js";
import { parseGoFloat } from "../go/parse-go-float.js";
import { parseGoTime } from "../go/parse-go-time.js";
import { type ConstraintOutcome, matchConstraint } from "./match-constraint.js";
import { prepareConstraint } from "./prepare-constraint.js";

/**
 * §6 of the spec read literally, per type and then per operator, as the engine did before constraints had codes:
 * the reference that `matchConstraint` (one switch over `ConstraintCode`) must agree with everywhere.
 */
function reference(
  { type, operator, value: expected, prepared }: EvalConstraint,
  value: string,
): ConstraintOutcome {
  const presence = (): boolean | undefined =>
    operator === "present"
      ? goTrimSpace(value) !== ""
      : operator === "notpresent"
        ? goTrimSpace(value) === ""
        : undefined;
  const comparisons = ["eq", "neq", "lt", "lte", "gt", "gte"];
  const compare = <T extends number | bigint>(actual: T, wanted: T): boolean => {
    switch (operator) {
      case "eq":
        return actual === wanted;
      case "neq":
        return actual !== wanted;
      case "lt":
        return actual < wanted;
      case "lte":
        return actual <= wanted;
      case "gt":
        return actual > wanted;
      default:
        return actual >= wanted;
    }
  };
  switch (type) {
    case "STRING_COMPARISON_TYPE":
    case "ENTITY_ID_COMPARISON_TYPE": {
      if (operator === "empty") return goTrimSpace(value) === "";
      if (operator === "notempty") return goTrimSpace(value) !== "";
      if (value === "") return false;
      switch (operator) {
        case "eq":
          return value === expected;
        case "neq":
          return value !== expected;
        case "prefix":
          return goTrimSpace(value).startsWith(expected);
        case "suffix":
          return goTrimSpace(value).endsWith(expected);
        case "contains":
          return value.includes(expected);
        case "notcontains":
          return !value.includes(expected);
        case "isoneof":
          return prepared.kind === "string-set" && prepared.values.has(value);
        case "isnotoneof":
          return prepared.kind === "string-set" && !prepared.values.has(value);
        default:
          return false;
      }
    }
    case "NUMBER_COMPARISON_TYPE": {
      const present = presence();
      if (present !== undefined) return present;
      if (value === "") return false;
      const number = parseGoFloat(value);
      if (number === undefined) return "invalid";
      if (operator === "isoneof" || operator === "isnotoneof") {
        if (prepared.kind !== "number-set") return "invalid";
        return prepared.values.has(number) === (operator === "isoneof");
      }
      if (!comparisons.includes(operator)) return false;
      return prepared.kind === "number" ? compare(number, prepared.value) : "invalid";
    }
    case "BOOLEAN_COMPARISON_TYPE": {
      const present = presence();
      if (present !== undefined) return present;
      if (value === "") return false;
      const bool = parseGoBool(value);
      if (bool === undefined) return "invalid";
      return operator === "true" ? bool : operator === "false" ? !bool : false;
    }
    case "DATETIME_COMPARISON_TYPE": {
      const present = presence();
      if (present !== undefined) return present;
      if (value === "") return false;
      const instant = parseGoTime(value);
      if (instant === undefined) return "invalid";
      if (!comparisons.includes(operator)) return false;
      return prepared.kind === "datetime" ? compare(instant, prepared.nanos) : "invalid";
    }
    default:
      return "unknown-type";
  }
}

const TYPES: readonly ComparisonType[] = [
  ...(Object.keys(CONSTRAINT_OPERATORS) as ComparisonType[]),
  "UNKNOWN_COMPARISON_TYPE",
  // A name no file should hold: whatever the type, an unsupported one is an evaluation error.
  "BOGUS_COMPARISON_TYPE" as ComparisonType,
];
const OPERATORS = [...new Set(Object.values(CONSTRAINT_OPERATORS).flat()), "foo", "", "EQ", "Prefix"];
const CONSTRAINT_VALUES = [
  "",
  "bar",
  " ba",
  "a",
  "5",
  "42.0",
  "-0",
  "1e3",
  "abc",
  "true",
  '["a", "b", ""]',
  "[1, 2.5, 42]",
  "[]",
  "null",
  "2006-01-02T15:04:05Z",
  "2006-01-02",
];
const CONTEXT_VALUES = [
  "",
  " ",
  "\t\u3000",
  "a",
  "b",
  "bar",
  " bar ",
  "foobar",
  "5",
  "42",
  "42.0",
  "0",
  "1_000",
  "1e3",
  "NaN",
  "-Inf",
  "2.5",
  "abc",
  "true",
  "T",
  "F",
  "yes",
  "2006-01-02T15:04:05Z",
  "2006-01-02T22:04:05+07:00",
  "2005-12-31",
  "2007-01-02",
];

describe("ConstraintCode", () => {
  it("matchConstraint agrees with §6 read per type and operator, for every type, operator and value", () => {
    let compared = 0;
    for (const type of TYPES) {
      for (const operator of OPERATORS) {
        for (const value of CONSTRAINT_VALUES) {
          const prepared = prepareConstraint({ type, property: "p", operator, value });
          // A value that does not prepare drops the segment: it is never evaluated.
          if (!prepared.ok) continue;
          for (const contextValue of CONTEXT_VALUES) {
            assert.equal(
              matchConstraint(prepared.constraint, contextValue),
              reference(prepared.constraint, contextValue),
              `${type} ${JSON.stringify(operator)} ${JSON.stringify(value)} vs ${JSON.stringify(contextValue)}`,
            );
            compared++;
          }
        }
      }
    }
    assert.ok(compared > 20_000, `${compared} comparisons`);
  });
});
