import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ValidationError } from "../domain/errors.js";
import type {
  ComparisonType as DomainComparisonType,
  Flag as DomainFlag,
  Rollout as DomainRollout,
  Segment as DomainSegment,
  JsonValue,
} from "../domain/flag-state.js";
import {
  ComparisonType,
  type Flag,
  FlagSchema,
  FlagType,
  MatchType,
  type Rollout,
  RolloutSchema,
  RolloutType,
  type Segment,
  SegmentOperator,
  SegmentSchema,
} from "../gen/flipt/core/core_pb.js";

/** Domain flag → `flipt.core.Flag`, the payload of the environments API. */
export function toCoreFlag(flag: DomainFlag): Flag {
  return create(FlagSchema, {
    key: flag.key,
    type: FlagType[flag.type],
    name: flag.name,
    description: flag.description ?? "",
    enabled: flag.enabled,
    variants: flag.variants.map((variant) => ({
      key: variant.key,
      name: variant.name ?? "",
      description: variant.description ?? "",
      ...(variant.attachment === undefined ? {} : { attachment: fromJson(ValueSchema, variant.attachment) }),
    })),
    rules: flag.rules.map((rule) => ({
      segmentOperator: SegmentOperator[rule.segment.operator],
      segments: [...rule.segment.keys],
      distributions: rule.distributions.map((distribution) => ({ ...distribution })),
    })),
    rollouts: flag.rollouts.map(toCoreRollout),
    ...(flag.defaultVariant === undefined ? {} : { defaultVariant: flag.defaultVariant }),
    ...(flag.metadata === undefined ? {} : { metadata: flag.metadata }),
  });
}

function toCoreRollout(rollout: DomainRollout): Rollout {
  const base = { description: rollout.description ?? "" };
  if (rollout.threshold !== undefined) {
    return create(RolloutSchema, {
      ...base,
      type: RolloutType.THRESHOLD_ROLLOUT_TYPE,
      rule: { case: "threshold", value: { ...rollout.threshold } },
    });
  }
  if (rollout.segment !== undefined) {
    const { keys, operator, value } = rollout.segment;
    return create(RolloutSchema, {
      ...base,
      type: RolloutType.SEGMENT_ROLLOUT_TYPE,
      rule: {
        case: "segment",
        value: { value, segments: [...keys], segmentOperator: SegmentOperator[operator] },
      },
    });
  }
  return create(RolloutSchema, { ...base, type: RolloutType.UNKNOWN_ROLLOUT_TYPE });
}

/** Domain segment → `flipt.core.Segment`. */
export function toCoreSegment(segment: DomainSegment): Segment {
  return create(SegmentSchema, {
    key: segment.key,
    matchType: MatchType[segment.matchType],
    name: segment.name,
    description: segment.description ?? "",
    constraints: segment.constraints.map((constraint) => ({
      type: comparisonType(constraint.type),
      property: constraint.property,
      operator: constraint.operator,
      value: constraint.value,
      description: constraint.description ?? "",
    })),
  });
}

function comparisonType(type: DomainComparisonType): ComparisonType {
  return ComparisonType[type] ?? ComparisonType.UNKNOWN_COMPARISON_TYPE;
}

/**
 * `flipt.core.Flag` → domain flag, for writes. The stored key is the request's `key`, not the payload's, as in
 * Flipt. Rules and rollouts keep their order, which is their rank.
 */
export function fromCoreFlag(flag: Flag, key: string): DomainFlag {
  const variants = flag.variants.map((variant) => ({
    key: variant.key,
    ...(variant.name === "" ? {} : { name: variant.name }),
    ...(variant.description === "" ? {} : { description: variant.description }),
    ...(variant.attachment === undefined
      ? {}
      : { attachment: toJson(ValueSchema, variant.attachment) as JsonValue }),
  }));
  return {
    key,
    name: flag.name,
    type: enumName(FlagType, flag.type, "type") as DomainFlag["type"],
    ...(flag.description === "" ? {} : { description: flag.description }),
    enabled: flag.enabled,
    ...(flag.metadata === undefined ? {} : { metadata: flag.metadata }),
    variants,
    ...(flag.defaultVariant === undefined || flag.defaultVariant === ""
      ? {}
      : { defaultVariant: flag.defaultVariant }),
    rules: flag.rules.map((rule, index) => ({
      segment: {
        keys: [...rule.segments],
        operator: enumName(
          SegmentOperator,
          rule.segmentOperator,
          `rules[${index}].segment_operator`,
        ) as "OR_SEGMENT_OPERATOR",
      },
      distributions: rule.distributions.map((distribution) => ({
        variant: distribution.variant,
        rollout: distribution.rollout,
      })),
    })),
    rollouts: flag.rollouts.map((rollout, index): DomainRollout => {
      const description = rollout.description === "" ? {} : { description: rollout.description };
      switch (rollout.rule.case) {
        case "threshold":
          return {
            ...description,
            threshold: { percentage: rollout.rule.value.percentage, value: rollout.rule.value.value },
          };
        case "segment":
          return {
            ...description,
            segment: {
              keys: [...rollout.rule.value.segments],
              operator: enumName(
                SegmentOperator,
                rollout.rule.value.segmentOperator,
                `rollouts[${index}].segment.segment_operator`,
              ) as "OR_SEGMENT_OPERATOR",
              value: rollout.rule.value.value,
            },
          };
        default:
          throw new ValidationError(`rollouts[${index}]: a rollout needs a segment or a threshold`, {
            issues: [{ path: `rollouts[${index}]`, message: "a rollout needs a segment or a threshold" }],
          });
      }
    }),
  };
}

/** `flipt.core.Segment` → domain segment, for writes; the stored key is the request's `key`. */
export function fromCoreSegment(segment: Segment, key: string): DomainSegment {
  return {
    key,
    name: segment.name,
    ...(segment.description === "" ? {} : { description: segment.description }),
    matchType: enumName(MatchType, segment.matchType, "match_type") as DomainSegment["matchType"],
    constraints: segment.constraints.map((constraint) => ({
      type: (ComparisonType[constraint.type] ?? "UNKNOWN_COMPARISON_TYPE") as DomainComparisonType,
      property: constraint.property,
      operator: constraint.operator,
      value: constraint.value,
      ...(constraint.description === "" ? {} : { description: constraint.description }),
    })),
  };
}

/** An enum value's name; a number the enum does not define is InvalidArgument naming the field. */
function enumName(values: Record<number, string>, value: number, field: string): string {
  const name = values[value];
  if (name === undefined) {
    throw new ValidationError(`invalid field ${field}: ${value} is not a known value`, {
      issues: [{ path: field, message: `${value} is not a known value` }],
    });
  }
  return name;
}
