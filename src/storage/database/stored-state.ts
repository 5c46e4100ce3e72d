import type { JsonObject, JsonValue, SegmentOperator } from "../../domain/flag-state.js";

/**
 * Flag state as the database rows hold it, with the ids and creation times that documents do not carry: what
 * a read builds, what a write diffs against and updates, and what the storage keeps between reads. Objects are
 * never changed once built; a write makes new ones for what it touched.
 */

export interface StoredVariant {
  readonly id: string;
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly attachment: JsonValue | undefined;
  /** Canonical UTC text (`sql-values.ts`), which sorts as time does. */
  readonly createdAt: string;
}

export interface StoredDistribution {
  readonly id: string;
  readonly variantId: string;
  readonly rollout: number;
  readonly createdAt: string;
}

export interface StoredRule {
  readonly id: string;
  readonly rank: number;
  /** Sorted: the join table has no order. */
  readonly segmentKeys: readonly string[];
  readonly operator: SegmentOperator;
  /** By `created_at`, then id: the order bucketing walks (Flipt v1's). */
  readonly distributions: readonly StoredDistribution[];
}

export interface StoredRollout {
  readonly id: string;
  readonly rank: number;
  /** 0 unknown, 1 segment, 2 threshold. */
  readonly type: number;
  readonly description: string;
  readonly threshold?:
    | { readonly id: string; readonly percentage: number; readonly value: boolean }
    | undefined;
  readonly segment?:
    | {
        readonly id: string;
        readonly value: boolean;
        readonly operator: SegmentOperator;
        readonly keys: readonly string[];
      }
    | undefined;
}

export interface StoredFlag {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly enabled: boolean;
  /** 0 variant, 1 boolean. */
  readonly type: number;
  readonly metadata: JsonObject | undefined;
  readonly defaultVariantId: string | undefined;
  readonly createdAt: string;
  /** By `created_at`, then key. */
  readonly variants: readonly StoredVariant[];
  /** By rank. */
  readonly rules: readonly StoredRule[];
  /** By rank. */
  readonly rollouts: readonly StoredRollout[];
}

export interface StoredConstraint {
  readonly id: string;
  /** Flipt's ComparisonType number. */
  readonly type: number;
  readonly property: string;
  readonly operator: string;
  readonly value: string;
  readonly description: string | undefined;
  readonly createdAt: string;
}

export interface StoredSegment {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** 0 all, 1 any. */
  readonly matchType: number;
  readonly createdAt: string;
  /** By `created_at`, then id. */
  readonly constraints: readonly StoredConstraint[];
}

export interface StoredNamespace {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** Keyed and ordered by (`created_at`, key), the order the document lists them in. */
  readonly flags: ReadonlyMap<string, StoredFlag>;
  readonly segments: ReadonlyMap<string, StoredSegment>;
}

/** Orders rows by creation time, then by a tie-breaker (key or id). */
export function byCreation<T extends { readonly createdAt: string }>(
  tieBreak: (item: T) => string,
): (a: T, b: T) => number {
  return (a, b) => compare(a.createdAt, b.createdAt) || compare(tieBreak(a), tieBreak(b));
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A map keyed by `key`, in creation order. */
export function orderedByCreation<T extends { readonly key: string; readonly createdAt: string }>(
  items: Iterable<T>,
): Map<string, T> {
  const sorted = [...items].sort(byCreation((item) => item.key));
  return new Map(sorted.map((item) => [item.key, item]));
}
