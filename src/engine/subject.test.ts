import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EvalFlag } from "../domain/evaluation-model.js";
import type { Flag, Segment } from "../domain/flag-state.js";
import { compileFlags } from "./compile-flag.js";
import { newDecision } from "./decision.js";
import { decideBoolean } from "./evaluate-boolean.js";
import { evaluateFlag } from "./evaluate-flag.js";
import { decideVariant } from "./evaluate-variant.js";
import { explainFlag } from "./explain-flag.js";
import { entityCrc32, NO_STAMP, newSubject, renewSubject, type Subject } from "./subject.js";

const constraint = (type: string, property: string, operator: string, value = "") =>
  ({ type, property, operator, value }) as Segment["constraints"][number];

/** Segments shared by several flags, as a namespace's are: ALL and ANY, a bad number, an unknown type. */
const segments = new Map<string, Segment>(
  (
    [
      ["pro", "ALL_MATCH_TYPE", [constraint("STRING_COMPARISON_TYPE", "plan", "isoneof", '["pro","team"]')]],
      [
        "adult-eu",
        "ALL_MATCH_TYPE",
        [
          constraint("NUMBER_COMPARISON_TYPE", "age", "gte", "18"),
          constraint("STRING_COMPARISON_TYPE", "country", "isoneof", '["DE","FR"]'),
        ],
      ],
      [
        "acme-or-young",
        "ANY_MATCH_TYPE",
        [
          constraint("STRING_COMPARISON_TYPE", "org", "prefix", "acme-"),
          constraint("NUMBER_COMPARISON_TYPE", "age", "lt", "21"),
        ],
      ],
      ["entity", "ALL_MATCH_TYPE", [constraint("ENTITY_ID_COMPARISON_TYPE", "", "suffix", "7")]],
      [
        "semver",
        "ALL_MATCH_TYPE",
        [
          constraint("STRING_COMPARISON_TYPE", "plan", "eq", "beta"),
          constraint("SEMVER_COMPARISON_TYPE", "version", "gte", "1.0.0"),
        ],
      ],
    ] as const
  ).map(([key, matchType, constraints]) => [
    key,
    { key, name: key, matchType, constraints: [...constraints] },
  ]),
);

const variant = (key: string, ...rules: [keys: string[], and: boolean][]): Flag => ({
  key,
  name: key,
  type: "VARIANT_FLAG_TYPE",
  enabled: true,
  variants: [{ key: "a", attachment: { n: 1 } }, { key: "b" }],
  defaultVariant: "b",
  rules: rules.map(([keys, and]) => ({
    segment: { keys, operator: and ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR" },
    distributions: [
      { variant: "a", rollout: 30 },
      { variant: "b", rollout: 70 },
    ],
  })),
  rollouts: [],
});

const boolean = (key: string, keys: string[], and: boolean): Flag => ({
  key,
  name: key,
  type: "BOOLEAN_FLAG_TYPE",
  enabled: false,
  variants: [],
  rules: [],
  rollouts: [
    { segment: { keys, operator: and ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR", value: true } },
    { threshold: { percentage: 40, value: true } },
  ],
});

const compiled = compileFlags(
  [
    variant("v1", [["pro"], false], [["adult-eu", "acme-or-young"], false], [["entity"], false]),
    variant("v2", [["adult-eu", "pro"], true], [["acme-or-young", "pro", "entity"], false]),
    variant("v3", [["semver"], false], [["pro"], false]),
    boolean("b1", ["pro"], false),
    boolean("b2", ["acme-or-young", "adult-eu"], false),
    boolean("b3", ["entity", "pro"], true),
    boolean("b4", ["semver", "pro"], false),
  ],
  segments,
).flags;
const flags = [...compiled.values()];

const contexts: Record<string, string>[] = [];
for (const plan of ["pro", "free", "beta"]) {
  for (const age of ["16", "30", "x"]) {
    for (const country of ["DE", "US"]) {
      contexts.push({ plan, age, country, org: "acme-1" }, { plan, age, country });
    }
  }
}
const entities = ["user-1", "user-7", "user-17", "ü-7"];

/** What a batch's item answers: the flag decided for a Subject shared with the other items. */
function decide(flag: EvalFlag, subject: Subject) {
  const out = newDecision();
  const ok =
    flag.type === "BOOLEAN_FLAG_TYPE"
      ? decideBoolean(flag, flag.key, subject, out)
      : decideVariant(flag, subject, out);
  return ok ? { ...out } : "error";
}

/** What `evaluateFlag` answers, in the Decision's terms. */
function alone(flag: EvalFlag, entityId: string, context: Record<string, string>) {
  const result = evaluateFlag(flag, { flagKey: flag.key, entityId, context });
  if (!result.ok) return "error";
  const value = result.value;
  const shared = { reason: value.reason, segmentKeys: value.segmentKeys };
  return value.kind === "boolean" ? { ...shared, enabled: value.enabled } : { ...shared, match: value.match };
}

function same(decided: ReturnType<typeof decide>, expected: ReturnType<typeof alone>, where: string): void {
  if (decided === "error" || expected === "error") {
    assert.equal(decided, expected, where);
    return;
  }
  for (const [field, value] of Object.entries(expected)) {
    assert.deepEqual(decided[field as keyof typeof decided], value, `${where}: ${field}`);
  }
}

describe("Subject", () => {
  it("flags decided for one shared Subject answer as each evaluated alone (segments remembered, checksums joined)", () => {
    for (const entityId of entities) {
      for (const context of contexts) {
        const subject = newSubject(entityId, context);
        entityCrc32(subject);
        // Twice over, so that the second round reads every segment from its memo.
        for (const flag of [...flags, ...flags]) {
          same(
            decide(flag, subject),
            alone(flag, entityId, context),
            `${flag.key} ${entityId} ${JSON.stringify(context)}`,
          );
        }
      }
    }
  });

  it("keeps Subjects apart: interleaved Subjects, and a renewed one, never read each other's memos", () => {
    const subjects = contexts.map((context, index) =>
      newSubject(entities[index % entities.length] as string, context),
    );
    for (let round = 0; round < 2; round++) {
      for (const flag of flags) {
        for (const subject of subjects) {
          same(decide(flag, subject), alone(flag, subject.entityId, subject.context), `${flag.key} ${round}`);
        }
      }
      const [first, second] = [contexts[0] as Record<string, string>, contexts[7] as Record<string, string>];
      const renewed = newSubject("user-7", first);
      for (const flag of flags) decide(flag, renewed);
      renewSubject(renewed, "user-1", second);
      for (const flag of flags) same(decide(flag, renewed), alone(flag, "user-1", second), flag.key);
    }
  });

  it("remembers nothing under NO_STAMP, so explanations trace every segment even right after a batch", () => {
    const context = { plan: "pro", age: "30", country: "DE", org: "acme-1" };
    const subject = newSubject("user-7", context);
    for (const flag of flags) decide(flag, subject);
    assert.equal(newSubject("user-7", context, false).stamp, NO_STAMP);
    const flag = compiled.get("v2") as EvalFlag;
    const { trace } = explainFlag(flag, { flagKey: "v2", entityId: "user-7", context });
    const step = trace.steps[0];
    assert.ok(step?.kind === "rule");
    assert.deepEqual(
      step.segments.map((segment) => [
        segment.key,
        segment.evaluated,
        segment.constraints.map((c) => c.evaluated),
      ]),
      [
        ["adult-eu", true, [true, true]],
        ["pro", true, [true]],
      ],
    );
  });
});
