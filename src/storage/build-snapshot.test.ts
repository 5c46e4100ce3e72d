import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildLoadable, buildSnapshot } from "./build-snapshot.js";

const encode = (text: string) => new TextEncoder().encode(text);
const flags = (namespace: string, body: string) => encode(`version: "1.6"\nnamespace: ${namespace}\n${body}`);
const BOOLEAN = (key: string) => `  - key: ${key}\n    name: ${key}\n    type: BOOLEAN_FLAG_TYPE\n`;

describe("buildLoadable()", () => {
  it("leaves out the broken files, and then the ones that only failed for them, and serves the rest", () => {
    const state = {
      revision: "r1",
      files: [
        {
          path: "a/features.yaml",
          bytes: flags("a", `segments:\n  - key: s\n    match_type: ALL_MATCH_TYPE\n    name: [broken\n`),
        },
        { path: "b/features.yaml", bytes: flags("b", `flags:\n${BOOLEAN("ok")}`) },
        { path: "c/features.yaml", bytes: encode("") },
      ],
      refused: [{ path: "", message: "d/features.yaml is a symbolic link", file: "d/features.yaml" }],
    };
    const failed = buildSnapshot(state, new Date());
    assert.equal(failed.ok, false);
    if (failed.ok) return;
    const loadable = buildLoadable(state, failed.error, new Date());
    assert.ok(loadable !== undefined);
    assert.deepEqual(loadable.left, ["a/features.yaml", "c/features.yaml", "d/features.yaml"]);
    assert.deepEqual([...(loadable.build.snapshot.namespaces.get("b")?.flags.keys() ?? [])], ["ok"]);
    assert.equal(loadable.build.snapshot.revision, "r1");
  });

  it("gives up when nothing is left", () => {
    const state = { revision: "r1", files: [{ path: "features.yaml", bytes: encode("") }] };
    const failed = buildSnapshot(state, new Date());
    assert.ok(!failed.ok);
    if (failed.ok) return;
    assert.equal(buildLoadable(state, failed.error, new Date()), undefined);
  });
});

describe("buildSnapshot(): compiling", () => {
  const RULES = (segment: string) =>
    `    variants:\n      - key: on\n    rules:\n      - segment: ${segment}\n        distributions:\n          - variant: on\n            rollout: 100\n`;
  const VARIANT = (key: string, segment: string) =>
    `  - key: ${key}\n    name: ${key}\n    type: VARIANT_FLAG_TYPE\n${RULES(segment)}`;
  const SEGMENT = (key: string, value: string) =>
    `  - key: ${key}\n    name: ${key}\n    match_type: ALL_MATCH_TYPE\n    constraints:\n      - {type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: ${value}}\n`;
  const state = (segmentsFile: string) => ({
    revision: "r",
    files: [
      { path: "a.features.yaml", bytes: flags("ns", `segments:\n${segmentsFile}`) },
      { path: "b.features.yaml", bytes: flags("ns", `flags:\n${VARIANT("f", "s")}${VARIANT("g", "t")}`) },
    ],
  });

  it("compiles again only the flags whose flag or segments changed since the last build", () => {
    const first = buildSnapshot(state(SEGMENT("s", "pro") + SEGMENT("t", "free")), new Date());
    assert.ok(first.ok);
    const same = buildSnapshot(state(SEGMENT("s", "pro") + SEGMENT("t", "free")), new Date(), {
      previous: first.parsed,
    });
    assert.ok(same.ok);
    const before = first.snapshot.namespaces.get("ns")?.evaluation;
    const after = same.snapshot.namespaces.get("ns")?.evaluation;
    assert.equal(after?.get("f"), before?.get("f"), "unchanged: the same compiled flag");
    assert.equal(after?.get("g"), before?.get("g"));

    // The segments file changed: `s` is a new object, `t` too (the file was parsed again).
    const changed = buildSnapshot(state(SEGMENT("s", "enterprise") + SEGMENT("t", "free")), new Date(), {
      previous: same.parsed,
    });
    assert.ok(changed.ok);
    const evaluation = changed.snapshot.namespaces.get("ns")?.evaluation;
    assert.notEqual(evaluation?.get("f"), after?.get("f"));
    const rule = evaluation?.get("f")?.rules[0];
    assert.deepEqual(
      rule?.segments.segments.map((segment) => segment.constraints[0]?.value),
      ["enterprise"],
    );
    assert.deepEqual([...(evaluation?.keys() ?? [])], ["f", "g"]);
  });
});
