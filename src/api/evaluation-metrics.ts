import type { FlagEvaluation } from "../engine/evaluate-flag.js";
import type { EvaluationRecorder } from "./evaluation-recorder.js";
import { counterHandle, histogramHandle } from "./metric-handles.js";
import { FLIPT_SCOPE, type FliptFamilies } from "./metrics-families.js";
import { whenStreamEnds } from "./when-stream-ends.js";

/** How many evaluation outcomes keep their resolved series (see `createEvaluationMetrics`). */
const EVALUATION_SERIES_CACHE = 10_000;

/**
 * Flipt's evaluation and client-evaluation families, fed by the services through `EvaluationRecorder`.
 *
 * An evaluation moves three series with seven to ten labels each, so the label sets are built once per outcome
 * (environment, namespace, flag and result) and their series kept by outcome: an evaluation then builds one key
 * and moves three series it already holds. Outcomes are bounded by the flags served; the cache is dropped whole
 * past EVALUATION_SERIES_CACHE entries (flag state that churns keys), and rebuilt as evaluations come.
 */
export function createEvaluationMetrics(f: FliptFamilies): EvaluationRecorder {
  const evaluationSeries = new Map<string, ReturnType<typeof seriesOf>>();
  const seriesOf = (environment: string, namespace: string, evaluation: FlagEvaluation) => {
    const flag = {
      flipt_environment: environment,
      flipt_namespace: namespace,
      flipt_flag: evaluation.flagKey,
    };
    const labels = { ...flag, ...FLIPT_SCOPE };
    return {
      requests: counterHandle(f.requests, labels),
      latency: histogramHandle(f.latency, labels),
      results: counterHandle(f.results, { ...flag, ...resultLabels(evaluation), ...FLIPT_SCOPE }),
    };
  };

  return {
    evaluated(environment, namespace, evaluation, ms) {
      const key =
        evaluation.kind === "boolean"
          ? `${environment}\0${namespace}\0${evaluation.flagKey}\0b\0${evaluation.enabled}\0${evaluation.reason}`
          : `${environment}\0${namespace}\0${evaluation.flagKey}\0v\0${evaluation.variantKey}\0${evaluation.reason}\0${evaluation.match}\0${evaluation.segmentKeys.join("\0")}`;
      let series = evaluationSeries.get(key);
      if (series === undefined) {
        if (evaluationSeries.size >= EVALUATION_SERIES_CACHE) evaluationSeries.clear();
        series = seriesOf(environment, namespace, evaluation);
        evaluationSeries.set(key, series);
      }
      series.requests.inc();
      series.latency.observe(ms);
      series.results.inc();
    },

    snapshot(environment, namespace, ms, answer) {
      const labels = namespaceLabels(environment, namespace);
      f.snapshotRequests.inc(labels);
      if (answer === "failed") f.snapshotErrors.inc(labels);
      f.snapshotLatency.observe(labels, Math.trunc(ms));
      // Flipt answers a matching If-None-Match with its not-modified error, which its error interceptor counts
      // before turning it into OK with HTTP status 304.
      if (answer === "not-modified") f.serverErrors.inc(FLIPT_SCOPE);
    },

    stream(environment, namespace, started, signal, snapshots) {
      const labels = namespaceLabels(environment, namespace);
      f.streamRequests.inc(labels);
      f.streams.inc(labels);
      // The stream's set-up time: until its first snapshot, or its end when it sends none.
      let setUp = false;
      const observeSetUp = () => {
        if (setUp) return;
        setUp = true;
        f.streamLatency.observe(labels, Math.trunc(performance.now() - started));
      };
      return whenStreamEnds(
        snapshots,
        signal,
        (error) => {
          observeSetUp();
          f.streams.dec(labels);
          // A client that leaves ends its stream normally.
          if (error !== undefined && !signal.aborted) f.streamErrors.inc(labels);
        },
        () => {
          observeSetUp();
          f.streamMessages.inc(labels);
        },
      );
    },
  };
}

function namespaceLabels(environment: string, namespace: string): Record<string, string> {
  return { flipt_environment: environment, flipt_namespace: namespace, ...FLIPT_SCOPE };
}

/**
 * The labels of `flipt_evaluations_results_total` beyond the flag's, as Flipt's evaluation server sets them: a boolean flag's value
 * (`true`/`false`), reason and type `boolean`, with no match or segments; a variant flag's match, matched segment
 * keys (a JSON array, as OpenTelemetry's Prometheus export writes a string-slice attribute: `["a","b"]`, `[]`),
 * reason, variant key and type `variant`. The reason is the evaluation API's name (`MATCH_EVALUATION_REASON`, ...),
 * whichever protocol asked: Flipt's OFREP bridge records through the evaluation API too.
 */
function resultLabels(evaluation: FlagEvaluation): Record<string, string> {
  if (evaluation.kind === "boolean") {
    return {
      flipt_value: String(evaluation.enabled),
      flipt_reason: evaluation.reason,
      flipt_flag_type: "boolean",
    };
  }
  return {
    flipt_match: String(evaluation.match),
    flipt_segments: JSON.stringify(evaluation.segmentKeys),
    flipt_reason: evaluation.reason,
    flipt_value: evaluation.variantKey,
    flipt_flag_type: "variant",
  };
}
