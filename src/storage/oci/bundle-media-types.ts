/**
 * The constants of Flipt v1's OCI bundles (spec v1-backends §5.1), shared by building, storing and reading them.
 * A bundle built by Flipt v1 and one built by Pennant carry the same media types and annotations.
 */

/** The bundle's artifact type: the 1.1 manifest's `artifactType`, and the 1.0 manifest's config media type. */
export const BUNDLE_ARTIFACT_TYPE = "application/vnd.io.flipt.features.v1";

/** A namespace layer's media type; a reader also accepts it with an encoding suffix (`+json`, `+yaml`, `+yml`). */
export const NAMESPACE_LAYER_MEDIA_TYPE = "application/vnd.io.flipt.features.namespace.v1";

/** The layer annotation naming the namespace key of the layer's document. */
export const NAMESPACE_ANNOTATION = "io.flipt.features.namespace";

/** The manifest annotation holding when the bundle was built (RFC 3339, UTC, seconds); required when reading. */
export const CREATED_ANNOTATION = "org.opencontainers.image.created";

/** The annotation of a local `index.json` entry naming its tag. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

/** The OCI image manifest media type. */
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";

/** The OCI image index media type (a local layout's `index.json`). */
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";

/** The media type of the empty JSON descriptor. */
export const EMPTY_JSON_MEDIA_TYPE = "application/vnd.oci.empty.v1+json";

/** The empty JSON blob, `{}`, and its digest: the 1.1 config (and sole layer of an empty bundle), the 1.0 config. */
export const EMPTY_JSON_BYTES: Uint8Array = new TextEncoder().encode("{}");
export const EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/** `{}` in base64, the `data` of the empty JSON descriptor in a 1.1 manifest. */
export const EMPTY_JSON_DATA = "e30=";

/** The manifest versions `storage.oci.manifest_version` accepts; 1.1 is the default. */
export type BundleManifestVersion = "1.0" | "1.1";
