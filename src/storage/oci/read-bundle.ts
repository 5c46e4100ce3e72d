import { ValidationError } from "../../domain/errors.js";
import { parseGoTime } from "../../go/parse-go-time.js";
import type { SourceFile } from "../flag-source.js";
import { bundleChangeDigest } from "./bundle-change-digest.js";
import { CREATED_ANNOTATION, NAMESPACE_LAYER_MEDIA_TYPE } from "./bundle-media-types.js";
import type { OciDescriptor, OciManifest } from "./oci-descriptor.js";
import { ociDigest, SHA256_DIGEST_PATTERN } from "./oci-digest.js";

/** Fetches one blob of the bundle (from the local store or a registry), by its descriptor. */
export type BundleBlobGetter = (descriptor: OciDescriptor) => Promise<Uint8Array>;

/** The flag state a bundle holds, ready for the snapshot builder. */
export interface BundleContents {
  /** The change digest (`bundleChangeDigest`), hex: the state's revision, unchanged by a rebuild of the same files. */
  readonly revision: string;
  /** When the bundle was built: its `org.opencontainers.image.created` annotation. */
  readonly created: Date;
  /**
   * One file per layer, in layer order: `layer-<position>/<digest hex>.<encoding>`. The name is Flipt's
   * (`<digest hex>.<encoding>`, whose extension chooses JSON or YAML); the position before it keeps the layers'
   * order through the builder's lexical sort, since documents merge in order, and tells two equal layers apart.
   */
  readonly files: readonly SourceFile[];
}

/** The encodings a layer's media type may carry after `+`; none (a bare `+`) is allowed too, as in Flipt. */
const ENCODINGS = new Set(["json", "yaml", "yml", ""]);

/**
 * Reads a bundle's flag state from its manifest as Flipt v1's OCI storage does (spec v1-backends §5.5): the
 * `org.opencontainers.image.created` annotation must be an RFC 3339 time; every layer must have a media type whose
 * part before the first `+` is `application/vnd.io.flipt.features.namespace.v1` and whose part after it (`json`
 * when there is no `+`) is `json`, `yaml`, `yml` or empty; each layer becomes a file named after its digest and
 * encoding. The manifest's `artifactType` and config are not checked, as Flipt does not. Each layer's bytes must
 * match its descriptor's digest and size. Any problem throws a ValidationError naming the layer.
 */
export async function readBundle(manifest: OciManifest, getBlob: BundleBlobGetter): Promise<BundleContents> {
  const created = parseCreated(manifest.annotations?.[CREATED_ANNOTATION]);
  const width = Math.max(2, String(manifest.layers.length - 1).length);
  const names = manifest.layers.map((layer, index) => {
    const name = layerFileName(layer);
    return `layer-${String(index).padStart(width, "0")}/${name}`;
  });
  const files = await Promise.all(
    manifest.layers.map(async (layer, index): Promise<SourceFile> => {
      const bytes = await getBlob(layer);
      if (bytes.byteLength !== layer.size || ociDigest(bytes) !== layer.digest) {
        throw new ValidationError(
          `layer ${layer.digest}: the blob does not match its descriptor (got ${bytes.byteLength} bytes with digest ${ociDigest(bytes)})`,
        );
      }
      return { path: names[index] as string, bytes };
    }),
  );
  return { revision: bundleChangeDigest(manifest), created, files };
}

/** Flipt's `parseCreated`: Go's `time.Parse(time.RFC3339, …)` of the annotation. */
function parseCreated(text: string | undefined): Date {
  if (text === undefined || text === "") {
    throw new ValidationError(
      `the bundle's manifest has no ${CREATED_ANNOTATION} annotation, which Flipt requires (was it built by flipt or pennant bundle build?)`,
    );
  }
  const nanos = /^\d{4}-\d{2}-\d{2}$/.test(text) ? undefined : parseGoTime(text);
  if (nanos === undefined) {
    throw new ValidationError(
      `the bundle's ${CREATED_ANNOTATION} annotation ${JSON.stringify(text)} is not an RFC 3339 time`,
    );
  }
  return new Date(Number(nanos / 1_000_000n));
}

/** `<digest hex>.<encoding>`, after checking the layer's media type and digest as Flipt does. */
function layerFileName(layer: OciDescriptor): string {
  if (layer.mediaType === "") throw new ValidationError(`layer ${layer.digest}: missing media type`);
  const plus = layer.mediaType.indexOf("+");
  const base = plus === -1 ? layer.mediaType : layer.mediaType.slice(0, plus);
  const encoding = plus === -1 ? "json" : layer.mediaType.slice(plus + 1);
  if (base !== NAMESPACE_LAYER_MEDIA_TYPE) {
    throw new ValidationError(
      `layer ${layer.digest}: unexpected media type ${JSON.stringify(layer.mediaType)}: a bundle's layers are ${NAMESPACE_LAYER_MEDIA_TYPE}`,
    );
  }
  if (!ENCODINGS.has(encoding)) {
    throw new ValidationError(
      `layer ${layer.digest}: unexpected media type: unexpected layer encoding ${JSON.stringify(encoding)} (json, yaml or yml)`,
    );
  }
  if (!SHA256_DIGEST_PATTERN.test(layer.digest)) {
    throw new ValidationError(`layer ${layer.digest}: not a sha256 digest`);
  }
  return `${layer.digest.slice("sha256:".length)}.${encoding}`;
}
