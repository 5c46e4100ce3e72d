import type * as http2 from "node:http2";
import * as net from "node:net";
import type { ListenOptions } from "./listen-options.js";

/** The HTTP/2 connection preface every prior-knowledge (h2c) client sends first. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** With `header_timeout` off, how long a new connection may still take to show which protocol it speaks. */
const SNIFF_TIMEOUT_MS = 10_000;

/**
 * A TCP server that reads each connection's first bytes: connections that open with the HTTP/2 preface go to
 * `h2`, the rest to `other`. Connections over the per-client budget are reset at once; connections that send too
 * little in time are closed.
 */
export function routeByPreface(
  h2: http2.Http2Server,
  other: (socket: net.Socket) => void,
  { limits, logger }: Pick<ListenOptions, "limits" | "logger">,
): net.Server {
  const timeoutMs = limits.headerTimeoutMs > 0 ? limits.headerTimeoutMs : SNIFF_TIMEOUT_MS;
  return net.createServer((socket) => {
    if (!limits.connections.admit(socket)) return;
    socket.on("error", (error) => logger.debug({ err: error }, "connection error"));
    sniff(socket, timeoutMs).then(
      (isH2) => (isH2 ? h2.emit("connection", socket) : other(socket)),
      () => socket.destroy(),
    );
  });
}

/** Reads just enough of a new connection to decide whether it speaks HTTP/2 with prior knowledge. */
function sniff(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error("connection sent too little to sniff")), timeoutMs);
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
