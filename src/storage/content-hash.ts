import { createHash } from "node:crypto";
import type { SourceFile } from "./flag-source.js";

/** Each list's hash, by object: lists of files are never changed, and a storage hands the same one out again. */
const hashes = new WeakMap<readonly SourceFile[], string>();

/**
 * A SHA-1 over paths and bytes: the revision of storage that has no git, and a cheap "did anything change". A list
 * asked for again (a database read while nothing changed, a fingerprint after the build) is not hashed again.
 */
export function contentHash(files: readonly SourceFile[]): string {
  const known = hashes.get(files);
  if (known !== undefined) return known;
  const hash = createHash("sha1");
  for (const file of files) {
    hash.update(file.path);
    hash.update("\0");
    hash.update(String(file.bytes.byteLength));
    hash.update("\0");
    hash.update(file.bytes);
  }
  const digest = hash.digest("hex");
  hashes.set(files, digest);
  return digest;
}
