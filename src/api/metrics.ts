import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
import {
  type BatchEvaluationResponse,
  type BooleanEvaluationResponse,
  EvaluationReason,
  type VariantEvaluationResponse,
} from "../gen/flipt/evaluation/evaluation_pb.js";
import {
  type BulkEvaluationResponse,
  EvaluateReason,
  type EvaluationResponse as OfrepEvaluationResponse,
} from "../gen/flipt/ofrep/ofrep_pb.js";
import type { Environments } from "../storage/environments.js";
import { WRITE_PROCEDURES } from "./auth-interceptor.js";
import { restCallKey } from "./context-keys.js";
import { ENVIRONMENT_HEADER, NAMESPACE_HEADER } from "./resolve-environment.js";
import { whenStreamEnds } from "./when-stream-ends.js";

/** OpenTelemetry's default histogram bounds, in milliseconds, which Flipt's Prometheus export carries. */
const MS_BUCKETS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
/** go-grpc-middleware's default buckets for `grpc_server_handling_seconds`. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const EVALUATION = "flipt.evaluation.EvaluationService";
const OFREP = "flipt.ofrep.OFREPService";
const CLIENT = "evaluation.ClientEvaluationService";
const ENVIRONMENTS = "environments.EnvironmentsService";

/** The Prometheus side of the server: one registry, and the interceptor that feeds it. */
export interface Metrics {
  readonly registry: Registry;
  readonly interceptor: Interceptor;
}

/** One evaluation as the result metrics label it. */
interface Outcome {
  readonly environment: string;
  readonly namespace: string;
  readonly flag: string;
  readonly type: "BOOLEAN_FLAG_TYPE" | "VARIANT_FLAG_TYPE";
  readonly match: boolean;
  readonly reason: string;
  readonly segments: readonly string[];
  readonly value: string;
}

/** The request fields the metrics read: keys that name the environment, the namespace and, for batches, each item. */
interface RequestKeys {
  readonly environmentKey?: string;
  readonly namespaceKey?: string;
  readonly key?: string;
  readonly requests?: readonly BatchItemKeys[];
}

interface BatchItemKeys {
  readonly environmentKey: string;
  readonly namespaceKey: string;
}

/**
 * Flipt's metrics (api.md §10) under Flipt's names, for every protocol alike: the `flipt_evaluations_*`
 * families per flag, snapshots and streams, `flipt_git_*` for the environments API's reads (views) and writes
 * (updates, each a commit), `flipt_server_errors_total`, go-grpc-middleware's `grpc_server_*`, and Node's process
 * and runtime metrics. Label values are bounded by the flag state: keys appear only once they resolved to a
 * flag (an error is counted with empty namespace and flag), and never an entity id or a context value. Each
 * series carries Flipt v2's `flipt_*` label names and, for the published dashboards, their older short names.
 */
export function createMetrics(environments: Environments): Metrics {
  /** A requested environment as a label: the default when none is named, "" when it names none that exists. */
  const environmentLabel = (requested: string | null): string =>
    requested === null || requested === ""
      ? environments.default.key
      : environments.get(requested) === undefined
        ? ""
        : requested;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string, labelNames: readonly string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const ms = (name: string, help: string, labelNames: readonly string[]) =>
    new Histogram({ name, help, labelNames, buckets: MS_BUCKETS, registers: [registry] });

  const FLAG = ["flipt_environment", "flipt_namespace", "flipt_flag", "flag"];
  const RESULT = [
    ...FLAG,
    "flipt_flag_type",
    "flipt_match",
    "flipt_reason",
    "flipt_segments",
    "flipt_value",
    "match",
    "reason",
    "segment",
    "value",
  ];
  const NAMESPACE = ["flipt_environment", "flipt_namespace"];
  const RPC = ["grpc_type", "grpc_service", "grpc_method"];
  const m = {
    requests: counter("flipt_evaluations_requests_total", "Evaluation requests, per flag.", FLAG),
    errors: counter("flipt_evaluations_errors_total", "Evaluations that failed, per flag.", FLAG),
    results: counter("flipt_evaluations_results_total", "Evaluation results, per flag and outcome.", RESULT),
    latency: ms("flipt_evaluations_latency_milliseconds", "Evaluation latency.", FLAG),
    snapshotRequests: counter(
      "flipt_evaluations_snapshot_requests_total",
      "Client snapshot requests.",
      NAMESPACE,
    ),
    snapshotErrors: counter("flipt_evaluations_snapshot_errors_total", "Client snapshot errors.", NAMESPACE),
    snapshotLatency: ms(
      "flipt_evaluations_snapshot_latency_milliseconds",
      "Client snapshot latency.",
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
      "Snapshots sent on streams.",
      NAMESPACE,
    ),
    streamLatency: ms(
      "flipt_evaluations_stream_latency_milliseconds",
      "How long streams stayed open.",
      NAMESPACE,
    ),
    streams: new Gauge({
      name: "flipt_evaluations_streams_in_progress",
      help: "Client snapshot streams open now.",
      labelNames: NAMESPACE,
      registers: [registry],
    }),
    views: counter("flipt_git_views_total", "Reads of flag state through the environments API.", [
      "flipt_environment",
    ]),
    viewErrors: counter("flipt_git_view_errors_total", "Reads that failed.", ["flipt_environment"]),
    viewLatency: ms("flipt_git_view_latency_milliseconds", "Read latency.", ["flipt_environment"]),
    updates: counter("flipt_git_updates_total", "Writes through the environments API (commits).", [
      "flipt_environment",
    ]),
    updateErrors: counter("flipt_git_update_errors_total", "Writes that failed.", ["flipt_environment"]),
    updateLatency: ms("flipt_git_update_latency_milliseconds", "Write latency, push included.", [
      "flipt_environment",
    ]),
    pollErrors: new Counter({
      name: "flipt_git_poll_errors_total",
      help: "Fetches from a remote that failed (polls, webhook syncs, fetches before writes).",
      labelNames: ["flipt_environment"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const environment of environments.list()) {
          const remote = await environment.remoteStatus();
          if (remote !== undefined) this.inc({ flipt_environment: environment.key }, remote.fetchErrors);
        }
      },
    }),
    // Pennant notifies streams in-process and has no branch environments: these stay at zero.
    subscriberErrors: counter(
      "flipt_git_update_subscribers_errors_total",
      "Failures to tell subscribers of an update (none in Pennant).",
      ["flipt_environment"],
    ),
    branches: counter("flipt_git_branches_total", "Branch environments created (not supported).", [
      "flipt_environment",
    ]),
    serverErrors: counter("flipt_server_errors_total", "Calls that failed by the server's fault.", RPC),
    started: counter("grpc_server_started_total", "RPCs started.", RPC),
    handled: counter("grpc_server_handled_total", "RPCs completed, by code.", [...RPC, "grpc_code"]),
    received: counter("grpc_server_msg_received_total", "Request messages received.", RPC),
    sent: counter("grpc_server_msg_sent_total", "Response messages sent.", RPC),
    handling: new Histogram({
      name: "grpc_server_handling_seconds",
      help: "RPC latency until the response (or the stream's end).",
      labelNames: RPC,
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
  };

  const interceptor: Interceptor = (next) => async (input) => {
    // A server stream's one request message is read here, so that its keys can label the stream.
    const req =
      input.stream && input.method.methodKind === "server_streaming"
        ? { ...input, message: await onlyMessage(input.message) }
        : input;
    const started = performance.now();
    const service = req.service.typeName;
    const method = req.method.name;
    const kind = req.method.methodKind;
    const rpc = {
      grpc_type: kind === "unary" ? "unary" : kind === "server_streaming" ? "server_stream" : "bidi_stream",
      grpc_service: service,
      grpc_method: method,
    };
    m.started.inc(rpc);
    if (!req.stream) m.received.inc(rpc);
    // A bidi stream (reflection) has no one message to read: no keys.
    const message = ((req.stream ? (req.message as Partial<Replayed<unknown>>).first : req.message) ??
      {}) as RequestKeys;
    const environmentHeader = req.header.get(ENVIRONMENT_HEADER);
    const environment = environmentLabel(message.environmentKey || environmentHeader);
    const finish = (error: unknown, messages = 1) => {
      const elapsed = performance.now() - started;
      m.handled.inc({ ...rpc, grpc_code: error === undefined ? "OK" : codeName(error) });
      if (error === undefined) m.sent.inc(rpc, messages);
      else if (serverFault(error)) m.serverErrors.inc(rpc);
      m.handling.observe(rpc, elapsed / 1000);
      return elapsed;
    };
    try {
      const res = await next(req);
      if (res.stream) {
        if (service !== CLIENT) return { ...res, message: whenStreamEnds(res.message, req.signal, finish) };
        const labels = { flipt_environment: environment, flipt_namespace: message.key ?? "" };
        m.streamRequests.inc(labels);
        m.streams.inc(labels);
        return {
          ...res,
          message: whenStreamEnds(res.message, req.signal, (error, sent) => {
            m.streams.dec(labels);
            m.streamMessages.inc(labels, sent);
            if (error !== undefined) m.streamErrors.inc(labels);
            m.streamLatency.observe(labels, finish(error, sent));
          }),
        };
      }
      const elapsed = finish(undefined);
      if (service === EVALUATION || service === OFREP) {
        // The namespace as the service resolved it: OFREP from its header only, the evaluation API from the
        // request, else (gRPC-style callers only) the header, else `default`.
        const namespaceHeader =
          service === OFREP || req.contextValues.get(restCallKey) === undefined
            ? req.header.get(NAMESPACE_HEADER)
            : null;
        const namespace =
          (service === OFREP ? "" : message.namespaceKey) || namespaceHeader || DEFAULT_NAMESPACE;
        const outcomes =
          service === OFREP
            ? ofrepOutcomes(method, res.message, environment, namespace)
            : fliptOutcomes(method, res.message, message, (item) =>
                item === undefined
                  ? { environment, namespace }
                  : {
                      environment: environmentLabel(item.environmentKey || environmentHeader),
                      namespace: item.namespaceKey || DEFAULT_NAMESPACE,
                    },
              );
        for (const outcome of outcomes) {
          if (outcome === undefined) failedEvaluation(environment, elapsed);
          else evaluated(outcome, elapsed);
        }
      } else if (service === CLIENT) {
        const labels = { flipt_environment: environment, flipt_namespace: message.key ?? "" };
        m.snapshotRequests.inc(labels);
        m.snapshotLatency.observe(labels, elapsed);
      } else if (service === ENVIRONMENTS) {
        gitCall(environment, method, elapsed, false);
      }
      return res;
    } catch (error) {
      const elapsed = finish(error);
      if (service === EVALUATION || service === OFREP) {
        failedEvaluation(environment, elapsed);
      } else if (service === CLIENT) {
        const labels = { flipt_environment: environment, flipt_namespace: "" };
        m.snapshotRequests.inc(labels);
        m.snapshotErrors.inc(labels);
        m.snapshotLatency.observe(labels, elapsed);
      } else if (service === ENVIRONMENTS) {
        gitCall(environment, method, elapsed, true);
      }
      throw error;
    }
  };

  /** A failed evaluation: its keys may be anything a client sent, so they are not labels. */
  function failedEvaluation(environment: string, elapsed: number): void {
    const labels = { flipt_environment: environment, flipt_namespace: "", flipt_flag: "", flag: "" };
    m.requests.inc(labels);
    m.errors.inc(labels);
    m.latency.observe(labels, elapsed);
  }

  function evaluated(outcome: Outcome, elapsed: number): void {
    const labels = {
      flipt_environment: outcome.environment,
      flipt_namespace: outcome.namespace,
      flipt_flag: outcome.flag,
      flag: outcome.flag,
    };
    m.requests.inc(labels);
    m.latency.observe(labels, elapsed);
    const match = String(outcome.match);
    const segments = outcome.segments.join(",");
    m.results.inc({
      ...labels,
      flipt_flag_type: outcome.type,
      flipt_match: match,
      flipt_reason: outcome.reason,
      flipt_segments: segments,
      flipt_value: outcome.value,
      match,
      reason: outcome.reason,
      segment: segments,
      value: outcome.value,
    });
  }

  function gitCall(environment: string, method: string, elapsed: number, failed: boolean): void {
    const labels = { flipt_environment: environment };
    const [count, errors, latency] = WRITE_PROCEDURES.has(`${ENVIRONMENTS}/${method}`)
      ? [m.updates, m.updateErrors, m.updateLatency]
      : [m.views, m.viewErrors, m.viewLatency];
    count.inc(labels);
    if (failed) errors.inc(labels);
    latency.observe(labels, elapsed);
  }

  return { registry, interceptor };
}

function codeName(error: unknown): string {
  const code = error instanceof ConnectError ? error.code : Code.Unknown;
  // go-grpc-middleware's names: `OK`, `NotFound`, ... (Connect's enum names, which match).
  return Code[code] ?? "Unknown";
}

function serverFault(error: unknown): boolean {
  const code = error instanceof ConnectError ? error.code : Code.Unknown;
  return code === Code.Internal || code === Code.Unknown || code === Code.DataLoss;
}

type Scope = Pick<Outcome, "environment" | "namespace">;
type FliptAnswer = BooleanEvaluationResponse | VariantEvaluationResponse;

/**
 * The evaluations of a Boolean, Variant or Batch answer; undefined for a batch item that is an error. `scopeOf`
 * gives a batch item's environment and namespace from its request (undefined: the call's own).
 */
function fliptOutcomes(
  method: string,
  response: unknown,
  request: RequestKeys,
  scopeOf: (item: BatchItemKeys | undefined) => Scope,
): Array<Outcome | undefined> {
  if (method !== "Batch") return [fliptOutcome(response as FliptAnswer, scopeOf(undefined))];
  return (response as BatchEvaluationResponse).responses.map((item, index) =>
    item.response.case === "booleanResponse" || item.response.case === "variantResponse"
      ? fliptOutcome(item.response.value, scopeOf(request.requests?.[index]))
      : undefined,
  );
}

function fliptOutcome(answer: FliptAnswer, scope: Scope): Outcome {
  const boolean = "enabled" in answer;
  return {
    ...scope,
    flag: answer.flagKey,
    type: boolean ? "BOOLEAN_FLAG_TYPE" : "VARIANT_FLAG_TYPE",
    match: boolean ? answer.enabled : answer.match,
    reason: EvaluationReason[answer.reason] ?? String(answer.reason),
    segments: answer.segmentKeys,
    value: boolean ? String(answer.enabled) : answer.variantKey,
  };
}

/** The evaluations of an OFREP EvaluateFlag or EvaluateBulk answer. */
function ofrepOutcomes(method: string, response: unknown, environment: string, namespace: string): Outcome[] {
  const flags =
    method === "EvaluateBulk"
      ? (response as BulkEvaluationResponse).flags
      : [response as OfrepEvaluationResponse];
  return flags.map((flag) => {
    const boolean = flag.value?.kind.case === "boolValue";
    return {
      environment,
      namespace,
      flag: flag.key,
      type: boolean ? "BOOLEAN_FLAG_TYPE" : "VARIANT_FLAG_TYPE",
      match: flag.reason === EvaluateReason.TARGETING_MATCH,
      reason: EvaluateReason[flag.reason] ?? String(flag.reason),
      segments: [],
      value: boolean ? String(flag.value?.kind.value) : flag.variant,
    };
  });
}

/** A stream of exactly one message, which can be read before the stream is. */
interface Replayed<T> extends AsyncIterable<T> {
  readonly first: T | undefined;
}

async function onlyMessage<T>(messages: AsyncIterable<T>): Promise<Replayed<T>> {
  const all: T[] = [];
  for await (const message of messages) all.push(message);
  return {
    first: all[0],
    async *[Symbol.asyncIterator]() {
      yield* all;
    },
  };
}
