import type {
  EvalConstraint,
  EvalFlag,
  EvalSegment,
  EvalSegmentSet,
} from "../../src/domain/evaluation-model.js";
import type { ComparisonType, SegmentOperator } from "../../src/domain/flag-state.js";
import { crc32 } from "../../src/engine/crc32.js";
import { prepareConstraint } from "../../src/engine/prepare-constraint.js";

/** A constraint as a snapshot build prepares it; throws if its value would not prepare. */
export function evalConstraint(
  type: ComparisonType,
  property: string,
  operator: string,
  value = "",
): EvalConstraint {
  const result = prepareConstraint({ type, property, operator, value });
  if (!result.ok) throw new Error(`${type} ${operator} ${value}: ${result.reason}`);
  return result.constraint;
}

export function evalSegment(key: string, matchAll: boolean, ...constraints: EvalConstraint[]): EvalSegment {
  return { key, matchAll, constraints };
}

/** The segments of a rule or rollout, as a snapshot build resolves them. */
export function segmentSet(operator: SegmentOperator, segments: readonly EvalSegment[]): EvalSegmentSet {
  return { operator, segments, keys: Object.freeze(segments.map((segment) => segment.key)) };
}

/** A compiled flag from its fields, with the key's checksum computed as a snapshot build does. */
export function evalFlag(fields: Omit<EvalFlag, "keyCrc32">): EvalFlag {
  return { ...fields, keyCrc32: crc32(fields.key) };
}
