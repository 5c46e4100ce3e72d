import { crc32, crc32Int } from "./crc32.js";

/** Buckets of variant distributions: a rule's distributions share 0..999. */
export const VARIANT_BUCKETS = 1000;
/** Buckets of boolean threshold rollouts: 0..99, compared with the percentage. */
export const BOOLEAN_BUCKETS = 100;

/**
 * The variant-distribution bucket of an entity: crc32(flagKey + entityId) % 1000. A compiled flag passes the
 * checksum of its key, computed once.
 */
export function variantBucket(flagKey: string, entityId: string, flagKeyCrc32 = crc32(flagKey)): number {
  return bucketOf(crc32Int(entityId, flagKeyCrc32), VARIANT_BUCKETS);
}

/** The boolean-threshold bucket of an entity: crc32(entityId + flagKey) % 100 (note the reversed order). */
export function booleanBucket(entityId: string, flagKey: string): number {
  return bucketOf(crc32Int(flagKey, crc32Int(entityId, 0)), BOOLEAN_BUCKETS);
}

/**
 * A checksum's bucket: its unsigned value modulo `buckets`. Takes the checksum in either form, and the signed one
 * (`crc32Int`) keeps it integer arithmetic (see there).
 */
export function bucketOf(checksum: number, buckets: number): number {
  return (checksum >>> 0) % buckets;
}

/** Whether a distribution takes part in bucketing: its rollout, as a float32, is above 0 (NaN is not). */
export function isValidRollout(rollout: number): boolean {
  return Math.fround(rollout) > 0;
}

/**
 * Cumulative exclusive upper bucket bounds for valid rollouts (all > 0), in Flipt's float32 arithmetic:
 * rollouts are normalised by their float32 sum, each step is rounded to float32, each bound is truncated
 * (not rounded), and the last bound is forced to 1000. So 53/47 gives [529, 1000], not [530, 1000].
 */
export function bucketBounds(rollouts: readonly number[]): number[] {
  const f = Math.fround;
  let total = 0;
  for (const rollout of rollouts) {
    total = f(total + f(rollout));
  }
  const bounds: number[] = [];
  let cumulative = 0;
  for (const [index, rollout] of rollouts.entries()) {
    const share = f(f(f(rollout) / total) * 100);
    cumulative = f(cumulative + share);
    bounds.push(index === rollouts.length - 1 ? VARIANT_BUCKETS : Math.trunc(f(cumulative * 10)));
  }
  return bounds;
}

/** The index of the first bound above `bucket` (Go: `sort.SearchInts(bounds, bucket + 1)`); -1 if none. */
export function findBucket(bounds: readonly number[], bucket: number): number {
  for (let index = 0; index < bounds.length; index++) {
    if ((bounds[index] as number) > bucket) {
      return index;
    }
  }
  return -1;
}
