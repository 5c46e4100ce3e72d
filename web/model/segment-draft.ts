import { create } from "@bufbuild/protobuf";
import { ComparisonType, MatchType, type Segment, SegmentSchema } from "../../src/gen/flipt/core/core_pb.js";
import { constraintValueProblem, operatorRuleOf, typeRuleOf } from "./constraint-rules.js";
import { type DraftProblem, KEY_PATTERN } from "./flag-draft.js";
import { newRowId } from "./rows.js";

export interface ConstraintDraft {
  readonly id: string;
  type: ComparisonType;
  property: string;
  operator: string;
  value: string;
  description: string;
}

export interface SegmentDraft {
  key: string;
  name: string;
  description: string;
  matchType: MatchType;
  constraints: ConstraintDraft[];
}

export function emptySegmentDraft(): SegmentDraft {
  return { key: "", name: "", description: "", matchType: MatchType.ALL_MATCH_TYPE, constraints: [] };
}

export function emptyConstraintDraft(): ConstraintDraft {
  return {
    id: newRowId(),
    type: ComparisonType.STRING_COMPARISON_TYPE,
    property: "",
    operator: "eq",
    value: "",
    description: "",
  };
}

export function segmentToDraft(segment: Segment): SegmentDraft {
  return {
    key: segment.key,
    name: segment.name,
    description: segment.description,
    matchType: segment.matchType,
    constraints: segment.constraints.map((constraint) => ({
      id: newRowId(),
      type: constraint.type,
      property: constraint.property,
      operator: constraint.operator,
      value: constraint.value,
      description: constraint.description,
    })),
  };
}

export function segmentProblems(draft: SegmentDraft): DraftProblem[] {
  const problems: DraftProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  if (!KEY_PATTERN.test(draft.key)) add("segment-key", "The key is letters, digits, -, _ and , (not empty).");
  if (draft.name.trim() === "") add("segment-name", "The segment needs a name.");
  draft.constraints.forEach((constraint, index) => {
    const name = `Constraint ${index + 1}`;
    if (typeRuleOf(constraint.type) === undefined) {
      add(`${constraint.id}-type`, `${name}: this comparison type cannot be evaluated; choose another.`);
      return;
    }
    // The file format needs a property for every type, entity id included (where matching ignores it).
    if (constraint.property.trim() === "")
      add(`${constraint.id}-property`, `${name} needs a property (a context key).`);
    if (operatorRuleOf(constraint.type, constraint.operator) === undefined) {
      add(`${constraint.id}-operator`, `${name}: choose an operator.`);
      return;
    }
    const problem = constraintValueProblem(constraint.type, constraint.operator, constraint.value);
    if (problem !== undefined) add(`${constraint.id}-value`, `${name}: the value must be ${problem}.`);
  });
  return problems;
}

export function draftToSegment(draft: SegmentDraft): Segment {
  return create(SegmentSchema, {
    key: draft.key,
    name: draft.name,
    description: draft.description,
    matchType: draft.matchType,
    constraints: draft.constraints.map((constraint) => {
      const takesValue = operatorRuleOf(constraint.type, constraint.operator)?.value !== "none";
      return {
        type: constraint.type,
        property: constraint.property.trim(),
        operator: constraint.operator,
        value: takesValue ? constraint.value : "",
        description: constraint.description,
      };
    }),
  });
}
