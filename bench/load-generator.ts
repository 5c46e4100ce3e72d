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
 *
 * At the window's two edges the generator also reads the CPU time it has used itself (`process.cpuUsage`, in µs),
 * that of the processes the job names (`cpuPids`: the server under load, from `/proc/<pid>/stat`, in clock ticks)
 * and the whole machine's busy time, and it counts the answers that arrived between the two readings: the CPU
 * figures and the request count cover exactly the same moments, whenever the timers fire.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { machineBusyTicks, processCpuTicks } from "./proc-cpu.js";

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
  /**
   * `grpc`: HTTP 200 and `grpc-status: 0` (trailers, or headers of a trailers-only answer). `grpc-web` (HTTP/1.1):
   * HTTP 200, no `grpc-status` header other than 0, and a body that ends in a trailer frame with `grpc-status: 0`.
   * `http`: HTTP 200.
   */
  readonly check: "grpc" | "grpc-web" | "http";
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
  /** Processes whose CPU time is read at the window's edges (`LoadResult.cpu.processTicks`, in this order). */
  readonly cpuPids?: readonly number[];
}

/** CPU time over the measured window, read at its two edges by the generator itself. */
export interface WindowCpu {
  /** Time between the two readings, in ms (the window, give or take a late timer). */
  readonly windowMs: number;
  /** Successful answers that arrived between the two readings. */
  readonly answered: number;
  /** Response body bytes of those answers, on average. */
  readonly bodyBytes: number;
  /** The generator's own user plus system CPU time between the readings, in µs (`process.cpuUsage`). */
  readonly generatorMicros: number;
  /** Per process of `LoadJob.cpuPids`: user plus system CPU time between the readings, in clock ticks. */
  readonly processTicks: readonly number[];
  /** The whole machine's busy time between the readings, in clock ticks (every core). */
  readonly machineTicks: number;
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
  /** CPU time over the window, and the answers it bought; absent when the window is empty (`durationMs` 0). */
  readonly cpu?: WindowCpu;
}

/** Open mode never has more than this many requests in flight; beyond it the rest count as errors. */
const MAX_IN_FLIGHT = 20_000;
/** How long after the window the generator waits for answers still in flight before giving up. */
const DRAIN_MS = 2_000;

/** A request's end: its failure, if any, and the response body's size in bytes. */
type Done = (error: string | undefined, bodyBytes: number) => void;
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
      let bytes = 0;
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        done(error, bytes);
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
      stream.on("data", (chunk: Buffer) => {
        bytes += chunk.byteLength;
      });
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
  const grpcWeb = target.check === "grpc-web";
  return {
    send(request, done) {
      const headers = { ...request.headers, "content-length": String(request.body.byteLength) };
      const outgoing = http.request(
        { agent, host: url.hostname, port: url.port, method: request.method, path: request.path, headers },
        (response) => {
          let bytes = 0;
          // gRPC-Web: the last bytes of the body, where the trailer frame is.
          let tail: Buffer = EMPTY;
          response.on("data", (chunk: Buffer) => {
            bytes += chunk.byteLength;
            if (grpcWeb)
              tail = tail.byteLength === 0 ? chunk : Buffer.concat([tail.subarray(-TAIL_BYTES), chunk]);
          });
          response.on("end", () => {
            if (response.statusCode !== 200) done(`HTTP ${response.statusCode}`, bytes);
            else if (grpcWeb) done(grpcWebFailure(response.headers["grpc-status"], tail), bytes);
            else done(undefined, bytes);
          });
          response.on("error", (error) => done(error.message, 0));
        },
      );
      outgoing.on("error", (error) => done(error.message, 0));
      outgoing.end(request.body);
    },
    close() {
      agent.destroy();
    },
  };
}

const EMPTY = Buffer.alloc(0);
/** Enough of a body's end to hold a trailer frame's `grpc-status: 0` and its frame header. */
const TAIL_BYTES = 64;
const GRPC_WEB_OK = /grpc-status: ?0\r\n/i;

/** Why a gRPC-Web answer failed: a trailers-only error in the headers, or no `grpc-status: 0` trailer at the end. */
function grpcWebFailure(status: string | string[] | undefined, tail: Buffer): string | undefined {
  if (status !== undefined) return status === "0" ? undefined : `grpc-status ${status}`;
  return GRPC_WEB_OK.test(tail.toString("latin1")) ? undefined : "no grpc-status: 0 trailer frame";
}

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

/** What is read at each edge of the measured window. */
interface CpuReading {
  readonly at: number;
  readonly own: NodeJS.CpuUsage;
  readonly ticks: readonly number[];
  readonly machine: number;
}

function readCpu(pids: readonly number[]): CpuReading {
  return {
    at: performance.now(),
    own: process.cpuUsage(),
    // A process that has gone away reads as NaN, which the figures then show.
    ticks: pids.map((pid) => {
      try {
        return processCpuTicks(pid);
      } catch {
        return Number.NaN;
      }
    }),
    machine: machineBusyTicks(),
  };
}

/** Window bookkeeping shared by both modes. */
class Tally {
  readonly latencies: number[] = [];
  errors = 0;
  firstError: string | undefined;
  #start: CpuReading | undefined;
  #end: CpuReading | undefined;
  /** Successful answers, and their body bytes, between the two CPU readings. */
  #answered = 0;
  #answeredBytes = 0;
  readonly #timers: NodeJS.Timeout[];

  constructor(
    readonly windowStart: number,
    readonly windowEnd: number,
    readonly cpuPids: readonly number[] = [],
  ) {
    this.#timers = [
      setTimeout(() => {
        this.#start = readCpu(cpuPids);
      }, windowStart - performance.now()).unref(),
      setTimeout(() => this.#closeCpuWindow(), windowEnd - performance.now()).unref(),
    ];
  }

  #closeCpuWindow(): void {
    if (this.#start !== undefined) this.#end ??= readCpu(this.cpuPids);
  }

  /**
   * Records a request that was due (or sent) at `start` and finished now. Closed mode counts what finished inside
   * the window; open mode counts every request scheduled inside it, however late its answer. The CPU window counts
   * every successful answer that arrives between its two readings, in either mode.
   */
  record(
    start: number,
    error: string | undefined,
    bodyBytes: number,
    by: "finish" | "schedule",
    scheduled = start,
  ): void {
    if (error === undefined && this.#start !== undefined && this.#end === undefined) {
      this.#answered++;
      this.#answeredBytes += bodyBytes;
    }
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#closeCpuWindow();
    const sorted = Float64Array.from(this.latencies).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    const seconds = Math.max((this.windowEnd - this.windowStart) / 1000, 1e-9);
    const start = this.#start;
    const end = this.#end;
    const cpu: WindowCpu | undefined =
      start === undefined || end === undefined || end.at <= start.at
        ? undefined
        : {
            windowMs: end.at - start.at,
            answered: this.#answered,
            bodyBytes: this.#answered > 0 ? this.#answeredBytes / this.#answered : 0,
            generatorMicros: end.own.user + end.own.system - start.own.user - start.own.system,
            processTicks: end.ticks.map((ticks, index) => ticks - (start.ticks[index] ?? Number.NaN)),
            machineTicks: end.machine - start.machine,
          };
    return {
      completed: sorted.length,
      errors: this.errors,
      ...(this.firstError === undefined ? {} : { firstError: this.firstError }),
      rate: sorted.length / seconds,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: sorted[sorted.length - 1] ?? 0,
      cpuPercent: cpu === undefined ? 0 : (cpu.generatorMicros / 1000 / cpu.windowMs) * 100,
      ...(cpu === undefined ? {} : { cpu }),
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
  const tally = new Tally(started + job.warmupMs, started + job.warmupMs + job.durationMs, job.cpuPids);
  let index = 0;
  const worker = async () => {
    while (performance.now() < tally.windowEnd) {
      const request = requests[index++ % requests.length] as PreparedRequest;
      const sent = performance.now();
      const [error, bytes] = await new Promise<[string | undefined, number]>((resolve) =>
        client.send(request, (error, bytes) => resolve([error, bytes])),
      );
      tally.record(sent, error, bytes, "finish");
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
  const tally = new Tally(started + job.warmupMs, started + job.warmupMs + job.durationMs, job.cpuPids);
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
        if (inFlight >= MAX_IN_FLIGHT) tally.record(due, "too many requests in flight", 0, "schedule");
        else {
          inFlight++;
          const scheduled = due;
          client.send(request, (error, bytes) => {
            inFlight--;
            tally.record(now, error, bytes, "schedule", scheduled);
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
