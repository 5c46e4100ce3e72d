import type { EvalFlag } from "../domain/evaluation-model.js";
import type { ExplainTrace } from "../domain/explain-trace.js";
import { evaluateBoolean } from "./evaluate-boolean.js";
import type { FlagEvaluation } from "./evaluate-flag.js";
import { evaluateVariant } from "./evaluate-variant.js";
import type { EvaluationInput, EvaluationResult } from "./evaluation-result.js";
import { ExplainRecorder } from "./explain-recorder.js";
import { explainSummary } from "./explain-summary.js";

/** An evaluation and what the engine did to reach it. */
export interface Explanation {
  /** Exactly what `evaluateFlag` answers for the same flag and input. */
  readonly result: EvaluationResult<FlagEvaluation>;
  readonly trace: ExplainTrace;
}

/**
 * Evaluates a flag of either type, as `evaluateFlag` does (the flag's own type picks the evaluation), and records
 * each step on the way: the evaluation functions themselves report to the recorder, so the trace is the path
 * that produced this very result and not a second reading of the flag that could disagree with it.
 */
export function explainFlag(flag: EvalFlag, input: EvaluationInput): Explanation {
  const recorder = new ExplainRecorder(flag, input);
  const result =
    flag.type === "BOOLEAN_FLAG_TYPE"
      ? evaluateBoolean(flag, input, recorder)
      : evaluateVariant(flag, input, recorder);
  return {
    result,
    trace: {
      flagType: flag.type,
      flagEnabled: flag.enabled,
      steps: recorder.steps,
      summary: explainSummary(flag, recorder.steps),
    },
  };
}
