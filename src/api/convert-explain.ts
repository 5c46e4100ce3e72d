import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { ConstraintTrace, ExplainStep, ExplainTrace, SegmentTrace } from "../domain/explain-trace.js";
import type { EvaluationResponse } from "../gen/flipt/evaluation/evaluation_pb.js";
import {
  type ConstraintTraceSchema,
  type ExplainResponse,
  ExplainResponseSchema,
  type ExplainStepSchema,
  FlagKind,
  type SegmentTraceSchema,
} from "../gen/pennant/explain/v1/explain_pb.js";

/** What an explain answer says besides the trace: where it was evaluated, and the answer itself. */
export interface ExplainContext {
  readonly environmentKey: string;
  readonly namespaceKey: string;
  readonly flagKey: string;
  /** The revision of the snapshot that answered. */
  readonly revision: string;
  /** The answer, as EvaluationService.Batch gives it for the flag. */
  readonly result: EvaluationResponse;
}

/** The engine's trace of one evaluation as `pennant.explain.v1.ExplainResponse`, field for field. */
export function toExplainResponse(trace: ExplainTrace, context: ExplainContext): ExplainResponse {
  return create(ExplainResponseSchema, {
    ...context,
    flagKind: trace.flagType === "BOOLEAN_FLAG_TYPE" ? FlagKind.BOOLEAN : FlagKind.VARIANT,
    flagEnabled: trace.flagEnabled,
    steps: trace.steps.map(toStep),
    summary: trace.summary,
  });
}

function toStep(step: ExplainStep): MessageInitShape<typeof ExplainStepSchema> {
  switch (step.kind) {
    case "flag-disabled":
      return { step: { case: "flagDisabled", value: { defaultVariantKey: step.defaultVariantKey } } };
    case "rule": {
      const rule = {
        rank: step.rank,
        segmentOperator: step.segmentOperator,
        segments: step.segments.map(toSegment),
        matched: step.matched,
        ...(step.bucket === undefined
          ? {}
          : { bucket: { ...step.bucket, distributions: [...step.bucket.distributions] } }),
      };
      return { step: { case: "rule", value: rule } };
    }
    case "rollout": {
      const segment = step.segment;
      const rollout = {
        rank: step.rank,
        ...(segment === undefined
          ? {}
          : {
              segment: {
                segmentOperator: segment.segmentOperator,
                segments: segment.segments.map(toSegment),
              },
            }),
        ...(step.threshold === undefined ? {} : { threshold: step.threshold }),
        matched: step.matched,
        value: step.value,
      };
      return { step: { case: "rollout", value: rollout } };
    }
    case "fallback":
      return {
        step: {
          case: "fallback",
          value: { defaultVariantKey: step.defaultVariantKey, enabled: step.enabled },
        },
      };
    case "error":
      return { step: { case: "error", value: { message: step.message } } };
  }
}

function toSegment(segment: SegmentTrace): MessageInitShape<typeof SegmentTraceSchema> {
  return {
    key: segment.key,
    matchType: segment.matchType,
    evaluated: segment.evaluated,
    matched: segment.matched,
    constraints: segment.constraints.map(toConstraint),
  };
}

function toConstraint(constraint: ConstraintTrace): MessageInitShape<typeof ConstraintTraceSchema> {
  return { ...constraint };
}
