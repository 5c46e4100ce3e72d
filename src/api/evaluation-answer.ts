import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { BooleanEvaluation, VariantEvaluation } from "../engine/evaluation-result.js";
import {
  type BooleanEvaluationResponse,
  BooleanEvaluationResponseSchema,
  EvaluationReason,
  type VariantEvaluationResponse,
  VariantEvaluationResponseSchema,
} from "../gen/flipt/evaluation/evaluation_pb.js";

/** What a Boolean or Variant answer carries beside the engine's result. */
export interface Envelope {
  readonly requestId: string;
  readonly requestDurationMillis: number;
  readonly timestamp: Timestamp;
}

/*
 * Both answers are built field by field, never as `{ ...value, more }`: on Node 20, an object spread followed by a
 * property its source lacks gives every object a map (hidden class) of its own, which V8 keeps in the old
 * generation. On the evaluation path that promoted about 0.7 KB a request into it, and brought a full collection every
 * few seconds under load (docs/performance.md, "Object spreads").
 */

/** The fields of a `flipt.evaluation.BooleanEvaluationResponse`: the engine's boolean result in its envelope. */
export function booleanFields(
  value: BooleanEvaluation,
  envelope: Envelope,
): MessageInitShape<typeof BooleanEvaluationResponseSchema> {
  return {
    enabled: value.enabled,
    reason: EvaluationReason[value.reason],
    requestId: envelope.requestId,
    requestDurationMillis: envelope.requestDurationMillis,
    timestamp: envelope.timestamp,
    flagKey: value.flagKey,
    segmentKeys: [...value.segmentKeys],
  };
}

/** The fields of a `flipt.evaluation.VariantEvaluationResponse`: the engine's variant result in its envelope. */
export function variantFields(
  value: VariantEvaluation,
  envelope: Envelope,
): MessageInitShape<typeof VariantEvaluationResponseSchema> {
  return {
    match: value.match,
    segmentKeys: [...value.segmentKeys],
    reason: EvaluationReason[value.reason],
    variantKey: value.variantKey,
    variantAttachment: value.variantAttachment,
    requestId: envelope.requestId,
    requestDurationMillis: envelope.requestDurationMillis,
    timestamp: envelope.timestamp,
    flagKey: value.flagKey,
  };
}

export function booleanAnswer(value: BooleanEvaluation, envelope: Envelope): BooleanEvaluationResponse {
  return create(BooleanEvaluationResponseSchema, booleanFields(value, envelope));
}

export function variantAnswer(value: VariantEvaluation, envelope: Envelope): VariantEvaluationResponse {
  return create(VariantEvaluationResponseSchema, variantFields(value, envelope));
}
