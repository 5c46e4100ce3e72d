import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Logger } from "pino";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: never) => void;

/** A bound listener that can be shut down gracefully. */
export interface Listener {
  /** The bound port (useful when 0 was asked for). */
  readonly port: number;
  /**
   * Stops accepting connections, lets in-flight requests finish, and after `graceMs` cuts whatever is left.
   * Resolves when every connection is gone.
   */
  close(graceMs: number): Promise<void>;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly handler: Handler;
  readonly logger: Logger;
  /** PEM certificate and key: serve TLS, with HTTP/1.1 and HTTP/2 negotiated by ALPN. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

/** Connection lifetimes for the gRPC port, as Flipt's `server.grpc_conn_max_*` keys set them (milliseconds). */
export interface GrpcConnectionLimits {
  /** Close a connection that has had no stream for this long. */
  readonly maxIdleMs?: number | undefined;
  /** Ask a connection to go away (GOAWAY) once it is this old. */
  readonly maxAgeMs?: number | undefined;
  /** After max age, how long its streams may still run before the connection is cut. */
  readonly maxAgeGraceMs?: number | undefined;
}

/** The HTTP/2 connection preface every prior-knowledge (h2c) client sends first. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** How long a new connection may take to send enough bytes to tell HTTP/1.1 from HTTP/2. */
const SNIFF_TIMEOUT_MS = 10_000;
/** While shutting down, how often HTTP/1.1 connections that went idle are closed. */
const IDLE_SWEEP_MS = 50;

/**
 * Listens for HTTP/1.1 and HTTP/2 on one port. In cleartext, each connection is routed by its first bytes:
 * the HTTP/2 preface goes to the HTTP/2 server (gRPC over h2c, Connect, gRPC-Web), anything else to HTTP/1.1
 * (REST, Connect, gRPC-Web). With TLS, ALPN decides.
 */
export async function listenHttp(options: ListenOptions): Promise<Listener> {
  if (options.tls !== undefined) {
    const server = http2.createSecureServer({ ...options.tls, allowHTTP1: true }, options.handler as never);
    return bind(server, options, trackSessions(server, options.logger), trackSockets(server));
  }
  let closing = false;
  const h1 = http.createServer((req, res) => {
    // Once shutdown starts, finish each request and then close its connection instead of keeping it alive.
    if (closing) res.shouldKeepAlive = false;
    options.handler(req, res as never);
  });
  const h2 = http2.createServer(options.handler as never);
  h1.on("clientError", (error, socket) => rejectMalformed(error, socket, options.logger));
  const sessions = trackSessions(h2, options.logger);
  const sniffer = routeByPreface(
    h2,
    (socket) => {
      h1.emit("connection", socket);
      // The HTTP/1.1 parser reads with a 'data' listener, which does not restart a paused socket.
      socket.resume();
    },
    options.logger,
  );
  const sockets = trackSockets(sniffer);
  return bind(sniffer, options, sessions, sockets, () => {
    closing = true;
    h1.closeIdleConnections();
    const timer = setInterval(() => h1.closeIdleConnections(), IDLE_SWEEP_MS);
    return () => clearInterval(timer);
  });
}

/**
 * Listens for gRPC: HTTP/2 only, in cleartext (h2c) or TLS. A cleartext connection that does not open with the
 * HTTP/2 preface (HTTP/1.1, or noise) gets a 400 saying so, and is closed.
 */
export async function listenGrpc(
  options: ListenOptions & { limits?: GrpcConnectionLimits },
): Promise<Listener> {
  const server =
    options.tls === undefined
      ? http2.createServer(options.handler as never)
      : http2.createSecureServer(options.tls, options.handler as never);
  const listener =
    options.tls === undefined
      ? routeByPreface(server, (socket) => socket.end(NOT_HTTP2_RESPONSE).destroySoon(), options.logger)
      : server;
  const { maxIdleMs, maxAgeMs, maxAgeGraceMs } = options.limits ?? {};
  server.on("session", (session) => {
    if (maxIdleMs !== undefined && maxIdleMs > 0) {
      session.setTimeout(maxIdleMs, () => session.close());
    }
    if (maxAgeMs !== undefined && maxAgeMs > 0) {
      const age = setTimeout(() => {
        session.close();
        setTimeout(() => session.destroy(), maxAgeGraceMs ?? 0).unref();
      }, maxAgeMs);
      age.unref();
      session.once("close", () => clearTimeout(age));
    }
  });
  return bind(listener, options, trackSessions(server, options.logger), trackSockets(listener));
}

/** The answer to a connection on the gRPC port that does not speak HTTP/2. */
const NOT_HTTP2_RESPONSE = (() => {
  const body = "this port serves gRPC over HTTP/2 only; REST, Connect and gRPC-Web are on the HTTP port\n";
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
})();

/**
 * A TCP server that reads each connection's first bytes: connections that open with the HTTP/2 preface go to
 * `h2`, the rest to `other`. Connections that send too little in time are closed.
 */
function routeByPreface(
  h2: http2.Http2Server,
  other: (socket: net.Socket) => void,
  logger: Logger,
): net.Server {
  return net.createServer((socket) => {
    socket.on("error", (error) => logger.debug({ err: error }, "connection error"));
    sniff(socket).then(
      (isH2) => (isH2 ? h2.emit("connection", socket) : other(socket)),
      () => socket.destroy(),
    );
  });
}

/** Reads just enough of a new connection to decide whether it speaks HTTP/2 with prior knowledge. */
function sniff(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error("connection sent too little to sniff")),
      SNIFF_TIMEOUT_MS,
    );
    const finish = (result: boolean | Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.pause();
      if (seen.byteLength > 0) socket.unshift(seen);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const compared = Math.min(seen.byteLength, H2_PREFACE.byteLength);
      if (!seen.subarray(0, compared).equals(H2_PREFACE.subarray(0, compared))) finish(false);
      else if (compared === H2_PREFACE.byteLength) finish(true);
    };
    const onEnd = () => finish(new Error("connection closed before a request"));
    socket.on("data", onData);
    socket.on("end", onEnd);
  });
}

function rejectMalformed(
  error: Error,
  socket: net.Socket | import("node:stream").Duplex,
  logger: Logger,
): void {
  logger.debug({ err: error }, "malformed HTTP/1.1 request");
  if ((socket as net.Socket).writable && !(error as { code?: string }).code?.startsWith("ECONNRESET")) {
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  }
  socket.destroy();
}

function trackSessions(
  server: http2.Http2Server | http2.Http2SecureServer,
  logger: Logger,
): Set<http2.Http2Session> {
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", (error) => logger.debug({ err: error }, "HTTP/2 session error"));

    session.once("close", () => sessions.delete(session));
  });
  server.on("sessionError", (error) => logger.debug({ err: error }, "HTTP/2 session error"));
  return sessions;
}

function trackSockets(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return sockets;
}

async function bind(
  server: net.Server,
  options: ListenOptions,
  sessions: Set<http2.Http2Session>,
  sockets: Set<net.Socket>,
  beginClose?: () => () => void,
): Promise<Listener> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => options.logger.error({ err: error }, "listener error"));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      const endClose = beginClose?.();
      if (server instanceof http.Server) server.closeIdleConnections();
      const deadline = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      deadline.unref();
      return closed.finally(() => {
        clearTimeout(deadline);
        endClose?.();
      });
    },
  };
}
