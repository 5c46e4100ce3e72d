import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { parseFeatures } from "../../format/parse-features.js";
import { EMPTY_JSON_BYTES, EMPTY_JSON_DIGEST } from "./bundle-media-types.js";
import { encodeBundleLayer } from "./encode-bundle-layer.js";
import { packBundle } from "./pack-bundle.js";

const CREATED = new Date("2024-05-01T10:00:00.789Z");
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
const documents = parseFeatures(
  "namespace: a\n---\nnamespace:\n  key: b\n  name: B\n",
  "features.yaml",
).documents;

describe("packBundle (oras PackManifest as Flipt's bundle build uses it)", () => {
  it("knows the empty JSON blob's digest", () => {
    assert.equal(EMPTY_JSON_DIGEST, sha256("{}"));
    assert.equal(
      EMPTY_JSON_DIGEST,
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
    assert.equal(text(EMPTY_JSON_BYTES), "{}");
  });

  it("packs a 1.1 manifest: artifactType, the empty JSON config with its data, a layer per document", () => {
    const bundle = packBundle(documents, { created: CREATED });
    const [a, b] = documents.map(encodeBundleLayer) as [Uint8Array, Uint8Array];
    const layer = (bytes: Uint8Array, ns: string) =>
      `{"mediaType":"application/vnd.io.flipt.features.namespace.v1","digest":"${sha256(bytes)}","size":${bytes.byteLength},"annotations":{"io.flipt.features.namespace":"${ns}"}}`;
    const expected =
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
      '"artifactType":"application/vnd.io.flipt.features.v1",' +
      '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="},' +
      `"layers":[${layer(a, "a")},${layer(b, "b")}],` +
      '"annotations":{"org.opencontainers.image.created":"2024-05-01T10:00:00Z"}}';
    assert.equal(text(bundle.manifestBytes), expected);
    assert.equal(bundle.digest, sha256(expected));
    assert.deepEqual(
      bundle.blobs.map((blob) => [blob.descriptor.digest, text(blob.bytes)]),
      [
        [sha256(a), text(a)],
        [sha256(b), text(b)],
        [EMPTY_JSON_DIGEST, "{}"],
      ],
    );
    assert.deepEqual(bundle.manifestDescriptor, {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: bundle.digest,
      size: expected.length,
      annotations: { "org.opencontainers.image.created": "2024-05-01T10:00:00Z" },
      artifactType: "application/vnd.io.flipt.features.v1",
    });
  });

  it("packs a 1.0 manifest: no artifactType, the {} config under the bundle's media type", () => {
    const bundle = packBundle(documents, { created: CREATED, manifestVersion: "1.0" });
    const manifest = JSON.parse(text(bundle.manifestBytes));
    assert.deepEqual(Object.keys(manifest), [
      "schemaVersion",
      "mediaType",
      "config",
      "layers",
      "annotations",
    ]);
    assert.equal(
      JSON.stringify(manifest.config),
      '{"mediaType":"application/vnd.io.flipt.features.v1","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}',
    );
    assert.equal(manifest.layers.length, 2);
    assert.deepEqual(bundle.blobs.at(-1)?.descriptor, manifest.config);
  });

  it("packs an empty bundle: the empty JSON layer in 1.1, no layers in 1.0", () => {
    assert.equal(
      text(packBundle([], { created: CREATED }).manifestBytes),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
        '"artifactType":"application/vnd.io.flipt.features.v1",' +
        '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="},' +
        '"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}],' +
        '"annotations":{"org.opencontainers.image.created":"2024-05-01T10:00:00Z"}}',
    );
    const old = packBundle([], { created: CREATED, manifestVersion: "1.0" });
    assert.equal(
      text(old.manifestBytes),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
        '"config":{"mediaType":"application/vnd.io.flipt.features.v1","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},' +
        '"layers":[],"annotations":{"org.opencontainers.image.created":"2024-05-01T10:00:00Z"}}',
    );
    assert.equal(old.blobs.length, 1);
  });

  it("keeps one blob for equal documents, and one layer each", () => {
    const twice = parseFeatures("namespace: a\n---\nnamespace: a\n", "f.yaml").documents;
    const bundle = packBundle(twice, { created: CREATED });
    assert.equal(bundle.manifest.layers.length, 2);
    assert.equal(bundle.blobs.length, 2);
  });
});
