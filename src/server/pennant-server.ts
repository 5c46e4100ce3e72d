import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { ClusterView } from "../api/cluster-view.js";
import { createApiHandler, SERVICES } from "../api/create-api-handler.js";
import { HealthStatus } from "../api/health-service.js";
import type { Config } from "../config/config.js";
import { BranchEnvironments, type BranchService } from "../storage/branch-environments.js";
import type { Environments } from "../storage/environments.js";
import { createGitRunner } from "../storage/git/run-git.js";
import { readBuildStamp, VERSION } from "../version.js";
import type { Listener } from "./bind-listener.js";
import { createConnectionBudget } from "./connection-budget.js";
import { createEnvironments } from "./create-environments.js";
import { jwtAuthenticatorFor } from "./jwt-authenticator-for.js";
import type { ConnectionLimits } from "./listen-options.js";
import { listenGrpc, listenHttp } from "./listeners.js";
import { DEFAULT_CONSOLE_DIRECTORY, readConsoleBuild } from "./read-console-build.js";
import { readStaticTokens } from "./read-static-tokens.js";

export interface PennantServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The process environment, as the CLI received it; passed on to git. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--force-migrate`: apply a database storage's pending migrations instead of refusing to start. */
  readonly forceMigrate?: boolean;
  /** The web console's build to serve (`ui.enabled`); `dist/console/` by default. */
  readonly consoleDirectory?: string;
}

/** What `PennantServer.serve` serves, and how it starts and stops the storage behind it. */
export interface ServeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly consoleDirectory?: string | undefined;
  readonly environments: Environments;
  readonly branches: BranchService;
  /** In a worker process (`server.workers`): the owner, for metrics and status covering every process. */
  readonly cluster?: ClusterView | undefined;
  readonly startStorage: () => Promise<void>;
  readonly stopStorage: () => Promise<void>;
}

/**
 * Opens the storages and environments `config` names, and their branch environments, not yet started; `close`
 * releases them all.
 */
export async function openStorage(
  config: Config,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>>,
  forceMigrate: boolean,
): Promise<{ environments: Environments; branches: BranchEnvironments; close: () => Promise<void> }> {
  const { environments, close: closeEnvironments } = await createEnvironments(
    config,
    createGitRunner(env),
    logger,
    env,
    { forceMigrate },
  );
  const branches = new BranchEnvironments(environments, logger);
  const close = async () => {
    await branches.close();
    await closeEnvironments();
  };
  return { environments, branches, close };
}

/** The response header a worker process (`server.workers`) adds: its process id. */
const WORKER_HEADER = "pennant-worker";

/** Time kept back from the shutdown grace period for closing listeners after in-flight requests are cut. */
const SHUTDOWN_MARGIN_MS = 500;

/**
 * The running server: the HTTP port (REST, Connect, gRPC-Web and gRPC over h2c) and the gRPC port, sharing one
 * request handler. Start it with `PennantServer.start`, stop it with `stop()`.
 */
export class PennantServer {
  readonly #listeners: readonly Listener[];
  readonly #health: HealthStatus;
  readonly #shutdown: AbortController;
  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #stopStorage: () => Promise<void>;
  #stopping: Promise<void> | undefined;

  private constructor(
    listeners: readonly Listener[],
    health: HealthStatus,
    shutdown: AbortController,
    logger: Logger,
    graceMs: number,
    stopStorage: () => Promise<void>,
  ) {
    this.#stopStorage = stopStorage;
    this.#listeners = listeners;
    this.#health = health;
    this.#shutdown = shutdown;
    this.#logger = logger;
    this.#graceMs = graceMs;
  }

  /** Opens the storage `config` names and serves it from this process. */
  static async start({
    config,
    logger,
    env,
    forceMigrate,
    consoleDirectory,
  }: PennantServerOptions): Promise<PennantServer> {
    const { environments, branches, close } = await openStorage(config, logger, env, forceMigrate === true);
    return PennantServer.serve({
      config,
      logger,
      consoleDirectory,
      environments,
      branches,
      startStorage: async () => {
        await environments.start();
        await branches.refresh();
      },
      stopStorage: close,
    });
  }

  /**
   * Serves `environments` (this process's own, or a worker's replicas of the owner's): the request handler, the
   * listeners, and `startStorage` between the two, so that the handler's metrics count the first builds.
   */
  static async serve(options: ServeOptions): Promise<PennantServer> {
    const { config, logger, environments, branches } = options;
    const consoleDirectory = options.consoleDirectory ?? DEFAULT_CONSOLE_DIRECTORY;
    const { server } = config;
    const started = await (async () => {
      try {
        const staticTokens = await readStaticTokens(config.authentication.methods.token);
        const jwt = await jwtAuthenticatorFor(config.authentication.methods.jwt, logger);
        const consoleBuild = config.ui.enabled ? await readConsoleBuild(consoleDirectory) : undefined;
        if (config.ui.enabled && consoleBuild === undefined) {
          logger.warn(
            { directory: consoleDirectory },
            "the web console is not built (npm run build): not served",
          );
        }
        return { staticTokens, jwt, consoleBuild };
      } catch (error) {
        await options.stopStorage();
        throw error;
      }
    })();
    const health = new HealthStatus(SERVICES.map((service) => service.typeName));
    const shutdown = new AbortController();
    const api = createApiHandler({
      logger,
      health,
      environments,
      branches,
      cluster: options.cluster,
      maxBatchSize: config.evaluation.maxBatchSize,
      limits: config.limits,
      metrics: config.metrics.enabled,
      staticTokens: started.staticTokens,
      jwt: started.jwt,
      authentication: config.authentication,
      build: {
        version: VERSION,
        ...readBuildStamp(),
        runtimeVersion: process.version,
        authenticationRequired: config.authentication.required,
        ui: { theme: config.ui.defaultTheme, topbarColor: config.ui.topbar.color },
        readOnly: Object.values(config.storage).every((storage) => storage.readOnly),
      },
      cors: config.cors,
      console: started.consoleBuild,
      session: {
        secure: config.authentication.session.secure,
        lifetimeMs: config.authentication.session.tokenLifetime,
      },
      maxRequestBytes: server.maxRequestBytes,
      shutdownSignal: shutdown.signal,
    });
    // A worker names itself on every answer, so that an operator (or a test) can tell which process served one.
    const worker = String(process.pid);
    const handler: typeof api =
      options.cluster === undefined
        ? api
        : (request, response) => {
            response.setHeader(WORKER_HEADER, worker);
            return api(request, response);
          };
    const listeners: Listener[] = [];
    try {
      await options.startStorage();
      const tls =
        server.protocol === "https" && server.certFile !== undefined && server.certKey !== undefined
          ? { cert: await readFile(server.certFile), key: await readFile(server.certKey) }
          : undefined;
      const limits: ConnectionLimits = {
        headerTimeoutMs: config.limits.headerTimeout,
        requestTimeoutMs: config.limits.requestTimeout,
        idleTimeoutMs: config.limits.idleTimeout,
        maxStreamsPerConnection: config.limits.maxStreamsPerConnection,
        maxHalfOpenStreams: config.limits.maxHalfOpenStreams,
        // One budget for both ports: a client's connections count together, whichever port they reach.
        connections: createConnectionBudget(config.limits.maxConnectionsPerClient, logger),
      };
      const httpPort = tls === undefined ? server.httpPort : server.httpsPort;
      listeners.push(await listenHttp({ host: server.host, port: httpPort, handler, logger, tls, limits }));
      const grpcLimits = {
        maxIdleMs: server.grpcConnMaxIdleTime,
        maxAgeMs: server.grpcConnMaxAge,
        maxAgeGraceMs: server.grpcConnMaxAgeGrace,
      };
      listeners.push(
        await listenGrpc({
          host: server.host,
          port: server.grpcPort,
          handler,
          logger,
          tls,
          limits,
          grpcLimits,
        }),
      );
    } catch (error) {
      await Promise.all(listeners.map((listener) => listener.close(0)));
      await options.stopStorage();
      throw error;
    }
    const [http, grpc] = listeners as [Listener, Listener];
    if (options.cluster === undefined) {
      logger.info(
        {
          version: VERSION,
          protocol: server.protocol,
          host: server.host,
          httpPort: http.port,
          grpcPort: grpc.port,
        },
        "pennant is serving",
      );
    }
    return new PennantServer(
      listeners,
      health,
      shutdown,
      logger,
      server.shutdownGracePeriod,
      options.stopStorage,
    );
  }

  /** The bound HTTP (or HTTPS) port. */
  get httpPort(): number {
    return (this.#listeners[0] as Listener).port;
  }

  /** The bound gRPC port. */
  get grpcPort(): number {
    return (this.#listeners[1] as Listener).port;
  }

  /**
   * Graceful shutdown: health turns NOT_SERVING, listeners stop accepting, in-flight requests may finish within
   * the grace period, streams are told to end, and whatever is left is then cut. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info({ graceMs: this.#graceMs }, "shutting down");
      this.#health.shutdown();
      const cutAfter = Math.max(0, this.#graceMs - SHUTDOWN_MARGIN_MS);
      const endStreams = setTimeout(() => this.#shutdown.abort(), cutAfter / 2);
      await Promise.all(this.#listeners.map((listener) => listener.close(cutAfter)));
      clearTimeout(endStreams);
      this.#shutdown.abort();
      await this.#stopStorage();
      this.#logger.info("stopped");
    })();
    return this.#stopping;
  }
}
