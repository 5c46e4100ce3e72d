import type { ComparisonType, FlagType, MatchType, SegmentOperator } from "./flag-state.js";

/**
 * What the engine did for one evaluation, in order (Pennant's explain API, `pennant.explain.v1`). Recorded by the
 * same functions that evaluate, as they go, so that it cannot disagree with the answer; the api layer converts it
 * to messages field by field.
 */
export interface ExplainTrace {
  readonly flagType: FlagType;
  /** The flag's `enabled`. */
  readonly flagEnabled: boolean;
  readonly steps: readonly ExplainStep[];
  /** The final reason, in words. */
  readonly summary: string;
}

/** One thing the engine did: a rule or rollout considered, or how the evaluation ended without one deciding. */
export type ExplainStep = FlagDisabledStep | RuleStep | RolloutStep | FallbackStep | ErrorStep;

/** A disabled variant flag answered at once, keeping its default variant ("" when none). */
export interface FlagDisabledStep {
  readonly kind: "flag-disabled";
  readonly defaultVariantKey: string;
}

/** A variant flag's rule, considered. */
export interface RuleStep {
  readonly kind: "rule";
  /** 1-based position in the flag. */
  readonly rank: number;
  readonly segmentOperator: SegmentOperator;
  /** Every segment of the rule that survived loading, in order, evaluated or not. */
  readonly segments: readonly SegmentTrace[];
  /** Whether its segments matched: then this rule decided the answer. */
  readonly matched: boolean;
  /** When it matched and has distributions: the bucket and the distribution that took it. */
  readonly bucket?: BucketTrace | undefined;
}

/** How a matched rule picked its variant. */
export interface BucketTrace {
  /** crc32(flag key + entity id) % 1000. */
  readonly bucket: number;
  /** The distributions that take part (float32 rollout above 0), each with its range of buckets. */
  readonly distributions: readonly DistributionTrace[];
  /** The variant whose range holds the bucket; "" when none does (which the bounds make impossible). */
  readonly selectedVariantKey: string;
}

/** One distribution of a rule and the buckets it takes: `bucketStart` (inclusive) to `bucketEnd` (exclusive). */
export interface DistributionTrace {
  readonly variantKey: string;
  /** The percentage as stored. */
  readonly rollout: number;
  readonly bucketStart: number;
  readonly bucketEnd: number;
}

/** A boolean flag's rollout, considered. */
export interface RolloutStep {
  readonly kind: "rollout";
  readonly rank: number;
  /** A segment rollout's segments. */
  readonly segment?:
    | { readonly segmentOperator: SegmentOperator; readonly segments: readonly SegmentTrace[] }
    | undefined;
  /** A threshold rollout: it matches when `bucket` (crc32(entity id + flag key) % 100) < float32(percentage). */
  readonly threshold?: { readonly percentage: number; readonly bucket: number } | undefined;
  /** Whether it matched: then this rollout decided the answer. A rollout of neither kind never matches. */
  readonly matched: boolean;
  /** The value it answers when it matches. */
  readonly value: boolean;
}

/** One segment of a rule or rollout. */
export interface SegmentTrace {
  readonly key: string;
  readonly matchType: MatchType;
  /** False when the engine did not reach it (an earlier segment met an unknown comparison type). */
  readonly evaluated: boolean;
  readonly matched: boolean;
  /** Every constraint in order; those after the segment's answer was known are not evaluated. */
  readonly constraints: readonly ConstraintTrace[];
}

/** One constraint of a segment, with the value it compared. */
export interface ConstraintTrace {
  readonly type: ComparisonType;
  /** The context key compared; "" for an entity id constraint. */
  readonly property: string;
  readonly operator: string;
  /** The constraint's value as written. */
  readonly value: string;
  /** The value compared: the context value ("" when the key is missing) or the entity id; "" when not evaluated. */
  readonly contextValue: string;
  /** Whether the context has the key (always true for the entity id). */
  readonly contextPresent: boolean;
  /** False when the segment's answer was known before the engine reached it. */
  readonly evaluated: boolean;
  /** False also when the compared value did not parse as the type needs (Flipt counts that as a non-match). */
  readonly matched: boolean;
}

/** No rule or rollout decided: the default variant ("" when none) or a boolean flag's `enabled` answered. */
export interface FallbackStep {
  readonly kind: "fallback";
  readonly defaultVariantKey: string;
  readonly enabled: boolean;
}

/** The evaluation failed (an unknown comparison type was reached). */
export interface ErrorStep {
  readonly kind: "error";
  readonly message: string;
}
