import type { EvalFlag } from "../domain/evaluation-model.js";
import type { FlagType } from "../domain/flag-state.js";
import { evaluateBoolean } from "./evaluate-boolean.js";
import { evaluateVariant } from "./evaluate-variant.js";
import type {
  BooleanEvaluation,
  EvaluationError,
  EvaluationInput,
  EvaluationResult,
  VariantEvaluation,
} from "./evaluation-result.js";

/** A result of either kind, tagged by the flag's type, as a batch item needs it. */
export type FlagEvaluation = VariantEvaluation | BooleanEvaluation;

/** Evaluates a flag of either type (Flipt's batch: the flag's own type picks the evaluation). */
export function evaluateFlag(flag: EvalFlag, input: EvaluationInput): EvaluationResult<FlagEvaluation> {
  return flag.type === "BOOLEAN_FLAG_TYPE" ? evaluateBoolean(flag, input) : evaluateVariant(flag, input);
}

/**
 * The error Flipt answers (InvalidArgument) when a single Variant or Boolean call names a flag of the
 * other type: `flag type BOOLEAN_FLAG_TYPE invalid` names the flag's actual type. Undefined when it fits.
 */
export function checkFlagType(flag: EvalFlag, expected: FlagType): EvaluationError | undefined {
  return flag.type === expected
    ? undefined
    : { code: "INVALID_FLAG_TYPE", message: `flag type ${flag.type} invalid` };
}
