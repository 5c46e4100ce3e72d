import type { ComparisonType, FlagType, SegmentOperator } from "./flag-state.js";

/**
 * The evaluation-ready form of a flag, built once when a snapshot is built: segments resolved by key,
 * constraint values parsed, attachments serialised. The engine evaluates these without parsing anything.
 */

/** A constraint value prepared at load, by the comparison type and operator that will read it. */
export type PreparedValue =
  | { readonly kind: "none" }
  | { readonly kind: "number"; readonly value: number }
  /** Nanoseconds since the Unix epoch, exact (RFC 3339 fractions go to the nanosecond). */
  | { readonly kind: "datetime"; readonly nanos: bigint }
  | { readonly kind: "string-set"; readonly values: ReadonlySet<string> }
  | { readonly kind: "number-set"; readonly values: ReadonlySet<number> };

export interface EvalConstraint {
  readonly type: ComparisonType;
  readonly property: string;
  readonly operator: string;
  /** The raw value, as a string. */
  readonly value: string;
  readonly prepared: PreparedValue;
  /**
   * Type, operator and prepared value folded into one small integer when the constraint is prepared: the engine's
   * one switch per comparison (the engine's `ConstraintCode`).
   */
  readonly code: number;
}

export interface EvalSegment {
  readonly key: string;
  readonly matchAll: boolean;
  readonly constraints: readonly EvalConstraint[];
  /**
   * The engine's scratch, present on compiled segments: the answer of this segment in the evaluation numbered
   * `stamp`, so that flags evaluated for the same entity and context (a batch) compute each segment they share
   * once. It never changes what a segment answers; a segment without it is simply evaluated every time.
   */
  readonly memo?: SegmentMemo | undefined;
}

/** See `EvalSegment.memo`: the only mutable part of the evaluation model. */
export interface SegmentMemo {
  /** The evaluation whose answer `matched` is; 0 for none (stamps start at 1). */
  stamp: number;
  matched: boolean;
  /** How often the engine has evaluated the segment by reading its constraints one by one, until it is compiled. */
  calls: number;
  /**
   * The segment compiled by the engine once it has been evaluated often enough (the engine's `SegmentTest`: the
   * same answers as its constraints read one by one); undefined until then, or when it cannot be compiled.
   */
  test: ((context: Readonly<Record<string, string>>, entityId: string) => number) | undefined;
}

/** The segments of a rule or rollout. Segments whose constraints could not be prepared are left out, as Flipt does. */
export interface EvalSegmentSet {
  readonly operator: SegmentOperator;
  readonly segments: readonly EvalSegment[];
  /** The segments' keys in order, frozen: the matched keys when every segment matches. */
  readonly keys: readonly string[];
  /**
   * On compiled sets of exactly one segment, that segment's `memo`: a remembered answer is then read from the set
   * itself, the usual case of a batch's flags (see `EvalSegment.memo`).
   */
  readonly memo?: SegmentMemo | undefined;
}

export interface EvalDistribution {
  readonly variantKey: string;
  /** The rollout percentage as stored (float32 arithmetic happens in the engine). */
  readonly rollout: number;
  /** The variant's attachment as compact JSON text; "null" when it has none. */
  readonly attachment: string;
}

export interface EvalRule {
  /** 1-based position in the file. */
  readonly rank: number;
  readonly segments: EvalSegmentSet;
  readonly distributions: readonly EvalDistribution[];
  /**
   * The distributions bucketing chooses among: those whose float32 rollout is above 0, in file order.
   * Empty when the rule serves no variant (a match then keeps the default variant, if any).
   */
  readonly validDistributions: readonly EvalDistribution[];
  /**
   * Exclusive upper bucket bounds (0..1000) aligned with `validDistributions`, computed once in float32 as
   * Flipt does; the last is always 1000. A bucket belongs to the first distribution whose bound exceeds it.
   */
  readonly bucketBounds: readonly number[];
}

export type EvalRollout =
  | {
      readonly rank: number;
      readonly kind: "threshold";
      readonly percentage: number;
      readonly value: boolean;
    }
  | {
      readonly rank: number;
      readonly kind: "segment";
      readonly segments: EvalSegmentSet;
      readonly value: boolean;
    }
  | { readonly rank: number; readonly kind: "none" };

export interface EvalFlag {
  readonly key: string;
  /** CRC-32 of the key's UTF-8 bytes: the first half of a variant bucket's checksum, computed once. */
  readonly keyCrc32: number;
  /**
   * The key's length in UTF-8 bytes, which joins an entity's checksum to `keyCrc32` for a threshold bucket (set by
   * the compiler; the engine measures the key when it is absent).
   */
  readonly keyBytes?: number | undefined;
  readonly type: FlagType;
  readonly enabled: boolean;
  readonly defaultVariant?: { readonly key: string; readonly attachment: string } | undefined;
  readonly rules: readonly EvalRule[];
  readonly rollouts: readonly EvalRollout[];
}
