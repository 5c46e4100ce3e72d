import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_FEATURES_LIMITS } from "./limits.js";
import { readYamlSource } from "./read-yaml-source.js";

describe("readYamlSource(): what a file weighs with its aliases expanded", () => {
  const limits = { ...DEFAULT_FEATURES_LIMITS, maxExpandedBytes: 5000 };

  it("counts each alias of a string at the string's full size", () => {
    const once = readYamlSource(`a: &s "${"x".repeat(1000)}"\n`, "f.yaml");
    const thrice = readYamlSource(`a: &s "${"x".repeat(1000)}"\nb: [*s, *s]\n`, "f.yaml");
    assert.deepEqual(once.issues, []);
    assert.ok(once.expandedBytes >= 1000 && once.expandedBytes < 1100, String(once.expandedBytes));
    assert.ok(thrice.expandedBytes >= 3000 && thrice.expandedBytes < 3100, String(thrice.expandedBytes));
  });

  it("abandons a file at the limit and names the key, without reading the rest of it", () => {
    const text = `a: &s "${"x".repeat(1000)}"\nb: [${Array.from({ length: 10 }, () => "*s").join(", ")}]\n---\nc: 1\n`;
    const read = readYamlSource(text, "f.yaml", limits);
    assert.equal(read.documents.length, 0, "neither document is kept: the file as a whole is over");
    assert.equal(read.issues.length, 2);
    assert.match(
      read.issues[0]?.message ?? "",
      /^the file holds more than 5000 bytes once its YAML aliases are expanded \(limits\.max_features_expanded_bytes\)$/,
    );
    assert.equal(read.issues[0]?.line, 2);
  });

  it("stays under the limit for a file of the same size without aliases", () => {
    const read = readYamlSource(`a: "${"x".repeat(4000)}"\n`, "f.yaml", limits);
    assert.deepEqual(read.issues, []);
  });
});
