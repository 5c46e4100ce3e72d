import type { FlagEvaluation } from "../engine/evaluate-flag.js";

/** How a client snapshot call was answered: with the snapshot, with `304 Not Modified`, or with an error. */
export type SnapshotAnswer = "sent" | "not-modified" | "failed";

/**
 * Where the evaluation, OFREP and client-evaluation services record what they served, as Flipt records its
 * `flipt_evaluations_*` families inside its evaluation code: in the environment and namespace the service resolved
 * (docs/metrics.md says what each family counts). Evaluations are recorded only once their call has succeeded, so
 * a call refused or failed before a flag was evaluated records none; a client snapshot call records how it was
 * answered, failures included.
 */
export interface EvaluationRecorder {
  /**
   * One flag that was found and evaluated, in `environment` and `namespace`; `ms` is the call's time in the
   * handler (each flag of a batch or bulk call gets the call's time).
   */
  evaluated(environment: string, namespace: string, evaluation: FlagEvaluation, ms: number): void;
  /**
   * A client snapshot call whose environment resolved, taking `ms`. `namespace` is the requested key when the
   * environment has that namespace, else "" (labels hold only keys that exist).
   */
  snapshot(environment: string, namespace: string, ms: number, answer: SnapshotAnswer): void;
  /**
   * A client snapshot stream whose environment resolved, opened at `started` (`performance.now()`): the stream's
   * `snapshots`, recording each one sent, its set-up time and its end. A client that leaves (`signal` aborts)
   * ends it without an error.
   */
  stream<T>(
    environment: string,
    namespace: string,
    started: number,
    signal: AbortSignal,
    snapshots: AsyncIterable<T>,
  ): AsyncIterable<T>;
}

/** The recorder with `metrics.enabled: false`: records nothing, and hands streams back as they are. */
export const NOT_RECORDING: EvaluationRecorder = {
  evaluated: () => undefined,
  snapshot: () => undefined,
  stream: (_environment, _namespace, _started, _signal, snapshots) => snapshots,
};
