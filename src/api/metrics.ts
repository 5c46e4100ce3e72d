import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { EnvironmentsService } from "../gen/environments/environments_pb.js";
import type { Environments } from "../storage/environments.js";
import { createEvaluationMetrics } from "./evaluation-metrics.js";
import { type EvaluationRecorder, NOT_RECORDING } from "./evaluation-recorder.js";
import { createFliptFamilies, createServerFamilies } from "./metrics-families.js";
import { countPollErrors, createRepositoryMetrics } from "./repository-metrics.js";
import { registerStorageMetrics } from "./storage-metrics.js";
import { createTransportMetrics } from "./transport-metrics.js";

type EnvironmentsServiceImpl = Partial<ServiceImpl<typeof EnvironmentsService>>;

/**
 * The Prometheus side of the server: one registry, what feeds it, and the scrape. Each family is recorded where
 * what labels it is known: every call's gRPC families in an interceptor, evaluations in the services that resolved
 * their environment and namespace, repository reads and writes around the environments service.
 */
export interface Metrics {
  readonly registry: Registry;
  /** The `grpc_server_*` families and `flipt_server_errors_total`, for every call. */
  readonly interceptor: Interceptor;
  /** Where the evaluation, OFREP and client-evaluation services record what they served. */
  readonly evaluations: EvaluationRecorder;
  /** The environments service, recording the repository reads, writes and branch calls it serves. */
  recordRepositoryCalls(service: EnvironmentsServiceImpl): EnvironmentsServiceImpl;
  /** The exposition text for one scrape of `/metrics`, counted as promhttp counts its own. */
  scrape(): Promise<string>;
}

export interface MetricsOptions {
  /**
   * `metrics.enabled`: Flipt's own `flipt_*` families. Without them (false) the registry still has the process,
   * runtime, gRPC and scrape families, as Flipt's `/metrics` does with metrics disabled.
   */
  readonly flipt?: boolean;
  /** Services whose methods get their `grpc_server_*` series at zero from the start, as go-grpc-prometheus does. */
  readonly services?: readonly DescService[];
  /**
   * For a worker (`server.workers`): the exposition text of every process's metrics, which a scrape answers with
   * instead of this registry's alone. The storage families (snapshot builds, polls, caches, queries) are then the
   * owning process's: this registry leaves them at zero, so that the sum counts each build once.
   */
  readonly aggregate?: (() => Promise<string>) | undefined;
}

/**
 * Flipt's metrics (api.md §10) under Flipt v2's names, label names and label values, for every protocol alike:
 * see docs/metrics.md for each family, what Flipt counts and where Pennant differs.
 */
export function createMetrics(environments: Environments, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const s = createServerFamilies(registry);
  const ownsStorage = options.aggregate === undefined;
  const f =
    options.flipt === false
      ? undefined
      : createFliptFamilies(registry, (counter) => {
          if (ownsStorage) countPollErrors(environments, counter);
        });
  if (f !== undefined && ownsStorage) registerStorageMetrics(registry, environments);
  s.scrapes.inc({ code: "200" }, 0);
  s.scrapes.inc({ code: "500" }, 0);
  s.scrapes.inc({ code: "503" }, 0);
  const interceptor = createTransportMetrics(s, {
    serverErrors: f?.serverErrors,
    services: options.services ?? [],
  });
  const recordRepositoryCalls =
    f === undefined
      ? (service: EnvironmentsServiceImpl) => service
      : createRepositoryMetrics(environments, f, { builds: ownsStorage });

  async function scrape(): Promise<string> {
    s.scrapesInFlight.inc();
    try {
      const text = await (options.aggregate ?? (() => registry.metrics()))();
      s.scrapesInFlight.dec();
      s.scrapes.inc({ code: "200" });
      return text;
    } catch (error) {
      s.scrapesInFlight.dec();
      s.scrapes.inc({ code: "500" });
      throw error;
    }
  }

  return {
    registry,
    interceptor,
    evaluations: f === undefined ? NOT_RECORDING : createEvaluationMetrics(f),
    recordRepositoryCalls,
    scrape,
  };
}
