import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evalConstraint, evalFlag, evalSegment, segmentSet } from "../../test/helpers/eval-model.js";
import type { EvalDistribution, EvalFlag, EvalRule, EvalSegment } from "../domain/evaluation-model.js";
import { bucketBounds, variantBucket } from "./bucketing.js";
import { evaluateVariant } from "./evaluate-variant.js";

const always: EvalSegment = { key: "always", matchAll: true, constraints: [] };
const never = evalSegment("never", true, evalConstraint("STRING_COMPARISON_TYPE", "missing", "eq", "x"));
const broken = evalSegment("broken", true, evalConstraint("UNKNOWN_COMPARISON_TYPE", "p", "eq", "x"));

function rule(
  rank: number,
  segments: EvalSegment[],
  distributions: EvalDistribution[] = [],
  and = false,
): EvalRule {
  const valid = distributions.filter((d) => d.rollout > 0);
  return {
    rank,
    segments: segmentSet(and ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR", segments),
    distributions,
    validDistributions: valid,
    bucketBounds: bucketBounds(valid.map((d) => d.rollout)),
  };
}

function flag(rules: EvalRule[], extra: Partial<EvalFlag> = {}): EvalFlag {
  return evalFlag({ key: "foo", type: "VARIANT_FLAG_TYPE", enabled: true, rules, rollouts: [], ...extra });
}

const input = { flagKey: "foo", entityId: "1", context: {} };

describe("evaluateVariant", () => {
  it("returns the chosen distribution's variant and attachment", () => {
    const result = evaluateVariant(
      flag([rule(1, [always], [{ variantKey: "a", rollout: 100, attachment: '{"x":1}' }])]),
      input,
    );
    assert.deepEqual(result, {
      ok: true,
      value: {
        kind: "variant",
        flagKey: "foo",
        match: true,
        reason: "MATCH_EVALUATION_REASON",
        variantKey: "a",
        variantAttachment: '{"x":1}',
        segmentKeys: ["always"],
      },
    });
  });

  it("serves a rule's only valid distribution to every entity, as its bucket bounds would", () => {
    const only = flag([
      rule(
        1,
        [always],
        [
          { variantKey: "none", rollout: 0, attachment: "null" },
          { variantKey: "a", rollout: 3, attachment: "null" },
        ],
      ),
    ]);
    for (let index = 0; index < 300; index++) {
      const entityId = `entity-${index}`;
      assert.ok(variantBucket("foo", entityId) < 1000);
      const result = evaluateVariant(only, { ...input, entityId });
      assert.ok(result.ok);
      assert.equal(result.value.variantKey, "a");
      assert.equal(result.value.reason, "MATCH_EVALUATION_REASON");
    }
  });

  it("lists matched segment keys in the rule's order", () => {
    const z: EvalSegment = { ...always, key: "z" };
    const a: EvalSegment = { ...always, key: "a" };
    const result = evaluateVariant(flag([rule(1, [z, never, a])]), input);
    assert.ok(result.ok);
    assert.deepEqual(result.value.segmentKeys, ["z", "a"]);
  });

  it("stops at the first matching rule", () => {
    const result = evaluateVariant(
      flag([
        rule(1, [never], [{ variantKey: "a", rollout: 100, attachment: "null" }]),
        rule(2, [always], [{ variantKey: "b", rollout: 100, attachment: "null" }]),
        rule(3, [broken]),
      ]),
      input,
    );
    assert.ok(result.ok);
    assert.equal(result.value.variantKey, "b");
  });

  it("fails with unknown constraint type when a reached rule has one", () => {
    const result = evaluateVariant(flag([rule(1, [always, broken])]), input);
    assert.deepEqual(result, {
      ok: false,
      error: { code: "UNKNOWN_CONSTRAINT_TYPE", message: "unknown constraint type" },
    });
  });

  it("does not look at rules of a disabled flag", () => {
    const result = evaluateVariant(flag([rule(1, [broken])], { enabled: false }), input);
    assert.ok(result.ok);
    assert.equal(result.value.reason, "FLAG_DISABLED_EVALUATION_REASON");
  });

  it("keeps the default variant when the matched rule serves none", () => {
    const defaults = { defaultVariant: { key: "d", attachment: "[1]" } };
    const result = evaluateVariant(
      flag([rule(1, [always], [{ variantKey: "a", rollout: 0, attachment: "null" }])], defaults),
      input,
    );
    assert.deepEqual(result, {
      ok: true,
      value: {
        kind: "variant",
        flagKey: "foo",
        match: true,
        reason: "MATCH_EVALUATION_REASON",
        variantKey: "d",
        variantAttachment: "[1]",
        segmentKeys: ["always"],
      },
    });
  });

  it("hashes the request's flag key with the entity id", () => {
    const distributions = [
      { variantKey: "a", rollout: 50, attachment: "null" },
      { variantKey: "b", rollout: 50, attachment: "null" },
    ];
    for (const entityId of ["1", "2", "user-840", "user-109", "ü", ""]) {
      const result = evaluateVariant(flag([rule(1, [always], distributions)]), { ...input, entityId });
      assert.ok(result.ok);
      assert.equal(result.value.variantKey, variantBucket("foo", entityId) < 500 ? "a" : "b", entityId);
    }
  });

  it("answers without a rule match: DEFAULT with the default variant, else UNKNOWN", () => {
    const none = evaluateVariant(flag([rule(1, [never])]), input);
    assert.deepEqual(none, {
      ok: true,
      value: {
        kind: "variant",
        flagKey: "foo",
        match: false,
        reason: "UNKNOWN_EVALUATION_REASON",
        variantKey: "",
        variantAttachment: "",
        segmentKeys: [],
      },
    });
    const withDefault = evaluateVariant(
      flag([rule(1, [never])], { defaultVariant: { key: "d", attachment: "null" } }),
      input,
    );
    assert.ok(withDefault.ok);
    assert.deepEqual(
      [withDefault.value.reason, withDefault.value.variantKey, withDefault.value.variantAttachment],
      ["DEFAULT_EVALUATION_REASON", "d", "null"],
    );
  });
});
