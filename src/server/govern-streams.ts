import * as http2 from "node:http2";
import type { Logger } from "pino";
import type { ConnectionLimits, Handler } from "./listen-options.js";

/**
 * How long an HTTP/2 stream may take to finish sending its request before it counts against
 * `max_half_open_streams`. Clients send the HEADERS of a burst of calls before their DATA, so a stream that has just
 * opened says nothing yet; one still unfinished a second later is holding its slot.
 */
const HALF_OPEN_GRACE_MS = 1000;
/** gRPC reflection is a bidirectional stream: its request side stays open while a tool asks its questions. */
const OPEN_REQUEST_PATH = /^\/grpc\.reflection\.v1(?:alpha)?\.ServerReflection\//;

/** The HTTP/2 side of `ConnectionLimits` for one listener; see `governStreams`. */
export interface StreamGovernor {
  /** The HTTP/2 settings that carry the limits. */
  readonly settings: http2.Settings;
  /** Wraps a handler so that HTTP/2 streams over the half-open limit are refused before it sees them. */
  admitting(handler: Handler): Handler;
  /** Watches a new HTTP/2 session: closes it once it has had no open stream for the idle timeout. */
  govern(session: http2.ServerHttp2Session): void;
  /** Stops sweeping half-open streams (at shutdown). */
  stop(): void;
}

interface HalfOpenStream {
  readonly stream: http2.ServerHttp2Stream;
  readonly session: http2.Http2Session;
  readonly since: number;
  /** Whether `request_timeout` applies (everything but reflection). */
  readonly timed: boolean;
}

/**
 * The HTTP/2 side of `ConnectionLimits` for one listener: the concurrent stream limit (a SETTINGS value clients
 * obey), idle sessions, and streams whose request the client has not finished sending.
 *
 * A half-open stream counts once it has been half-open for `HALF_OPEN_GRACE_MS`. A new stream that arrives half-open
 * on a connection that already holds `maxHalfOpenStreams` such streams is refused (REFUSED_STREAM: the client may
 * retry it); and if a burst leaves more than that many once their grace is over, the newest are reset the same way,
 * so a connection never holds more than the limit for long. Each half-open stream is reset (CANCEL) once it has been
 * half-open for `requestTimeoutMs`, gRPC reflection excepted.
 */
export function governStreams(limits: ConnectionLimits, idleMs: number, logger: Logger): StreamGovernor {
  const halfOpen = new Map<http2.ServerHttp2Stream, HalfOpenStream>();
  const bySession = new WeakMap<http2.Http2Session, Set<HalfOpenStream>>();
  const cap = limits.maxHalfOpenStreams;
  const timeoutMs = limits.requestTimeoutMs;
  const sweepMs = Math.max(50, Math.min(HALF_OPEN_GRACE_MS, timeoutMs > 0 ? timeoutMs : Infinity) / 4);
  let sweeper: NodeJS.Timeout | undefined;

  const forget = (entry: HalfOpenStream) => {
    halfOpen.delete(entry.stream);
    bySession.get(entry.session)?.delete(entry);
    if (halfOpen.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const cut = (entry: HalfOpenStream, code: number, why: string) => {
    forget(entry);
    logger.debug({ stream: entry.stream.id }, why);
    // REFUSED_STREAM promises the request was not processed: say CANCEL once a response has started.
    entry.stream.close(entry.stream.headersSent ? http2.constants.NGHTTP2_CANCEL : code);
  };
  const sweep = () => {
    const now = Date.now();
    const stale = new Map<http2.Http2Session, HalfOpenStream[]>();
    for (const entry of halfOpen.values()) {
      const age = now - entry.since;
      if (entry.timed && timeoutMs > 0 && age >= timeoutMs) {
        cut(
          entry,
          http2.constants.NGHTTP2_CANCEL,
          "HTTP/2 request not received in time (limits.request_timeout)",
        );
      } else if (age >= HALF_OPEN_GRACE_MS) {
        const list = stale.get(entry.session);
        if (list === undefined) stale.set(entry.session, [entry]);
        else list.push(entry);
      }
    }
    for (const list of stale.values()) {
      // Oldest first (the map keeps arrival order): the newest beyond the limit go.
      for (const entry of list.slice(cap)) {
        cut(
          entry,
          http2.constants.NGHTTP2_REFUSED_STREAM,
          "HTTP/2 stream reset: too many half-open streams (limits.max_half_open_streams)",
        );
      }
    }
  };
  /** Whether the session already holds as many half-open streams past their grace as allowed. */
  const full = (entries: Set<HalfOpenStream>, now: number) => {
    if (entries.size < cap) return false;
    let stale = 0;
    for (const entry of entries) if (now - entry.since >= HALF_OPEN_GRACE_MS && ++stale >= cap) return true;
    return false;
  };

  const admit = (stream: http2.ServerHttp2Stream, path: string | undefined): boolean => {
    if (stream.endAfterHeaders || stream.readableEnded || stream.destroyed) return true;
    const session = stream.session;
    if (session === undefined) return true;
    let entries = bySession.get(session);
    if (entries === undefined) {
      entries = new Set();
      bySession.set(session, entries);
    }
    const now = Date.now();
    if (full(entries, now)) {
      logger.debug(
        { stream: stream.id, halfOpen: entries.size },
        "HTTP/2 stream refused: too many half-open streams (limits.max_half_open_streams)",
      );
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return false;
    }
    const entry: HalfOpenStream = {
      stream,
      session,
      since: now,
      timed: path === undefined || !OPEN_REQUEST_PATH.test(path),
    };
    halfOpen.set(stream, entry);
    entries.add(entry);
    const done = () => forget(entry);
    stream.once("end", done);
    stream.once("close", done);
    sweeper ??= setInterval(sweep, sweepMs).unref();
    return true;
  };

  return {
    settings: { maxConcurrentStreams: limits.maxStreamsPerConnection },
    admitting(handler) {
      return (req, res) => {
        if (req.httpVersionMajor === 2 && !admit((req as http2.Http2ServerRequest).stream, req.url)) return;
        handler(req, res);
      };
    },
    govern(session) {
      if (idleMs <= 0) return;
      let open = 0;
      let idleSince = Date.now();
      let timer: NodeJS.Timeout | undefined;
      // One timer per session, re-armed only when it fires: a busy connection costs no timer per stream.
      const arm = (ms: number) => {
        timer = setTimeout(check, ms);
        timer.unref();
      };
      const check = () => {
        timer = undefined;
        if (open > 0 || session.closed || session.destroyed) return;
        const left = idleSince + idleMs - Date.now();
        if (left > 0) {
          arm(left);
          return;
        }
        logger.debug("closing an idle HTTP/2 connection (limits.idle_timeout)");
        session.close();
      };
      arm(idleMs);
      session.on("stream", (stream: http2.ServerHttp2Stream) => {
        open++;
        stream.once("close", () => {
          if (--open > 0) return;
          idleSince = Date.now();
          if (timer === undefined) arm(idleMs);
        });
      });
      session.once("close", () => clearTimeout(timer));
    },
    stop() {
      if (sweeper !== undefined) clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}
