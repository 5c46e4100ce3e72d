/**
 * explainFlag: over every conformance case (flags built by the real snapshot build), the explained result is the
 * plain evaluation's, and the trace agrees with it step by step; then the trace's details on small flags.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { evalConstraint, evalFlag, evalSegment, segmentSet } from "../../test/helpers/eval-model.js";
import type { EvalFlag, EvalRule } from "../domain/evaluation-model.js";
import type {
  ConstraintTrace,
  ExplainStep,
  ExplainTrace,
  RolloutStep,
  RuleStep,
  SegmentTrace,
} from "../domain/explain-trace.js";
import { buildSnapshot } from "../storage/build-snapshot.js";
import { booleanBucket, bucketBounds, isValidRollout, variantBucket } from "./bucketing.js";
import { evaluateFlag, type FlagEvaluation } from "./evaluate-flag.js";
import type { EvaluationInput, EvaluationResult } from "./evaluation-result.js";
import { explainFlag } from "./explain-flag.js";
import { matchConstraint } from "./match-constraint.js";

interface ConformanceCase {
  readonly name: string;
  readonly namespace: string;
  readonly features_yaml: string;
  readonly requests: readonly { flag_key: string; entity_id: string; context: Record<string, string> }[];
  readonly expected: readonly { readonly kind: string; readonly reason?: string }[];
}

const CASES: readonly ConformanceCase[] = JSON.parse(
  readFileSync(new URL("../../test/fixtures/engine/evaluation.json", import.meta.url), "utf8"),
).cases;

/** The flags of a case's namespace, as a server would evaluate them: through the real snapshot build. */
function loadCase(testCase: ConformanceCase): ReadonlyMap<string, EvalFlag> {
  const build = buildSnapshot(
    {
      revision: "conformance",
      files: [{ path: "features.yaml", bytes: new TextEncoder().encode(testCase.features_yaml) }],
    },
    new Date(),
  );
  if (!build.ok) throw build.error;
  const namespace = build.snapshot.namespaces.get(testCase.namespace);
  if (namespace === undefined) throw new Error(`no namespace ${testCase.namespace}`);
  return namespace.evaluation;
}

const sorted = (keys: readonly string[]) => [...keys].sort();
const decisive = (steps: readonly ExplainStep[]) =>
  steps.filter((step): step is RuleStep | RolloutStep => step.kind === "rule" || step.kind === "rollout");
const segmentsOf = (step: RuleStep | RolloutStep): readonly SegmentTrace[] =>
  step.kind === "rule" ? step.segments : (step.segment?.segments ?? []);

/**
 * A segment's trace agrees with itself: compared constraints first, each reporting what the engine read, stopped
 * exactly where the answer was known (or where an unknown comparison type failed the evaluation).
 */
function checkSegment(segment: SegmentTrace, input: EvaluationInput, where: string): void {
  const evaluated = segment.constraints.filter((constraint) => constraint.evaluated);
  assert.deepEqual(
    segment.constraints.slice(0, evaluated.length),
    evaluated,
    `${where}: compared constraints come first`,
  );
  if (!segment.evaluated) {
    assert.equal(evaluated.length, 0, `${where}: a segment not reached compares nothing`);
    assert.equal(segment.matched, false, where);
    return;
  }
  const decides = (constraint: ConstraintTrace) =>
    segment.matchType === "ALL_MATCH_TYPE" ? !constraint.matched : constraint.matched;
  for (const [index, constraint] of evaluated.entries()) {
    checkConstraint(constraint, input, `${where} constraint ${index + 1}`);
    if (index < evaluated.length - 1)
      assert.equal(decides(constraint), false, `${where}: went on only while undecided`);
  }
  const last = evaluated.at(-1);
  if (last !== undefined && matchConstraint(constraintOf(last), last.contextValue) === "unknown-type") {
    assert.equal(segment.matched, false, `${where}: a failed segment is not matched`);
    return;
  }
  if (evaluated.length < segment.constraints.length) {
    assert.ok(
      last !== undefined && decides(last),
      `${where}: constraints skipped before the answer was known`,
    );
  }
  const expected =
    segment.constraints.length === 0 ||
    (segment.matchType === "ALL_MATCH_TYPE"
      ? evaluated.length === segment.constraints.length && evaluated.every((c) => c.matched)
      : evaluated.some((c) => c.matched));
  assert.equal(segment.matched, expected, `${where}: matched follows from the constraints`);
}

/** The constraint as the engine holds it, rebuilt from the trace (prepared again, as a snapshot build does). */
function constraintOf(trace: ConstraintTrace) {
  return evalConstraint(trace.type, trace.property, trace.operator, trace.value);
}

/** A compared constraint reports the value the engine read, and the outcome that value gives. */
function checkConstraint(constraint: ConstraintTrace, input: EvaluationInput, where: string): void {
  if (constraint.type === "ENTITY_ID_COMPARISON_TYPE") {
    assert.equal(constraint.contextValue, input.entityId, where);
    assert.equal(constraint.contextPresent, true, where);
    assert.equal(constraint.property, "", where);
  } else {
    const present = Object.hasOwn(input.context, constraint.property);
    assert.equal(constraint.contextPresent, present, where);
    assert.equal(constraint.contextValue, present ? input.context[constraint.property] : "", where);
  }
  assert.equal(
    constraint.matched,
    matchConstraint(constraintOf(constraint), constraint.contextValue) === true,
    where,
  );
}

/**
 * The trace agrees with the answer: the last decisive step names the same variant, value and reason; its matched
 * segments are the answer's segment keys; a rule or rollout marked matched is the one that decided, and every one
 * before it is marked not matched; a fallback follows only when none matched.
 */
function checkTrace(
  flag: EvalFlag,
  input: EvaluationInput,
  result: EvaluationResult<FlagEvaluation>,
  trace: ExplainTrace,
  where: string,
): void {
  const { steps } = trace;
  assert.equal(trace.flagType, flag.type, where);
  assert.equal(trace.flagEnabled, flag.enabled, where);
  assert.ok(trace.summary.length > 0, `${where}: a summary`);
  const considered = decisive(steps);
  const last = steps.at(-1);
  assert.ok(last !== undefined, `${where}: at least one step`);
  // Rules (or rollouts) in rank order, from the first; each with every segment the flag gives it.
  const listed = flag.type === "BOOLEAN_FLAG_TYPE" ? flag.rollouts : flag.rules;
  assert.deepEqual(
    considered.map((step) => step.rank),
    listed.slice(0, considered.length).map((item) => item.rank),
    `${where}: ranks in order`,
  );
  for (const [index, step] of considered.entries()) {
    assert.equal(step.kind, flag.type === "BOOLEAN_FLAG_TYPE" ? "rollout" : "rule", where);
    const decided: boolean = index === considered.length - 1 && last === step;
    assert.equal(step.matched, decided, `${where}: only the deciding ${step.kind} is matched (${step.rank})`);
    const segments = segmentsOf(step);
    const source = listed[index];
    const set = source !== undefined && "segments" in source ? source.segments : undefined;
    assert.deepEqual(
      segments.map((segment) => segment.key),
      set?.segments.map((segment) => segment.key) ?? [],
      `${where}: every segment of ${step.kind} ${step.rank}`,
    );
    for (const segment of segments)
      checkSegment(segment, input, `${where} ${step.kind} ${step.rank} ${segment.key}`);
    if (step.matched && set !== undefined) {
      const matched = segments.filter((segment) => segment.matched);
      assert.ok(
        set.operator === "AND_SEGMENT_OPERATOR" ? matched.length === segments.length : matched.length > 0,
        `${where}: ${step.kind} ${step.rank} matched by its operator`,
      );
    }
  }

  if (!result.ok) {
    assert.deepEqual(last, { kind: "error", message: result.error.message }, where);
    const failed = considered.at(-1);
    assert.ok(
      failed !== undefined && steps.at(-2) === failed,
      `${where}: the error follows the step that met it`,
    );
    const reached = segmentsOf(failed).filter((segment) => segment.evaluated);
    const stopped = reached
      .at(-1)
      ?.constraints.filter((constraint) => constraint.evaluated)
      .at(-1);
    assert.ok(stopped !== undefined, `${where}: the failing constraint was compared`);
    assert.equal(matchConstraint(constraintOf(stopped), stopped.contextValue), "unknown-type", where);
    return;
  }
  const answer = result.value;
  if (last.kind === "fallback") {
    assert.equal(
      considered.length,
      listed.length,
      `${where}: a fallback comes after every ${considered[0]?.kind ?? "step"}`,
    );
    assert.deepEqual(answer.segmentKeys, [], where);
    if (answer.kind === "boolean") {
      assert.equal(answer.reason, "DEFAULT_EVALUATION_REASON", where);
      assert.equal(last.enabled, answer.enabled, where);
    } else {
      assert.notEqual(answer.reason, "MATCH_EVALUATION_REASON", where);
      assert.equal(last.defaultVariantKey, answer.variantKey, where);
    }
    return;
  }
  if (last.kind === "flag-disabled") {
    assert.ok(answer.kind === "variant", where);
    assert.equal(steps.length, 1, where);
    assert.equal(answer.reason, "FLAG_DISABLED_EVALUATION_REASON", where);
    assert.equal(last.defaultVariantKey, answer.variantKey, where);
    return;
  }
  assert.ok(last.kind === "rule" || last.kind === "rollout", where);
  assert.equal(answer.reason, "MATCH_EVALUATION_REASON", where);
  assert.deepEqual(
    sorted(
      segmentsOf(last)
        .filter((segment) => segment.matched)
        .map((segment) => segment.key),
    ),
    sorted(answer.segmentKeys),
    `${where}: matched segments are the answer's segment keys`,
  );
  if (last.kind === "rollout") {
    assert.ok(answer.kind === "boolean", where);
    assert.equal(last.value, answer.enabled, where);
    if (last.threshold !== undefined) {
      assert.equal(last.threshold.bucket, booleanBucket(input.entityId, input.flagKey), where);
      assert.ok(last.threshold.bucket < Math.fround(last.threshold.percentage), where);
    }
    return;
  }
  assert.ok(answer.kind === "variant", where);
  const rule = flag.rules[considered.length - 1] as EvalRule;
  if (last.bucket === undefined) {
    assert.equal(rule.validDistributions.length, 0, `${where}: no bucket only without distributions`);
    assert.equal(answer.variantKey, flag.defaultVariant?.key ?? "", where);
    return;
  }
  const { bucket, distributions, selectedVariantKey } = last.bucket;
  assert.equal(
    bucket,
    variantBucket(flag.key, input.entityId),
    `${where}: crc32(flag key + entity id) % 1000`,
  );
  assert.equal(selectedVariantKey, answer.variantKey, where);
  assert.deepEqual(
    distributions.map((item) => item.bucketEnd),
    bucketBounds(
      rule.distributions.filter((item) => isValidRollout(item.rollout)).map((item) => item.rollout),
    ),
    `${where}: ranges from the rule's bounds`,
  );
  const taking = distributions.filter((item) => item.bucketStart <= bucket && bucket < item.bucketEnd);
  assert.equal(taking[0]?.variantKey, selectedVariantKey, `${where}: the bucket is in the selected range`);
  for (const [index, item] of distributions.entries()) {
    assert.equal(
      item.bucketStart,
      distributions[index - 1]?.bucketEnd ?? 0,
      `${where}: ranges are contiguous`,
    );
  }
}

describe("explainFlag over the conformance cases", () => {
  let requests = 0;
  for (const testCase of CASES) {
    it(testCase.name, () => {
      const flags = loadCase(testCase);
      for (const [index, request] of testCase.requests.entries()) {
        const flag = flags.get(request.flag_key);
        if (flag === undefined) continue;
        const input = { flagKey: request.flag_key, entityId: request.entity_id, context: request.context };
        const where = `request ${index} (${request.flag_key}, ${JSON.stringify(request.entity_id)})`;
        const explained = explainFlag(flag, input);
        assert.deepEqual(explained.result, evaluateFlag(flag, input), `${where}: the same result`);
        checkTrace(flag, input, explained.result, explained.trace, where);
        requests++;
      }
    });
  }
  it("explained every request of every case whose flag exists", () => {
    assert.equal(CASES.length, 87);
    const found = CASES.flatMap((c) => c.expected).filter(
      (e) => e.reason !== "NOT_FOUND_ERROR_EVALUATION_REASON",
    );
    assert.equal(requests, found.length);
    assert.equal(requests, 231);
  });
});

// ---- the trace's details ------------------------------------------------------------------------------------

const is = (property: string, value: string) =>
  evalConstraint("STRING_COMPARISON_TYPE", property, "eq", value);
const input = (context: Record<string, string>, entityId = "user-1", flagKey = "foo"): EvaluationInput => ({
  flagKey,
  entityId,
  context,
});

function variantFlag(
  rules: Omit<EvalRule, "validDistributions" | "bucketBounds">[],
  fields: Partial<EvalFlag> = {},
): EvalFlag {
  return evalFlag({
    key: "foo",
    type: "VARIANT_FLAG_TYPE",
    enabled: true,
    rollouts: [],
    ...fields,
    rules: rules.map((rule) => {
      const valid = rule.distributions.filter((item) => isValidRollout(item.rollout));
      return {
        ...rule,
        validDistributions: valid,
        bucketBounds: bucketBounds(valid.map((item) => item.rollout)),
      };
    }),
  });
}

/** explainFlag, checked as the conformance cases are: the plain result, and a trace that agrees with it. */
function explain(flag: EvalFlag, request: EvaluationInput) {
  const explained = explainFlag(flag, request);
  assert.deepEqual(explained.result, evaluateFlag(flag, request));
  checkTrace(flag, request, explained.result, explained.trace, "explained");
  return explained;
}

const ruleStep = (trace: ExplainTrace, index = 0): RuleStep => {
  const step = trace.steps[index];
  assert.ok(step?.kind === "rule", `step ${index} is a rule: ${JSON.stringify(step)}`);
  return step;
};

/** Compact view of a segment's constraints: [evaluated, matched] each. */
const marks = (segment: SegmentTrace | undefined) =>
  segment?.constraints.map((constraint) => [constraint.evaluated, constraint.matched]);

describe("explainFlag", () => {
  const abc = (matchAll: boolean) =>
    segmentSet("OR_SEGMENT_OPERATOR", [evalSegment("s", matchAll, is("a", "1"), is("b", "2"), is("c", "3"))]);

  it("marks the constraints after an ALL segment's first non-match as not evaluated", () => {
    const flag = variantFlag([{ rank: 1, segments: abc(true), distributions: [] }]);
    const { trace } = explain(flag, input({ a: "1", b: "x", c: "3" }));
    const segment = ruleStep(trace).segments[0];
    assert.deepEqual(marks(segment), [
      [true, true],
      [true, false],
      [false, false],
    ]);
    assert.equal(segment?.matched, false);
    assert.deepEqual(segment?.constraints[2], {
      type: "STRING_COMPARISON_TYPE",
      property: "c",
      operator: "eq",
      value: "3",
      contextValue: "",
      contextPresent: false,
      evaluated: false,
      matched: false,
    });
  });

  it("marks the constraints after an ANY segment's first match as not evaluated", () => {
    const flag = variantFlag([{ rank: 1, segments: abc(false), distributions: [] }]);
    const { trace } = explain(flag, input({ a: "0", b: "2", c: "3" }));
    const segment = ruleStep(trace).segments[0];
    assert.deepEqual(marks(segment), [
      [true, false],
      [true, true],
      [false, false],
    ]);
    assert.equal(segment?.matchType, "ANY_MATCH_TYPE");
    assert.equal(segment?.matched, true);
  });

  it("reports a missing context key as absent and empty, an empty value as present, an inherited one as absent", () => {
    const set = segmentSet("OR_SEGMENT_OPERATOR", [
      evalSegment(
        "s",
        false,
        evalConstraint("STRING_COMPARISON_TYPE", "plan", "neq", "free"),
        evalConstraint("STRING_COMPARISON_TYPE", "tier", "empty"),
      ),
      evalSegment("t", true, evalConstraint("STRING_COMPARISON_TYPE", "constructor", "notempty")),
    ]);
    const { trace } = explain(
      variantFlag([{ rank: 1, segments: set, distributions: [] }]),
      input({ tier: "" }),
    );
    const [s, t] = ruleStep(trace).segments;
    assert.deepEqual(
      s?.constraints.map(({ contextValue, contextPresent, matched }) => ({
        contextValue,
        contextPresent,
        matched,
      })),
      [
        { contextValue: "", contextPresent: false, matched: false },
        { contextValue: "", contextPresent: true, matched: true },
      ],
    );
    assert.equal(t?.constraints[0]?.contextPresent, false);
    assert.equal(t?.constraints[0]?.matched, false);
  });

  it("compares an entity id constraint with the entity id, whatever its property", () => {
    const set = segmentSet("OR_SEGMENT_OPERATOR", [
      evalSegment("staff", true, evalConstraint("ENTITY_ID_COMPARISON_TYPE", "ignored", "prefix", "staff-")),
    ]);
    const { trace, result } = explain(
      variantFlag([{ rank: 1, segments: set, distributions: [] }]),
      input({ ignored: "staff-9" }, "staff-42"),
    );
    assert.deepEqual(ruleStep(trace).segments[0]?.constraints[0], {
      type: "ENTITY_ID_COMPARISON_TYPE",
      property: "",
      operator: "prefix",
      value: "staff-",
      contextValue: "staff-42",
      contextPresent: true,
      evaluated: true,
      matched: true,
    });
    assert.ok(result.ok && result.value.kind === "variant" && result.value.match);
  });

  it("evaluates every segment of an AND set, and of an OR set, and keys only the matched ones", () => {
    const segments = [evalSegment("a", true, is("a", "1")), evalSegment("b", true, is("b", "2"))];
    const flag = variantFlag([
      { rank: 1, segments: segmentSet("AND_SEGMENT_OPERATOR", segments), distributions: [] },
      { rank: 2, segments: segmentSet("OR_SEGMENT_OPERATOR", segments), distributions: [] },
    ]);
    const { trace, result } = explain(flag, input({ a: "0", b: "2" }));
    const and = ruleStep(trace, 0);
    assert.equal(and.segmentOperator, "AND_SEGMENT_OPERATOR");
    assert.equal(and.matched, false);
    assert.deepEqual(
      and.segments.map((segment) => [segment.key, segment.evaluated, segment.matched]),
      [
        ["a", true, false],
        ["b", true, true],
      ],
      "the AND set's answer was known after a, but b is evaluated too, as Flipt does",
    );
    const or = ruleStep(trace, 1);
    assert.equal(or.matched, true);
    assert.equal(trace.steps.length, 2);
    assert.ok(result.ok);
    assert.deepEqual(result.value.segmentKeys, ["b"]);
    assert.equal(
      trace.summary,
      'rule 2 matched (segment "b") and has no distributions: the flag has no default variant, so no variant answers',
    );
  });

  it("records a threshold rollout's bucket, crc32(entity id + flag key) % 100, against the float32 percentage", () => {
    // test-entity / test-flag: boolean bucket 65 (spec/evaluation.md, H07).
    const flag = evalFlag({
      key: "test-flag",
      type: "BOOLEAN_FLAG_TYPE",
      enabled: false,
      rules: [],
      rollouts: [
        { rank: 1, kind: "threshold", percentage: 65, value: false },
        { rank: 2, kind: "threshold", percentage: 65.5, value: true },
      ],
    });
    const { trace, result } = explain(flag, input({}, "test-entity", "test-flag"));
    assert.deepEqual(trace.steps, [
      {
        kind: "rollout",
        rank: 1,
        segment: undefined,
        threshold: { percentage: 65, bucket: 65 },
        matched: false,
        value: false,
      },
      {
        kind: "rollout",
        rank: 2,
        segment: undefined,
        threshold: { percentage: 65.5, bucket: 65 },
        matched: true,
        value: true,
      },
    ]);
    assert.deepEqual(result, {
      ok: true,
      value: {
        kind: "boolean",
        flagKey: "test-flag",
        enabled: true,
        reason: "MATCH_EVALUATION_REASON",
        segmentKeys: [],
      },
    });
    assert.equal(
      trace.summary,
      "rollout 2 matched (threshold): bucket 65 is below 65.5%: the flag answers true",
    );
  });

  it("records the variant bucket and each taking part distribution's range, leaving out rollouts of 0", () => {
    // foo / user-169: variant bucket 666; 33.33/33.33/33.34 gives bounds 333, 666, 1000 (spec/evaluation.md §11.2).
    const always = segmentSet("OR_SEGMENT_OPERATOR", [evalSegment("everyone", true)]);
    const distribution = (variantKey: string, rollout: number) => ({
      variantKey,
      rollout,
      attachment: "null",
    });
    const flag = variantFlag([
      {
        rank: 1,
        segments: always,
        distributions: [
          distribution("none", 0),
          distribution("variant1", 33.33),
          distribution("variant2", 33.33),
          distribution("variant3", 33.34),
        ],
      },
    ]);
    const { trace, result } = explain(flag, input({}, "user-169"));
    assert.deepEqual(ruleStep(trace).bucket, {
      bucket: 666,
      distributions: [
        { variantKey: "variant1", rollout: 33.33, bucketStart: 0, bucketEnd: 333 },
        { variantKey: "variant2", rollout: 33.33, bucketStart: 333, bucketEnd: 666 },
        { variantKey: "variant3", rollout: 33.34, bucketStart: 666, bucketEnd: 1000 },
      ],
      selectedVariantKey: "variant3",
    });
    assert.ok(result.ok && result.value.kind === "variant" && result.value.variantKey === "variant3");
    assert.equal(
      trace.summary,
      'rule 1 matched (segment "everyone"); bucket 666 fell in variant "variant3"\'s range 666-1000 of 0-1000',
    );
  });

  it("answers a disabled variant flag at once, and still evaluates a disabled boolean flag's rollouts", () => {
    const set = segmentSet("OR_SEGMENT_OPERATOR", [evalSegment("a", true, is("a", "1"))]);
    const variant = variantFlag([{ rank: 1, segments: set, distributions: [] }], {
      enabled: false,
      defaultVariant: { key: "gray", attachment: "null" },
    });
    const disabled = explain(variant, input({ a: "1" }));
    assert.deepEqual(disabled.trace.steps, [{ kind: "flag-disabled", defaultVariantKey: "gray" }]);
    assert.equal(disabled.trace.flagEnabled, false);
    assert.equal(disabled.trace.summary, 'the flag is disabled: the default variant "gray" answers');

    const boolean = evalFlag({
      key: "foo",
      type: "BOOLEAN_FLAG_TYPE",
      enabled: false,
      rules: [],
      rollouts: [
        { rank: 1, kind: "none" },
        { rank: 2, kind: "segment", segments: set, value: true },
      ],
    });
    const missed = explain(boolean, input({ a: "2" }));
    assert.deepEqual(
      missed.trace.steps.map((step) => [step.kind, "matched" in step ? step.matched : undefined]),
      [
        ["rollout", false],
        ["rollout", false],
        ["fallback", undefined],
      ],
    );
    assert.deepEqual(missed.trace.steps.at(-1), { kind: "fallback", defaultVariantKey: "", enabled: false });
    assert.equal(missed.trace.summary, "no rollout matched: the flag answers its enabled, false");
    const hit = explain(boolean, input({ a: "1" }));
    assert.equal(hit.trace.summary, 'rollout 2 matched (segment "a"): the flag answers true');
  });

  it("ends with the error an unknown comparison type raises, and marks what it stopped as not evaluated", () => {
    const unknown = evalConstraint("UNKNOWN_COMPARISON_TYPE", "x", "eq", "y");
    const set = segmentSet("OR_SEGMENT_OPERATOR", [
      evalSegment("broken", true, is("a", "1"), unknown, is("c", "3")),
      evalSegment("after", true, is("a", "1")),
    ]);
    const flag = variantFlag([
      { rank: 1, segments: set, distributions: [] },
      { rank: 2, segments: segmentSet("OR_SEGMENT_OPERATOR", [evalSegment("any", true)]), distributions: [] },
    ]);
    const { trace, result } = explain(flag, input({ a: "1" }));
    assert.deepEqual(result, {
      ok: false,
      error: { code: "UNKNOWN_CONSTRAINT_TYPE", message: "unknown constraint type" },
    });
    assert.equal(trace.steps.length, 2, "rule 2 is never considered");
    const rule = ruleStep(trace);
    assert.equal(rule.matched, false);
    assert.deepEqual(marks(rule.segments[0]), [
      [true, true],
      [true, false],
      [false, false],
    ]);
    assert.deepEqual([rule.segments[1]?.evaluated, marks(rule.segments[1])], [false, [[false, false]]]);
    assert.deepEqual(trace.steps[1], { kind: "error", message: "unknown constraint type" });
    assert.equal(
      trace.summary,
      'the evaluation failed: unknown constraint type (rule 1, segment "broken", constraint 2: UNKNOWN_COMPARISON_TYPE)',
    );
  });

  it("explains a flag without rules and one whose rules miss", () => {
    const fields = { defaultVariant: { key: "gray", attachment: "null" } };
    const none = explain(variantFlag([], fields), input({}));
    assert.deepEqual(none.trace.steps, [{ kind: "fallback", defaultVariantKey: "gray", enabled: true }]);
    assert.equal(none.trace.summary, 'the flag has no rules: the default variant "gray" answers');
    const set = segmentSet("OR_SEGMENT_OPERATOR", [evalSegment("a", true, is("a", "1"))]);
    const missed = explain(variantFlag([{ rank: 1, segments: set, distributions: [] }]), input({}));
    assert.equal(
      missed.trace.summary,
      "no rule matched: the flag has no default variant, so no variant answers",
    );
    assert.ok(missed.result.ok && missed.result.value.reason === "UNKNOWN_EVALUATION_REASON");
  });
});
