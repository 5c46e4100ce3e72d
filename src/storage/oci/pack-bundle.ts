import { Buffer } from "node:buffer";
import type { FeaturesDocument } from "../../format/features-document.js";
import {
  BUNDLE_ARTIFACT_TYPE,
  type BundleManifestVersion,
  CREATED_ANNOTATION,
  EMPTY_JSON_BYTES,
  EMPTY_JSON_DATA,
  EMPTY_JSON_DIGEST,
  EMPTY_JSON_MEDIA_TYPE,
  NAMESPACE_ANNOTATION,
  NAMESPACE_LAYER_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from "./bundle-media-types.js";
import { encodeBundleLayer } from "./encode-bundle-layer.js";
import { encodeOciManifest } from "./encode-oci-json.js";
import type { OciDescriptor, OciManifest } from "./oci-descriptor.js";
import { ociDigest } from "./oci-digest.js";

export interface PackBundleOptions {
  /** `storage.oci.manifest_version`; "1.1" by default. */
  readonly manifestVersion?: BundleManifestVersion | undefined;
  /** The build time for the `org.opencontainers.image.created` annotation; now by default. */
  readonly created?: Date | undefined;
}

/** A blob of a bundle with its descriptor. */
export interface BundleBlob {
  readonly descriptor: OciDescriptor;
  readonly bytes: Uint8Array;
}

/** A bundle ready to store or push: its blobs, then its manifest. */
export interface PackedBundle {
  /** The config and layer blobs, each digest once, in the order to push them (layers, then the config). */
  readonly blobs: readonly BundleBlob[];
  readonly manifest: OciManifest;
  /** The manifest as stored and pushed: its digest is the bundle's. */
  readonly manifestBytes: Uint8Array;
  /**
   * The manifest's descriptor as oras' `PackManifest` returns it, and as a local `index.json` lists it: media
   * type, digest, size, the manifest's annotations and the bundle's artifact type.
   */
  readonly manifestDescriptor: OciDescriptor;
  /** `sha256:<hex>` of `manifestBytes`. */
  readonly digest: string;
}

/**
 * Packs features documents into a bundle as Flipt v1's `Store.Build` does with oras' `PackManifest` (spec
 * v1-backends §5.4): one layer per document, in the given order (file walk order, then document order), each the
 * document's Flipt JSON (`encodeBundleLayer`) with media type `application/vnd.io.flipt.features.namespace.v1` and
 * the namespace key as annotation; then the manifest:
 *
 * - 1.1: `artifactType: application/vnd.io.flipt.features.v1`, the empty JSON descriptor (with `data: "e30="`)
 *   as config, and a single empty JSON layer when there are no documents;
 * - 1.0: no `artifactType`; the config is the `{}` blob under media type `application/vnd.io.flipt.features.v1`,
 *   and the layers are `[]` when there are no documents;
 *
 * both annotated with `org.opencontainers.image.created` (RFC 3339, UTC, seconds).
 */
export function packBundle(
  documents: readonly FeaturesDocument[],
  options: PackBundleOptions = {},
): PackedBundle {
  const version = options.manifestVersion ?? "1.1";
  const blobs = new Map<string, BundleBlob>();
  const add = (descriptor: OciDescriptor, bytes: Uint8Array) => {
    if (!blobs.has(descriptor.digest)) blobs.set(descriptor.digest, { descriptor, bytes });
    return descriptor;
  };
  const layers = documents.map((document) => {
    const bytes = encodeBundleLayer(document);
    return add(
      {
        mediaType: NAMESPACE_LAYER_MEDIA_TYPE,
        digest: ociDigest(bytes),
        size: bytes.byteLength,
        annotations: { [NAMESPACE_ANNOTATION]: document.namespace.key },
      },
      bytes,
    );
  });
  const empty = (mediaType: string, data: boolean): OciDescriptor => ({
    mediaType,
    digest: EMPTY_JSON_DIGEST,
    size: EMPTY_JSON_BYTES.byteLength,
    ...(data ? { data: EMPTY_JSON_DATA } : {}),
  });
  const annotations = { [CREATED_ANNOTATION]: formatCreated(options.created ?? new Date()) };
  let manifest: OciManifest;
  if (version === "1.1") {
    if (layers.length === 0) layers.push(add(empty(EMPTY_JSON_MEDIA_TYPE, true), EMPTY_JSON_BYTES));
    const config = add(empty(EMPTY_JSON_MEDIA_TYPE, true), EMPTY_JSON_BYTES);
    manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: BUNDLE_ARTIFACT_TYPE,
      config,
      layers,
      annotations,
    };
  } else {
    const config = add(empty(BUNDLE_ARTIFACT_TYPE, false), EMPTY_JSON_BYTES);
    manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE, config, layers, annotations };
  }
  const manifestBytes = Buffer.from(encodeOciManifest(manifest), "utf8");
  const digest = ociDigest(manifestBytes);
  return {
    blobs: [...blobs.values()],
    manifest,
    manifestBytes,
    manifestDescriptor: {
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      digest,
      size: manifestBytes.byteLength,
      annotations,
      artifactType: BUNDLE_ARTIFACT_TYPE,
    },
    digest,
  };
}

/** Go's `time.Now().UTC().Format(time.RFC3339)`: `2024-05-01T10:00:00Z`. */
function formatCreated(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
