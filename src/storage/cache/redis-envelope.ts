import { createHash } from "node:crypto";

/**
 * How Pennant stores a value in Redis: `pennant1:<sha256 hex>:<value>`, where the digest covers the logical key and
 * the value. It is an integrity check, not a signature: it catches a value that was truncated, corrupted, written
 * by another program or copied from another key, so that a Redis answering garbage is a miss, never wrong flag data.
 * `pennant1` is the format's version; a value in another format fails the check (a miss), and is overwritten by
 * the next write.
 */
const TAG = "pennant1:";
const DIGEST_HEX_LENGTH = 64;
const HEADER_LENGTH = TAG.length + DIGEST_HEX_LENGTH + 1;

/** What `openRedisEnvelope` found: the value, or why it was rejected (never the stored text itself). */
export type OpenedRedisEnvelope = { readonly value: string } | { readonly problem: string };

/** The text to store in Redis for `value` at logical key `key`. */
export function sealRedisEnvelope(key: string, value: string): string {
  return `${TAG}${digest(key, value)}:${value}`;
}

/** The value sealed in `stored` for logical key `key`, or the problem when it fails the check. */
export function openRedisEnvelope(key: string, stored: string): OpenedRedisEnvelope {
  if (!stored.startsWith(TAG) || stored.length < HEADER_LENGTH || stored[HEADER_LENGTH - 1] !== ":") {
    return { problem: "not in Pennant's format" };
  }
  const value = stored.slice(HEADER_LENGTH);
  if (stored.slice(TAG.length, HEADER_LENGTH - 1) !== digest(key, value)) {
    return { problem: "its checksum does not match" };
  }
  return { value };
}

function digest(key: string, value: string): string {
  return createHash("sha256")
    .update(`${Buffer.byteLength(key)}:`)
    .update(key)
    .update(value)
    .digest("hex");
}
