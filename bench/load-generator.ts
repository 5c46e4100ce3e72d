/**
 * A bounded HTTP load generator, run in its own process so its CPU stays out of the server's:
 *
 *     node --import tsx bench/load-generator.ts
 *
 * It reads one job per line of JSON on stdin and answers each with one line of JSON on stdout (a `LoadResult`), in
 * order, and exits when stdin ends. A job names a target (origin, HTTP/2 with prior knowledge or HTTP/1.1
 * keep-alive, a list of requests to cycle through, and how to tell success) and a mode:
 *
 * - `closed`: `concurrency` requests always in flight (each worker sends its next request when the previous one
 *   completes): the throughput at saturation.
 * - `open`: requests sent at a fixed `rate` on a schedule that does not wait for answers (a stalled server cannot
 *   hold the sending back, so the requests that queue behind a stall are all charged for it), each latency measured
 *   from the moment the request left.
 *
 * Only requests scheduled after `warmupMs` and completed before the end of `durationMs` are counted.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** One request, cycled through in order. */
export interface LoadRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body, base64-encoded (bytes: gRPC frames are binary). Empty for none. */
  readonly body: string;
}

export interface LoadTarget {
  /** `http://host:port`. */
  readonly origin: string;
  /** `h2`: HTTP/2 with prior knowledge (h2c), many streams per session. `h1`: HTTP/1.1 keep-alive. */
  readonly transport: "h2" | "h1";
  /** HTTP/2 sessions, or at most this many HTTP/1.1 sockets (one request in flight on each). */
  readonly connections: number;
  /** `grpc`: HTTP 200 and `grpc-status: 0` (trailers, or headers of a trailers-only answer). `http`: HTTP 200. */
  readonly check: "grpc" | "http";
  readonly requests: readonly LoadRequest[];
}

export type LoadMode =
  | { readonly kind: "closed"; readonly concurrency: number }
  | { readonly kind: "open"; readonly rate: number };

export interface LoadJob {
  readonly target: LoadTarget;
  readonly mode: LoadMode;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface LoadResult {
  /** Requests completed successfully inside the measured window. */
  readonly completed: number;
  /** Failed requests inside the measured window, and the first failure's description. */
  readonly errors: number;
  readonly firstError?: string;
  /** Successful completions per second over the measured window. */
  readonly rate: number;
  /** Latency percentiles in ms, from the moment each request was sent. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** Open mode: how late requests left the generator, p99 in ms (part of the latencies above). */
  readonly sendLagP99: number;
  /** Open mode: requests still unanswered when the window closed. */
  readonly unfinished: number;
  /** CPU time this generator used during the measured window, as a percentage of one core. */
  readonly cpuPercent: number;
}

/** Open mode never has more than this many requests in flight; beyond it the rest count as errors. */
const MAX_IN_FLIGHT = 20_000;
/** How long after the window the generator waits for answers still in flight before giving up. */
const DRAIN_MS = 2_000;

type Done = (error?: string) => void;
type Send = (request: PreparedRequest, done: Done) => void;

interface PreparedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

interface Client {
  readonly send: Send;
  close(): void;
}

function prepare(request: LoadRequest): PreparedRequest {
  const body = Buffer.from(request.body, "base64");
  return { method: request.method, path: request.path, headers: { ...request.headers }, body };
}

async function connectH2(target: LoadTarget): Promise<Client> {
  const sessions = await Promise.all(
    Array.from(
      { length: target.connections },
      () =>
        new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const session = http2.connect(target.origin);
          session.once("connect", () => resolve(session));
          session.once("error", reject);
        }),
    ),
  );
  for (const session of sessions) session.on("error", () => {});
  let next = 0;
  const grpc = target.check === "grpc";
  return {
    send(request, done) {
      const session = sessions[next++ % sessions.length] as http2.ClientHttp2Session;
      let failure: string | undefined;
      let finished = false;
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        done(error);
      };
      const stream = session.request(
        { ":method": request.method, ":path": request.path, ...request.headers },
        { endStream: request.body.byteLength === 0 },
      );
      stream.on("response", (headers) => {
        const status = headers[":status"];
        if (status !== 200) failure = `HTTP ${status}`;
        else if (grpc && headers["grpc-status"] !== undefined && headers["grpc-status"] !== "0") {
          failure = `grpc-status ${headers["grpc-status"]}: ${headers["grpc-message"]}`;
        } else if (grpc && headers["grpc-status"] === undefined) {
          failure = "no grpc-status trailer"; // cleared when the trailers arrive
        }
      });
      if (grpc) {
        stream.on("trailers", (trailers) => {
          const code = trailers["grpc-status"];
          failure = code === "0" ? undefined : `grpc-status ${code}: ${trailers["grpc-message"]}`;
        });
      }
      stream.on("data", noop);
      stream.on("error", (error: Error) => finish(error.message));
      stream.on("close", () => finish(stream.rstCode ? `stream reset ${stream.rstCode}` : failure));
      if (request.body.byteLength > 0) stream.end(request.body);
    },
    close() {
      for (const session of sessions) session.close();
    },
  };
}

function connectH1(target: LoadTarget): Client {
  const url = new URL(target.origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: target.connections });
  return {
    send(request, done) {
      const headers = { ...request.headers, "content-length": String(request.body.byteLength) };
      const outgoing = http.request(
        { agent, host: url.hostname, port: url.port, method: request.method, path: request.path, headers },
        (response) => {
          response.on("data", noop);
          response.on("end", () =>
            done(response.statusCode === 200 ? undefined : `HTTP ${response.statusCode}`),
          );
          response.on("error", (error) => done(error.message));
        },
      );
      outgoing.on("error", (error) => done(error.message));
      outgoing.end(request.body);
    },
    close() {
      agent.destroy();
    },
  };
}

function noop(): void {}

async function run(job: LoadJob): Promise<LoadResult> {
  const requests = job.target.requests.map(prepare);
  if (requests.length === 0) throw new Error("a load job needs at least one request");
  const client = job.target.transport === "h2" ? await connectH2(job.target) : connectH1(job.target);
  try {
    return job.mode.kind === "closed"
      ? await runClosed(client, requests, job, job.mode.concurrency)
      : await runOpen(client, requests, job, job.mode.rate);
  } finally {
    client.close();
  }
}

/** Window bookkeeping shared by both modes. */
class Tally {
  readonly latencies: number[] = [];
  errors = 0;
  firstError: string | undefined;
  #cpuAtStart: NodeJS.CpuUsage | undefined;
  #cpu: NodeJS.CpuUsage | undefined;

  constructor(
    readonly windowStart: number,
    readonly windowEnd: number,
  ) {
    setTimeout(() => {
      this.#cpuAtStart = process.cpuUsage();
    }, windowStart - performance.now()).unref();
    setTimeout(() => {
      this.#cpu = process.cpuUsage(this.#cpuAtStart);
    }, windowEnd - performance.now()).unref();
  }

  /**
   * Records a request that was due (or sent) at `start` and finished now. Closed mode counts what finished inside
   * the window; open mode counts every request scheduled inside it, however late its answer.
   */
  record(start: number, error: string | undefined, by: "finish" | "schedule", scheduled = start): void {
    const now = performance.now();
    const at = by === "finish" ? now : scheduled;
    if (at < this.windowStart || at > this.windowEnd) return;
    if (error === undefined) this.latencies.push(now - start);
    else {
      this.errors++;
      this.firstError ??= error;
    }
  }

  result(extra: { sendLagP99: number; unfinished: number }): LoadResult {
    const sorted = Float64Array.from(this.latencies).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    const seconds = Math.max((this.windowEnd - this.windowStart) / 1000, 1e-9);
    const cpu = this.#cpu ?? process.cpuUsage(this.#cpuAtStart);
    return {
      completed: sorted.length,
      errors: this.errors,
      ...(this.firstError === undefined ? {} : { firstError: this.firstError }),
      rate: sorted.length / seconds,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: sorted[sorted.length - 1] ?? 0,
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      ...extra,
    };
  }
}

async function runClosed(
  client: Client,
  requests: readonly PreparedRequest[],
  job: LoadJob,
  concurrency: number,
): Promise<LoadResult> {
  const started = performance.now();
  const tally = new Tally(started + job.warmupMs, started + job.warmupMs + job.durationMs);
  let index = 0;
  const worker = async () => {
    while (performance.now() < tally.windowEnd) {
      const request = requests[index++ % requests.length] as PreparedRequest;
      const sent = performance.now();
      const error = await new Promise<string | undefined>((resolve) => client.send(request, resolve));
      tally.record(sent, error, "finish");
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tally.result({ sendLagP99: 0, unfinished: 0 });
}

/**
 * Sends request i at `started + i / rate`, whether or not earlier ones were answered (so a slow server cannot slow
 * the sending down). Between sends the loop sleeps on a timer (1 ms at the finest: spinning on `setImmediate`
 * would take a core from the server on a small machine); requests that fell due meanwhile go out in one burst.
 * Latency is measured from the moment a request is sent; how late it left (the timer's lateness, which is the
 * generator's, not the server's) is reported apart as the send lag.
 */
async function runOpen(
  client: Client,
  requests: readonly PreparedRequest[],
  job: LoadJob,
  rate: number,
): Promise<LoadResult> {
  const interval = 1000 / rate;
  const started = performance.now();
  const tally = new Tally(started + job.warmupMs, started + job.warmupMs + job.durationMs);
  const lags: number[] = [];
  let inFlight = 0;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (let due = started + sent * interval; due <= now && due < tally.windowEnd; ) {
        const request = requests[sent % requests.length] as PreparedRequest;
        sent++;
        if (due >= tally.windowStart) lags.push(now - due);
        if (inFlight >= MAX_IN_FLIGHT) tally.record(due, "too many requests in flight", "schedule");
        else {
          inFlight++;
          const scheduled = due;
          client.send(request, (error) => {
            inFlight--;
            tally.record(now, error, "schedule", scheduled);
          });
        }
        due = started + sent * interval;
      }
      const next = started + sent * interval;
      if (next >= tally.windowEnd) resolve();
      else setTimeout(tick, Math.max(1, Math.floor(next - now)));
    };
    tick();
  });
  const drainUntil = performance.now() + DRAIN_MS;
  while (inFlight > 0 && performance.now() < drainUntil)
    await new Promise((resolve) => setTimeout(resolve, 5));
  const sortedLags = Float64Array.from(lags).sort();
  return tally.result({
    sendLagP99: sortedLags[Math.floor(0.99 * (sortedLags.length - 1))] ?? 0,
    unfinished: inFlight,
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    try {
      const result = await run(JSON.parse(line) as LoadJob);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
    }
  }
}
