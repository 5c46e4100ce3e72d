import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evalConstraint, evalFlag, evalSegment, segmentSet } from "../../test/helpers/eval-model.js";
import type { EvalFlag, EvalRollout, EvalSegment } from "../domain/evaluation-model.js";
import { booleanBucket } from "./bucketing.js";
import { evaluateBoolean } from "./evaluate-boolean.js";

const always: EvalSegment = { key: "always", matchAll: true, constraints: [] };
const broken = evalSegment("broken", true, evalConstraint("UNKNOWN_COMPARISON_TYPE", "p", "eq", "x"));

function flag(rollouts: EvalRollout[], enabled = false): EvalFlag {
  return evalFlag({ key: "test-flag", type: "BOOLEAN_FLAG_TYPE", enabled, rules: [], rollouts });
}

const input = { flagKey: "test-flag", entityId: "test-entity", context: {} };

describe("evaluateBoolean", () => {
  it("compares crc32(entityId + flagKey) % 100 with the float32 percentage, strictly", () => {
    assert.equal(booleanBucket("test-entity", "test-flag"), 65);
    const at = (percentage: number) => {
      const result = evaluateBoolean(flag([{ rank: 1, kind: "threshold", percentage, value: true }]), input);
      assert.ok(result.ok);
      return result.value.enabled;
    };
    assert.equal(at(65), false);
    assert.equal(at(65.00001), true);
    assert.equal(at(65.000001), false, "65.000001 is 65 as a float32");
    assert.equal(at(Number.NaN), false);
    assert.equal(at(-1), false);
  });

  it("answers 100 % and above for every entity and 0 % and below (or NaN) for none, as the bucket would", () => {
    const entities = Array.from({ length: 300 }, (_, index) => `entity-${index}`);
    for (const percentage of [
      100,
      100.5,
      1e9,
      Number.POSITIVE_INFINITY,
      0,
      -0,
      -1,
      Number.NaN,
      99.99,
      0.5,
      1,
    ]) {
      const thresholds = flag([{ rank: 1, kind: "threshold", percentage, value: true }]);
      for (const entityId of entities) {
        const result = evaluateBoolean(thresholds, { ...input, entityId });
        assert.ok(result.ok);
        const expected = booleanBucket(entityId, "test-flag") < Math.fround(percentage);
        assert.equal(result.value.enabled, expected, `${percentage} % for ${entityId}`);
        assert.equal(result.value.reason, expected ? "MATCH_EVALUATION_REASON" : "DEFAULT_EVALUATION_REASON");
      }
    }
  });

  it("skips rollouts that are neither threshold nor segment", () => {
    const result = evaluateBoolean(
      flag(
        [
          { rank: 1, kind: "none" },
          { rank: 2, kind: "threshold", percentage: 100, value: false },
        ],
        true,
      ),
      input,
    );
    assert.deepEqual(result, {
      ok: true,
      value: {
        kind: "boolean",
        flagKey: "test-flag",
        enabled: false,
        reason: "MATCH_EVALUATION_REASON",
        segmentKeys: [],
      },
    });
  });

  it("answers the segment rollout's value with the matched keys", () => {
    const result = evaluateBoolean(
      flag(
        [
          {
            rank: 1,
            kind: "segment",
            value: false,
            segments: segmentSet("OR_SEGMENT_OPERATOR", [always]),
          },
        ],
        true,
      ),
      input,
    );
    assert.deepEqual(result, {
      ok: true,
      value: {
        kind: "boolean",
        flagKey: "test-flag",
        enabled: false,
        reason: "MATCH_EVALUATION_REASON",
        segmentKeys: ["always"],
      },
    });
  });

  it("stops at the first match, before an unknown constraint type in a later rollout", () => {
    const result = evaluateBoolean(
      flag([
        { rank: 1, kind: "threshold", percentage: 100, value: true },
        {
          rank: 2,
          kind: "segment",
          value: true,
          segments: segmentSet("OR_SEGMENT_OPERATOR", [broken]),
        },
      ]),
      input,
    );
    assert.ok(result.ok);
    assert.equal(result.value.enabled, true);
  });

  it("fails on an unknown constraint type it reaches, even for a disabled flag", () => {
    const result = evaluateBoolean(
      flag([
        {
          rank: 1,
          kind: "segment",
          value: true,
          segments: segmentSet("OR_SEGMENT_OPERATOR", [broken]),
        },
      ]),
      input,
    );
    assert.deepEqual(result, {
      ok: false,
      error: { code: "UNKNOWN_CONSTRAINT_TYPE", message: "unknown constraint type" },
    });
  });

  it("falls through to the flag's enabled value with DEFAULT", () => {
    for (const enabled of [true, false]) {
      const result = evaluateBoolean(
        flag([{ rank: 1, kind: "threshold", percentage: 0, value: !enabled }], enabled),
        input,
      );
      assert.deepEqual(result, {
        ok: true,
        value: {
          kind: "boolean",
          flagKey: "test-flag",
          enabled,
          reason: "DEFAULT_EVALUATION_REASON",
          segmentKeys: [],
        },
      });
    }
  });
});
