import cluster, { type Worker } from "node:cluster";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { AggregatorRegistry } from "prom-client";
import { SERVICES } from "../api/create-api-handler.js";
import { createMetrics } from "../api/metrics.js";
import { reportStatus } from "../api/status-service.js";
import { NotFoundError } from "../domain/errors.js";
import type { BranchEnvironments } from "../storage/branch-environments.js";
import type { Environments } from "../storage/environments.js";
import { writeChanges, writeNothing } from "../storage/write-changes.js";
import { VERSION } from "../version.js";
import {
  fromWireError,
  type MetricsJson,
  type OwnerAnswers,
  type OwnerRequest,
  type ToOwner,
  type ToWorker,
  toWireError,
} from "./cluster-messages.js";
import { openStorage, type PennantServerOptions } from "./pennant-server.js";
import { Replicator } from "./replicate-to-workers.js";

/** The worker's entry point, beside this file's folder: `.ts` when run from source, `.js` when built. */
const WORKER_ENTRY = fileURLToPath(
  new URL(`../cli/worker-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** How long a scrape waits for a worker's metrics before leaving it out. */
const METRICS_DEADLINE_MS = 5_000;
/** Before forking again after a worker that died before serving, so that a broken start does not spin. */
const RESTART_BACKOFF_MS = 1_000;

export interface OwnerServerOptions extends PennantServerOptions {
  /** How many workers serve requests. */
  readonly workers: number;
}

/**
 * `server.workers` above 1: this process owns the storage (reads, watches, polls, writes, branch environments)
 * and serves no request itself; `workers` processes, forked with node:cluster, serve every protocol on the same
 * ports (cluster shares the listening sockets) from replicas of its environments. A worker that dies is replaced;
 * a write a worker forwards is answered once every worker serves it.
 */
export class OwnerServer {
  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #workers = new Map<number, Worker>();
  readonly #replicator: Replicator;
  readonly #close: () => Promise<void>;
  readonly #metricReplies = new Map<number, (metrics: MetricsJson | undefined) => void>();
  #ports: { httpPort: number; grpcPort: number } = { httpPort: 0, grpcPort: 0 };
  #nextId = 0;
  #nextScrape = 0;
  #started = false;
  #stopping: Promise<void> | undefined;

  private constructor(logger: Logger, graceMs: number, replicator: Replicator, close: () => Promise<void>) {
    this.#logger = logger;
    this.#graceMs = graceMs;
    this.#replicator = replicator;
    this.#close = close;
  }

  static async start(options: OwnerServerOptions): Promise<OwnerServer> {
    const { config, logger } = options;
    const { environments, branches, close } = await openStorage(
      config,
      logger,
      options.env,
      options.forceMigrate === true,
    );
    const replicator = new Replicator(environments, logger);
    // The owner's registry holds the storage families (builds, polls, caches, queries); workers the requests'.
    const metrics = createMetrics(environments, { flipt: config.metrics.enabled, services: SERVICES });
    const owner = new OwnerServer(logger, config.server.shutdownGracePeriod, replicator, async () => {
      replicator.close();
      await close();
    });
    try {
      await environments.start();
      await branches.refresh();
    } catch (error) {
      await owner.#close();
      throw error;
    }
    const answer = createAnswerer(environments, branches, replicator, {
      metrics: async () => {
        const collected = await Promise.all(
          [...owner.#workers.values()].map((worker) => owner.#collect(worker)),
        );
        const own = (await metrics.registry.getMetricsAsJSON()) as MetricsJson;
        const present = collected.filter((json): json is MetricsJson => json !== undefined);
        return AggregatorRegistry.aggregate([own, ...present]).metrics();
      },
    });
    cluster.setupPrimary({ exec: WORKER_ENTRY, serialization: "advanced" });
    try {
      const ready = Array.from({ length: options.workers }, () =>
        owner.#fork(options.consoleDirectory, config, answer),
      );
      const ports = await Promise.all(ready);
      owner.#ports = ports[0] as { httpPort: number; grpcPort: number };
      owner.#started = true;
    } catch (error) {
      await owner.stop();
      throw error;
    }
    logger.info(
      {
        version: VERSION,
        protocol: config.server.protocol,
        host: config.server.host,
        httpPort: owner.httpPort,
        grpcPort: owner.grpcPort,
        workers: options.workers,
      },
      "pennant is serving",
    );
    return owner;
  }

  get httpPort(): number {
    return this.#ports.httpPort;
  }

  get grpcPort(): number {
    return this.#ports.grpcPort;
  }

  /**
   * Graceful shutdown: each worker stops as a single server does (health NOT_SERVING, in-flight requests finish
   * within the grace period), then the storage is released. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info({ graceMs: this.#graceMs }, "shutting down");
      await Promise.all(
        [...this.#workers.values()].map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              const kill = setTimeout(() => worker.process.kill("SIGKILL"), this.#graceMs + 5_000);
              worker.once("exit", () => {
                clearTimeout(kill);
                resolve();
              });
              send(worker, { type: "stop" });
            }),
        ),
      );
      await this.#close();
      this.#logger.info("stopped");
    })();
    return this.#stopping;
  }

  /** Forks a worker; resolves with its ports once it serves, rejects if it fails first. */
  #fork(
    consoleDirectory: string | undefined,
    config: OwnerServerOptions["config"],
    answer: Answerer,
  ): Promise<{ httpPort: number; grpcPort: number }> {
    const worker = cluster.fork();
    const id = this.#nextId++;
    this.#workers.set(id, worker);
    const pid = worker.process.pid as number;
    return new Promise((resolve, reject) => {
      let serving = false;
      worker.on("message", (message: ToOwner) => {
        switch (message.type) {
          case "hello":
            this.#replicator.add(id, pid, (next) => send(worker, next), { config, consoleDirectory });
            return;
          case "ready":
            serving = true;
            this.#logger.debug({ pid }, "worker serving");
            resolve({ httpPort: message.httpPort, grpcPort: message.grpcPort });
            return;
          case "failed":
            reject(fromWireError(message.error));
            return;
          case "ack":
            this.#replicator.ack(id, message.seq, message.revisions);
            return;
          case "metrics":
            this.#metricReplies.get(message.id)?.(message.metrics);
            return;
          case "request":
            answer(message.request, id).then(
              (value) => send(worker, { type: "reply", id: message.id, value }),
              (error: unknown) => send(worker, { type: "reply", id: message.id, error: toWireError(error) }),
            );
            return;
        }
      });
      worker.once("exit", (code, signal) => {
        this.#workers.delete(id);
        this.#replicator.remove(id);
        if (!serving)
          reject(new Error(`worker ${pid} exited before serving (code ${code}, signal ${signal})`));
        if (this.#stopping !== undefined || !this.#started) return;
        this.#logger.warn({ pid, code, signal }, "worker exited; starting another");
        const restart = () => {
          if (this.#stopping !== undefined) return;
          this.#fork(consoleDirectory, config, answer).catch((error: unknown) =>
            this.#logger.error({ err: error }, "a replacement worker did not start"),
          );
        };
        // One that died before serving waits a moment, so that a start that always fails does not spin.
        setTimeout(restart, serving ? 0 : RESTART_BACKOFF_MS);
      });
    });
  }

  /** One worker's metrics, or undefined if it does not answer in time. */
  #collect(worker: Worker): Promise<MetricsJson | undefined> {
    const id = this.#nextScrape++;
    return new Promise((resolve) => {
      const done = (metrics: MetricsJson | undefined) => {
        clearTimeout(timer);
        this.#metricReplies.delete(id);
        resolve(metrics);
      };
      const timer = setTimeout(() => done(undefined), METRICS_DEADLINE_MS);
      this.#metricReplies.set(id, done);
      worker.once("exit", () => done(undefined));
      send(worker, { type: "collect-metrics", id });
    });
  }
}

function send(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

type Answerer = (request: OwnerRequest, from: number) => Promise<unknown>;

/**
 * Answers a worker's requests with the owner's environments: writes, re-reads and syncs resolve once the workers
 * serve their outcome (every worker for a change, the asking one for a re-read).
 */
function createAnswerer(
  environments: Environments,
  branches: BranchEnvironments,
  replicator: Replicator,
  aggregate: { metrics(): Promise<string> },
): Answerer {
  const environmentOf = (key: string) => {
    const environment = environments.get(key);
    if (environment === undefined) throw new NotFoundError(`environment "${key}" not found`);
    return environment;
  };
  const handlers: {
    [K in OwnerRequest["op"]]: (
      request: Extract<OwnerRequest, { op: K }>,
      from: number,
    ) => Promise<OwnerAnswers[K]>;
  } = {
    async write({ environment, write }) {
      const target = environmentOf(environment);
      const revision =
        write.kind === "changes"
          ? await writeChanges(target, write.changes, write.baseRevision)
          : await writeNothing(target, write.baseRevision);
      await replicator.settled();
      return revision;
    },
    async refresh({ environment, namespace, purpose }, from) {
      const target = environmentOf(environment);
      if (purpose === undefined) await target.reload();
      else await target.snapshotFor(namespace, purpose);
      await replicator.settled(from);
      return undefined;
    },
    async sync({ environment }) {
      await environmentOf(environment).sync();
      await replicator.settled();
      return true;
    },
    async "branch-create"({ base, name }) {
      const created = await branches.create(base, name);
      await replicator.settled();
      return created.key;
    },
    async "branch-delete"({ base, name }) {
      await branches.delete(base, name);
      await replicator.settled();
      return undefined;
    },
    async "branch-list"({ base }) {
      const found = await branches.list(base);
      await replicator.settled();
      return found.map((environment) => environment.key);
    },
    async "branch-refresh"() {
      await branches.refresh();
      await replicator.settled();
      return undefined;
    },
    async status() {
      return { ...(await reportStatus(environments)), workers: replicator.workers() };
    },
    metrics: () => aggregate.metrics(),
  };
  return (request, from) =>
    (handlers[request.op] as (request: OwnerRequest, from: number) => Promise<unknown>)(request, from);
}
