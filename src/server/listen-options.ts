import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Logger } from "pino";
import type { ConnectionBudget } from "./connection-budget.js";

/** The API's request handler, for HTTP/1.1 and HTTP/2 requests alike. */
export type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: never) => void;

/**
 * What one connection may hold and for how long (`limits.*`), on both ports. Durations are milliseconds; 0 turns a
 * timeout off.
 */
export interface ConnectionLimits {
  /** `limits.header_timeout`: HTTP/1.1 request headers, and the first bytes of a connection, must arrive within it. */
  readonly headerTimeoutMs: number;
  /**
   * `limits.request_timeout`: a whole request must arrive within it: an HTTP/1.1 request (answered 408), or the
   * request side of an HTTP/2 stream (reset with CANCEL), except gRPC reflection, whose request stays open by design.
   */
  readonly requestTimeoutMs: number;
  /** `limits.idle_timeout`: an HTTP/1.1 connection between requests, or an HTTP/2 one with no open stream. */
  readonly idleTimeoutMs: number;
  /** `limits.max_streams_per_connection`: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. */
  readonly maxStreamsPerConnection: number;
  /** `limits.max_half_open_streams`: HTTP/2 streams per connection whose request is still being sent. */
  readonly maxHalfOpenStreams: number;
  /** `limits.max_connections_per_client`, shared by the listeners given the same budget. */
  readonly connections: ConnectionBudget;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly handler: Handler;
  readonly logger: Logger;
  readonly limits: ConnectionLimits;
  /** PEM certificate and key: serve TLS, with HTTP/1.1 and HTTP/2 negotiated by ALPN. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

/** Connection lifetimes for the gRPC port, as Flipt's `server.grpc_conn_max_*` keys set them (milliseconds). */
export interface GrpcConnectionLimits {
  /** Close a connection that has had no open stream for this long (0: never); overrides `idleTimeoutMs`. */
  readonly maxIdleMs?: number | undefined;
  /** Ask a connection to go away (GOAWAY) once it is this old. */
  readonly maxAgeMs?: number | undefined;
  /** After max age, how long its streams may still run before the connection is cut. */
  readonly maxAgeGraceMs?: number | undefined;
}
