import type {
  EvalDistribution,
  EvalFlag,
  EvalRollout,
  EvalRule,
  EvalSegment,
  EvalSegmentSet,
} from "../domain/evaluation-model.js";
import type { Flag, Rollout, Rule, Segment, SegmentRef } from "../domain/flag-state.js";
import { bucketBounds, isValidRollout } from "./bucketing.js";
import { crc32, utf8Length } from "./crc32.js";
import { prepareConstraint } from "./prepare-constraint.js";
import { stableJson } from "./stable-json.js";

/**
 * A segment left out of a rule or rollout while compiling, as Flipt leaves it out (and logs it) when a
 * constraint value cannot be prepared. The rule or rollout then behaves as if the segment were not listed.
 */
export interface DroppedSegment {
  readonly flagKey: string;
  /** Whether `rank` counts rules (variant flags) or rollouts (boolean flags). */
  readonly kind: "rule" | "rollout";
  /** 1-based position of the rule or rollout in the flag. */
  readonly rank: number;
  readonly segmentKey: string;
  /** Which constraint failed and why, or that the segment does not exist. */
  readonly reason: string;
}

/** A compiled flag and the segments dropped from its rules or rollouts. */
export interface CompiledFlag {
  readonly flag: EvalFlag;
  readonly dropped: readonly DroppedSegment[];
}

/** Segments prepared once per compilation and shared by every rule and rollout that lists them. */
type SegmentCache = Map<string, { readonly segment: EvalSegment } | { readonly reason: string }>;

/**
 * Builds the evaluation-ready form of one flag: segment references resolved (duplicates collapsed, as Flipt's
 * segment map does), constraint values prepared once, segments whose constraints cannot be prepared (or that
 * do not exist) dropped and reported, attachments serialised, distribution bucket bounds precomputed.
 * Variant flags keep their rules and default variant; boolean flags keep their rollouts.
 */
export function compileFlag(flag: Flag, segments: ReadonlyMap<string, Segment>): CompiledFlag {
  return compileWithCache(flag, segments, new Map());
}

/** `compileFlag` over many flags, preparing each segment only once. Keyed by flag key, in input order. */
export function compileFlags(
  flags: Iterable<Flag>,
  segments: ReadonlyMap<string, Segment>,
): { readonly flags: ReadonlyMap<string, EvalFlag>; readonly dropped: readonly DroppedSegment[] } {
  const cache: SegmentCache = new Map();
  const compiled = new Map<string, EvalFlag>();
  const dropped: DroppedSegment[] = [];
  for (const flag of flags) {
    const result = compileWithCache(flag, segments, cache);
    compiled.set(flag.key, result.flag);
    dropped.push(...result.dropped);
  }
  return { flags: compiled, dropped };
}

function compileWithCache(
  flag: Flag,
  segments: ReadonlyMap<string, Segment>,
  cache: SegmentCache,
): CompiledFlag {
  const dropped: DroppedSegment[] = [];
  const resolve = (ref: SegmentRef, kind: "rule" | "rollout", rank: number): EvalSegmentSet => {
    const resolved: EvalSegment[] = [];
    for (const key of new Set(ref.keys)) {
      const prepared = prepareSegment(key, segments, cache);
      if ("segment" in prepared) {
        resolved.push(prepared.segment);
      } else {
        dropped.push({ flagKey: flag.key, kind, rank, segmentKey: key, reason: prepared.reason });
      }
    }
    const operator = ref.operator === "AND_SEGMENT_OPERATOR" ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR";
    return {
      operator,
      segments: resolved,
      keys: Object.freeze(resolved.map((segment) => segment.key)),
      memo: resolved.length === 1 ? resolved[0]?.memo : undefined,
    };
  };

  if (flag.type === "BOOLEAN_FLAG_TYPE") {
    const rollouts = flag.rollouts.map((rollout, index) => compileRollout(rollout, index + 1, resolve));
    return {
      flag: {
        key: flag.key,
        keyCrc32: crc32(flag.key),
        keyBytes: utf8Length(flag.key),
        type: "BOOLEAN_FLAG_TYPE",
        enabled: flag.enabled,
        rules: [],
        rollouts,
      },
      dropped,
    };
  }

  const attachments = new Map<string, string>();
  for (const variant of flag.variants) {
    if (!attachments.has(variant.key)) {
      attachments.set(variant.key, stableJson(variant.attachment));
    }
  }
  const rules = flag.rules.map((rule, index) => compileRule(rule, index + 1, attachments, resolve));
  const defaultAttachment =
    flag.defaultVariant === undefined ? undefined : attachments.get(flag.defaultVariant);
  const compiled: EvalFlag = {
    key: flag.key,
    keyCrc32: crc32(flag.key),
    keyBytes: utf8Length(flag.key),
    type: "VARIANT_FLAG_TYPE",
    enabled: flag.enabled,
    rules,
    rollouts: [],
    ...(flag.defaultVariant !== undefined && defaultAttachment !== undefined
      ? { defaultVariant: { key: flag.defaultVariant, attachment: defaultAttachment } }
      : {}),
  };
  return { flag: compiled, dropped };
}

type Resolve = (ref: SegmentRef, kind: "rule" | "rollout", rank: number) => EvalSegmentSet;

function compileRule(
  rule: Rule,
  rank: number,
  attachments: ReadonlyMap<string, string>,
  resolve: Resolve,
): EvalRule {
  const distributions: EvalDistribution[] = rule.distributions.map((distribution) => ({
    variantKey: distribution.variant,
    rollout: distribution.rollout,
    attachment: attachments.get(distribution.variant) ?? "null",
  }));
  const validDistributions = distributions.filter((distribution) => isValidRollout(distribution.rollout));
  return {
    rank,
    segments: resolve(rule.segment, "rule", rank),
    distributions,
    validDistributions,
    bucketBounds: bucketBounds(validDistributions.map((distribution) => distribution.rollout)),
  };
}

function compileRollout(rollout: Rollout, rank: number, resolve: Resolve): EvalRollout {
  if (rollout.threshold !== undefined) {
    const { percentage, value } = rollout.threshold;
    return { rank, kind: "threshold", percentage, value };
  }
  if (rollout.segment !== undefined) {
    return {
      rank,
      kind: "segment",
      segments: resolve(rollout.segment, "rollout", rank),
      value: rollout.segment.value,
    };
  }
  return { rank, kind: "none" };
}

function prepareSegment(
  key: string,
  segments: ReadonlyMap<string, Segment>,
  cache: SegmentCache,
): { readonly segment: EvalSegment } | { readonly reason: string } {
  const cached = cache.get(key);
  if (cached !== undefined) {
    return cached;
  }
  const result = buildSegment(key, segments.get(key));
  cache.set(key, result);
  return result;
}

function buildSegment(
  key: string,
  segment: Segment | undefined,
): { readonly segment: EvalSegment } | { readonly reason: string } {
  if (segment === undefined) {
    return { reason: "segment not found" };
  }
  const constraints = [];
  for (const [index, constraint] of segment.constraints.entries()) {
    const prepared = prepareConstraint(constraint);
    if (!prepared.ok) {
      return {
        reason: `constraint ${index + 1} (${constraint.type} ${JSON.stringify(constraint.property)} ${constraint.operator}): ${prepared.reason}`,
      };
    }
    constraints.push(prepared.constraint);
  }
  return {
    segment: {
      key,
      matchAll: segment.matchType !== "ANY_MATCH_TYPE",
      constraints,
      memo: { stamp: 0, matched: false },
    },
  };
}
