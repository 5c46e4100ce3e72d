import type {
  ComparisonType,
  Constraint,
  Flag,
  FlagType,
  MatchType,
  Rollout,
  Rule,
  Segment,
} from "../../domain/flag-state.js";
import { type FeaturesDocument, LATEST_FEATURES_VERSION } from "../../format/features-document.js";
import type { StoredConstraint, StoredFlag, StoredNamespace, StoredSegment } from "./stored-state.js";

/** Flipt's enum numbers (spec v1-backends §2.6), index = stored value. */
export const FLAG_TYPES: readonly FlagType[] = ["VARIANT_FLAG_TYPE", "BOOLEAN_FLAG_TYPE"];
export const MATCH_TYPES: readonly MatchType[] = ["ALL_MATCH_TYPE", "ANY_MATCH_TYPE"];
export const COMPARISON_TYPES: readonly ComparisonType[] = [
  "UNKNOWN_COMPARISON_TYPE",
  "STRING_COMPARISON_TYPE",
  "NUMBER_COMPARISON_TYPE",
  "BOOLEAN_COMPARISON_TYPE",
  "DATETIME_COMPARISON_TYPE",
  "ENTITY_ID_COMPARISON_TYPE",
  // Flipt v2's addition; v1 never writes 6, and reads it as an unknown type.
  "SEMVER_COMPARISON_TYPE",
];

/**
 * The features document of one namespace as its rows describe it: flags and segments in creation order, rules
 * and rollouts by rank, variants and constraints in creation order, distributions in the order that decides
 * bucketing. The namespace is written as an object, so its name and description round-trip.
 */
export function namespaceDocument(namespace: StoredNamespace): FeaturesDocument {
  return {
    version: LATEST_FEATURES_VERSION,
    namespace: {
      key: namespace.key,
      ...(namespace.name === "" ? {} : { name: namespace.name }),
      ...(namespace.description === "" ? {} : { description: namespace.description }),
    },
    namespaceForm: "object",
    flags: [...namespace.flags.values()].map(flagOf),
    segments: [...namespace.segments.values()].map(segmentOf),
    line: 0,
  };
}

/**
 * A stored flag as a document's flag; the same object each time for the same stored flag (rows never change once
 * read, so neither does this), so a document a write hands back holds its untouched flags as they were read, and
 * `writeFlag` knows them by identity.
 */
export const flagOf = memoized(toFlag);

/** A stored segment as a document's segment; the same object each time, as `flagOf`. */
export const segmentOf = memoized(toSegment);

function memoized<K extends object, V>(build: (key: K) => V): (key: K) => V {
  const built = new WeakMap<K, V>();
  return (key) => {
    let value = built.get(key);
    if (value === undefined) {
      value = build(key);
      built.set(key, value);
    }
    return value;
  };
}

function toFlag(stored: StoredFlag): Flag {
  const variantKeys = new Map(stored.variants.map((variant) => [variant.id, variant.key]));
  const rules: Rule[] = stored.rules.map((rule) => ({
    segment: { keys: rule.segmentKeys, operator: rule.operator },
    distributions: rule.distributions.map((distribution) => ({
      variant: variantKeys.get(distribution.variantId) ?? distribution.variantId,
      rollout: distribution.rollout,
    })),
  }));
  const rollouts: Rollout[] = stored.rollouts.map((rollout) => ({
    ...(rollout.description === "" ? {} : { description: rollout.description }),
    ...(rollout.threshold === undefined
      ? {}
      : { threshold: { percentage: rollout.threshold.percentage, value: rollout.threshold.value } }),
    ...(rollout.threshold !== undefined || rollout.segment === undefined
      ? {}
      : {
          segment: {
            keys: rollout.segment.keys,
            operator: rollout.segment.operator,
            value: rollout.segment.value,
          },
        }),
  }));
  const defaultVariant =
    stored.defaultVariantId === undefined ? undefined : variantKeys.get(stored.defaultVariantId);
  return {
    key: stored.key,
    name: stored.name,
    type: FLAG_TYPES[stored.type] ?? "VARIANT_FLAG_TYPE",
    ...(stored.description === "" ? {} : { description: stored.description }),
    enabled: stored.enabled,
    ...(stored.metadata === undefined ? {} : { metadata: stored.metadata }),
    variants: stored.variants.map((variant) => ({
      key: variant.key,
      ...(variant.name === "" ? {} : { name: variant.name }),
      ...(variant.description === "" ? {} : { description: variant.description }),
      ...(variant.attachment === undefined ? {} : { attachment: variant.attachment }),
    })),
    ...(defaultVariant === undefined ? {} : { defaultVariant }),
    rules,
    rollouts,
  };
}

function toSegment(stored: StoredSegment): Segment {
  return {
    key: stored.key,
    name: stored.name,
    ...(stored.description === "" ? {} : { description: stored.description }),
    matchType: MATCH_TYPES[stored.matchType] ?? "ALL_MATCH_TYPE",
    constraints: stored.constraints.map(constraintOf),
  };
}

function constraintOf(stored: StoredConstraint): Constraint {
  return {
    type: COMPARISON_TYPES[stored.type] ?? "UNKNOWN_COMPARISON_TYPE",
    property: stored.property,
    operator: stored.operator,
    value: stored.value,
    ...(stored.description === undefined || stored.description === ""
      ? {}
      : { description: stored.description }),
  };
}
