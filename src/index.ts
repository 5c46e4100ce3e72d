/**
 * Pennant as a library: Flipt v2 flag evaluation in-process, from a directory of features files or from
 * documents given as text, with no server. See docs/library.md.
 *
 * ```ts
 * import { createEvaluator } from "pennant";
 *
 * const flags = await createEvaluator({ directory: "./flags" });
 * const { enabled } = flags.boolean({ flagKey: "new-ui", entityId: "user-1", context: { plan: "pro" } });
 * await flags.close();
 * ```
 */

export { NotFoundError, ValidationError, type ValidationIssue } from "./domain/errors.js";
export {
  createEvaluator,
  type DirectoryEvaluatorOptions,
  type DocumentsEvaluatorOptions,
  type EvaluatorOptions,
} from "./evaluator/create-evaluator.js";
export type { FeaturesDocuments } from "./evaluator/document-files.js";
export type {
  BatchEvaluationResponse,
  BatchOptions,
  BooleanEvaluationResponse,
  BooleanResolution,
  ErrorEvaluationResponse,
  EvaluationReasonName,
  EvaluationRequest,
  EvaluationResponse,
  Evaluator,
  EvaluatorStatus,
  VariantEvaluationResponse,
  VariantResolution,
} from "./evaluator/evaluator.js";
