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

/**
 * What one compilation prepares once and shares between flags: segments, the segment sets of rules and rollouts
 * (by operator and keys; a set holds nothing of the flag), bucket bounds (by rollouts) and attachment texts. The
 * engine never changes any of them, and a snapshot of many similar flags is then much smaller.
 */
interface CompileCache {
  readonly segments: Map<string, { readonly segment: EvalSegment } | { readonly reason: string }>;
  readonly sets: Map<string, ResolvedSet>;
  readonly bounds: Map<string, readonly number[]>;
  readonly texts: Map<string, string>;
}

/** A segment set and the listed segments left out of it, with why. */
interface ResolvedSet {
  readonly set: EvalSegmentSet;
  readonly missing: readonly { readonly key: string; readonly reason: string }[];
}

function createCache(): CompileCache {
  return { segments: new Map(), sets: new Map(), bounds: new Map(), texts: new Map() };
}

const NO_MISSING: ResolvedSet["missing"] = Object.freeze([]);
const NO_RULES: readonly EvalRule[] = Object.freeze([]);
const NO_ROLLOUTS: readonly EvalRollout[] = Object.freeze([]);

/**
 * Builds the evaluation-ready form of one flag: segment references resolved (duplicates collapsed, as Flipt's
 * segment map does), constraint values prepared once, segments whose constraints cannot be prepared (or that
 * do not exist) dropped and reported, attachments serialised, distribution bucket bounds precomputed.
 * Variant flags keep their rules and default variant; boolean flags keep their rollouts.
 */
export function compileFlag(flag: Flag, segments: ReadonlyMap<string, Segment>): CompiledFlag {
  return compileWithCache(flag, segments, createCache());
}

/** `compileFlag` over many flags, preparing each segment only once. Keyed by flag key, in input order. */
export function compileFlags(
  flags: Iterable<Flag>,
  segments: ReadonlyMap<string, Segment>,
): { readonly flags: ReadonlyMap<string, EvalFlag>; readonly dropped: readonly DroppedSegment[] } {
  const cache = createCache();
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
  cache: CompileCache,
): CompiledFlag {
  const dropped: DroppedSegment[] = [];
  const resolve = (ref: SegmentRef, kind: "rule" | "rollout", rank: number): EvalSegmentSet => {
    const operator = ref.operator === "AND_SEGMENT_OPERATOR" ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR";
    // Keys cannot hold a NUL (they match KEY_PATTERN when read from a file); the set is made afresh otherwise.
    const id = ref.keys.some((key) => key.includes("\0")) ? undefined : `${operator}\0${ref.keys.join("\0")}`;
    let resolved = id === undefined ? undefined : cache.sets.get(id);
    if (resolved === undefined) {
      resolved = resolveSet(ref.keys, operator, segments, cache);
      if (id !== undefined) cache.sets.set(id, resolved);
    }
    for (const { key, reason } of resolved.missing) {
      dropped.push({ flagKey: flag.key, kind, rank, segmentKey: key, reason });
    }
    return resolved.set;
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
        rules: NO_RULES,
        rollouts,
      },
      dropped,
    };
  }

  const attachments = new Map<string, string>();
  for (const variant of flag.variants) {
    if (!attachments.has(variant.key)) {
      attachments.set(variant.key, shared(cache.texts, stableJson(variant.attachment)));
    }
  }
  const rules = flag.rules.map((rule, index) => compileRule(rule, index + 1, attachments, resolve, cache));
  const defaultAttachment =
    flag.defaultVariant === undefined ? undefined : attachments.get(flag.defaultVariant);
  const compiled: EvalFlag = {
    key: flag.key,
    keyCrc32: crc32(flag.key),
    keyBytes: utf8Length(flag.key),
    type: "VARIANT_FLAG_TYPE",
    enabled: flag.enabled,
    rules,
    rollouts: NO_ROLLOUTS,
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
  cache: CompileCache,
): EvalRule {
  const distributions: EvalDistribution[] = rule.distributions.map((distribution) => ({
    variantKey: distribution.variant,
    rollout: distribution.rollout,
    attachment: attachments.get(distribution.variant) ?? "null",
  }));
  // Usually every distribution is valid: the same array then serves as both.
  const validDistributions = distributions.every((distribution) => isValidRollout(distribution.rollout))
    ? distributions
    : distributions.filter((distribution) => isValidRollout(distribution.rollout)).slice();
  const rollouts = validDistributions.map((distribution) => distribution.rollout);
  const boundsId = rollouts.join(",");
  let bounds = cache.bounds.get(boundsId);
  if (bounds === undefined) {
    // Copied to an array of its exact length: it is kept for as long as the snapshot.
    bounds = bucketBounds(rollouts).slice();
    cache.bounds.set(boundsId, bounds);
  }
  return {
    rank,
    segments: resolve(rule.segment, "rule", rank),
    distributions,
    validDistributions,
    bucketBounds: bounds,
  };
}

/** `text`, or an equal string met earlier in the compilation: one copy kept instead of one per flag. */
function shared(texts: Map<string, string>, text: string): string {
  const earlier = texts.get(text);
  if (earlier !== undefined) return earlier;
  texts.set(text, text);
  return text;
}

/**
 * The segment set of `keys` (duplicates collapsed, as Flipt's segment map does) under `operator`: the segments that
 * could be prepared, and the others with why they were left out.
 */
function resolveSet(
  keys: readonly string[],
  operator: EvalSegmentSet["operator"],
  segments: ReadonlyMap<string, Segment>,
  cache: CompileCache,
): ResolvedSet {
  const resolved: EvalSegment[] = [];
  const missing: { key: string; reason: string }[] = [];
  for (const key of new Set(keys)) {
    const prepared = prepareSegment(key, segments, cache);
    if ("segment" in prepared) {
      resolved.push(prepared.segment);
    } else {
      missing.push({ key, reason: prepared.reason });
    }
  }
  const exact = resolved.slice();
  return {
    set: {
      operator,
      segments: exact,
      keys: Object.freeze(exact.map((segment) => segment.key)),
      memo: exact.length === 1 ? exact[0]?.memo : undefined,
    },
    missing: missing.length === 0 ? NO_MISSING : missing,
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
  cache: CompileCache,
): { readonly segment: EvalSegment } | { readonly reason: string } {
  const cached = cache.segments.get(key);
  if (cached !== undefined) {
    return cached;
  }
  const result = buildSegment(key, segments.get(key));
  cache.segments.set(key, result);
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
      memo: { stamp: 0, matched: false, calls: 0, test: undefined },
    },
  };
}
