import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { EvalConstraint } from "../domain/evaluation-model.js";
import type { ComparisonType } from "../domain/flag-state.js";
import { constraintOutcome, matchConstraint, Outcome, outcomeOf } from "./match-constraint.js";
import { prepareConstraint } from "./prepare-constraint.js";

interface ConstraintVector {
  readonly id: string;
  readonly type: "STRING" | "NUMBER" | "BOOLEAN" | "DATETIME" | "ENTITY_ID";
  readonly operator: string;
  readonly value: string;
  readonly context_value: string | null;
  readonly entity_id: string;
  readonly match: boolean;
  readonly segment_dropped_at_load: boolean;
  readonly eval_error: boolean;
}

const vectors: readonly ConstraintVector[] = JSON.parse(
  readFileSync(new URL("../../test/fixtures/engine/evaluation.json", import.meta.url), "utf8"),
).constraint_vectors;

function prepared(type: ComparisonType, operator: string, value: string): EvalConstraint {
  const result = prepareConstraint({ type, property: "p", operator, value });
  assert.ok(result.ok, `${type} ${operator} ${value} should prepare`);
  return result.constraint;
}

describe("matchConstraint: §11.4 constraint vectors", () => {
  it("covers all 152 rows", () => {
    assert.equal(vectors.length, 152);
  });

  for (const vector of vectors) {
    const compared = vector.type === "ENTITY_ID" ? vector.entity_id : (vector.context_value ?? "");
    const label = `${vector.id} ${vector.type} ${vector.operator} ${JSON.stringify(vector.value)} vs ${JSON.stringify(compared)}`;
    it(label, () => {
      const result = prepareConstraint({
        type: `${vector.type}_COMPARISON_TYPE`,
        property: "p",
        operator: vector.operator,
        value: vector.value,
      });
      if (vector.segment_dropped_at_load) {
        assert.equal(result.ok, false, "the constraint value must fail preparation");
        return;
      }
      assert.ok(result.ok, "the constraint value must prepare");
      const outcome = matchConstraint(result.constraint, compared);
      const expected = vector.eval_error ? "invalid" : vector.match;
      assert.equal(outcome, expected);
    });
  }
});

describe("constraintOutcome", () => {
  it("is matchConstraint's answer as an Outcome, on every vector", () => {
    const readable = { [Outcome.NO_MATCH]: false, [Outcome.MATCH]: true, [Outcome.INVALID]: "invalid" };
    for (const vector of vectors) {
      if (vector.segment_dropped_at_load) continue;
      const constraint = prepared(`${vector.type}_COMPARISON_TYPE`, vector.operator, vector.value);
      const compared = vector.type === "ENTITY_ID" ? vector.entity_id : (vector.context_value ?? "");
      const outcome = constraintOutcome(constraint, compared);
      assert.equal(
        readable[outcome as keyof typeof readable],
        matchConstraint(constraint, compared),
        vector.id,
      );
      assert.equal(outcomeOf(outcome), matchConstraint(constraint, compared), vector.id);
    }
    const unknown = prepared("UNKNOWN_COMPARISON_TYPE", "eq", "x");
    assert.equal(constraintOutcome(unknown, "x"), Outcome.UNKNOWN_TYPE);
    assert.equal(outcomeOf(Outcome.UNKNOWN_TYPE), "unknown-type");
  });
});

describe("matchConstraint: details", () => {
  it("reports unknown comparison types", () => {
    assert.equal(matchConstraint(prepared("UNKNOWN_COMPARISON_TYPE", "eq", "x"), "x"), "unknown-type");
    assert.equal(matchConstraint(prepared("SEMVER_COMPARISON_TYPE", "eq", "1.0.0"), "1.0.0"), "unknown-type");
  });

  it("trims with Go's white space for empty, prefix and suffix, keeping U+FEFF", () => {
    assert.equal(matchConstraint(prepared("STRING_COMPARISON_TYPE", "empty", ""), "\u3000\u00a0"), true);
    assert.equal(matchConstraint(prepared("STRING_COMPARISON_TYPE", "empty", ""), "\ufeff"), false);
    assert.equal(matchConstraint(prepared("STRING_COMPARISON_TYPE", "suffix", "ar"), "bar\ufeff"), false);
    assert.equal(matchConstraint(prepared("STRING_COMPARISON_TYPE", "prefix", "ba"), "\u2003bar"), true);
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "present", ""), "\u0085"), false);
  });

  it("compares numbers with IEEE semantics", () => {
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "isnotoneof", "[1]"), "NaN"), true);
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "isoneof", "[0]"), "-0"), true);
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "gte", "-inf"), "-Infinity"), true);
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "lt", "0x1p4"), "15.999"), true);
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "eq", "1_000"), "1e3"), true);
  });

  it("compares datetimes at nanosecond precision across offsets", () => {
    const constraint = prepared("DATETIME_COMPARISON_TYPE", "lte", "2006-01-02T15:04:05.000000001Z");
    assert.equal(matchConstraint(constraint, "2006-01-02T16:04:05.000000001+01:00"), true);
    assert.equal(matchConstraint(constraint, "2006-01-02T16:04:05.000000002+01:00"), false);
    assert.equal(
      matchConstraint(
        prepared("DATETIME_COMPARISON_TYPE", "gt", "2006-01-02"),
        "2006-01-02T00:00:00.000000001Z",
      ),
      true,
    );
  });

  it("ignores the value of BOOLEAN constraints and answers false for other operators", () => {
    assert.equal(matchConstraint(prepared("BOOLEAN_COMPARISON_TYPE", "true", "false"), "T"), true);
    assert.equal(matchConstraint(prepared("BOOLEAN_COMPARISON_TYPE", "neq", "true"), "false"), false);
  });

  it("gives operators outside a type's vocabulary a plain non-match", () => {
    assert.equal(matchConstraint(prepared("STRING_COMPARISON_TYPE", "gt", "a"), "b"), false);
    assert.equal(matchConstraint(prepared("NUMBER_COMPARISON_TYPE", "prefix", "1"), "12"), false);
    assert.equal(matchConstraint(prepared("DATETIME_COMPARISON_TYPE", "empty", ""), ""), false);
    assert.equal(matchConstraint(prepared("STRING_COMPARISON_TYPE", "EQ", "a"), "a"), false);
  });
});
