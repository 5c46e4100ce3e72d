import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { FlagEvaluation } from "../engine/evaluate-flag.js";
import type { EvaluationError, EvaluationResult } from "../engine/evaluation-result.js";
import {
  ErrorEvaluationReason,
  type EvaluationRequest,
  type EvaluationResponse,
  EvaluationResponseSchema,
  EvaluationResponseType,
} from "../gen/flipt/evaluation/evaluation_pb.js";
import { booleanAnswer, variantAnswer } from "./evaluation-answer.js";

/** Whether an evaluation error is a missing flag or namespace (NotFound, or a NOT_FOUND batch item). */
export function isNotFound(error: EvaluationError): boolean {
  return error.code === "FLAG_NOT_FOUND" || error.code === "NAMESPACE_NOT_FOUND";
}

/**
 * One item of `EvaluationService.Batch`'s answer: the flag's boolean or variant answer with the item's own request
 * id (blank stays blank) and the batch's duration and timestamp, or an error item echoing the request's raw
 * namespace key, as Flipt does.
 */
export function toBatchItem(
  item: EvaluationRequest,
  result: EvaluationResult<FlagEvaluation>,
  requestDurationMillis: number,
  timestamp: Timestamp,
): EvaluationResponse {
  if (!result.ok) {
    return create(EvaluationResponseSchema, {
      type: EvaluationResponseType.ERROR_EVALUATION_RESPONSE_TYPE,
      response: {
        case: "errorResponse",
        value: {
          flagKey: item.flagKey,
          namespaceKey: item.namespaceKey,
          reason: isNotFound(result.error)
            ? ErrorEvaluationReason.NOT_FOUND_ERROR_EVALUATION_REASON
            : ErrorEvaluationReason.UNKNOWN_ERROR_EVALUATION_REASON,
        },
      },
    });
  }
  const envelope = { requestId: item.requestId, requestDurationMillis, timestamp };
  return result.value.kind === "boolean"
    ? create(EvaluationResponseSchema, {
        type: EvaluationResponseType.BOOLEAN_EVALUATION_RESPONSE_TYPE,
        response: { case: "booleanResponse", value: booleanAnswer(result.value, envelope) },
      })
    : create(EvaluationResponseSchema, {
        type: EvaluationResponseType.VARIANT_EVALUATION_RESPONSE_TYPE,
        response: { case: "variantResponse", value: variantAnswer(result.value, envelope) },
      });
}
