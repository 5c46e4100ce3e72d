import type { Registry } from "prom-client";
import type { ClusterView } from "../api/cluster-view.js";
import { NotFoundError, UnavailableError } from "../domain/errors.js";
import type { BranchService } from "../storage/branch-environments.js";
import { Environment } from "../storage/environment.js";
import { Environments } from "../storage/environments.js";
import { createReplicaSource, type ReplicaSource } from "../storage/replica-source.js";
import {
  type EnvironmentUpdate,
  fromWireError,
  type MetricsJson,
  type OwnerAnswers,
  type OwnerRequest,
  type ToOwner,
  type ToWorker,
  toWireError,
} from "./cluster-messages.js";
import { createLogger } from "./logger.js";
import { PennantServer } from "./pennant-server.js";

/** The IPC channel to the owner: `process` in a cluster worker. */
export interface OwnerChannel {
  send(message: ToOwner): void;
  on(event: "message", listener: (message: ToWorker) => void): void;
  once(event: "disconnect", listener: () => void): void;
  readonly connected: boolean;
}

/**
 * A worker process of `server.workers`: waits for the owner's configuration and environments, serves them on the
 * shared ports, applies each change the owner sends in order (acknowledging it once served), and forwards what
 * only the owner can do. Resolves when the owner says stop, or goes away.
 */
export async function serveAsWorker(channel: OwnerChannel): Promise<void> {
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  let registry: Registry | undefined;
  const request = <K extends OwnerRequest["op"]>(
    message: Extract<OwnerRequest, { op: K }>,
  ): Promise<OwnerAnswers[K]> =>
    new Promise((resolve, reject) => {
      if (!channel.connected) {
        reject(new UnavailableError("the process that owns storage has gone"));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      channel.send({ type: "request", id, request: message });
    });

  let resolveInit: (message: Extract<ToWorker, { type: "init" }>) => void = () => {};
  const init = new Promise<Extract<ToWorker, { type: "init" }>>((resolve) => (resolveInit = resolve));
  // Changes that arrive before the environments are open wait for them.
  const early: ToWorker[] = [];
  let applyInOrder: (message: ToWorker) => void = (message) => early.push(message);
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  channel.on("message", (message) => {
    switch (message.type) {
      case "init":
        resolveInit(message);
        return;
      case "reply": {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) waiting?.reject(fromWireError(message.error));
        else waiting?.resolve(message.value);
        return;
      }
      case "collect-metrics":
        void (registry?.getMetricsAsJSON() ?? Promise.resolve([])).then((metrics) =>
          channel.send({ type: "metrics", id: message.id, metrics: metrics as MetricsJson }),
        );
        return;
      case "stop":
        stop();
        return;
      default:
        applyInOrder(message);
    }
  });
  channel.once("disconnect", () => {
    for (const waiting of pending.values())
      waiting.reject(new UnavailableError("the process that owns storage has gone"));
    stop();
  });

  channel.send({ type: "hello" });
  // Told to stop (the owner failed to start) or orphaned before it was given anything to serve.
  const given = await Promise.race([init, stopped.then(() => undefined)]);
  if (given === undefined) return;
  const { config, consoleDirectory, environments: initial, seq } = given;
  const logger = createLogger({
    level: config.log.level,
    encoding: config.log.encoding,
    keys: config.log.keys,
    file: config.log.file,
  }).child({ worker: process.pid });
  // The owner logs each load and failure; a worker's copies would repeat them once per worker.
  const quiet = logger.levelVal < 40 ? logger.child({}, { level: "warn" }) : logger;
  const replicas = new Map<string, ReplicaSource>();
  const open = (update: EnvironmentUpdate): Environment => {
    const { descriptor } = update;
    const replica = createReplicaSource({
      key: descriptor.key,
      readsThrough: descriptor.readsThrough,
      state: update.state,
      status: update.status,
      link: {
        refresh: (namespace, purpose) =>
          request({ op: "refresh", environment: descriptor.key, namespace, purpose }),
        write: (write) => request({ op: "write", environment: descriptor.key, write }),
        sync: () => request({ op: "sync", environment: descriptor.key }),
      },
    });
    replicas.set(descriptor.key, replica);
    return new Environment({ ...descriptor, source: replica.source, logger: quiet });
  };
  const environments = new Environments(initial.map(open));
  const revisions = () =>
    Object.fromEntries(
      environments.list().map((environment) => [environment.key, environment.snapshot.revision]),
    );

  // Changes apply one at a time, in the order the owner sent them, once the environments have started.
  let started: () => void = () => {};
  let tail = new Promise<void>((resolve) => (started = resolve));
  applyInOrder = (message) => {
    tail = tail.then(async () => {
      try {
        await apply(message);
      } catch (error) {
        logger.error({ err: error }, "could not apply the owner's change");
      }
      if ("seq" in message) channel.send({ type: "ack", seq: message.seq, revisions: revisions() });
    });
  };
  for (const message of early.splice(0)) applyInOrder(message);
  const apply = async (message: ToWorker) => {
    switch (message.type) {
      case "state": {
        const { key } = message.environment.descriptor;
        const replica = replicas.get(key);
        const current = environments.get(key);
        if (replica === undefined || current === undefined) {
          const added = open(message.environment);
          await added.start();
          environments.add(added);
          return;
        }
        replica.apply(message.environment.state);
        replica.report(message.environment.status);
        await current.load();
        return;
      }
      case "status":
        replicas.get(message.key)?.report(message.status);
        return;
      case "removed": {
        const gone = environments.get(message.key);
        replicas.delete(message.key);
        environments.remove(message.key);
        await gone?.stop();
        return;
      }
    }
  };

  const environmentOf = (key: string) => {
    const environment = environments.get(key);
    if (environment === undefined) throw new NotFoundError(`environment "${key}" not found`);
    return environment;
  };
  const branches: BranchService = {
    create: async (base, name) => environmentOf(await request({ op: "branch-create", base, name })),
    delete: (base, name) => request({ op: "branch-delete", base, name }),
    list: async (base) =>
      (await request({ op: "branch-list", base })).flatMap((key) => environments.get(key) ?? []),
    refresh: () => request({ op: "branch-refresh" }),
  };
  const cluster: ClusterView = {
    attach: (attached) => {
      registry = attached;
    },
    metrics: () => request({ op: "metrics" }),
    status: () => request({ op: "status" }),
  };

  let server: PennantServer;
  try {
    server = await PennantServer.serve({
      config,
      logger,
      consoleDirectory,
      environments,
      branches,
      cluster,
      startStorage: async () => {
        await environments.start();
        started();
      },
      stopStorage: () => environments.stop(),
    });
  } catch (error) {
    channel.send({ type: "failed", error: toWireError(error) });
    throw error;
  }
  channel.send({ type: "ack", seq, revisions: revisions() });
  channel.send({ type: "ready", httpPort: server.httpPort, grpcPort: server.grpcPort });
  await stopped;
  await server.stop();
}
