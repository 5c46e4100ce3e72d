import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { createApiHandler, SERVICES } from "../../src/api/create-api-handler.js";
import { HealthStatus } from "../../src/api/health-service.js";
import { loadConfig } from "../../src/config/load-config.js";
import { createEnvironments } from "../../src/server/create-environments.js";
import { readStaticTokens } from "../../src/server/read-static-tokens.js";
import { createGitRunner } from "../../src/storage/git/run-git.js";
import { closeServers } from "./close-servers.js";

/** One API handler served over HTTP/1.1 and over h2c (prior knowledge), each on its own port. */
export interface ServedHandler {
  /** Base URL of the HTTP/1.1 server. */
  readonly h1Url: string;
  /** Base URL of the h2c server. */
  readonly h2Url: string;
}

/**
 * Two API handlers over the same environments, built as the server builds its one: `direct` serves the evaluation
 * RPCs on the direct path, `connect` takes every call through Connect's handlers. What one answers, the other must.
 */
export interface HandlerPair {
  readonly direct: ServedHandler;
  readonly connect: ServedHandler;
  stop(): Promise<void>;
}

/** Starts a handler pair configured by FLIPT_* variables, as `startTestServer` configures a server. */
export async function startHandlerPair(env: Record<string, string>): Promise<HandlerPair> {
  const { config } = await loadConfig({ env: { FLIPT_SERVER_HOST: "127.0.0.1", ...env }, defaultPaths: [] });
  const logger = pino({ level: "silent" });
  const { environments, close } = await createEnvironments(config, createGitRunner({}), logger, {});
  const staticTokens = await readStaticTokens(config.authentication.methods.token);
  const make = (direct: boolean) =>
    createApiHandler({
      logger,
      health: new HealthStatus(SERVICES.map((service) => service.typeName)),
      environments,
      maxBatchSize: config.evaluation.maxBatchSize,
      limits: config.limits,
      metrics: config.metrics.enabled,
      staticTokens,
      authentication: config.authentication,
      build: {
        version: "test",
        commit: "",
        buildDate: "",
        runtimeVersion: process.version,
        authenticationRequired: config.authentication.required,
        readOnly: false,
      },
      cors: config.cors,
      session: { secure: false, lifetimeMs: 60_000 },
      maxRequestBytes: config.server.maxRequestBytes,
      direct,
    });
  const servers: Array<http.Server | http2.Http2Server> = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const serve = async (direct: boolean): Promise<ServedHandler> => {
    const handler = make(direct);
    const h1 = http.createServer(handler);
    const h2 = http2.createServer(handler as never);
    servers.push(h1, h2);
    h2.on("session", (session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
    const port = (server: http.Server | http2.Http2Server) =>
      new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
      );
    return { h1Url: `http://127.0.0.1:${await port(h1)}`, h2Url: `http://127.0.0.1:${await port(h2)}` };
  };
  await environments.start();
  const pair = { direct: await serve(true), connect: await serve(false) };
  return {
    ...pair,
    async stop() {
      await closeServers(servers, sessions);
      await close();
    },
  };
}
