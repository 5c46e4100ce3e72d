import type * as http2 from "node:http2";
import type * as net from "node:net";
import type { ListenOptions } from "./listen-options.js";

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

/**
 * Starts `server` listening on the options' host and port, keeping track of its connections and of the HTTP/2
 * sessions of `h2` (the server itself, or the one it hands HTTP/2 connections to) so that `close` can drain them:
 * sessions are asked to go away at once, and whatever is left at the grace period's end is cut. `beginClose` is
 * called when closing starts (to close HTTP/1.1 connections as they fall idle, say) and returns what to call once
 * every connection is gone.
 */
export async function bindListener(
  server: net.Server,
  h2: http2.Http2Server | http2.Http2SecureServer,
  options: Pick<ListenOptions, "host" | "port" | "logger">,
  beginClose: () => () => void,
): Promise<Listener> {
  const sessions = trackSessions(h2, options);
  const sockets = trackSockets(server);
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
      const endClose = beginClose();
      const deadline = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      deadline.unref();
      return closed.finally(() => {
        clearTimeout(deadline);
        endClose();
      });
    },
  };
}

function trackSessions(
  server: http2.Http2Server | http2.Http2SecureServer,
  { logger }: Pick<ListenOptions, "logger">,
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
