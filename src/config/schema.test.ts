import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as s from "./schema.js";

describe("tagged()", () => {
  it("lets kinds share a key given as one node without a default", () => {
    const bucket = s.string("The bucket.");
    const node = s.tagged(
      "Where.",
      "type",
      { a: { doc: "A", keys: { bucket } }, b: { doc: "B", keys: { bucket } } },
      "a",
    );
    assert.equal(node.fields.bucket, bucket);
  });

  it("refuses a key of two kinds given as two nodes, or with a default, or named as the tag", () => {
    const kinds = (first: s.SchemaNode, second: s.SchemaNode) => ({
      a: { doc: "A", keys: { key: first } },
      b: { doc: "B", keys: { key: second } },
    });
    assert.throws(() => s.tagged("Where.", "type", kinds(s.string("x"), s.string("x")), "a"), /"key"/);
    const defaulted = s.string("x", { default: "d" });
    assert.throws(() => s.tagged("Where.", "type", kinds(defaulted, defaulted), "a"), /"key"/);
    assert.throws(
      () => s.tagged("Where.", "type", { a: { doc: "A", keys: { type: s.string("x") } } }, "a"),
      /"type"/,
    );
  });
});
