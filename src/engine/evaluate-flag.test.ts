import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evalConstraint, evalFlag, evalSegment, segmentSet } from "../../test/helpers/eval-model.js";
import type { EvalFlag } from "../domain/evaluation-model.js";
import { checkFlagType, evaluateFlag } from "./evaluate-flag.js";

const variantFlag = evalFlag({
  key: "v",
  type: "VARIANT_FLAG_TYPE",
  enabled: false,
  rules: [],
  rollouts: [],
});
const booleanFlag = evalFlag({ key: "b", type: "BOOLEAN_FLAG_TYPE", enabled: true, rules: [], rollouts: [] });
const input = { flagKey: "x", entityId: "1", context: {} };

describe("evaluateFlag", () => {
  it("evaluates by the flag's own type and tags the result", () => {
    assert.deepEqual(evaluateFlag(variantFlag, input), {
      ok: true,
      value: {
        kind: "variant",
        flagKey: "v",
        match: false,
        reason: "FLAG_DISABLED_EVALUATION_REASON",
        variantKey: "",
        variantAttachment: "",
        segmentKeys: [],
      },
    });
    assert.deepEqual(evaluateFlag(booleanFlag, input), {
      ok: true,
      value: {
        kind: "boolean",
        flagKey: "b",
        enabled: true,
        reason: "DEFAULT_EVALUATION_REASON",
        segmentKeys: [],
      },
    });
  });

  it("passes errors through", () => {
    const broken: EvalFlag = {
      ...booleanFlag,
      rollouts: [
        {
          rank: 1,
          kind: "segment",
          value: true,
          segments: segmentSet("AND_SEGMENT_OPERATOR", [
            evalSegment("s", false, evalConstraint("UNKNOWN_COMPARISON_TYPE", "p", "eq")),
          ]),
        },
      ],
    };
    assert.deepEqual(evaluateFlag(broken, input), {
      ok: false,
      error: { code: "UNKNOWN_CONSTRAINT_TYPE", message: "unknown constraint type" },
    });
  });
});

describe("checkFlagType", () => {
  it("accepts the expected type", () => {
    assert.equal(checkFlagType(variantFlag, "VARIANT_FLAG_TYPE"), undefined);
    assert.equal(checkFlagType(booleanFlag, "BOOLEAN_FLAG_TYPE"), undefined);
  });

  it("names the flag's actual type, as Flipt does", () => {
    assert.deepEqual(checkFlagType(booleanFlag, "VARIANT_FLAG_TYPE"), {
      code: "INVALID_FLAG_TYPE",
      message: "flag type BOOLEAN_FLAG_TYPE invalid",
    });
    assert.deepEqual(checkFlagType(variantFlag, "BOOLEAN_FLAG_TYPE"), {
      code: "INVALID_FLAG_TYPE",
      message: "flag type VARIANT_FLAG_TYPE invalid",
    });
  });
});
