import * as http from "node:http";
import * as http2 from "node:http2";
import type * as net from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { bindListener, type Listener } from "./bind-listener.js";
import { refuseOverBudget } from "./connection-budget.js";
import { governStreams, type StreamGovernor } from "./govern-streams.js";
import type { ConnectionLimits, GrpcConnectionLimits, ListenOptions } from "./listen-options.js";
import { routeByPreface } from "./route-by-preface.js";

/** While shutting down, how often HTTP/1.1 connections that went idle are closed. */
const IDLE_SWEEP_MS = 50;

/**
 * Listens for HTTP/1.1 and HTTP/2 on one port. In cleartext, each connection is routed by its first bytes:
 * the HTTP/2 preface goes to the HTTP/2 server (gRPC over h2c, Connect, gRPC-Web), anything else to HTTP/1.1
 * (REST, Connect, gRPC-Web). With TLS, ALPN decides.
 */
export async function listenHttp(options: ListenOptions): Promise<Listener> {
  const { limits, logger } = options;
  const streams = governStreams(limits, limits.idleTimeoutMs, logger);
  if (options.tls !== undefined) {
    const server = http2.createSecureServer(
      { ...secureOptions(options.tls, limits, streams), allowHTTP1: true },
      streams.admitting(options.handler) as never,
    );
    // With allowHTTP1, Node runs its HTTP/1.1 request checks on this server: give them our timeouts.
    Object.assign(server, http1Timeouts(limits));
    refuseOverBudget(server, limits.connections);
    server.on("session", streams.govern);
    return bindListener(server, server, options, () => streams.stop);
  }
  let closing = false;
  const h1 = http.createServer(http1Timeouts(limits), (req, res) => {
    // Once shutdown starts, finish each request and then close its connection instead of keeping it alive.
    if (closing) res.shouldKeepAlive = false;
    options.handler(req, res as never);
  });
  // Node checks headers and request timeouts (and finds idle connections to close) only on connections it tracks,
  // and it starts tracking when the server starts listening. This server never listens: the sniffer hands it its
  // connections. Announcing it as listening starts the tracking, so those checks apply to them too.
  h1.emit("listening");
  const h2 = http2.createServer({ settings: streams.settings }, streams.admitting(options.handler) as never);
  h2.on("session", streams.govern);
  h1.on("clientError", (error, socket) => rejectMalformed(error, socket, logger));
  const sniffer = routeByPreface(
    h2,
    (socket) => {
      h1.emit("connection", socket);
      // The HTTP/1.1 parser reads with a 'data' listener, which does not restart a paused socket.
      socket.resume();
    },
    options,
  );
  return bindListener(sniffer, h2, options, () => {
    closing = true;
    h1.closeIdleConnections();
    const timer = setInterval(() => h1.closeIdleConnections(), IDLE_SWEEP_MS);
    return () => {
      clearInterval(timer);
      streams.stop();
      // Stops Node's request checks on h1 (it was never listening, so there is nothing else to close).
      h1.close();
    };
  });
}

/**
 * Listens for gRPC: HTTP/2 only, in cleartext (h2c) or TLS. A cleartext connection that does not open with the
 * HTTP/2 preface (HTTP/1.1, or noise) gets a 400 saying so, and is closed.
 */
export async function listenGrpc(
  options: ListenOptions & { grpcLimits?: GrpcConnectionLimits },
): Promise<Listener> {
  const { limits, logger } = options;
  const { maxIdleMs, maxAgeMs, maxAgeGraceMs } = options.grpcLimits ?? {};
  // Flipt's `server.grpc_conn_max_idle_time` (gRPC's MaxConnectionIdle) wins over `limits.idle_timeout` when set.
  const streams = governStreams(limits, maxIdleMs ?? limits.idleTimeoutMs, logger);
  const handler = streams.admitting(options.handler) as never;
  const server =
    options.tls === undefined
      ? http2.createServer({ settings: streams.settings }, handler)
      : http2.createSecureServer(secureOptions(options.tls, limits, streams), handler);
  const listener =
    options.tls === undefined
      ? routeByPreface(server, (socket) => socket.end(NOT_HTTP2_RESPONSE).destroySoon(), options)
      : server;
  if (options.tls !== undefined) refuseOverBudget(server, limits.connections);
  server.on("session", streams.govern);
  server.on("session", (session) => {
    if (maxAgeMs !== undefined && maxAgeMs > 0) {
      const age = setTimeout(() => {
        session.close();
        setTimeout(() => session.destroy(), maxAgeGraceMs ?? 0).unref();
      }, maxAgeMs);
      age.unref();
      session.once("close", () => clearTimeout(age));
    }
  });
  return bindListener(listener, server, options, () => streams.stop);
}

/** The answer to a connection on the gRPC port that does not speak HTTP/2. */
const NOT_HTTP2_RESPONSE = (() => {
  const body = "this port serves gRPC over HTTP/2 only; REST, Connect and gRPC-Web are on the HTTP port\n";
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
})();

/** The TLS server options both listeners share: certificate and key, HTTP/2 settings, and the handshake's timeout. */
function secureOptions(
  tls: NonNullable<ListenOptions["tls"]>,
  limits: ConnectionLimits,
  streams: StreamGovernor,
): http2.SecureServerOptions {
  return {
    ...tls,
    settings: streams.settings,
    ...(limits.headerTimeoutMs > 0 ? { handshakeTimeout: limits.headerTimeoutMs } : {}),
  };
}

/** Node's HTTP/1.1 server options (and, with TLS, properties) that carry our timeouts. */
function http1Timeouts(limits: ConnectionLimits) {
  const enforced = [limits.headerTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0);
  return {
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node looks for late requests every so often (30 s by default): often enough that a timeout is kept to within a
    // quarter of itself, never more often than every 50 ms.
    connectionsCheckingInterval:
      enforced.length === 0 ? 30_000 : Math.min(1000, Math.max(50, Math.min(...enforced) / 4)),
  };
}

/** Answers an HTTP/1.1 request the server cannot take (malformed, or too slow to arrive) and closes its connection. */
function rejectMalformed(error: Error, socket: Duplex, logger: Logger): void {
  const code = (error as { code?: string }).code;
  logger.debug({ err: error }, "malformed or late HTTP/1.1 request");
  // Only when no response has started on this connection: otherwise there is nothing well-formed left to say.
  const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if ((socket as net.Socket).writable && !started && !code?.startsWith("ECONNRESET")) {
    socket.end(
      code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
  }
  socket.destroy();
}
