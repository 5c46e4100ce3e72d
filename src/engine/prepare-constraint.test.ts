import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ComparisonType } from "../domain/flag-state.js";
import { ConstraintCode } from "./constraint-code.js";
import { prepareConstraint } from "./prepare-constraint.js";

function prepare(type: ComparisonType, operator: string, value: string) {
  return prepareConstraint({ type, property: "p", operator, value, description: "ignored" });
}

describe("prepareConstraint", () => {
  it("keeps type, property, operator and raw value", () => {
    const result = prepare("STRING_COMPARISON_TYPE", "eq", "bar");
    assert.deepEqual(result, {
      ok: true,
      constraint: {
        type: "STRING_COMPARISON_TYPE",
        property: "p",
        operator: "eq",
        value: "bar",
        prepared: { kind: "none" },
        code: ConstraintCode.STRING_EQ,
      },
    });
  });

  it("parses string lists for STRING and ENTITY_ID", () => {
    for (const type of ["STRING_COMPARISON_TYPE", "ENTITY_ID_COMPARISON_TYPE"] as const) {
      for (const operator of ["isoneof", "isnotoneof"]) {
        const result = prepare(type, operator, '["a","b"]');
        assert.ok(result.ok);
        assert.deepEqual(result.constraint.prepared, { kind: "string-set", values: new Set(["a", "b"]) });
      }
      assert.equal(prepare(type, "isoneof", "not-json").ok, false);
      assert.equal(prepare(type, "isnotoneof", "[1]").ok, false);
    }
  });

  it("parses number lists and non-empty comparison values for NUMBER", () => {
    const list = prepare("NUMBER_COMPARISON_TYPE", "isoneof", "[18, 21]");
    assert.ok(list.ok);
    assert.deepEqual(list.constraint.prepared, { kind: "number-set", values: new Set([18, 21]) });
    for (const operator of ["eq", "neq", "lt", "lte", "gt", "gte"]) {
      const result = prepare("NUMBER_COMPARISON_TYPE", operator, "1_000");
      assert.ok(result.ok);
      assert.deepEqual(result.constraint.prepared, { kind: "number", value: 1000 });
      assert.equal(prepare("NUMBER_COMPARISON_TYPE", operator, "abc").ok, false);
      assert.equal(prepare("NUMBER_COMPARISON_TYPE", operator, "1e400").ok, false);
    }
    assert.equal(prepare("NUMBER_COMPARISON_TYPE", "isoneof", '["18"]').ok, false);
  });

  it("leaves empty values and other operators unprepared (T45, T40)", () => {
    for (const [type, operator, value] of [
      ["NUMBER_COMPARISON_TYPE", "eq", ""],
      ["NUMBER_COMPARISON_TYPE", "foo", "abc"],
      ["NUMBER_COMPARISON_TYPE", "present", "abc"],
      ["DATETIME_COMPARISON_TYPE", "eq", ""],
      ["DATETIME_COMPARISON_TYPE", "foo", "bar"],
      ["DATETIME_COMPARISON_TYPE", "isoneof", "bar"],
      ["BOOLEAN_COMPARISON_TYPE", "isoneof", "not-json"],
      ["STRING_COMPARISON_TYPE", "eq", "not-json"],
      ["UNKNOWN_COMPARISON_TYPE", "isoneof", "not-json"],
      ["SEMVER_COMPARISON_TYPE", "eq", "x"],
    ] as const) {
      const result = prepare(type, operator, value);
      assert.ok(result.ok, `${type} ${operator} ${value}`);
      assert.deepEqual(result.constraint.prepared, { kind: "none" });
    }
  });

  it("parses non-empty DATETIME comparison values to nanoseconds", () => {
    const result = prepare("DATETIME_COMPARISON_TYPE", "gte", "1970-01-01T00:00:01.5Z");
    assert.ok(result.ok);
    assert.deepEqual(result.constraint.prepared, { kind: "datetime", nanos: 1_500_000_000n });
    assert.equal(prepare("DATETIME_COMPARISON_TYPE", "eq", "bar").ok, false);
    assert.equal(prepare("DATETIME_COMPARISON_TYPE", "lt", "2024-01-01 00:00:00 +0000 UTC").ok, false);
    assert.equal(prepare("DATETIME_COMPARISON_TYPE", "gt", "2006-02-30").ok, false);
  });

  it("explains failures", () => {
    const result = prepare("NUMBER_COMPARISON_TYPE", "eq", "abc");
    assert.deepEqual(result, { ok: false, reason: 'value "abc" is not a number' });
  });
});
