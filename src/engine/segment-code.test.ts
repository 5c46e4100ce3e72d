import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evalConstraint, evalSegment } from "../../test/helpers/eval-model.js";
import type { EvalConstraint, EvalSegment } from "../domain/evaluation-model.js";
import { CONSTRAINT_OPERATORS, type ComparisonType } from "../domain/flag-state.js";
import { Outcome } from "./match-constraint.js";
import { matchSegment, UNKNOWN_TYPE } from "./match-segments.js";
import { compileSegment, MAX_SEGMENT_SOURCES } from "./segment-code.js";

/** A constraint value per type, with the values that are not prepared (empty, unparsable lists are dropped). */
const CONSTRAINT_VALUES: Readonly<Record<ComparisonType, readonly string[]>> = {
  STRING_COMPARISON_TYPE: ["pro", "", " pro", '["pro","team"]', '["a","b","c","team","pro"]', "[]", "é"],
  ENTITY_ID_COMPARISON_TYPE: ["user-1", "", '["user-1","user-2"]', "7"],
  NUMBER_COMPARISON_TYPE: ["18", "", "-0", "1e3", "0x10p0", "NaN", "inf", "[18, 21.5]"],
  BOOLEAN_COMPARISON_TYPE: ["", "true"],
  DATETIME_COMPARISON_TYPE: ["2026-01-01T00:00:00Z", "", "2026-01-01"],
  SEMVER_COMPARISON_TYPE: ["1.0.0"],
  UNKNOWN_COMPARISON_TYPE: ["x"],
};

/** Values compared against them: what each type parses, what it does not, blanks and Go's edge cases. */
const VALUES = [
  "",
  " ",
  "pro",
  " pro ",
  "pro-x",
  "team",
  "xpro",
  "é",
  "user-1",
  "user-17",
  "18",
  "17.999",
  "21.5",
  "-0",
  "0",
  "1_000",
  "1e3",
  "0x10p0",
  "NaN",
  "Inf",
  "+inf",
  "abc",
  "true",
  "FALSE",
  "1",
  "t",
  "2026-01-01T00:00:00Z",
  "2025-12-31",
  "2026-01-01T00:00:00.000000001+01:00",
] as const;

/** Every preparable constraint of every type and operator, on the property `p` (or the entity id). */
function allConstraints(): EvalConstraint[] {
  const constraints: EvalConstraint[] = [];
  const types = Object.keys(CONSTRAINT_VALUES) as ComparisonType[];
  for (const type of types) {
    const operators =
      type === "UNKNOWN_COMPARISON_TYPE"
        ? ["eq"]
        : [
            ...(CONSTRAINT_OPERATORS[type as Exclude<ComparisonType, "UNKNOWN_COMPARISON_TYPE">] ?? []),
            "bogus",
          ];
    for (const operator of operators) {
      for (const value of CONSTRAINT_VALUES[type]) {
        try {
          constraints.push(evalConstraint(type, "p", operator, value));
        } catch {
          // A value this operator cannot prepare: such a segment is dropped at load, never evaluated.
        }
      }
    }
  }
  return constraints;
}

/** The compiled segment's answer in `matchSegment`'s form. */
function compiledAnswer(segment: EvalSegment, context: Record<string, string>, entityId: string) {
  const test = compileSegment(segment);
  assert.ok(test !== undefined, "compiles");
  const outcome = test(context, entityId);
  return outcome === Outcome.UNKNOWN_TYPE ? UNKNOWN_TYPE : outcome === Outcome.MATCH;
}

/** The interpreter's answer: a segment without a memo is never compiled. */
function interpretedAnswer(segment: EvalSegment, context: Record<string, string>, entityId: string) {
  return matchSegment(segment, { flagKey: "f", entityId, context });
}

describe("compileSegment", () => {
  const constraints = allConstraints();

  it("answers as the interpreter for every type, operator and value, alone, under ALL and ANY", () => {
    assert.ok(constraints.length > 100, `${constraints.length} constraints`);
    let compared = 0;
    for (const constraint of constraints) {
      for (const matchAll of [true, false]) {
        const segment = evalSegment("s", matchAll, constraint);
        for (const value of VALUES) {
          const context = { p: value };
          const label = `${constraint.type} ${constraint.operator} ${JSON.stringify(constraint.value)} vs ${JSON.stringify(value)}`;
          assert.equal(
            compiledAnswer(segment, context, value),
            interpretedAnswer(segment, context, value),
            label,
          );
          compared++;
        }
      }
    }
    assert.ok(compared > 5000, `${compared} comparisons`);
  });

  it("answers as the interpreter for pairs of constraints, in order (short circuits and unknown types)", () => {
    // Every pair of a sample of constraints, each on its own property, both orders, ALL and ANY.
    const sample = constraints.filter((_, index) => index % 7 === 0);
    const contexts = [
      {},
      { a: "pro", b: "18" },
      { a: "18", b: "true" },
      { a: "", b: "team" },
      { b: "user-1" },
    ];
    for (const first of sample) {
      for (const second of sample) {
        for (const matchAll of [true, false]) {
          const segment = evalSegment(
            "s",
            matchAll,
            { ...first, property: "a" },
            { ...second, property: "b" },
          );
          for (const context of contexts) {
            assert.equal(
              compiledAnswer(segment, context, "user-1"),
              interpretedAnswer(segment, context, "user-1"),
              `${matchAll ? "ALL" : "ANY"} ${first.type} ${first.operator}, ${second.type} ${second.operator} in ${JSON.stringify(context)}`,
            );
          }
        }
      }
    }
  });

  it("answers a segment without constraints as the interpreter: ALL and ANY both match", () => {
    for (const matchAll of [true, false]) {
      assert.equal(compiledAnswer(evalSegment("s", matchAll), {}, "e"), true);
    }
  });

  it("reads only own properties of the context, as a Go map: inherited values read as missing", () => {
    const segment = evalSegment("s", true, evalConstraint("STRING_COMPARISON_TYPE", "plan", "eq", "pro"));
    const empty = evalSegment("s", true, evalConstraint("STRING_COMPARISON_TYPE", "plan", "empty"));
    const inherited = Object.create({ plan: "pro" }) as Record<string, string>;
    const bare = Object.assign(Object.create(null), { plan: "pro" }) as Record<string, string>;
    assert.equal(compiledAnswer(segment, inherited, "e"), false);
    assert.equal(compiledAnswer(empty, inherited, "e"), true);
    assert.equal(compiledAnswer(segment, bare, "e"), true);
    // A string put on Object.prototype (prototype pollution) is inherited too.
    const prototype = Object.prototype as unknown as Record<string, unknown>;
    prototype.plan = "pro";
    try {
      assert.equal(compiledAnswer(segment, {}, "e"), false);
      assert.equal(compiledAnswer(segment, { plan: "pro" }, "e"), true);
      assert.equal(interpretedAnswer(segment, {}, "e"), false);
    } finally {
      delete prototype.plan;
    }
    // Methods of Object.prototype are not strings: missing.
    for (const property of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      const named = evalSegment("s", true, evalConstraint("STRING_COMPARISON_TYPE", property, "empty"));
      assert.equal(compiledAnswer(named, {}, "e"), true, property);
    }
  });

  it("takes any property name as data: quotes, backslashes, line separators, code", () => {
    const names = [
      'a"b',
      "a\\",
      "a\u2028b",
      "'); throw new Error('x'); ('",
      "\u0024{x}",
      "__proto__",
      "",
      "\n",
    ];
    for (const name of names) {
      const segment = evalSegment("s", true, evalConstraint("STRING_COMPARISON_TYPE", name, "eq", "yes"));
      const context = JSON.parse(`{${JSON.stringify(name)}: "yes"}`) as Record<string, string>;
      assert.equal(compiledAnswer(segment, context, "e"), interpretedAnswer(segment, context, "e"), name);
      assert.equal(compiledAnswer(segment, {}, "e"), false, name);
    }
  });

  it("shares one source among segments that differ only in their values, and stops at MAX_SEGMENT_SOURCES", () => {
    // Run last in this file: it fills the process's sources.
    const sameShape = (value: string) =>
      compileSegment(evalSegment("s", true, evalConstraint("STRING_COMPARISON_TYPE", "shared", "eq", value)));
    const first = sameShape("one");
    const second = sameShape("two");
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.toString(), second.toString());
    assert.equal(first({ shared: "one" }, "e"), Outcome.MATCH);
    assert.equal(second({ shared: "one" }, "e"), Outcome.NO_MATCH);

    const byProperty = (property: string) =>
      compileSegment(evalSegment("s", true, evalConstraint("STRING_COMPARISON_TYPE", property, "eq", "x")));
    let index = 0;
    while (byProperty(`property-${index}`) !== undefined) {
      index++;
      assert.ok(index <= MAX_SEGMENT_SOURCES, "compiles no more than MAX_SEGMENT_SOURCES sources");
    }
    // Sources compiled before the limit are still served.
    assert.ok(sameShape("three") !== undefined);
  });
});
