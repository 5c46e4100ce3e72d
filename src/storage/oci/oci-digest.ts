import { createHash } from "node:crypto";

/** A digest as OCI writes it, `sha256:<64 lowercase hex>`: the only algorithm bundles use. */
export const SHA256_DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** The OCI digest of `bytes`: `sha256:<hex>` (or `sha512:<hex>`, which registries may use too). */
export function ociDigest(bytes: Uint8Array, algorithm: "sha256" | "sha512" = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
