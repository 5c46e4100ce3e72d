import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { BooleanEvaluation, VariantEvaluation } from "../engine/evaluation-result.js";
import { EvaluationReason } from "../gen/flipt/evaluation/evaluation_pb.js";
import { booleanAnswer, variantAnswer } from "./evaluation-answer.js";

const ENVELOPE = {
  requestId: "r-1",
  requestDurationMillis: 0.25,
  timestamp: timestampFromMs(1_700_000_000_123),
};

const BOOLEANS: BooleanEvaluation[] = [
  {
    kind: "boolean",
    flagKey: "a",
    enabled: true,
    reason: "MATCH_EVALUATION_REASON",
    segmentKeys: ["s1", "s2"],
  },
  { kind: "boolean", flagKey: "bb", enabled: false, reason: "DEFAULT_EVALUATION_REASON", segmentKeys: [] },
  { kind: "boolean", flagKey: "ccc", enabled: true, reason: "DEFAULT_EVALUATION_REASON", segmentKeys: ["x"] },
];

const VARIANTS: VariantEvaluation[] = [
  {
    kind: "variant",
    flagKey: "v",
    match: true,
    reason: "MATCH_EVALUATION_REASON",
    variantKey: "blue",
    variantAttachment: '{"n":1}',
    segmentKeys: ["s1"],
  },
  {
    kind: "variant",
    flagKey: "w",
    match: false,
    reason: "FLAG_DISABLED_EVALUATION_REASON",
    variantKey: "",
    variantAttachment: "",
    segmentKeys: [],
  },
  {
    kind: "variant",
    flagKey: "xy",
    match: false,
    reason: "DEFAULT_EVALUATION_REASON",
    variantKey: "red",
    variantAttachment: "null",
    segmentKeys: ["a", "b", "c"],
  },
];

describe("evaluation answers", () => {
  it("carry every field of the engine's boolean result and of the envelope", () => {
    const value = BOOLEANS[0] as BooleanEvaluation;
    const answer = booleanAnswer(value, ENVELOPE);
    assert.equal(answer.$typeName, "flipt.evaluation.BooleanEvaluationResponse");
    assert.equal(answer.enabled, true);
    assert.equal(answer.reason, EvaluationReason.MATCH_EVALUATION_REASON);
    assert.equal(answer.flagKey, "a");
    assert.deepEqual(answer.segmentKeys, ["s1", "s2"]);
    assert.notEqual(answer.segmentKeys, value.segmentKeys, "the message owns its list");
    assert.equal(answer.requestId, "r-1");
    assert.equal(answer.requestDurationMillis, 0.25);
    assert.equal(answer.timestamp, ENVELOPE.timestamp);
  });

  it("carry every field of the engine's variant result and of the envelope", () => {
    const answer = variantAnswer(VARIANTS[0] as VariantEvaluation, ENVELOPE);
    assert.equal(answer.$typeName, "flipt.evaluation.VariantEvaluationResponse");
    assert.equal(answer.match, true);
    assert.equal(answer.reason, EvaluationReason.MATCH_EVALUATION_REASON);
    assert.equal(answer.variantKey, "blue");
    assert.equal(answer.variantAttachment, '{"n":1}');
    assert.equal(answer.flagKey, "v");
    assert.deepEqual(answer.segmentKeys, ["s1"]);
    assert.equal(answer.requestId, "r-1");
    assert.equal(answer.requestDurationMillis, 0.25);
    assert.equal(answer.timestamp, ENVELOPE.timestamp);
    const disabled = variantAnswer(VARIANTS[1] as VariantEvaluation, ENVELOPE);
    assert.equal(disabled.reason, EvaluationReason.FLAG_DISABLED_EVALUATION_REASON);
    assert.equal(disabled.variantKey, "");
  });

  it("build their fields with one hidden class for every answer of a kind (no per-answer maps)", async () => {
    // V8's own check, in a child run with natives syntax: an object spread that adds a property would fail it.
    const script = `
      import { booleanFields, variantFields } from ${JSON.stringify(new URL("./evaluation-answer.ts", import.meta.url).href)};
      const envelope = ${JSON.stringify({ requestId: "r", requestDurationMillis: 1.5 })};
      const booleans = ${JSON.stringify(BOOLEANS)};
      const variants = ${JSON.stringify(VARIANTS)};
      const same = (build, values) => {
        const fields = [];
        for (let round = 0; round < 200; round++) {
          for (const value of values) fields.push(build(value, { ...envelope, timestamp: { seconds: BigInt(round), nanos: 0 } }));
        }
        return fields.every((item) => %HaveSameMap(item, fields[0]));
      };
      process.stdout.write(JSON.stringify({ booleans: same(booleanFields, booleans), variants: same(variantFields, variants) }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, [
      "--allow-natives-syntax",
      "--import",
      "tsx",
      "--input-type=module",
      "--eval",
      script,
    ]);
    assert.deepEqual(JSON.parse(stdout), { booleans: true, variants: true });
  });
});
