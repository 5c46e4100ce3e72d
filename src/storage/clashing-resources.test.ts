import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../format/limits.js";
import { clashingResources } from "./clashing-resources.js";

const PATH = "team/features.yaml";

/** A features file of namespace `team` with the given flags (key and enabled) and one segment. */
const file = (flags: Record<string, boolean>, segmentName = "Pro") =>
  [
    'version: "1.6"',
    "namespace: team",
    "flags:",
    ...Object.entries(flags).flatMap(([key, enabled]) => [
      `  - key: ${key}`,
      `    name: ${key}`,
      "    type: BOOLEAN_FLAG_TYPE",
      `    enabled: ${enabled}`,
    ]),
    "segments:",
    "  - key: pro",
    `    name: ${segmentName}`,
    "    match_type: ALL_MATCH_TYPE",
    "",
  ].join("\n");

/** `clashingResources` under the default limits unless a test gives its own. */
const clashes = (
  path: string,
  base: string | undefined,
  theirs: string | undefined,
  replayed: string | undefined,
  limits: FeaturesLimits = DEFAULT_FEATURES_LIMITS,
) => clashingResources(path, base, theirs, replayed, limits);

describe("clashingResources(path, base, theirs, replayed, limits)", () => {
  const base = file({ a: false, b: false });

  it("finds none when the replayed write changes other flags and segments than the remote did", () => {
    // The remote enabled b; the write, replayed on that, enables a and keeps b.
    assert.deepEqual(clashes(PATH, base, file({ a: false, b: true }), file({ a: true, b: true })), []);
    // The remote added c and renamed the segment; the write adds d.
    const theirs = file({ a: false, b: false, c: true }, "P");
    assert.deepEqual(clashes(PATH, base, theirs, file({ a: false, b: false, c: true, d: true }, "P")), []);
  });

  it("finds none when the replayed write leaves the remote's change as it is", () => {
    const theirs = file({ a: true, b: false });
    assert.deepEqual(clashes(PATH, base, theirs, theirs), []);
  });

  it("names each flag or segment the remote changed that the replayed write changes again", () => {
    assert.deepEqual(clashes(PATH, base, file({ a: true, b: false }), file({ a: false, b: false })), [
      "flag team/a",
    ]);
    assert.deepEqual(
      clashes(PATH, base, file({ a: false, b: false }, "X"), file({ a: true, b: false }, "Y")),
      ["segment team/pro"],
    );
  });

  it("counts a flag both sides created, and a file the remote created or deleted", () => {
    assert.deepEqual(
      clashes(PATH, base, file({ a: false, b: false, c: true }), file({ a: false, b: false, c: false })),
      ["flag team/c"],
    );
    assert.deepEqual(clashes(PATH, undefined, file({ c: true }), file({ c: true, d: true })), []);
    assert.deepEqual(clashes(PATH, base, undefined, file({ a: true })), [
      "namespace team",
      "flag team/a",
      "segment team/pro",
    ]);
  });

  it("cannot tell when a version does not parse", () => {
    assert.equal(clashes(PATH, base, "flags: [unclosed", file({ a: true, b: false })), undefined);
  });

  it("reads the versions under the limits it is given, not the defaults", () => {
    const theirs = file({ a: false, b: true });
    const replayed = file({ a: true, b: true });
    const tight = { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: base.length - 1 };
    assert.deepEqual(clashes(PATH, base, theirs, replayed), []);
    assert.equal(clashes(PATH, base, theirs, replayed, tight), undefined);
  });
});
