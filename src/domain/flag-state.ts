/**
 * Flag state as Flipt's features documents and management API describe it: namespaces, flags and segments.
 * These are the shapes storage reads and writes and the read API returns; `evaluation-model.ts` holds the
 * evaluation-ready form built from them once per snapshot.
 */

/** Any JSON value, as found in metadata and variant attachments. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type FlagType = "VARIANT_FLAG_TYPE" | "BOOLEAN_FLAG_TYPE";
export type SegmentOperator = "OR_SEGMENT_OPERATOR" | "AND_SEGMENT_OPERATOR";
export type MatchType = "ALL_MATCH_TYPE" | "ANY_MATCH_TYPE";
export type ComparisonType =
  | "UNKNOWN_COMPARISON_TYPE"
  | "STRING_COMPARISON_TYPE"
  | "NUMBER_COMPARISON_TYPE"
  | "BOOLEAN_COMPARISON_TYPE"
  | "DATETIME_COMPARISON_TYPE"
  | "ENTITY_ID_COMPARISON_TYPE"
  | "SEMVER_COMPARISON_TYPE";

const ORDERING = ["eq", "neq", "present", "notpresent", "lt", "lte", "gt", "gte"];
const TEXT = ["eq", "neq", "empty", "notempty", "prefix", "suffix", "contains", "notcontains"];
/** The operators whose value is a list. */
export const LIST_OPERATORS: readonly string[] = ["isoneof", "isnotoneof"];

/** The operators each comparison type accepts (Flipt's schema). */
export const CONSTRAINT_OPERATORS: Readonly<
  Record<Exclude<ComparisonType, "UNKNOWN_COMPARISON_TYPE">, readonly string[]>
> = {
  STRING_COMPARISON_TYPE: [...TEXT, ...LIST_OPERATORS],
  NUMBER_COMPARISON_TYPE: [...ORDERING, ...LIST_OPERATORS],
  BOOLEAN_COMPARISON_TYPE: ["true", "false", "present", "notpresent"],
  DATETIME_COMPARISON_TYPE: ORDERING,
  ENTITY_ID_COMPARISON_TYPE: [...TEXT, ...LIST_OPERATORS],
  SEMVER_COMPARISON_TYPE: ORDERING,
};

/** The namespace a document belongs to. */
export interface Namespace {
  readonly key: string;
  readonly name?: string | undefined;
  readonly description?: string | undefined;
}

export interface Variant {
  readonly key: string;
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  /** An object, a list or null; undefined when the variant has none. */
  readonly attachment?: JsonValue | undefined;
}

/** A reference from a rule or rollout to one or more segments of the same namespace. */
export interface SegmentRef {
  readonly keys: readonly string[];
  readonly operator: SegmentOperator;
}

export interface Distribution {
  /** The variant key. */
  readonly variant: string;
  /** A percentage, 0 to 100. Distributions of a rule are normalised at evaluation. */
  readonly rollout: number;
}

/** A rule of a variant flag; its rank is its position. */
export interface Rule {
  readonly segment: SegmentRef;
  readonly distributions: readonly Distribution[];
}

/** A rollout of a boolean flag: a segment match or a percentage threshold (or, degenerate, neither). */
export interface Rollout {
  readonly description?: string | undefined;
  readonly segment?: (SegmentRef & { readonly value: boolean }) | undefined;
  readonly threshold?: { readonly percentage: number; readonly value: boolean } | undefined;
}

export interface Flag {
  readonly key: string;
  readonly name: string;
  readonly type: FlagType;
  readonly description?: string | undefined;
  readonly enabled: boolean;
  readonly metadata?: JsonObject | undefined;
  readonly variants: readonly Variant[];
  /** The key of the default variant (a variant with `default: true` in the file). */
  readonly defaultVariant?: string | undefined;
  readonly rules: readonly Rule[];
  readonly rollouts: readonly Rollout[];
}

export interface Constraint {
  readonly type: ComparisonType;
  readonly property: string;
  readonly operator: string;
  /**
   * The value as the evaluator sees it: always a string. List values (isoneof, isnotoneof) are JSON array
   * text such as `["a","b"]` or `[18,21]`, whichever form the file used.
   */
  readonly value: string;
  readonly description?: string | undefined;
}

export interface Segment {
  readonly key: string;
  readonly name: string;
  readonly description?: string | undefined;
  readonly matchType: MatchType;
  readonly constraints: readonly Constraint[];
}

/** The pattern every namespace, flag and segment key must match. */
export const KEY_PATTERN = /^[-_,A-Za-z0-9]+$/;

/** The namespace that always exists and cannot be deleted. */
export const DEFAULT_NAMESPACE = "default";
