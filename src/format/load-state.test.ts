import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { encodeDocuments } from "./encode-documents.js";
import type { FeaturesDocument } from "./features-document.js";
import { DEFAULT_FEATURES_LIMITS } from "./limits.js";
import { type FeaturesFile, type LoadedState, loadState } from "./load-state.js";
import { chainDigest, sha1Hex } from "./namespace-digest.js";
import { parseFeatures } from "./parse-features.js";
import { serializeFeatures } from "./serialize-features.js";

const FIXTURES = new URL("../../test/fixtures/features/", import.meta.url);
const encoder = new TextEncoder();

/** A fixture file under the path storage would give it. */
function fixture(path: string, as = path): FeaturesFile {
  return { path: as, bytes: readFileSync(new URL(path, FIXTURES)) };
}

function file(path: string, text: string): FeaturesFile {
  return { path, bytes: encoder.encode(text) };
}

function summary(issues: ReturnType<typeof loadState>["issues"]): string[] {
  return issues.map((issue) => `${issue.file}:${issue.line} ${issue.path}: ${issue.message}`);
}

describe("chainDigest()", () => {
  it("chains etags 1, 2, 3 into Flipt's test digest", () => {
    assert.equal(chainDigest(chainDigest("1", "2"), "3"), "dc26c96ddf6430ed603862ffe5d3ac9a");
  });
});

describe("loadState()", () => {
  it("merges every valid fixture into namespaces without issues", () => {
    const paths = [
      "valid/v1.0.yaml",
      "valid/v1.1.yaml",
      "valid/v1.2.yaml",
      "valid/v1.3.yaml",
      "valid/v1.4.yaml",
      "valid/v1.5.yaml",
      "valid/v1.6.yaml",
      "valid/unversioned.yaml",
      "valid/zero-values.yaml",
      "valid/stream-two-namespaces.yaml",
      "valid/stream-same-namespace.yaml",
      "valid/features.json",
      "valid/stream.features.json",
    ];
    const state = loadState(
      paths.map((path) => fixture(path)),
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(state.issues, []);
    assert.deepEqual([...state.namespaces.keys()].sort(), [
      "default",
      "json",
      "json-one",
      "json-two",
      "merged",
      "production",
      "team-a",
      "team-b",
      "v1_0",
      "v1_1",
      "v1_2",
      "v1_3",
      "v1_4",
      "v1_4_other",
      "v1_5",
      "v1_6",
    ]);
    assert.deepEqual([...(state.namespaces.get("default")?.flags.keys() ?? [])], ["zero", "zero-bool"]);
  });

  it("uses the file's SHA-1 as the digest of a namespace one document defines", () => {
    const bytes = readFileSync(new URL("valid/v1.0.yaml", FIXTURES));
    const state = loadState([{ path: "v1.0.yaml", bytes }], DEFAULT_FEATURES_LIMITS);
    assert.equal(state.namespaces.get("v1_0")?.digest, sha1Hex(bytes));
    assert.match(state.namespaces.get("v1_0")?.digest ?? "", /^[0-9a-f]{40}$/);
  });

  it("chains the file digest once per contributing document, and namespaces sharing a file share its digest", () => {
    const same = readFileSync(new URL("valid/stream-same-namespace.yaml", FIXTURES));
    const two = readFileSync(new URL("valid/stream-two-namespaces.yaml", FIXTURES));
    const state = loadState(
      [
        { path: "a/features.yaml", bytes: same },
        { path: "b/features.yaml", bytes: two },
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    const fileDigest = sha1Hex(same);
    assert.equal(state.namespaces.get("merged")?.digest, chainDigest(fileDigest, fileDigest));
    assert.equal(state.namespaces.get("merged")?.digest.length, 32);
    assert.equal(state.namespaces.get("team-a")?.digest, sha1Hex(two));
    assert.equal(state.namespaces.get("team-b")?.digest, sha1Hex(two));
  });

  it("always has the default namespace, empty with an empty digest when no document targets it", () => {
    const state = loadState([], DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(state.issues, []);
    assert.deepEqual(state.namespaces.get("default"), {
      namespace: { key: "default" },
      flags: new Map(),
      segments: new Map(),
      digest: "",
    });
  });

  it("lets later flags and segments replace earlier ones with the same key, keeping first-seen order", () => {
    const state = loadState([fixture("valid/stream-same-namespace.yaml")], DEFAULT_FEATURES_LIMITS);
    const merged = state.namespaces.get("merged");
    assert.deepEqual([...(merged?.flags.keys() ?? [])], ["first", "replaced", "second"]);
    assert.equal(merged?.flags.get("replaced")?.name, "Replacement");
    assert.deepEqual([...(merged?.segments.keys() ?? [])], ["early"]);
  });

  it("takes the namespace name and description from the first document that declares each", () => {
    const state = loadState(
      [
        file("a.yaml", "namespace: ns\n"),
        file("b.yaml", 'version: "1.4"\nnamespace: {key: ns, name: First}\n'),
        file("c.yaml", 'version: "1.4"\nnamespace: {key: ns, name: Second, description: Described}\n'),
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(state.namespaces.get("ns")?.namespace, {
      key: "ns",
      name: "First",
      description: "Described",
    });
  });

  it("visits files in lexical path order, whatever order they are given in", () => {
    const state = loadState(
      [
        file("b/features.yaml", "namespace: ns\nflags: [{key: f, name: From B}]\n"),
        file("a/features.yaml", "namespace: ns\nflags: [{key: f, name: From A}]\n"),
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.equal(state.namespaces.get("ns")?.flags.get("f")?.name, "From B");
  });

  it("reports unknown segments and variants with Flipt's messages and their lines", () => {
    const state = loadState(
      [fixture("invalid/references.yaml", "refs/features.yaml")],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(summary(state.issues), [
      'refs/features.yaml:9 flags[0].rules[0].segment: flag refs/variant-flag rule 1 references unknown segment "missing-segment"',
      'refs/features.yaml:13 flags[0].rules[0].distributions[1].variant: flag refs/variant-flag rule 1 references unknown variant "missing-variant"',
      'refs/features.yaml:16 flags[0].rules[1].segment: flag refs/variant-flag rule 2 references unknown segment "also-missing"',
      'refs/features.yaml:25 flags[1].rollouts[1].segment: flag refs/boolean-flag rule 2 references unknown segment "gone"',
    ]);
  });

  it("rejects a segment defined in a later file, and accepts it from an earlier one", () => {
    const flags = readFileSync(new URL("order/a-flags.yaml", FIXTURES));
    const segments = readFileSync(new URL("order/b-segments.yaml", FIXTURES));
    const late = loadState(
      [
        { path: "order/a-flags.yaml", bytes: flags },
        { path: "order/b-segments.yaml", bytes: segments },
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(summary(late.issues), [
      'order/a-flags.yaml:9 flags[0].rollouts[0].segment: flag ordered/early-flag rule 1 references unknown segment "late-segment"',
    ]);
    const early = loadState(
      [
        { path: "order/z-flags.yaml", bytes: flags },
        { path: "order/b-segments.yaml", bytes: segments },
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(early.issues, []);
  });

  it("reports schema issues of every file and skips reference checks until they are fixed", () => {
    const state = loadState(
      [
        fixture("invalid/rollout-110.yaml", "a/features.yaml"),
        fixture("invalid/references.yaml", "b/features.yaml"),
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(summary(state.issues), [
      "a/features.yaml:22 flags[0].rules[1].distributions[0].rollout: rollout 110 is out of range: it must be between 0 and 100",
    ]);
  });

  it("reports files that are not UTF-8 or are too large", () => {
    const state = loadState(
      [
        { path: "bad.yaml", bytes: new Uint8Array([0x6e, 0x3a, 0x20, 0xff]) },
        { path: "big.yaml", bytes: new Uint8Array(DEFAULT_FEATURES_LIMITS.maxFileBytes + 1).fill(0x20) },
      ],
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(summary(state.issues), [
      "bad.yaml:1 : the file is not valid UTF-8",
      "big.yaml:1 : the file is larger than the 8 MiB limit for a features file (limits.max_features_file_bytes)",
    ]);
  });
});

/** A file as a storage of documents hands it over: its documents, and their canonical bytes. */
function documentsFile(path: string, documents: readonly FeaturesDocument[]): FeaturesFile {
  return { path, bytes: encodeDocuments(documents), documents };
}

/**
 * The documents of a fixture, as a storage of documents would hold them: written out once in the stable layout
 * (which sorts isoneof lists) and read back, so that their YAML reads back as the same documents.
 */
function fixtureDocuments(path: string): FeaturesDocument[] {
  const fixed = parseFeatures(readFileSync(new URL(path, FIXTURES), "utf8"), path);
  const parsed = parseFeatures(serializeFeatures(fixed.documents), path);
  assert.deepEqual(parsed.issues, []);
  return parsed.documents.map(({ lines: _lines, ...document }) => ({ ...document, line: 0 }));
}

/** What a load says about its namespaces, without the digests (which hash different bytes). */
function namespacesOf(state: LoadedState): unknown {
  return JSON.parse(
    JSON.stringify(
      [...state.namespaces.values()].map(({ namespace, flags, segments }) => ({
        namespace,
        flags: [...flags.values()],
        segments: [...segments.values()],
      })),
    ),
  );
}

describe("loadState(): files that carry documents", () => {
  const PATHS = ["valid/v1.6.yaml", "valid/stream-two-namespaces.yaml", "valid/stream-same-namespace.yaml"];

  it("loads the documents as they are, into the state the YAML of the same documents loads", () => {
    const documents = PATHS.map((path) => fixtureDocuments(path));
    const fromDocuments = loadState(
      PATHS.map((path, index) => documentsFile(path, documents[index] ?? [])),
      DEFAULT_FEATURES_LIMITS,
    );
    const fromYaml = loadState(
      PATHS.map((path, index) => file(path, serializeFeatures(documents[index] ?? []))),
      DEFAULT_FEATURES_LIMITS,
    );
    assert.deepEqual(fromDocuments.issues, []);
    assert.deepEqual(namespacesOf(fromDocuments), namespacesOf(fromYaml));
    // Not parsed: the flags are the documents' own objects, and nothing went into the parse cache.
    const flag = documents[0]?.[0]?.flags[0];
    assert.ok(flag !== undefined);
    assert.equal(fromDocuments.namespaces.get("v1_6")?.flags.get(flag.key), flag);
    assert.equal(fromDocuments.parsed.size, 0);
  });

  it("digests a namespace from the canonical bytes, which are never parsed", () => {
    const documents = fixtureDocuments("valid/v1.6.yaml");
    const loaded = documentsFile("v1.6/features.yaml", documents);
    // JSON is not what a features.yaml holds: a parse would fail the file.
    const state = loadState([loaded], DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(state.issues, []);
    assert.equal(state.namespaces.get("v1_6")?.digest, sha1Hex(loaded.bytes));
  });

  it("checks the references of documents, with Flipt's messages and no line", () => {
    const documents: FeaturesDocument[] = [
      {
        version: "1.6",
        namespace: { key: "refs" },
        namespaceForm: "object",
        flags: [
          {
            key: "f",
            name: "F",
            type: "VARIANT_FLAG_TYPE",
            enabled: true,
            variants: [{ key: "a" }],
            rules: [
              {
                segment: { keys: ["missing"], operator: "OR_SEGMENT_OPERATOR" },
                distributions: [{ variant: "b", rollout: 100 }],
              },
            ],
            rollouts: [],
          },
        ],
        segments: [],
        line: 0,
      },
    ];
    const state = loadState([documentsFile("refs/features.yaml", documents)], DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(state.issues, [
      {
        path: "flags[0].rules[0].segment",
        message: 'flag refs/f rule 1 references unknown segment "missing"',
        file: "refs/features.yaml",
        line: undefined,
      },
      {
        path: "flags[0].rules[0].distributions[0].variant",
        message: 'flag refs/f rule 1 references unknown variant "b"',
        file: "refs/features.yaml",
        line: undefined,
      },
    ]);
  });

  it("keeps documents to the size limits, weighed by their canonical bytes", () => {
    const documents = fixtureDocuments("valid/v1.6.yaml");
    const loaded = documentsFile("v1.6/features.yaml", documents);
    const size = loaded.bytes.byteLength;
    const tooLarge = loadState([loaded], { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: size - 1 });
    assert.match(summary(tooLarge.issues).join("\n"), /larger than the .* limit for a features file/);
    const second = documentsFile("w/features.yaml", fixtureDocuments("valid/v1.5.yaml"));
    const overSnapshot = loadState([loaded, second], {
      ...DEFAULT_FEATURES_LIMITS,
      maxSnapshotBytes: size + second.bytes.byteLength - 1,
    });
    assert.deepEqual(
      overSnapshot.issues.map((issue) => issue.file),
      ["w/features.yaml"],
    );
    assert.match(overSnapshot.issues[0]?.message ?? "", /limits\.max_snapshot_bytes/);
  });
});
