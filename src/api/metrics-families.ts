import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The labels OpenTelemetry's Prometheus exporter puts on every series of Flipt's own (`flipt_*`) instruments: the
 * instrumentation scope of Flipt v2's meter, which has no version and no schema URL.
 */
export const FLIPT_SCOPE: Readonly<Record<string, string>> = {
  otel_scope_name: "go.flipt.io/flipt/v2",
  otel_scope_schema_url: "",
  otel_scope_version: "",
};
const SCOPE = Object.keys(FLIPT_SCOPE);

/** OpenTelemetry's default histogram bounds (Flipt registers no views), in milliseconds. */
const MS_BUCKETS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
/** `prometheus.DefBuckets`, which go-grpc-prometheus's `grpc_server_handling_seconds` uses. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const FLAG = ["flipt_environment", "flipt_namespace", "flipt_flag", ...SCOPE];
const RESULT = [...FLAG, "flipt_flag_type", "flipt_match", "flipt_reason", "flipt_segments", "flipt_value"];
const NAMESPACE = ["flipt_environment", "flipt_namespace", ...SCOPE];
/** A repository's metrics carry its remote (when it has one) and, for reads and writes, the branch. */
const REPOSITORY = ["remote", ...SCOPE];
const BRANCH = ["remote", "branch", ...SCOPE];
const RPC = ["grpc_type", "grpc_service", "grpc_method"];

/**
 * Flipt v2's own instruments (`internal/server/metrics`, `internal/storage/git/metrics.go`) under the names its
 * OpenTelemetry Prometheus export gives them: counters end in `_total`, millisecond histograms in
 * `_milliseconds`, up-down counters are gauges.
 */
export function createFliptFamilies(
  registry: Registry,
  /** Sets `flipt_git_poll_errors_total` at each scrape (the storage counts failed polls). */
  collectPollErrors: (counter: Counter<string>) => void,
) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: readonly string[]) =>
    new Counter({ name, help, labelNames, registers });
  const ms = (name: string, help: string, labelNames: readonly string[]) =>
    new Histogram({ name, help, labelNames, buckets: MS_BUCKETS, registers });
  const gauge = (name: string, help: string, labelNames: readonly string[]) =>
    new Gauge({ name, help, labelNames, registers });
  return {
    serverErrors: counter(
      "flipt_server_errors_total",
      "Calls that ended in an error, whatever the code.",
      SCOPE,
    ),
    requests: counter("flipt_evaluations_requests_total", "Evaluations of found flags.", FLAG),
    errors: counter("flipt_evaluations_errors_total", "Evaluations of found flags that failed.", FLAG),
    results: counter("flipt_evaluations_results_total", "Evaluation results by outcome.", RESULT),
    latency: ms("flipt_evaluations_latency_milliseconds", "Evaluation latency in milliseconds.", FLAG),
    snapshotRequests: counter(
      "flipt_evaluations_snapshot_requests_total",
      "Client snapshot requests.",
      NAMESPACE,
    ),
    snapshotErrors: counter(
      "flipt_evaluations_snapshot_errors_total",
      "Client snapshot requests that failed.",
      NAMESPACE,
    ),
    snapshotLatency: ms(
      "flipt_evaluations_snapshot_latency_milliseconds",
      "Client snapshot latency in milliseconds.",
      NAMESPACE,
    ),
    streamRequests: counter(
      "flipt_evaluations_stream_requests_total",
      "Client snapshot streams opened.",
      NAMESPACE,
    ),
    streamErrors: counter(
      "flipt_evaluations_stream_errors_total",
      "Client snapshot streams that failed.",
      NAMESPACE,
    ),
    streamMessages: counter(
      "flipt_evaluations_stream_messages_total",
      "Snapshots sent on client streams.",
      NAMESPACE,
    ),
    streamLatency: ms(
      "flipt_evaluations_stream_latency_milliseconds",
      "Time to set a client stream up, in milliseconds.",
      NAMESPACE,
    ),
    streams: gauge("flipt_evaluations_streams_in_progress", "Client snapshot streams open now.", NAMESPACE),
    views: counter("flipt_git_views_total", "Reads of flag state from storage.", BRANCH),
    viewErrors: counter("flipt_git_view_errors_total", "Reads of flag state that failed.", BRANCH),
    viewLatency: ms("flipt_git_view_latency_milliseconds", "Read latency in milliseconds.", BRANCH),
    updates: counter("flipt_git_updates_total", "Writes to storage (commits).", BRANCH),
    updateErrors: counter("flipt_git_update_errors_total", "Writes that failed.", BRANCH),
    updateLatency: ms(
      "flipt_git_update_latency_milliseconds",
      "Write latency in milliseconds, push included.",
      BRANCH,
    ),
    pollErrors: new Counter({
      name: "flipt_git_poll_errors_total",
      help: "Polls of the remote that failed.",
      labelNames: REPOSITORY,
      registers,
      collect() {
        this.reset();
        collectPollErrors(this);
      },
    }),
    subscriberErrors: counter(
      "flipt_git_update_subscribers_errors_total",
      "Snapshot rebuilds after a change that failed.",
      REPOSITORY,
    ),
    branches: gauge(
      "flipt_git_branches_total",
      "Branch environments created less those deleted since start.",
      REPOSITORY,
    ),
    branchErrors: counter(
      "flipt_git_branches_errors_total",
      "Branch creations and deletions that failed.",
      REPOSITORY,
    ),
  };
}

export type FliptFamilies = ReturnType<typeof createFliptFamilies>;

/**
 * go-grpc-prometheus's server metrics, which Flipt registers on the default registry whatever `metrics.enabled`
 * says, and promhttp's own, which its `/metrics` handler adds.
 */
export function createServerFamilies(registry: Registry) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: readonly string[]) =>
    new Counter({ name, help, labelNames, registers });
  return {
    started: counter("grpc_server_started_total", "RPCs started.", RPC),
    handled: counter("grpc_server_handled_total", "RPCs completed, by code.", [...RPC, "grpc_code"]),
    received: counter("grpc_server_msg_received_total", "Request messages received.", RPC),
    sent: counter("grpc_server_msg_sent_total", "Response messages sent.", RPC),
    handling: new Histogram({
      name: "grpc_server_handling_seconds",
      help: "RPC latency in seconds, until the response or the end of the stream.",
      labelNames: RPC,
      buckets: SECONDS_BUCKETS,
      registers,
    }),
    scrapes: counter("promhttp_metric_handler_requests_total", "Scrapes of /metrics, by HTTP status.", [
      "code",
    ]),
    scrapesInFlight: new Gauge({
      name: "promhttp_metric_handler_requests_in_flight",
      help: "Scrapes of /metrics being served now.",
      registers,
    }),
  };
}

export type ServerFamilies = ReturnType<typeof createServerFamilies>;
