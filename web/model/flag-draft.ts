import { create, fromJson, type JsonObject, type JsonValue, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  type Flag,
  FlagSchema,
  FlagType,
  type Rollout,
  RolloutType,
  SegmentOperator,
} from "../../src/gen/flipt/core/core_pb.js";
import { formatFloat32, parsePercentage, sumPercentages } from "./format-number.js";
import { newRowId } from "./rows.js";

/** Keys of flags, variants and segments, as Flipt's schema allows them. */
export const KEY_PATTERN = /^[-_,A-Za-z0-9]+$/;

export interface VariantDraft {
  readonly id: string;
  key: string;
  name: string;
  description: string;
  /** JSON text; empty for none. */
  attachment: string;
}

export interface DistributionDraft {
  readonly id: string;
  variant: string;
  /** As typed; checked by `flagProblems`. */
  rollout: string;
}

export interface RuleDraft {
  readonly id: string;
  segments: string[];
  operator: SegmentOperator;
  distributions: DistributionDraft[];
}

export interface RolloutDraft {
  readonly id: string;
  kind: "threshold" | "segment";
  description: string;
  /** Threshold rollouts: the percentage as typed. */
  percentage: string;
  /** The value the rollout gives when it matches. */
  value: boolean;
  /** Segment rollouts. */
  segments: string[];
  operator: SegmentOperator;
}

/** A flag as the editor holds it: text where people type numbers and JSON, so half-typed input survives. */
export interface FlagDraft {
  key: string;
  type: FlagType;
  name: string;
  description: string;
  enabled: boolean;
  /** "" for none. */
  defaultVariant: string;
  variants: VariantDraft[];
  rules: RuleDraft[];
  rollouts: RolloutDraft[];
  /** Kept as it is: the console does not edit metadata. */
  metadata: JsonObject | undefined;
}

export function emptyFlagDraft(type: FlagType = FlagType.BOOLEAN_FLAG_TYPE): FlagDraft {
  return {
    key: "",
    type,
    name: "",
    description: "",
    enabled: false,
    defaultVariant: "",
    variants: [],
    rules: [],
    rollouts: [],
    metadata: undefined,
  };
}

export function flagToDraft(flag: Flag): FlagDraft {
  return {
    key: flag.key,
    type: flag.type,
    name: flag.name,
    description: flag.description,
    enabled: flag.enabled,
    defaultVariant: flag.defaultVariant ?? "",
    variants: flag.variants.map((variant) => ({
      id: newRowId(),
      key: variant.key,
      name: variant.name,
      description: variant.description,
      attachment:
        variant.attachment === undefined
          ? ""
          : JSON.stringify(toJson(ValueSchema, variant.attachment), null, 2),
    })),
    rules: flag.rules.map((rule) => ({
      id: newRowId(),
      segments: [...rule.segments],
      operator: rule.segmentOperator,
      distributions: rule.distributions.map((distribution) => ({
        id: newRowId(),
        variant: distribution.variant,
        rollout: formatFloat32(distribution.rollout),
      })),
    })),
    rollouts: flag.rollouts.map(rolloutToDraft),
    metadata: flag.metadata,
  };
}

export function emptyVariantDraft(): VariantDraft {
  return { id: newRowId(), key: "", name: "", description: "", attachment: "" };
}

export function emptyRuleDraft(): RuleDraft {
  return { id: newRowId(), segments: [], operator: SegmentOperator.OR_SEGMENT_OPERATOR, distributions: [] };
}

/** A new rollout: half of the entities get true. */
export function emptyRolloutDraft(): RolloutDraft {
  return {
    id: newRowId(),
    kind: "threshold",
    description: "",
    percentage: "50",
    value: true,
    segments: [],
    operator: SegmentOperator.OR_SEGMENT_OPERATOR,
  };
}

function rolloutToDraft(rollout: Rollout): RolloutDraft {
  const base = { ...emptyRolloutDraft(), description: rollout.description };
  if (rollout.rule.case === "threshold") {
    const { percentage, value } = rollout.rule.value;
    return { ...base, kind: "threshold", percentage: formatFloat32(percentage), value };
  }
  if (rollout.rule.case === "segment") {
    const { value, segments, segmentOperator } = rollout.rule.value;
    return { ...base, kind: "segment", value, segments: [...segments], operator: segmentOperator };
  }
  return base;
}

/** One thing that keeps a draft from being saved, with the id of the field to go to. */
export interface DraftProblem {
  readonly field: string;
  readonly message: string;
}

/** Everything wrong with a draft; saving is blocked while the list is not empty. */
export function flagProblems(draft: FlagDraft, segmentKeys: ReadonlySet<string>): DraftProblem[] {
  const problems: DraftProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  if (!KEY_PATTERN.test(draft.key)) add("flag-key", "The key is letters, digits, -, _ and , (not empty).");
  if (draft.name.trim() === "") add("flag-name", "The flag needs a name.");
  const variantKeys = new Set<string>();
  for (const variant of draft.variants) {
    if (!KEY_PATTERN.test(variant.key)) {
      add(`${variant.id}-key`, "Each variant's key is letters, digits, -, _ and ,.");
    } else if (variantKeys.has(variant.key)) {
      add(`${variant.id}-key`, `Two variants have the key "${variant.key}".`);
    }
    variantKeys.add(variant.key);
    const attachment = attachmentProblem(variant.attachment);
    if (attachment !== undefined) add(`${variant.id}-attachment`, `Variant "${variant.key}": ${attachment}`);
  }
  if (draft.defaultVariant !== "" && !variantKeys.has(draft.defaultVariant)) {
    add("flag-default-variant", "The default variant is not one of the variants.");
  }
  /** A rule's or segment rollout's segments: at least one, each one of the namespace's. */
  const checkSegments = (id: string, name: string, keys: readonly string[]) => {
    if (keys.length === 0) add(`${id}-segments`, `${name} needs at least one segment.`);
    for (const key of keys) {
      if (!segmentKeys.has(key)) add(`${id}-segments`, `${name}: segment "${key}" does not exist.`);
    }
  };
  draft.rules.forEach((rule, index) => {
    const name = `Rule ${index + 1}`;
    checkSegments(rule.id, name, rule.segments);
    for (const distribution of rule.distributions) {
      if (!variantKeys.has(distribution.variant)) {
        add(`${distribution.id}-variant`, `${name}: choose a variant for each distribution.`);
      }
      if (parsePercentage(distribution.rollout) === undefined) {
        add(`${distribution.id}-rollout`, `${name}: each rollout is a percentage from 0 to 100.`);
      }
    }
    const check = distributionCheck(rule);
    if (check !== undefined && !check.ok) {
      add(`${rule.id}-sum`, `${name}: the distributions add up to ${check.total}%, not 100%.`);
    }
  });
  draft.rollouts.forEach((rollout, index) => {
    const name = `Rollout ${index + 1}`;
    if (rollout.kind === "segment") checkSegments(rollout.id, name, rollout.segments);
    else if (parsePercentage(rollout.percentage) === undefined) {
      add(`${rollout.id}-percentage`, `${name}: the percentage is a number from 0 to 100.`);
    }
  });
  return problems;
}

/** The live sum of a rule's distributions; undefined when it has none (a rule may pick no variant). */
export function distributionCheck(rule: RuleDraft): { total: number; ok: boolean } | undefined {
  if (rule.distributions.length === 0) return undefined;
  const total = sumPercentages(rule.distributions.map((distribution) => Number(distribution.rollout) || 0));
  return { total, ok: total === 100 };
}

/** What is wrong with an attachment's JSON text; undefined when it is empty or valid. */
export function attachmentProblem(text: string): string | undefined {
  if (text.trim() === "") return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `the attachment is not valid JSON (${(error as Error).message})`;
  }
}

/** The flag a valid draft describes, ready to send. */
export function draftToFlag(draft: FlagDraft): Flag {
  const isVariant = draft.type === FlagType.VARIANT_FLAG_TYPE;
  return create(FlagSchema, {
    key: draft.key,
    type: draft.type,
    name: draft.name,
    description: draft.description,
    enabled: draft.enabled,
    ...(isVariant && draft.defaultVariant !== "" ? { defaultVariant: draft.defaultVariant } : {}),
    ...(draft.metadata !== undefined ? { metadata: draft.metadata } : {}),
    variants: isVariant
      ? draft.variants.map((variant) => ({
          key: variant.key,
          name: variant.name,
          description: variant.description,
          ...(variant.attachment.trim() === ""
            ? {}
            : { attachment: fromJson(ValueSchema, JSON.parse(variant.attachment) as JsonValue) }),
        }))
      : [],
    rules: isVariant
      ? draft.rules.map((rule) => ({
          segmentOperator: rule.operator,
          segments: rule.segments,
          distributions: rule.distributions.map((distribution) => ({
            variant: distribution.variant,
            rollout: Number(distribution.rollout),
          })),
        }))
      : [],
    rollouts: isVariant
      ? []
      : draft.rollouts.map((rollout) =>
          rollout.kind === "threshold"
            ? {
                type: RolloutType.THRESHOLD_ROLLOUT_TYPE,
                description: rollout.description,
                rule: {
                  case: "threshold" as const,
                  value: { percentage: Number(rollout.percentage), value: rollout.value },
                },
              }
            : {
                type: RolloutType.SEGMENT_ROLLOUT_TYPE,
                description: rollout.description,
                rule: {
                  case: "segment" as const,
                  value: {
                    value: rollout.value,
                    segments: rollout.segments,
                    segmentOperator: rollout.operator,
                  },
                },
              },
        ),
  });
}
