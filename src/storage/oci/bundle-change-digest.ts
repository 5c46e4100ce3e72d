import { createHash } from "node:crypto";
import { encodeOciManifest } from "./encode-oci-json.js";
import type { OciManifest } from "./oci-descriptor.js";

/**
 * Flipt v1's change digest of a bundle (spec v1-backends §5.5), as hex: the SHA-256 of the manifest re-encoded as
 * Go's `encoding/json` writes image-spec's struct, with its annotations emptied. Rebuilding the same files later
 * changes the `created` annotation and so the manifest digest, but not this: the served state moves only when the
 * layers (or config) do. It is each document's etag in Flipt, and the revision of a bundle's state in Pennant.
 */
export function bundleChangeDigest(manifest: OciManifest): string {
  const { annotations: _annotations, ...stripped } = manifest;
  return createHash("sha256").update(encodeOciManifest(stripped)).digest("hex");
}
