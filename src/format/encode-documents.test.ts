import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, it } from "node:test";
import type { Flag } from "../domain/flag-state.js";
import { encodeDocuments, encodeEqually } from "./encode-documents.js";
import type { FeaturesDocument } from "./features-document.js";

const flag = (key: string, enabled = true): Flag => ({
  key,
  name: key.toUpperCase(),
  type: "BOOLEAN_FLAG_TYPE",
  description: undefined,
  enabled,
  variants: [],
  rules: [],
  rollouts: [{ threshold: { percentage: 50, value: true } }],
});

const document = (flags: readonly Flag[]): FeaturesDocument => ({
  version: "1.6",
  namespace: { key: "team", name: "Team ✓" },
  namespaceForm: "object",
  flags,
  segments: [{ key: "s", name: "S", matchType: "ALL_MATCH_TYPE", constraints: [] }],
  line: 0,
});

describe("encodeDocuments()", () => {
  it("is the UTF-8 of compact JSON of what the documents say, lines left out", () => {
    const documents = [document([flag("a"), flag("b")]), document([])];
    const text = new TextDecoder().decode(encodeDocuments(documents));
    const parsed = JSON.parse(text);
    assert.deepEqual(
      parsed,
      JSON.parse(
        JSON.stringify(
          documents.map(({ version, namespace, namespaceForm, flags, segments }) => ({
            version,
            versionDeclared: true,
            namespace,
            namespaceForm,
            flags,
            segments,
          })),
        ),
      ),
    );
    assert.equal(Buffer.compare(encodeDocuments(documents), new TextEncoder().encode(text)), 0);
    const withLines = documents.map((each) => ({ ...each, line: 7, lines: new Map([["flags[0]", 9]]) }));
    assert.deepEqual(encodeDocuments(withLines), encodeDocuments(documents));
  });

  it("encodes equal documents built apart to the same bytes, and different ones to different bytes", () => {
    const one = encodeDocuments([document([flag("a"), flag("b")])]);
    assert.deepEqual(encodeDocuments([document([flag("a"), flag("b")])]), one);
    assert.notDeepEqual(encodeDocuments([document([flag("a"), flag("b", false)])]), one);
    assert.notDeepEqual(encodeDocuments([document([flag("b"), flag("a")])]), one);
  });
});

describe("encodeEqually()", () => {
  it("compares item by item: the same objects at once, others by their encoding", () => {
    const a = flag("a");
    const before = [document([a, flag("b")])];
    assert.ok(encodeEqually(before, before));
    assert.ok(encodeEqually(before, [document([a, flag("b")])]));
    assert.ok(!encodeEqually(before, [document([a, flag("b", false)])]));
    assert.ok(!encodeEqually(before, [document([a])]));
    assert.ok(!encodeEqually(before, [{ ...document([a, flag("b")]), namespace: { key: "team" } }]));
    assert.ok(!encodeEqually(before, [...before, document([])]));
  });
});
