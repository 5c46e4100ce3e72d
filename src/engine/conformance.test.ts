/**
 * Runs every case of the conformance file (expected results produced by Flipt v2's own code) through
 * compileFlags + evaluateFlag. Each case is a Flipt features document (YAML, version 1.6); it is converted
 * to our domain types here, with constraint values stringified as spec/evaluation.md §1.3 describes.
 * The file is a copy of /work/shared/conformance/evaluation.json.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import type { EvalFlag, EvalRollout, EvalSegment, EvalSegmentSet } from "../domain/evaluation-model.js";
import type {
  ComparisonType,
  Constraint,
  Flag,
  FlagType,
  JsonValue,
  Rollout,
  Rule,
  Segment,
  SegmentOperator,
  SegmentRef,
} from "../domain/flag-state.js";
import { compileFlags } from "./compile-flag.js";
import { evaluateFlag } from "./evaluate-flag.js";
import { COMPILE_AFTER } from "./match-segments.js";

interface ConformanceCase {
  readonly name: string;
  readonly namespace: string;
  readonly features_yaml: string;
  readonly requests: readonly {
    readonly flag_key: string;
    readonly entity_id: string;
    readonly context: Record<string, string>;
  }[];
  readonly expected: readonly ExpectedResult[];
  readonly segments_dropped_at_load?: readonly {
    readonly flag_key: string;
    readonly rule_or_rollout: string;
    readonly segment_key: string;
  }[];
}

type ExpectedResult =
  | {
      readonly kind: "variant";
      readonly flag_key: string;
      readonly match: boolean;
      readonly reason: string;
      readonly variant_key: string;
      readonly variant_attachment: string;
      readonly segment_keys: readonly string[];
    }
  | {
      readonly kind: "boolean";
      readonly flag_key: string;
      readonly enabled: boolean;
      readonly reason: string;
      readonly segment_keys: readonly string[];
    }
  | { readonly kind: "error"; readonly flag_key: string; readonly reason: string };

const cases: readonly ConformanceCase[] = JSON.parse(
  readFileSync(new URL("../../test/fixtures/engine/evaluation.json", import.meta.url), "utf8"),
).cases;

// ---- Flipt features document (YAML) → domain types -------------------------------------------------

type Doc = Record<string, unknown>;

function asDocs(value: unknown): Doc[] {
  return Array.isArray(value) ? (value as Doc[]) : [];
}

function str(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

/** A YAML number as Go prints it when yaml.v3 decodes it into `any` and Flipt formats it with %v. */
function goNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign = "", lead = "", rest = "", exponentText = "0"] = match;
  const digits = lead + rest;
  const point = 1 + Number(exponentText);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  return `${sign}${digits.padEnd(point, "0")}`;
}

/** §1.3: how a YAML constraint value becomes the string Flipt evaluates. */
function constraintValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return goNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) {
    const items = value.map((item) => {
      if (item === null || item === undefined) return "";
      if (typeof item === "boolean") return item ? "true" : "false";
      return item;
    });
    return JSON.stringify(items);
  }
  throw new Error(`unsupported constraint value ${JSON.stringify(value)}`);
}

function segmentOperator(value: unknown): SegmentOperator {
  return value === "AND_SEGMENT_OPERATOR" ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR";
}

/** A rule's or rollout's `segment`: a bare key, `{key}`, or `{keys, operator}` (non-empty keys win). */
function segmentRef(value: unknown): SegmentRef {
  if (typeof value === "string") return { keys: [value], operator: "OR_SEGMENT_OPERATOR" };
  const doc = (value ?? {}) as Doc;
  const keys =
    Array.isArray(doc.keys) && doc.keys.length > 0 ? (doc.keys as string[]) : [str(doc.key)].filter(Boolean);
  return { keys, operator: segmentOperator(doc.operator) };
}

function toFlag(doc: Doc): Flag {
  const variants = asDocs(doc.variants).map((variant) => ({
    key: str(variant.key),
    ...(variant.attachment === undefined ? {} : { attachment: variant.attachment as JsonValue }),
  }));
  const defaultVariant = asDocs(doc.variants)
    .filter((variant) => variant.default === true)
    .map((variant) => str(variant.key))
    .at(-1);
  const rules: Rule[] = asDocs(doc.rules).map((rule) => ({
    segment: segmentRef(rule.segment),
    distributions: asDocs(rule.distributions).map((d) => ({
      variant: str(d.variant),
      rollout: Number(d.rollout),
    })),
  }));
  const rollouts: Rollout[] = asDocs(doc.rollouts).map((rollout) => {
    const threshold = rollout.threshold as Doc | undefined;
    const segment = rollout.segment as Doc | undefined;
    return {
      ...(threshold === undefined
        ? {}
        : { threshold: { percentage: Number(threshold.percentage ?? 0), value: threshold.value === true } }),
      ...(segment === undefined
        ? {}
        : { segment: { ...segmentRef(segment), value: segment.value === true } }),
    };
  });
  return {
    key: str(doc.key),
    name: str(doc.name, str(doc.key)),
    type: str(doc.type, "VARIANT_FLAG_TYPE") as FlagType,
    enabled: doc.enabled === true,
    variants,
    ...(defaultVariant === undefined ? {} : { defaultVariant }),
    rules,
    rollouts,
  };
}

function toSegment(doc: Doc): Segment {
  const constraints: Constraint[] = asDocs(doc.constraints).map((constraint) => ({
    type: str(constraint.type, "UNKNOWN_COMPARISON_TYPE") as ComparisonType,
    property: str(constraint.property),
    operator: str(constraint.operator),
    value: constraintValue(constraint.value),
  }));
  return {
    key: str(doc.key),
    name: str(doc.name, str(doc.key)),
    matchType: doc.match_type === "ANY_MATCH_TYPE" ? "ANY_MATCH_TYPE" : "ALL_MATCH_TYPE",
    constraints,
  };
}

function load(yamlText: string): { flags: Flag[]; segments: Map<string, Segment> } {
  const doc = parse(yamlText) as Doc;
  return {
    flags: asDocs(doc.flags).map(toFlag),
    segments: new Map(asDocs(doc.segments).map((segment) => [str(segment.key), toSegment(segment)])),
  };
}

// ---- the cases ------------------------------------------------------------------------------------------

describe("conformance (Flipt v2 expected results)", () => {
  it("has the expected number of cases and requests", () => {
    assert.equal(cases.length, 87);
    assert.equal(
      cases.reduce((sum, c) => sum + c.requests.length, 0),
      cases.reduce((sum, c) => sum + c.expected.length, 0),
    );
  });

  for (const testCase of cases) {
    it(testCase.name, () => {
      const { flags, segments } = load(testCase.features_yaml);
      const compiled = compileFlags(flags, segments);

      const dropped = compiled.dropped.map((d) => `${d.flagKey} ${d.kind} ${d.rank} ${d.segmentKey}`).sort();
      const expectedDropped = (testCase.segments_dropped_at_load ?? [])
        .map((d) => `${d.flag_key} ${d.rule_or_rollout} ${d.segment_key}`)
        .sort();
      assert.deepEqual(dropped, expectedDropped, "segments dropped at load");

      for (const [index, request] of testCase.requests.entries()) {
        const expected = testCase.expected[index];
        const label = `request ${index} (${request.flag_key}, ${JSON.stringify(request.entity_id)})`;
        const flag = compiled.flags.get(request.flag_key);
        if (flag === undefined) {
          assert.deepEqual(
            expected,
            { kind: "error", reason: "NOT_FOUND_ERROR_EVALUATION_REASON", flag_key: request.flag_key },
            label,
          );
          continue;
        }
        // Evaluated on flags compiled afresh (no segment compiled yet) as often as it takes the engine to compile
        // the segments it reaches (`COMPILE_AFTER`), and once more: each answer must be Flipt's, the first ones read
        // from the constraints one by one, the last ones from compiled code.
        const fresh = compileFlags(flags, segments).flags;
        for (let round = 0; round <= COMPILE_AFTER; round++) {
          checkResult(fresh.get(request.flag_key) as EvalFlag, request, expected, label);
        }
        compiledSegments += countCompiled(fresh.values());
      }
    });
  }

  it("evaluated the requests' segments compiled too", () => {
    assert.ok(compiledSegments > 150, `${compiledSegments} segments compiled`);
  });
});

let compiledSegments = 0;

/** Segments of these flags that the engine has compiled. */
function countCompiled(flags: Iterable<EvalFlag>): number {
  const segments = new Set<EvalSegment>();
  for (const flag of flags) {
    for (const set of [...flag.rules.map((rule) => rule.segments), ...flag.rollouts.map(rolloutSegments)]) {
      for (const segment of set?.segments ?? []) if (segment.memo?.test !== undefined) segments.add(segment);
    }
  }
  return segments.size;
}

function rolloutSegments(rollout: EvalRollout): EvalSegmentSet | undefined {
  return rollout.kind === "segment" ? rollout.segments : undefined;
}

/** One evaluation of a conformance request against its expected result. */
function checkResult(
  flag: EvalFlag,
  request: ConformanceCase["requests"][number],
  expected: ExpectedResult | undefined,
  label: string,
): void {
  const result = evaluateFlag(flag, {
    flagKey: request.flag_key,
    entityId: request.entity_id,
    context: request.context,
  });
  if (!result.ok) {
    assert.deepEqual(
      expected,
      { kind: "error", reason: "UNKNOWN_ERROR_EVALUATION_REASON", flag_key: request.flag_key },
      label,
    );
    return;
  }
  const actual = result.value;
  const keys = [...actual.segmentKeys].sort();
  if (actual.kind === "variant") {
    assert.deepEqual(
      {
        kind: actual.kind,
        match: actual.match,
        variant_key: actual.variantKey,
        variant_attachment: actual.variantAttachment,
        reason: actual.reason,
        segment_keys: keys,
        flag_key: actual.flagKey,
      },
      expected,
      label,
    );
  } else {
    assert.deepEqual(
      {
        kind: actual.kind,
        enabled: actual.enabled,
        reason: actual.reason,
        segment_keys: keys,
        flag_key: actual.flagKey,
      },
      expected,
      label,
    );
  }
}
