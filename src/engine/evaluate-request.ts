import type { EvalFlag } from "../domain/evaluation-model.js";
import type { Snapshot } from "../domain/snapshot.js";
import { evaluateBoolean } from "./evaluate-boolean.js";
import { checkFlagType, evaluateFlag, type FlagEvaluation } from "./evaluate-flag.js";
import { evaluateVariant } from "./evaluate-variant.js";
import type {
  BooleanEvaluation,
  EvaluationError,
  EvaluationResult,
  VariantEvaluation,
} from "./evaluation-result.js";

/** One evaluation as clients send it: which flag of which namespace, for whom, in what context. */
export interface EvaluationRequest {
  readonly namespaceKey: string;
  readonly flagKey: string;
  readonly entityId: string;
  readonly context: Readonly<Record<string, string>>;
}

/** The flag a request names, or the NotFound error Flipt gives. */
export function findFlag(snapshot: Snapshot, request: EvaluationRequest): EvaluationResult<EvalFlag> {
  const flag = lookupFlag(snapshot, request);
  return flag === undefined ? notFound(snapshot, request) : { ok: true, value: flag };
}

/** Flipt's Boolean call: the flag must be a boolean flag. */
export function evaluateBooleanRequest(
  snapshot: Snapshot,
  request: EvaluationRequest,
): EvaluationResult<BooleanEvaluation> {
  const flag = lookupFlag(snapshot, request);
  if (flag === undefined) return notFound(snapshot, request);
  const wrongType = checkFlagType(flag, "BOOLEAN_FLAG_TYPE");
  return wrongType === undefined ? evaluateBoolean(flag, request) : { ok: false, error: wrongType };
}

/** Flipt's Variant call: the flag must be a variant flag. */
export function evaluateVariantRequest(
  snapshot: Snapshot,
  request: EvaluationRequest,
): EvaluationResult<VariantEvaluation> {
  const flag = lookupFlag(snapshot, request);
  if (flag === undefined) return notFound(snapshot, request);
  const wrongType = checkFlagType(flag, "VARIANT_FLAG_TYPE");
  return wrongType === undefined ? evaluateVariant(flag, request) : { ok: false, error: wrongType };
}

/** One batch item: the flag's own type picks the evaluation. */
export function evaluateAnyRequest(
  snapshot: Snapshot,
  request: EvaluationRequest,
): EvaluationResult<FlagEvaluation> {
  const flag = lookupFlag(snapshot, request);
  return flag === undefined ? notFound(snapshot, request) : evaluateFlag(flag, request);
}

/** The hot path's lookup: no result wrapper unless something is missing. */
function lookupFlag(snapshot: Snapshot, request: EvaluationRequest): EvalFlag | undefined {
  return snapshot.namespaces.get(request.namespaceKey)?.evaluation.get(request.flagKey);
}

/** Why `lookupFlag` found nothing: the namespace, or the flag in it. */
function notFound(snapshot: Snapshot, request: EvaluationRequest): EvaluationResult<never> {
  return { ok: false, error: notFoundError(snapshot, request.namespaceKey, request.flagKey) };
}

/** The NotFound error Flipt gives for a flag that is not in the snapshot: its namespace is missing, or it is. */
export function notFoundError(snapshot: Snapshot, namespaceKey: string, flagKey: string): EvaluationError {
  if (!snapshot.namespaces.has(namespaceKey)) {
    return { code: "NAMESPACE_NOT_FOUND", message: `namespace "${namespaceKey}" not found` };
  }
  return { code: "FLAG_NOT_FOUND", message: `flag "${namespaceKey}/${flagKey}" not found` };
}
