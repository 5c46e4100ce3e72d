import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNamespaceFile } from "./generate-state.js";
import type { LoadJob, LoadMode, LoadRequest, LoadResult, LoadTarget } from "./load-generator.js";
import type { BenchResult } from "./result.js";
import { seededRandom } from "./seeded-random.js";
import { type SpawnedServer, spawnServer } from "./spawn-server.js";
import { cpuSeconds, type LoadGeneratorProcess, startLoadGenerator } from "./start-load-generator.js";
import { medianBy } from "./stats.js";

/** The flag state served: 1 000 flags in 10 namespace files (`bench/generate-state.ts`). */
const NAMESPACES = 10;
const FLAGS_PER_NAMESPACE = 100;
/** Distinct requests each protocol cycles through (flags, namespaces, entities and contexts vary). */
const DISTINCT_REQUESTS = 256;
/** Requests in flight at saturation. */
const SATURATION_CONCURRENCY = 64;
/** HTTP/2 sessions the streams are spread over. */
const H2_SESSIONS = 4;
/** Each path is first warmed up at saturation for this long (JIT, connections). */
const WARMUP_MS = 1000;
/** Saturation: echo and evaluation alternate in rounds of ROUND_MS (after ROUND_WARMUP_MS); medians are kept. */
const ROUNDS = 3;
const ROUND_WARMUP_MS = 250;
const ROUND_MS = 1000;
/**
 * Half load: PACED_ROUNDS open-loop runs of PACED_MS (after PACED_WARMUP_MS) for the evaluation, alternating with
 * as many for the echo; the run with the median p99 is kept, so that one stall of a shared machine does not decide.
 */
const PACED_ROUNDS = 3;
const PACED_WARMUP_MS = 300;
const PACED_MS = 1500;
/** Each protocol must reach this share (%) of its echo's throughput. */
const TARGET_SHARE = 80;
/** p99 latency ceiling (ms) at half the protocol's saturation rate. */
const TARGET_P99_MS = 5;

/** How one protocol reaches the server: the evaluation it is measured on and its do-nothing echo. */
interface Protocol {
  readonly name: string;
  readonly rpc: string;
  readonly echo: string;
  /** The listener: the HTTP port (REST, Connect, OFREP) or the gRPC port. */
  readonly port: "http" | "grpc";
  readonly transport: LoadTarget["transport"];
  readonly check: LoadTarget["check"];
  request(evaluation: Evaluation): LoadRequest;
  readonly echoRequest: LoadRequest;
}

/** One boolean evaluation, sent in each protocol's own encoding. */
interface Evaluation {
  readonly namespaceKey: string;
  readonly flagKey: string;
  readonly entityId: string;
  readonly context: Readonly<Record<string, string>>;
}

const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
const CONNECT_HEADERS = { "content-type": "application/json", "connect-protocol-version": "1" };
const JSON_HEADERS = { "content-type": "application/json" };
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
/** `GET /health`: routed by the REST gateway to `grpc.health.v1.Health/Check`, through the same handler stack. */
const REST_ECHO: LoadRequest = { method: "GET", path: "/health", headers: {}, body: "" };

/**
 * gRPC and Connect go over HTTP/2 (h2c; Connect on the HTTP port), as gRPC requires and Connect's server-side
 * clients use; REST and OFREP over HTTP/1.1 keep-alive, which is what Flipt's SDKs and the OFREP providers
 * (fetch) speak in cleartext. The echo of each protocol uses the same port and transport.
 */
export const PROTOCOLS: readonly Protocol[] = [
  {
    name: "gRPC",
    rpc: "EvaluationService/Boolean (gRPC port)",
    echo: "Health/Check",
    port: "grpc",
    transport: "h2",
    check: "grpc",
    request: (evaluation) => ({
      method: "POST",
      path: "/flipt.evaluation.EvaluationService/Boolean",
      headers: GRPC_HEADERS,
      body: grpcFrame(encodeEvaluationRequest(evaluation)).toString("base64"),
    }),
    echoRequest: {
      method: "POST",
      path: HEALTH_CHECK,
      headers: GRPC_HEADERS,
      body: grpcFrame(Buffer.alloc(0)).toString("base64"),
    },
  },
  {
    name: "Connect JSON",
    rpc: "EvaluationService/Boolean (h2c)",
    echo: "Health/Check",
    port: "http",
    transport: "h2",
    check: "http",
    request: (evaluation) => ({
      method: "POST",
      path: "/flipt.evaluation.EvaluationService/Boolean",
      headers: CONNECT_HEADERS,
      body: base64Json(evaluation),
    }),
    echoRequest: { method: "POST", path: HEALTH_CHECK, headers: CONNECT_HEADERS, body: base64Json({}) },
  },
  {
    name: "REST",
    rpc: "POST /evaluate/v1/boolean (HTTP/1.1)",
    echo: "GET /health",
    port: "http",
    transport: "h1",
    check: "http",
    request: (evaluation) => ({
      method: "POST",
      path: "/evaluate/v1/boolean",
      headers: JSON_HEADERS,
      body: base64Json(evaluation),
    }),
    echoRequest: REST_ECHO,
  },
  {
    name: "OFREP",
    rpc: "POST /ofrep/v1/evaluate/flags/{key} (HTTP/1.1)",
    echo: "GET /health",
    port: "http",
    transport: "h1",
    check: "http",
    request: (evaluation) => ({
      method: "POST",
      path: `/ofrep/v1/evaluate/flags/${evaluation.flagKey}`,
      headers: { ...JSON_HEADERS, "x-flipt-namespace": evaluation.namespaceKey },
      body: base64Json({ context: { targetingKey: evaluation.entityId, ...evaluation.context } }),
    }),
    echoRequest: REST_ECHO,
  },
];

/**
 * A protocol's requests to the server: HTTP/2 sessions carry many streams each; HTTP/1.1 keeps one request in
 * flight per connection, so it gets as many connections as requests in flight at saturation.
 */
function loadTarget(protocol: Protocol, server: SpawnedServer, requests: readonly LoadRequest[]): LoadTarget {
  return {
    origin: protocol.port === "grpc" ? server.grpcUrl : server.httpUrl,
    transport: protocol.transport,
    connections: protocol.transport === "h2" ? H2_SESSIONS : SATURATION_CONCURRENCY,
    check: protocol.check,
    requests,
  };
}

export interface ServerBenchOptions {
  /** Only the protocols whose name contains one of these (all by default). */
  readonly only?: readonly string[];
  /** Run the server with `--cpu-prof`, writing its profile here when it stops (timings then mean little). */
  readonly cpuProfileDir?: string;
  /** Skip the half-load latency runs. */
  readonly saturationOnly?: boolean;
  /** Only this side's saturation run (for profiling one path); no ratio or latency rows then. */
  readonly saturateOnly?: "evaluation" | "echo";
  /** Called with a line of detail per measurement (server and generator CPU, echo latency). */
  readonly log?: (line: string) => void;
}

/**
 * Issue 7's server measures. The built server (`dist/`) serves 1 000 generated flags; a load generator in its own
 * process (`bench/load-generator.ts`) drives, per protocol, a boolean evaluation and a do-nothing echo served by
 * the same stack:
 *
 * - throughput at saturation (64 requests in flight): after 1 s of warm-up each, echo and evaluation alternate in
 *   3 rounds of 1 s, and the median round of each is kept; the ratio is evaluation / echo;
 * - p50 and p99 latency at half the evaluation's saturation rate, paced open-loop in 3 runs of 1.5 s and measured
 *   from each request's send; the run with the median p99 is kept (the echo is paced alike, logged to compare).
 *
 * About 70 s. Lines of detail (per-round rates, server and generator CPU) go to `options.log`, else stderr.
 */
export async function serverBench(options: ServerBenchOptions = {}): Promise<BenchResult[]> {
  const log = options.log ?? ((line: string) => console.error(`server-bench: ${line}`));
  const protocols = PROTOCOLS.filter(
    (protocol) => options.only === undefined || options.only.some((name) => protocol.name.includes(name)),
  );
  const root = await mkdtemp(join(tmpdir(), "pennant-server-bench-"));
  try {
    for (let index = 0; index < NAMESPACES; index++) {
      const namespace = namespaceKey(index);
      await writeFile(
        join(root, `${namespace}.features.yaml`),
        generateNamespaceFile(namespace, FLAGS_PER_NAMESPACE),
      );
    }
    const server = await spawnServer(
      { FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local", FLIPT_STORAGE_DEFAULT_BACKEND_PATH: root },
      options.cpuProfileDir === undefined
        ? {}
        : { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] },
    );
    const generator = startLoadGenerator();
    const results: BenchResult[] = [];
    try {
      const evaluations = generateEvaluations();
      for (const protocol of protocols) {
        const target = loadTarget(protocol, server, evaluations.map(protocol.request));
        const echo = loadTarget(protocol, server, [protocol.echoRequest]);
        await check(generator, target, `${protocol.name} ${protocol.rpc}`);
        await check(generator, echo, `${protocol.name} ${protocol.echo}`);

        const saturate: LoadMode = { kind: "closed", concurrency: SATURATION_CONCURRENCY };
        if (options.saturateOnly !== undefined) {
          const evaluation = options.saturateOnly === "evaluation";
          const only = await measure(
            generator,
            server,
            evaluation ? target : echo,
            saturate,
            WARMUP_MS,
            3000,
          );
          results.push({
            name: `${protocol.name} ${evaluation ? protocol.rpc : `echo ${protocol.echo}`}: throughput at saturation`,
            value: only.rate,
            unit: "req/s",
            lowerIsBetter: false,
          });
          continue;
        }
        // Warm both paths up, then alternate short rounds (ABBA...) so that load from outside hits both alike.
        await measure(generator, server, echo, saturate, WARMUP_MS, 0);
        await measure(generator, server, target, saturate, WARMUP_MS, 0);
        const echoRuns: Measured[] = [];
        const runs: Measured[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const order = round % 2 === 0 ? ([echo, target] as const) : ([target, echo] as const);
          for (const side of order) {
            const measured = await measure(generator, server, side, saturate, ROUND_WARMUP_MS, ROUND_MS);
            (side === echo ? echoRuns : runs).push(measured);
          }
        }
        const echoRun = medianBy(echoRuns, (run) => run.rate);
        const run = medianBy(runs, (run) => run.rate);
        log(describeRounds(`${protocol.name} echo ${protocol.echo}, saturation`, echoRuns));
        log(describeRounds(`${protocol.name} ${protocol.rpc}, saturation`, runs));
        results.push(
          {
            name: `${protocol.name} ${protocol.rpc}: throughput at saturation`,
            value: run.rate,
            unit: "req/s",
            lowerIsBetter: false,
          },
          {
            name: `${protocol.name} echo ${protocol.echo}: throughput at saturation`,
            value: echoRun.rate,
            unit: "req/s",
            lowerIsBetter: false,
          },
          {
            name: `${protocol.name}: evaluation throughput / echo throughput`,
            value: (run.rate / echoRun.rate) * 100,
            unit: "%",
            target: TARGET_SHARE,
            lowerIsBetter: false,
          },
        );
        if (options.saturationOnly) continue;

        const half = Math.round(run.rate / 2);
        const pacedRuns: Measured[] = [];
        for (let round = 0; round < PACED_ROUNDS; round++) {
          for (const side of round % 2 === 0 ? [target, echo] : [echo, target]) {
            const measured = await measure(
              generator,
              server,
              side,
              { kind: "open", rate: half },
              PACED_WARMUP_MS,
              PACED_MS,
            );
            const label = side === echo ? `echo ${protocol.echo}` : protocol.rpc;
            log(describe(`${protocol.name} ${label}, paced at ${half} req/s`, measured));
            if (side === target) pacedRuns.push(measured);
          }
        }
        const paced = medianBy(pacedRuns, (measured) => measured.p99);
        results.push(
          {
            name: `${protocol.name}: p50 latency at half load (${half} req/s)`,
            value: paced.p50,
            unit: "ms",
            lowerIsBetter: true,
          },
          {
            name: `${protocol.name}: p99 latency at half load (${half} req/s)`,
            value: paced.p99,
            unit: "ms",
            target: TARGET_P99_MS,
            lowerIsBetter: true,
          },
        );
      }
    } finally {
      await generator.close();
      await server.stop();
    }
    return results;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

interface Measured extends LoadResult {
  /** Over the measured window, in % of one core: the server (all its threads), and every other process on the
   * machine but the server and the generator (other work competing for the cores). */
  readonly serverCpuPercent: number;
  readonly outsideCpuPercent: number;
  /** Server CPU time per successful request, in µs: what throughput on an idle core would be the inverse of. */
  readonly serverCpuMicros: number;
}

/** CPU seconds so far: the server's, the generator's, and the whole machine's busy time. */
interface CpuSample {
  readonly server: number;
  readonly generator: number;
  readonly machine: number;
}

function sampleCpu(serverPid: number, generatorPid: number): CpuSample {
  return {
    server: cpuSeconds(serverPid),
    generator: cpuSeconds(generatorPid),
    machine: machineBusySeconds(),
  };
}

/** Runs one job, sampling CPU time over the job's measured window; throws if any request failed. */
async function measure(
  generator: LoadGeneratorProcess,
  server: SpawnedServer,
  target: LoadTarget,
  mode: LoadMode,
  warmupMs: number,
  durationMs: number,
): Promise<Measured> {
  const job: LoadJob = { target, mode, warmupMs, durationMs };
  let start: CpuSample | undefined;
  let end: CpuSample | undefined;
  const timers = [
    setTimeout(() => {
      start = sampleCpu(server.pid, generator.pid);
    }, warmupMs),
    setTimeout(() => {
      end = sampleCpu(server.pid, generator.pid);
    }, warmupMs + durationMs),
  ];
  try {
    const result = await generator.run(job);
    const problems = result.errors + result.unfinished;
    if (problems > 0) {
      throw new Error(
        `${target.requests[0]?.path}: ${result.errors} failed, ${result.unfinished} unanswered (${result.firstError})`,
      );
    }
    end ??= sampleCpu(server.pid, generator.pid);
    const from = start ?? end;
    const seconds = durationMs / 1000;
    const serverSeconds = end.server - from.server;
    const outside = end.machine - from.machine - serverSeconds - (end.generator - from.generator);
    return {
      ...result,
      serverCpuPercent: (serverSeconds / seconds) * 100,
      outsideCpuPercent: Math.max(0, (outside / seconds) * 100),
      serverCpuMicros: result.completed > 0 ? (serverSeconds / result.completed) * 1e6 : 0,
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

function describe(label: string, run: Measured): string {
  const ms = (value: number) => value.toFixed(2);
  return (
    `${label}: ${Math.round(run.rate)} req/s, p50 ${ms(run.p50)} ms, p99 ${ms(run.p99)} ms, max ${ms(run.max)} ms` +
    `${run.sendLagP99 > 0 ? `, send lag p99 ${ms(run.sendLagP99)} ms` : ""}` +
    `, ${cpu(run)}`
  );
}

function cpu(run: Measured): string {
  return (
    `CPU server ${Math.round(run.serverCpuPercent)}% (${Math.round(run.serverCpuMicros)} µs/req)` +
    ` generator ${Math.round(run.cpuPercent)}% outside ${Math.round(run.outsideCpuPercent)}%`
  );
}

function describeRounds(label: string, runs: readonly Measured[]): string {
  const rounds = runs.map((run) => `${Math.round(run.rate)} (${cpu(run)})`);
  return `${label}, req/s per round: ${rounds.join(", ")}`;
}

/** Busy CPU seconds of the whole machine so far (every core), from /proc/stat. */
function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

/** A short closed run that must see no failure: the requests are right and the flags exist. */
async function check(generator: LoadGeneratorProcess, target: LoadTarget, label: string): Promise<void> {
  const result = await generator.run({
    target,
    mode: { kind: "closed", concurrency: 4 },
    warmupMs: 0,
    durationMs: 200,
  });
  if (result.errors > 0 || result.completed === 0) {
    throw new Error(
      `${label}: ${result.errors} of ${result.completed + result.errors} failed (${result.firstError})`,
    );
  }
}

function namespaceKey(index: number): string {
  return `ns-${String(index).padStart(3, "0")}`;
}

/** Boolean flags only (odd indices in the generated state), across namespaces, entities and contexts (fixed seed). */
function generateEvaluations(): Evaluation[] {
  const random = seededRandom(4242);
  const plans = ["free", "pro", "beta", "enterprise"];
  const countries = ["DE", "FR", "US", "JP", "BR"];
  return Array.from({ length: DISTINCT_REQUESTS }, () => {
    const flag = 2 * random(FLAGS_PER_NAMESPACE / 2) + 1;
    return {
      namespaceKey: namespaceKey(random(NAMESPACES)),
      flagKey: `flag-${String(flag).padStart(4, "0")}`,
      entityId: `user-${random(1_000_000)}`,
      context: {
        plan: plans[random(plans.length)] as string,
        age: String(10 + random(60)),
        country: countries[random(countries.length)] as string,
      },
    };
  });
}

function base64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64");
}

/** `flipt.evaluation.EvaluationRequest` in protobuf binary, encoded by hand (fields 2, 3, 4 and the map 5). */
function encodeEvaluationRequest(evaluation: Evaluation): Buffer {
  const parts = [
    stringField(2, evaluation.namespaceKey),
    stringField(3, evaluation.flagKey),
    stringField(4, evaluation.entityId),
  ];
  for (const [key, value] of Object.entries(evaluation.context)) {
    parts.push(bytesField(5, Buffer.concat([stringField(1, key), stringField(2, value)])));
  }
  return Buffer.concat(parts);
}

function stringField(field: number, value: string): Buffer {
  return bytesField(field, Buffer.from(value, "utf8"));
}

/** A length-delimited field (wire type 2); tags and lengths here are below 128, so one varint byte each. */
function bytesField(field: number, bytes: Buffer): Buffer {
  if (bytes.byteLength > 127 || field > 15) throw new Error("bytesField handles only short fields");
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.byteLength]), bytes]);
}

/** The gRPC length-prefixed message: flag byte 0 (uncompressed), 4-byte big-endian length, message. */
function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([header, message]);
}
