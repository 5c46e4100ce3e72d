import { isDeepStrictEqual } from "node:util";

/**
 * Whether two plain values (flags, segments, JSON) say the same thing: object keys in any order, and a key
 * holding undefined the same as no key, since documents parsed from text and documents built from rows differ
 * only in that. The same object is the same value at once: a write's untouched flags are the objects it read.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  return a === b || isDeepStrictEqual(withoutUndefined(a), withoutUndefined(b));
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = withoutUndefined(item);
  }
  return out;
}
