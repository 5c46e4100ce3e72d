import { createHash } from "node:crypto";

/** The length of a digest chained from several documents (storage.md §6). */
export const CHAINED_DIGEST_LENGTH = 32;

/** Each file's digest, by its bytes: a storage hands the same bytes out again while the file is unchanged. */
const digests = new WeakMap<Uint8Array, string>();

/** Lowercase hex SHA-1 of `data`; the digest of bytes asked for again is not computed again. */
export function sha1Hex(data: Uint8Array | string): string {
  if (typeof data === "string") return createHash("sha1").update(data).digest("hex");
  let digest = digests.get(data);
  if (digest === undefined) {
    digest = createHash("sha1").update(data).digest("hex");
    digests.set(data, digest);
  }
  return digest;
}

/**
 * Chains the digest of a namespace's next document onto the digest so far: `sha1(previous + next)` as hex,
 * truncated to 32 characters. A namespace defined by one document keeps that file's 40-character SHA-1.
 */
export function chainDigest(previous: string, next: string): string {
  return sha1Hex(previous + next).slice(0, CHAINED_DIGEST_LENGTH);
}
