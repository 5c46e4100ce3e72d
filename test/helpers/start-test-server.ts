import { type Logger, pino } from "pino";
import { loadConfig } from "../../src/config/load-config.js";
import { PennantServer } from "../../src/server/pennant-server.js";

export interface TestServer {
  readonly server: PennantServer;
  /** Base URL of the HTTP port, e.g. http://127.0.0.1:40123 */
  readonly httpUrl: string;
  /** Base URL of the gRPC port. */
  readonly grpcUrl: string;
  /** host:port of the gRPC port, for grpc-js. */
  readonly grpcAddress: string;
  stop(): Promise<void>;
}

/**
 * Starts a real server on 127.0.0.1 with both ports on 0, configured the way a user would: through FLIPT_*
 * variables over the built-in defaults, never from files on this machine.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  logger: Logger = pino({ level: "silent" }),
  options: { readonly consoleDirectory?: string } = {},
): Promise<TestServer> {
  const { config } = await loadConfig({
    env: {
      FLIPT_SERVER_HOST: "127.0.0.1",
      FLIPT_SERVER_HTTP_PORT: "0",
      FLIPT_SERVER_GRPC_PORT: "0",
      FLIPT_SERVER_SHUTDOWN_GRACE_PERIOD: "2s",
      ...env,
    },
    defaultPaths: [],
  });
  const server = await PennantServer.start({ config, logger, env: process.env, ...options });
  return {
    server,
    httpUrl: `http://127.0.0.1:${server.httpPort}`,
    grpcUrl: `http://127.0.0.1:${server.grpcPort}`,
    grpcAddress: `127.0.0.1:${server.grpcPort}`,
    stop: () => server.stop(),
  };
}
