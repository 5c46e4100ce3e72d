/**
 * The end-to-end vectors of spec/evaluation.md §11.3, written in the spec's own shorthand and run through
 * compileFlag + evaluateVariant/evaluateBoolean. (The conformance test runs the same scenarios from YAML.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  ComparisonType,
  Constraint,
  Flag,
  JsonValue,
  Segment,
  SegmentRef,
} from "../domain/flag-state.js";
import { compileFlag } from "./compile-flag.js";
import { evaluateBoolean } from "./evaluate-boolean.js";
import { evaluateVariant } from "./evaluate-variant.js";

const TYPES: Record<string, ComparisonType> = {
  s: "STRING_COMPARISON_TYPE",
  n: "NUMBER_COMPARISON_TYPE",
  b: "BOOLEAN_COMPARISON_TYPE",
  d: "DATETIME_COMPARISON_TYPE",
  e: "ENTITY_ID_COMPARISON_TYPE",
  "?": "UNKNOWN_COMPARISON_TYPE",
};

/** `s:hello eq world`, `b:admin true`, `e:eq user@flipt.io` (entity constraints have no property). */
function constraint(spec: string): Constraint {
  const type = TYPES[spec.slice(0, 1)];
  assert.ok(type, spec);
  const words = spec.slice(2).split(" ");
  const property = type === "ENTITY_ID_COMPARISON_TYPE" ? "entityId" : (words.shift() ?? "");
  const operator = words.shift() ?? "";
  return { type, property, operator, value: words.join(" ") };
}

/** `ALL s:bar eq baz; s:foo eq bar`, or just `ANY`. */
function segment(key: string, spec: string): Segment {
  const [matchType, ...rest] = spec.split(" ");
  const body = rest.join(" ");
  return {
    key,
    name: key,
    matchType: matchType === "ANY" ? "ANY_MATCH_TYPE" : "ALL_MATCH_TYPE",
    constraints: body === "" ? [] : body.split("; ").map(constraint),
  };
}

function ref(operator: string, keys: string): SegmentRef {
  return {
    operator: operator === "AND" ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR",
    keys: keys === "-" ? [] : keys.split(","),
  };
}

interface Scenario {
  readonly flag: string;
  readonly enabled: boolean;
  readonly segments?: Record<string, string>;
  readonly entity: string;
  readonly context?: Record<string, string>;
}

interface VariantScenario extends Scenario {
  readonly defaultVariant?: string;
  readonly attachments?: Record<string, JsonValue>;
  /** `OR bar`, `AND s1,s2 => a:53,b:47`, `AND - => a:100` (no segments). */
  readonly rules?: readonly string[];
  readonly expect: readonly [
    match: boolean,
    reason: string,
    variant: string,
    attachment: string,
    keys: string[],
  ];
}

interface BooleanScenario extends Scenario {
  /** `thr 65.5 T`, `seg AND s1,s2 T`, `seg OR - F`. */
  readonly rollouts?: readonly string[];
  readonly expect: readonly [enabled: boolean, reason: string, keys: string[]] | "unknown constraint type";
}

function segmentMap(scenario: Scenario): Map<string, Segment> {
  return new Map(Object.entries(scenario.segments ?? {}).map(([key, spec]) => [key, segment(key, spec)]));
}

function variantFlag(scenario: VariantScenario): Flag {
  const variants = new Set<string>(Object.keys(scenario.attachments ?? {}));
  if (scenario.defaultVariant !== undefined) variants.add(scenario.defaultVariant);
  const rules = (scenario.rules ?? []).map((spec) => {
    const [head = "", dist = ""] = spec.split(" => ");
    const [operator = "OR", keys = "-"] = head.split(" ");
    const distributions =
      dist === ""
        ? []
        : dist.split(",").map((pair) => {
            const [variant = "", rollout = ""] = pair.split(":");
            variants.add(variant);
            return { variant, rollout: Number(rollout) };
          });
    return { segment: ref(operator, keys), distributions };
  });
  return {
    key: scenario.flag,
    name: scenario.flag,
    type: "VARIANT_FLAG_TYPE",
    enabled: scenario.enabled,
    variants: [...variants].map((key) => ({ key, attachment: scenario.attachments?.[key] })),
    ...(scenario.defaultVariant === undefined ? {} : { defaultVariant: scenario.defaultVariant }),
    rules,
    rollouts: [],
  };
}

function booleanFlag(scenario: BooleanScenario): Flag {
  const rollouts = (scenario.rollouts ?? []).map((spec) => {
    const words = spec.split(" ");
    const value = words.at(-1) === "T";
    if (words[0] === "thr") return { threshold: { percentage: Number(words[1]), value } };
    return { segment: { ...ref(words[1] ?? "", words[2] ?? "-"), value } };
  });
  return {
    key: scenario.flag,
    name: scenario.flag,
    type: "BOOLEAN_FLAG_TYPE",
    enabled: scenario.enabled,
    variants: [],
    rules: [],
    rollouts,
  };
}

const ALL_SB = "ALL s:bar eq baz; s:foo eq bar";
const CTX_SB = { bar: "baz", foo: "bar" };
const KV = { key: "value" };

const VARIANT_VECTORS: Record<string, VariantScenario> = {
  V01: {
    flag: "test-flag",
    enabled: false,
    entity: "test-entity",
    context: { hello: "world" },
    expect: [false, "FLAG_DISABLED", "", "", []],
  },
  V02: {
    flag: "test-flag",
    enabled: true,
    segments: { bar: "ALL s:hello eq world" },
    rules: ["OR bar"],
    entity: "test-entity",
    context: { hello: "world" },
    expect: [true, "MATCH", "", "", ["bar"]],
  },
  V03: {
    flag: "test-flag",
    enabled: true,
    segments: { "segment-1": "ALL s:hello eq world" },
    rules: ["OR segment-1 => test-variant:100"],
    entity: "test-entity",
    context: { hello: "world" },
    expect: [true, "MATCH", "test-variant", "null", ["segment-1"]],
  },
  V04: {
    flag: "variant-test-flag",
    enabled: true,
    segments: { bar: "ALL s:hello eq world" },
    rules: ["OR bar"],
    entity: "test-entity",
    context: { hello: "world" },
    expect: [true, "MATCH", "", "", ["bar"]],
  },
  V05: {
    flag: "foo",
    enabled: false,
    entity: "entity",
    context: CTX_SB,
    expect: [false, "FLAG_DISABLED", "", "", []],
  },
  V06: {
    flag: "foo",
    enabled: false,
    defaultVariant: "default",
    attachments: { default: KV },
    entity: "entity",
    context: CTX_SB,
    expect: [false, "FLAG_DISABLED", "default", '{"key":"value"}', []],
  },
  V07: {
    flag: "foo",
    enabled: true,
    segments: { segment1: ALL_SB },
    rules: ["OR segment1"],
    entity: "entity",
    context: CTX_SB,
    expect: [true, "MATCH", "", "", ["segment1"]],
  },
  V08: {
    flag: "foo",
    enabled: true,
    defaultVariant: "default",
    attachments: { default: KV },
    segments: { segment1: ALL_SB },
    rules: ["OR segment1"],
    entity: "entity",
    context: CTX_SB,
    expect: [true, "MATCH", "default", '{"key":"value"}', ["segment1"]],
  },
  V09: {
    flag: "foo",
    enabled: true,
    segments: { segment1: ALL_SB, segment2: "ALL s:company eq flipt" },
    rules: ["AND segment1,segment2"],
    entity: "entity",
    context: { ...CTX_SB, company: "flipt" },
    expect: [true, "MATCH", "", "", ["segment1", "segment2"]],
  },
  V10: {
    flag: "foo",
    enabled: true,
    segments: { segment1: ALL_SB, segment2: "ALL s:company eq flipt" },
    rules: ["AND segment1,segment2"],
    entity: "entity",
    context: { bar: "boz" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V11: {
    flag: "foo",
    enabled: true,
    segments: { segment1: ALL_SB, segment2: "ALL b:admin true" },
    rules: ["AND segment1,segment2 => variant1:1"],
    entity: "123",
    context: { ...CTX_SB, admin: "true" },
    expect: [true, "MATCH", "variant1", "null", ["segment1", "segment2"]],
  },
  V12: {
    flag: "foo",
    enabled: true,
    attachments: { variant1: { foo: "bar" } },
    segments: { segment1: ALL_SB, segment2: "ALL b:admin true" },
    rules: ["AND segment1,segment2 => variant1:100"],
    entity: "123",
    context: { ...CTX_SB, admin: "true" },
    expect: [true, "MATCH", "variant1", '{"foo":"bar"}', ["segment1", "segment2"]],
  },
  V13: {
    flag: "foo",
    enabled: true,
    segments: { segment1: ALL_SB },
    rules: ["AND segment1 => variant1:50,variant2:50"],
    entity: "1",
    context: CTX_SB,
    expect: [true, "MATCH", "variant1", "null", ["segment1"]],
  },
  V14: {
    flag: "foo",
    enabled: true,
    segments: { segment1: ALL_SB },
    rules: ["AND segment1 => variant1:50,variant2:50"],
    entity: "2",
    context: CTX_SB,
    expect: [true, "MATCH", "variant2", "null", ["segment1"]],
  },
  V15: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ALL b:premium_user true; s:foo eq bar", segment2: "ALL" },
    rules: ["AND segment1 => variant1:50,variant2:50", "AND segment2"],
    entity: "1",
    context: { premium_user: "true", foo: "bar" },
    expect: [true, "MATCH", "variant1", "null", ["segment1"]],
  },
  V16: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ALL" },
    rules: ["AND segment1 => variant1:50,variant2:50"],
    entity: "10",
    expect: [true, "MATCH", "variant1", "null", ["segment1"]],
  },
  V17: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ALL" },
    rules: ["AND segment1 => variant1:50,variant2:50"],
    entity: "01",
    expect: [true, "MATCH", "variant2", "null", ["segment1"]],
  },
  V18: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ANY s:bar eq baz; s:foo eq bar" },
    rules: ["OR segment1"],
    entity: "entity",
    context: { bar: "baz" },
    expect: [true, "MATCH", "", "", ["segment1"]],
  },
  V19: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ANY s:bar eq baz; s:foo eq bar", segment2: "ANY s:company eq flipt" },
    rules: ["AND segment1,segment2"],
    entity: "entity",
    context: { bar: "boz" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V20: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ANY b:premium_user true; s:foo eq bar", segment2: "ANY" },
    rules: ["AND segment1 => variant1:50,variant2:50", "AND segment2"],
    entity: "1",
    context: { premium_user: "true" },
    expect: [true, "MATCH", "variant1", "null", ["segment1"]],
  },
  V21: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ANY" },
    rules: ["AND segment1 => variant1:50,variant2:50"],
    entity: "01",
    context: { foo: "bar" },
    expect: [true, "MATCH", "variant2", "null", ["segment1"]],
  },
  V22: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ANY s:bar eq baz" },
    rules: ["AND segment1 => variant1:0,variant2:100"],
    entity: "1",
    context: { bar: "baz" },
    expect: [true, "MATCH", "variant2", "null", ["segment1"]],
  },
  V23: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ANY s:bar eq baz" },
    rules: ["AND segment1 => variant1:0,variant2:0,variant3:50,variant4:0,variant5:0,variant6:50"],
    entity: "1",
    context: { bar: "baz" },
    expect: [true, "MATCH", "variant3", "null", ["segment1"]],
  },
  V24: {
    flag: "foo",
    enabled: true,
    segments: { segment1: "ALL e:eq user@flipt.io" },
    rules: ["OR segment1"],
    entity: "user@flipt.io",
    expect: [true, "MATCH", "", "", ["segment1"]],
  },
  V25: {
    flag: "foo",
    enabled: true,
    attachments: { boz: KV },
    segments: { bar: "ALL s:bar eq baz; b:admin true" },
    rules: ["OR bar => boz:10"],
    entity: "123",
    context: { bar: "baz", admin: "true" },
    expect: [true, "MATCH", "boz", '{"key":"value"}', ["bar"]],
  },
  V26: {
    flag: "foo",
    enabled: true,
    segments: { bar: "ANY s:bar eq baz; b:admin true" },
    rules: ["OR bar => boz:100"],
    entity: "1",
    context: { bar: "boz", admin: "true" },
    expect: [true, "MATCH", "boz", "null", ["bar"]],
  },
  V27: {
    flag: "foo",
    enabled: true,
    segments: { bar: "ANY s:bar eq baz; b:admin true" },
    rules: ["OR bar => boz:100"],
    entity: "1",
    context: { admin: "false" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V28: {
    flag: "foo",
    enabled: true,
    segments: { bar: "ANY s:bar eq baz; b:admin true" },
    rules: ["OR bar => boz:100"],
    entity: "1",
    context: { bar: "boz" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V29: {
    flag: "foo",
    enabled: true,
    segments: { bar: "ANY s:bar eq baz; b:admin true" },
    rules: ["OR bar => boz:100"],
    entity: "1",
    context: { boss: "boz", user: "true" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V30: {
    flag: "foo",
    enabled: true,
    defaultVariant: "bar",
    attachments: { bar: { bar: "baz" } },
    segments: { entity: "ALL e:eq some" },
    rules: ["AND entity"],
    entity: "1",
    context: { bar: "boz" },
    expect: [false, "DEFAULT", "bar", '{"bar":"baz"}', []],
  },
  V31: {
    flag: "foo",
    enabled: true,
    entity: "1",
    context: { bar: "boz" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V32: {
    flag: "foo",
    enabled: true,
    segments: { bar: "ALL s:bar eq baz" },
    rules: ["OR bar => boz:50,booz:50"],
    entity: "1",
    context: { bar: "boz" },
    expect: [false, "UNKNOWN", "", "", []],
  },
  V33: {
    flag: "foo",
    enabled: true,
    segments: { bar: "ALL s:bar eq baz" },
    rules: ["OR bar => boz:50,booz:50"],
    entity: "2",
    context: { bar: "baz" },
    expect: [true, "MATCH", "booz", "null", ["bar"]],
  },
  V34: {
    flag: "qux",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => v1:80,v2:40"],
    entity: "user-208",
    expect: [true, "MATCH", "v2", "null", ["s"]],
  },
  V35: {
    flag: "foo",
    enabled: true,
    defaultVariant: "d",
    rules: ["OR - => d:100"],
    entity: "1",
    expect: [false, "DEFAULT", "d", "null", []],
  },
  V36: {
    flag: "foo",
    enabled: true,
    rules: ["AND - => a:100"],
    entity: "1",
    expect: [true, "MATCH", "a", "null", []],
  },
  V37: {
    flag: "foo",
    enabled: true,
    segments: { bad: "ALL s:x isoneof not-json", good: "ALL s:y eq 1" },
    rules: ["AND bad,good => a:100"],
    entity: "1",
    context: { y: "1" },
    expect: [true, "MATCH", "a", "null", ["good"]],
  },
  V38: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL s:country neq US" },
    rules: ["OR s"],
    entity: "1",
    expect: [false, "UNKNOWN", "", "", []],
  },
  V39: {
    flag: "foo",
    enabled: true,
    defaultVariant: "d",
    segments: { s: "ALL" },
    rules: ["OR s"],
    entity: "1",
    expect: [true, "MATCH", "d", "null", ["s"]],
  },
  V40: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL n:n eq 42" },
    rules: ["OR s"],
    entity: "1",
    context: { n: "42.0" },
    expect: [true, "MATCH", "", "", ["s"]],
  },
  V41: {
    flag: "qux",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => v1:80,v2:40"],
    entity: "user-509",
    expect: [true, "MATCH", "v1", "null", ["s"]],
  },
  V42: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => variant1:50,variant2:50"],
    entity: "user-840",
    expect: [true, "MATCH", "variant1", "null", ["s"]],
  },
  V43: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => variant1:50,variant2:50"],
    entity: "user-109",
    expect: [true, "MATCH", "variant2", "null", ["s"]],
  },
  V44: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => variant1:33.33,variant2:33.33,variant3:33.34"],
    entity: "user-169",
    expect: [true, "MATCH", "variant3", "null", ["s"]],
  },
  V45: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => variant1:33.33,variant2:33.33,variant3:33.34"],
    entity: "user-460",
    expect: [true, "MATCH", "variant2", "null", ["s"]],
  },
  V46: {
    flag: "foo",
    enabled: true,
    segments: { s1: "ALL s:plan eq pro", s2: "ALL" },
    rules: ["OR s1 => a:100", "OR s2 => b:100"],
    entity: "1",
    context: { plan: "free" },
    expect: [true, "MATCH", "b", "null", ["s2"]],
  },
  V47: {
    flag: "foo",
    enabled: true,
    segments: { s1: "ALL s:plan eq pro", s2: "ALL n:age gte 18" },
    rules: ["OR s1,s2 => a:100"],
    entity: "1",
    context: { age: "18" },
    expect: [true, "MATCH", "a", "null", ["s2"]],
  },
  V48: {
    flag: "foo",
    enabled: true,
    segments: { s: "ANY n:age gt 18; s:plan eq pro" },
    rules: ["OR s"],
    entity: "1",
    context: { age: "abc", plan: "pro" },
    expect: [true, "MATCH", "", "", ["s"]],
  },
  V49: {
    flag: "foo",
    enabled: true,
    segments: { s: "ALL" },
    rules: ["OR s => a:53,b:47"],
    entity: "user-2009",
    expect: [true, "MATCH", "b", "null", ["s"]],
  },
};

const B07_SEGMENTS = { "test-segment": "ANY n:pitimes100 eq 314", "another-segment": "ANY s:hello eq world" };
const HELLO = { hello: "world" };

const BOOLEAN_VECTORS: Record<string, BooleanScenario> = {
  B01: {
    flag: "test-flag",
    enabled: true,
    entity: "test-entity",
    context: HELLO,
    expect: [true, "DEFAULT", []],
  },
  B02: {
    flag: "test-flag",
    enabled: true,
    rollouts: ["thr 5 F"],
    entity: "test-entity",
    context: HELLO,
    expect: [true, "DEFAULT", []],
  },
  B03: {
    flag: "test-flag",
    enabled: true,
    rollouts: ["thr 70 F"],
    entity: "test-entity",
    context: HELLO,
    expect: [false, "MATCH", []],
  },
  B04: {
    flag: "test-flag",
    enabled: true,
    segments: { "test-segment": "ANY s:hello eq world" },
    rollouts: ["seg OR test-segment T", "seg OR test-segment T"],
    entity: "test-entity",
    context: HELLO,
    expect: [true, "MATCH", ["test-segment"]],
  },
  B05: {
    flag: "test-flag",
    enabled: true,
    segments: { "test-segment": "ANY n:pitimes100 eq 314; s:hello eq world" },
    rollouts: ["seg OR test-segment T"],
    entity: "test-entity",
    context: HELLO,
    expect: [true, "MATCH", ["test-segment"]],
  },
  B06: {
    flag: "test-flag",
    enabled: true,
    segments: { "test-segment": "ANY e:eq user@core.io" },
    rollouts: ["seg OR test-segment T"],
    entity: "user@core.io",
    expect: [true, "MATCH", ["test-segment"]],
  },
  B07: {
    flag: "test-flag",
    enabled: true,
    segments: B07_SEGMENTS,
    rollouts: ["seg AND test-segment,another-segment T"],
    entity: "test-entity",
    context: { ...HELLO, pitimes100: "314" },
    expect: [true, "MATCH", ["another-segment", "test-segment"]],
  },
  B08: {
    flag: "test-flag",
    enabled: true,
    rollouts: ["thr 80 T"],
    entity: "test-entity",
    context: HELLO,
    expect: [true, "MATCH", []],
  },
  B09: {
    flag: "test-flag",
    enabled: true,
    rollouts: ["thr 100 T"],
    entity: "test-entity",
    context: HELLO,
    expect: [true, "MATCH", []],
  },
  B10: {
    flag: "foo",
    enabled: false,
    segments: { segment1: "ANY b:some notpresent" },
    rollouts: ["seg OR segment1 T"],
    entity: "1",
    expect: [true, "MATCH", ["segment1"]],
  },
  B11: {
    flag: "foo",
    enabled: false,
    segments: { segment1: "ANY b:some present" },
    rollouts: ["seg OR segment1 T"],
    entity: "1",
    context: { some: "baz" },
    expect: [true, "MATCH", ["segment1"]],
  },
  B12: {
    flag: "test-flag",
    enabled: true,
    segments: B07_SEGMENTS,
    rollouts: ["seg AND test-segment,another-segment T"],
    entity: "test-entity",
    context: HELLO,
    expect: [true, "DEFAULT", []],
  },
  B13: {
    flag: "test-flag",
    enabled: false,
    rollouts: ["thr 65 T"],
    entity: "test-entity",
    expect: [false, "DEFAULT", []],
  },
  B14: {
    flag: "test-flag",
    enabled: false,
    rollouts: ["thr 65.5 T"],
    entity: "test-entity",
    expect: [true, "MATCH", []],
  },
  B15: { flag: "flag1", enabled: false, rollouts: ["thr 0 T"], entity: "", expect: [false, "DEFAULT", []] },
  B16: {
    flag: "foo",
    enabled: true,
    segments: { s: "ANY ?:hello eq world" },
    rollouts: ["seg OR s T"],
    entity: "1",
    context: HELLO,
    expect: "unknown constraint type",
  },
  B17: { flag: "foo", enabled: false, rollouts: ["seg AND - T"], entity: "1", expect: [true, "MATCH", []] },
  B18: { flag: "foo", enabled: false, rollouts: ["seg OR - T"], entity: "1", expect: [false, "DEFAULT", []] },
};

function sorted(keys: readonly string[]): string[] {
  return [...keys].sort();
}

describe("§11.3 variant vectors", () => {
  for (const [id, scenario] of Object.entries(VARIANT_VECTORS)) {
    it(id, () => {
      const { flag } = compileFlag(variantFlag(scenario), segmentMap(scenario));
      const result = evaluateVariant(flag, {
        flagKey: scenario.flag,
        entityId: scenario.entity,
        context: scenario.context ?? {},
      });
      assert.ok(result.ok);
      const [match, reason, variant, attachment, keys] = scenario.expect;
      assert.deepEqual(
        { ...result.value, segmentKeys: sorted(result.value.segmentKeys) },
        {
          kind: "variant",
          flagKey: scenario.flag,
          match,
          reason: `${reason}_EVALUATION_REASON`,
          variantKey: variant,
          variantAttachment: attachment,
          segmentKeys: sorted(keys),
        },
      );
    });
  }
});

describe("§11.3 boolean vectors", () => {
  for (const [id, scenario] of Object.entries(BOOLEAN_VECTORS)) {
    it(id, () => {
      const { flag } = compileFlag(booleanFlag(scenario), segmentMap(scenario));
      const result = evaluateBoolean(flag, {
        flagKey: scenario.flag,
        entityId: scenario.entity,
        context: scenario.context ?? {},
      });
      if (scenario.expect === "unknown constraint type") {
        assert.deepEqual(result, {
          ok: false,
          error: { code: "UNKNOWN_CONSTRAINT_TYPE", message: "unknown constraint type" },
        });
        return;
      }
      assert.ok(result.ok);
      const [enabled, reason, keys] = scenario.expect;
      assert.deepEqual(
        { ...result.value, segmentKeys: sorted(result.value.segmentKeys) },
        {
          kind: "boolean",
          flagKey: scenario.flag,
          enabled,
          reason: `${reason}_EVALUATION_REASON`,
          segmentKeys: sorted(keys),
        },
      );
    });
  }
});
