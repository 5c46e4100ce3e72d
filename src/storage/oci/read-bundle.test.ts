import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS } from "../../format/limits.js";
import { loadState } from "../../format/load-state.js";
import { parseFeatures } from "../../format/parse-features.js";
import { bundleChangeDigest } from "./bundle-change-digest.js";
import type { OciDescriptor, OciManifest } from "./oci-descriptor.js";
import { type PackedBundle, packBundle } from "./pack-bundle.js";
import { parseOciManifest } from "./parse-oci-manifest.js";
import { readBundle } from "./read-bundle.js";

const hex = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
const SOURCE = `namespace: a
flags:
  - key: f
    name: F
    type: BOOLEAN_FLAG_TYPE
    enabled: true
---
namespace: b
---
namespace: a
flags:
  - key: f
    name: F
    type: BOOLEAN_FLAG_TYPE
    enabled: false
`;
const documents = parseFeatures(SOURCE, "features.yaml").documents;
const getterOf = (bundle: PackedBundle) => {
  const blobs = new Map(bundle.blobs.map((blob) => [blob.descriptor.digest, blob.bytes]));
  return async (descriptor: OciDescriptor) => {
    const bytes = blobs.get(descriptor.digest);
    if (bytes === undefined) throw new Error(`no blob ${descriptor.digest}`);
    return bytes;
  };
};
const manifestOf = (bundle: PackedBundle) => parseOciManifest(bundle.manifestBytes, bundle.digest);
const refuses = async (promise: Promise<unknown>, message: RegExp) => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ValidationError, String(error));
    assert.match(error.message, message);
    return true;
  });
};

describe("readBundle (Flipt's Fetch, spec v1-backends §5.5)", () => {
  it("hands over one file per layer, in layer order, named after the layer's digest", async () => {
    const bundle = packBundle(documents, { created: new Date("2024-05-01T10:00:00Z") });
    const read = await readBundle(manifestOf(bundle), getterOf(bundle));
    const layers = bundle.manifest.layers;
    assert.deepEqual(
      read.files.map((file) => file.path),
      layers.map((layer, index) => `layer-0${index}/${layer.digest.slice(7)}.json`),
    );
    assert.equal(read.created.toISOString(), "2024-05-01T10:00:00.000Z");
    assert.equal(read.revision, bundleChangeDigest(bundle.manifest));
    // The snapshot builder reads them as the source files: the later document of `a` wins, as in Flipt.
    const state = loadState(read.files, DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(state.issues, []);
    assert.equal(state.namespaces.get("a")?.flags.get("f")?.enabled, false);
    assert.ok(state.namespaces.has("b"));
  });

  it("keeps the revision when the same files are built again later, and moves it when they change", async () => {
    const first = packBundle(documents, { created: new Date("2024-05-01T10:00:00Z") });
    const again = packBundle(documents, { created: new Date("2024-06-01T10:00:00Z") });
    assert.notEqual(first.digest, again.digest);
    assert.equal(bundleChangeDigest(first.manifest), bundleChangeDigest(again.manifest));
    const changed = packBundle(documents.slice(1), { created: new Date("2024-05-01T10:00:00Z") });
    assert.notEqual(bundleChangeDigest(first.manifest), bundleChangeDigest(changed.manifest));
    // Go's encoding of the manifest without its annotations: what Flipt hashes for its etag.
    const stripped = Buffer.from(first.manifestBytes)
      .toString("utf8")
      .replace(/,"annotations":\{"org\.opencontainers\.image\.created":"[^"]*"\}\}$/, "}");
    assert.equal(bundleChangeDigest(first.manifest), hex(stripped));
  });

  it("reads layers with an encoding suffix under that extension", async () => {
    const bundle = packBundle(documents.slice(0, 1));
    const manifest: OciManifest = {
      ...bundle.manifest,
      layers: bundle.manifest.layers.map((layer) => ({
        ...layer,
        mediaType: "application/vnd.io.flipt.features.namespace.v1+yaml",
      })),
    };
    const read = await readBundle(manifest, getterOf(bundle));
    assert.match(read.files[0]?.path ?? "", /^layer-00\/[0-9a-f]{64}\.yaml$/);
  });

  it("refuses a layer of another media type, a missing one and an unknown encoding", async () => {
    const bundle = packBundle(documents.slice(0, 1));
    const withType = (mediaType: string): OciManifest => ({
      ...bundle.manifest,
      layers: bundle.manifest.layers.map((layer) => ({ ...layer, mediaType })),
    });
    await refuses(
      readBundle(withType("application/vnd.oci.image.layer.v1.tar"), getterOf(bundle)),
      /unexpected media type "application\/vnd\.oci\.image\.layer\.v1\.tar"/,
    );
    await refuses(readBundle(withType(""), getterOf(bundle)), /missing media type/);
    await refuses(
      readBundle(withType("application/vnd.io.flipt.features.namespace.v1+toml"), getterOf(bundle)),
      /unexpected layer encoding "toml"/,
    );
    // An empty 1.1 bundle's only layer is the empty JSON blob: refused, as Flipt refuses it.
    const empty = packBundle([]);
    await refuses(readBundle(manifestOf(empty), getterOf(empty)), /application\/vnd\.oci\.empty\.v1\+json/);
  });

  it("refuses a manifest without a valid created annotation", async () => {
    const bundle = packBundle(documents);
    const { annotations: _annotations, ...bare } = bundle.manifest;
    await refuses(readBundle(bare, getterOf(bundle)), /no org\.opencontainers\.image\.created annotation/);
    for (const created of ["yesterday", "2024-05-01", "2024-05-01 10:00:00Z"]) {
      await refuses(
        readBundle(
          { ...bare, annotations: { "org.opencontainers.image.created": created } },
          getterOf(bundle),
        ),
        /is not an RFC 3339 time/,
      );
    }
    const offset = await readBundle(
      { ...bare, annotations: { "org.opencontainers.image.created": "2024-05-01T12:00:00.5+02:00" } },
      getterOf(bundle),
    );
    assert.equal(offset.created.toISOString(), "2024-05-01T10:00:00.500Z");
  });

  it("refuses a layer whose bytes do not match its descriptor", async () => {
    const bundle = packBundle(documents.slice(0, 1));
    const tampered = async () => new TextEncoder().encode('{"namespace":"evil"}');
    await refuses(readBundle(bundle.manifest, tampered), /does not match its descriptor/);
  });

  it("parses a manifest as Go does, and refuses what is not one", () => {
    const bundle = packBundle(documents);
    assert.deepEqual(parseOciManifest(bundle.manifestBytes, "m"), bundle.manifest);
    assert.throws(() => parseOciManifest(new TextEncoder().encode("{"), "m"), /manifest m is not valid JSON/);
    assert.throws(
      () => parseOciManifest(new TextEncoder().encode('{"schemaVersion":2,"config":{},"layers":[]}'), "m"),
      /config\.digest is not a string/,
    );
  });
});
