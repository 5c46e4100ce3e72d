import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BareEcho, spawnBareEcho } from "./bare-echo-server.js";
import { generateNamespaceFile } from "./generate-state.js";
import type { LoadJob, LoadMode, LoadRequest, LoadResult, LoadTarget, WindowCpu } from "./load-generator.js";
import { cpuPlan, pinToCpu } from "./pin-to-cpu.js";
import { clockTicksPerSecond } from "./proc-cpu.js";
import type { BenchResult } from "./result.js";
import { seededRandom } from "./seeded-random.js";
import { type SpawnedServer, spawnServer } from "./spawn-server.js";
import { type LoadGeneratorProcess, startLoadGenerator } from "./start-load-generator.js";
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
/**
 * Saturation: echo, evaluation and the bare echo take turns in ROUNDS rounds of ROUND_MS (BARE_ROUND_MS for the bare
 * echo), each after ROUND_WARMUP_MS; for throughput the median round is kept, for CPU per request the rounds are
 * summed. Each round's CPU time is read to one clock tick (10 ms, `getconf CLK_TCK` = 100), so a side's figure is
 * off by less than one tick per round over its summed rounds. While that bound is above CPU_RESOLUTION of a side's
 * figure (a server that got little of a busy machine's cores), that side gets one more round, for CPU only, long
 * enough at the CPU share it had to bring the bound under (at most EXTRA_ROUND_MAX_MS; EXTRA_ROUNDS times at most).
 * The bare echo's rounds are longer because it uses less CPU per second (the generator bounds its rate).
 */
const ROUNDS = 3;
const ROUND_WARMUP_MS = 250;
const ROUND_MS = 1000;
const BARE_ROUND_MS = 2000;
const CPU_RESOLUTION = 0.02;
const EXTRA_ROUNDS = 2;
const EXTRA_ROUND_MAX_MS = 10_000;
/**
 * Half load: PACED_ROUNDS open-loop runs of PACED_MS (after PACED_WARMUP_MS) for the evaluation, alternating with
 * as many for the echo; the run with the median p99 is kept, so that one stall of a shared machine does not decide.
 */
const PACED_ROUNDS = 3;
const PACED_WARMUP_MS = 300;
const PACED_MS = 1500;
/** Each protocol must reach this share (%) of its echo's throughput (issue 7: 80; issue 23: 90). */
const TARGET_SHARE = 90;
/** p99 latency ceiling (ms) at half the protocol's saturation rate (issue 7: 5; issue 23: 2). */
const TARGET_P99_MS = 2;
/** Issue 23: server CPU per evaluation request at most this multiple of the bare echo's, on every protocol. */
const TARGET_CPU_RATIO = 2;
/** The host the CPU figures are projected onto, one server process per core. */
const PROJECTED_CORES = 16;
/** A generator above this share of one core is near its own ceiling: the rate is then the generator's. */
const GENERATOR_BOUND_SHARE = 0.9;

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
const GRPC_WEB_HEADERS = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
const CONNECT_HEADERS = { "content-type": "application/json", "connect-protocol-version": "1" };
const JSON_HEADERS = { "content-type": "application/json" };
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
/** `GET /health`: routed by the REST gateway to `grpc.health.v1.Health/Check`, through the same handler stack. */
const REST_ECHO: LoadRequest = { method: "GET", path: "/health", headers: {}, body: "" };

/**
 * gRPC and Connect go over HTTP/2 (h2c; Connect on the HTTP port), as gRPC requires and Connect's server-side
 * clients use; REST and OFREP over HTTP/1.1 keep-alive, which is what Flipt's SDKs and the OFREP providers
 * (fetch) speak in cleartext; gRPC-Web over HTTP/1.1, as browsers speak it in cleartext. The echo of each protocol
 * uses the same port and transport; the bare echo (`bench/bare-echo-server.ts`) takes the evaluation's own
 * requests.
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
    name: "gRPC-Web",
    rpc: "EvaluationService/Boolean (gRPC-Web, HTTP/1.1)",
    echo: "Health/Check",
    port: "http",
    transport: "h1",
    check: "grpc-web",
    request: (evaluation) => ({
      method: "POST",
      path: "/flipt.evaluation.EvaluationService/Boolean",
      headers: GRPC_WEB_HEADERS,
      body: grpcFrame(encodeEvaluationRequest(evaluation)).toString("base64"),
    }),
    echoRequest: {
      method: "POST",
      path: HEALTH_CHECK,
      headers: GRPC_WEB_HEADERS,
      body: grpcFrame(Buffer.alloc(0)).toString("base64"),
    },
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
function loadTarget(
  protocol: Protocol,
  server: Pick<SpawnedServer, "httpUrl" | "grpcUrl">,
  requests: readonly LoadRequest[],
): LoadTarget {
  return {
    origin: protocol.port === "grpc" ? server.grpcUrl : server.httpUrl,
    transport: protocol.transport,
    connections: protocol.transport === "h2" ? H2_SESSIONS : SATURATION_CONCURRENCY,
    check: protocol.check,
    requests,
  };
}

export interface ServerBenchOptions {
  /** Only the protocols named by one of these: a protocol's full name, or text its name contains (all by default). */
  readonly only?: readonly string[];
  /** Run the server with `--cpu-prof`, writing its profile here when it stops (timings then mean little). */
  readonly cpuProfileDir?: string;
  /** Skip the half-load latency runs. */
  readonly saturationOnly?: boolean;
  /** Only this side's saturation run (for profiling one path); no ratio or latency rows then. */
  readonly saturateOnly?: "evaluation" | "echo";
  /** Called with a line of detail per measurement (server and generator CPU, echo latency). */
  readonly log?: (line: string) => void;
  /** Run the server with `--trace-gc` and log, per protocol, the GC pauses during its half-load runs. */
  readonly traceGc?: boolean;
  /** More options for the server's `node` (GC settings to compare, such as `--single-threaded-gc`). */
  readonly serverNodeArgs?: readonly string[];
  /** Leave every process free to run on any CPU, instead of the servers on one and the generator on another. */
  readonly unpinned?: boolean;
}

/**
 * Issue 7's server measures, and issue 23's CPU per request. The built server (`dist/`) serves 1 000 generated
 * flags; a load generator in its own process (`bench/load-generator.ts`) drives, per protocol, a boolean evaluation
 * and a do-nothing echo served by the same stack, and the same evaluation requests against the bare echo
 * (`bench/bare-echo-server.ts`: plain `node:http`/`node:http2`, a fixed answer, in a process of its own):
 *
 * - throughput at saturation (64 requests in flight): after 1 s of warm-up each, echo, evaluation and bare echo
 *   take turns in 3 rounds (1 s; 2 s for the bare echo), and the median round of each is kept; the ratio is
 *   evaluation / echo;
 * - CPU per request, from the same rounds: the serving process's user + system CPU time (`/proc/<pid>/stat`, read by
 *   the generator at the edges of each round's window) over the answers received in between, summed over the
 *   rounds; the generator's own beside it; ratios evaluation / echo and evaluation / bare echo, and the requests per
 *   second one core would serve at that cost;
 * - p50 and p99 latency at half the evaluation's saturation rate, paced open-loop in 3 runs of 1.5 s and measured
 *   from each request's send; the run with the median p99 is kept. The echo and the bare echo are paced alike at the
 *   same rate, taking turns with the evaluation, and their median p99 reported beside it: what the machine and the
 *   stack's own stalls give.
 *
 * The server runs as one process (`server.workers: 1`): CPU per request is per process. Where the machine has two
 * CPUs or more (and `taskset`), the servers measured (Pennant, the bare echo) run on one CPU and the load generator on
 * another (`bench/pin-to-cpu.ts`), so that the generator never shares a core, nor its caches, with the server it
 * measures; `unpinned` leaves them free. About 3 minutes. Lines of detail (per-round rates, server and generator CPU) go to `options.log`, else stderr.
 */
export async function serverBench(options: ServerBenchOptions = {}): Promise<BenchResult[]> {
  const log = options.log ?? ((line: string) => console.error(`server-bench: ${line}`));
  const protocols = PROTOCOLS.filter(
    (protocol) => options.only === undefined || options.only.some((name) => namesProtocol(name, protocol)),
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
      {
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
        FLIPT_STORAGE_DEFAULT_BACKEND_PATH: root,
        // One process: the CPU figures are per process, read from its /proc/<pid>/stat.
        FLIPT_SERVER_WORKERS: "1",
      },
      {
        nodeArgs: [
          ...(options.cpuProfileDir === undefined
            ? []
            : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`]),
          ...(options.traceGc === true ? ["--trace-gc"] : []),
          ...(options.serverNodeArgs ?? []),
        ],
      },
    );
    const bare = options.saturateOnly === undefined ? await spawnBareEcho() : undefined;
    const generator = startLoadGenerator();
    const cpus = options.unpinned === true ? undefined : cpuPlan();
    if (cpus !== undefined) {
      for (const pid of [server.pid, bare?.pid]) if (pid !== undefined) pinToCpu(pid, cpus.server);
      pinToCpu(generator.pid, cpus.generator);
      log(`servers on CPU ${cpus.server}, load generator on CPU ${cpus.generator}`);
    } else log("processes not pinned to CPUs");
    const results: BenchResult[] = [];
    const cpuRows: CpuRow[] = [];
    try {
      const evaluations = generateEvaluations();
      for (const protocol of protocols) {
        const target: Side = {
          target: loadTarget(protocol, server, evaluations.map(protocol.request)),
          pid: server.pid,
        };
        const echo: Side = { target: loadTarget(protocol, server, [protocol.echoRequest]), pid: server.pid };
        await check(generator, target.target, `${protocol.name} ${protocol.rpc}`);
        await check(generator, echo.target, `${protocol.name} ${protocol.echo}`);

        const saturate: LoadMode = { kind: "closed", concurrency: SATURATION_CONCURRENCY };
        if (bare === undefined) {
          const evaluation = options.saturateOnly === "evaluation";
          const only = await measure(generator, evaluation ? target : echo, saturate, WARMUP_MS, 3000);
          results.push({
            name: `${protocol.name} ${evaluation ? protocol.rpc : `echo ${protocol.echo}`}: throughput at saturation`,
            value: only.rate,
            unit: "req/s",
            lowerIsBetter: false,
          });
          continue;
        }
        const bareSide: Side = { target: bareTarget(protocol, bare, evaluations), pid: bare.pid };
        await check(generator, bareSide.target, `${protocol.name} bare echo`);
        // Warm every path up, then take turns in short rounds (each side first once) so that load from outside
        // hits all three alike.
        for (const side of [echo, target, bareSide]) await measure(generator, side, saturate, WARMUP_MS, 0);
        const sides = [echo, target, bareSide] as const;
        const runs = new Map<Side, Measured[]>(sides.map((side) => [side, []]));
        for (let round = 0; round < ROUNDS; round++) {
          for (let turn = 0; turn < sides.length; turn++) {
            const side = sides[(round + turn) % sides.length] as Side;
            const duration = side === bareSide ? BARE_ROUND_MS : ROUND_MS;
            runs.get(side)?.push(await measure(generator, side, saturate, ROUND_WARMUP_MS, duration));
          }
        }
        for (let extra = 0; extra < EXTRA_ROUNDS; extra++) {
          for (const side of sides) {
            const sideRuns = runs.get(side) ?? [];
            const duration = extraRoundMs(totalCpu(sideRuns));
            if (duration > 0)
              sideRuns.push(await measure(generator, side, saturate, ROUND_WARMUP_MS, duration));
          }
        }
        const echoRuns = runs.get(echo) ?? [];
        const evaluationRuns = runs.get(target) ?? [];
        const bareRuns = runs.get(bareSide) ?? [];
        // Throughput from the first ROUNDS rounds only, whatever CPU needed.
        const echoRun = medianBy(echoRuns.slice(0, ROUNDS), (run) => run.rate);
        const run = medianBy(evaluationRuns.slice(0, ROUNDS), (run) => run.rate);
        log(describeRounds(`${protocol.name} echo ${protocol.echo}, saturation`, echoRuns));
        log(describeRounds(`${protocol.name} ${protocol.rpc}, saturation`, evaluationRuns));
        log(describeRounds(`${protocol.name} bare echo, saturation`, bareRuns));
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
            name: `${protocol.name} bare echo: throughput at saturation (often the load generator's ceiling)`,
            value: medianBy(bareRuns.slice(0, ROUNDS), (bareRun) => bareRun.rate).rate,
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
        const cpu: CpuRow = {
          protocol: protocol.name,
          evaluation: totalCpu(evaluationRuns),
          echo: totalCpu(echoRuns),
          bare: totalCpu(bareRuns),
        };
        cpuRows.push(cpu);
        log(describeCpu(cpu));
        results.push(...cpuResults(protocol, cpu));
        if (options.saturationOnly) continue;

        const half = Math.round(run.rate / 2);
        // The evaluation, its echo and the bare echo, paced alike and taking turns, so that a stall of the machine
        // hits all three: the echoes' p99 say how much of the evaluation's is the machine's and the stack's.
        const pacedRuns = new Map<Side, Measured[]>(sides.map((side) => [side, []]));
        const gcFrom = server.output.length;
        for (let round = 0; round < PACED_ROUNDS; round++) {
          for (let turn = 0; turn < sides.length; turn++) {
            const side = sides[(round + turn) % sides.length] as Side;
            const measured = await measure(
              generator,
              side,
              { kind: "open", rate: half },
              PACED_WARMUP_MS,
              PACED_MS,
            );
            const label =
              side === echo ? `echo ${protocol.echo}` : side === bareSide ? "bare echo" : protocol.rpc;
            log(describe(`${protocol.name} ${label}, paced at ${half} req/s`, measured));
            pacedRuns.get(side)?.push(measured);
          }
        }
        if (options.traceGc === true)
          log(`${protocol.name} half load: ${gcPauses(server.output.slice(gcFrom))}`);
        const medianP99 = (side: Side) => medianBy(pacedRuns.get(side) ?? [], (measured) => measured.p99);
        const paced = medianP99(target);
        const pacedEcho = medianP99(echo);
        const pacedBare = medianP99(bareSide);
        results.push(
          {
            name: `${protocol.name}: echo ${protocol.echo} p99 at half load (${half} req/s), same run`,
            value: pacedEcho.p99,
            unit: "ms",
            lowerIsBetter: true,
          },
          {
            name: `${protocol.name}: bare echo p99 at half load (${half} req/s), same run`,
            value: pacedBare.p99,
            unit: "ms",
            lowerIsBetter: true,
          },
        );
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
      if (cpuRows.length > 0) for (const line of cpuTable(cpuRows)) log(line);
    } finally {
      await generator.close();
      await bare?.stop();
      await server.stop();
    }
    return results;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The GC pauses among `node --trace-gc` lines: how many of each kind, their longest, and how many took over 1 and 2 ms
 * (`... MB, 1.2 / 0.0 ms ...`: the pause, then the time spent in the mutator's allocation slow path).
 */
function gcPauses(lines: readonly string[]): string {
  const kinds = new Map<string, number[]>();
  for (const line of lines) {
    const found = /ms: ([A-Za-z-]+(?: [A-Za-z-]+)?)[^,]*, ([0-9.]+) \/ [0-9.]+ ms/.exec(line);
    if (found === null) continue;
    const kind = found[1] as string;
    const pauses = kinds.get(kind) ?? [];
    pauses.push(Number(found[2]));
    kinds.set(kind, pauses);
  }
  if (kinds.size === 0) return "no GC pause traced";
  return [...kinds]
    .map(([kind, pauses]) => {
      const over = (ms: number) => pauses.filter((pause) => pause > ms).length;
      return `${kind} ${pauses.length} pauses, longest ${Math.max(...pauses).toFixed(1)} ms, ${over(1)} over 1 ms, ${over(2)} over 2 ms`;
    })
    .join("; ");
}

/** A protocol's full name names it alone ("gRPC" is not "gRPC-Web"); any other text names those that contain it. */
function namesProtocol(name: string, protocol: Protocol): boolean {
  return PROTOCOLS.some((other) => other.name === name)
    ? protocol.name === name
    : protocol.name.includes(name);
}

/** What one side of a comparison is: the requests, and the process that serves them (whose CPU is read). */
interface Side {
  readonly target: LoadTarget;
  readonly pid: number;
}

/** The bare echo takes the evaluation's own requests, on the port and transport the protocol uses with Pennant. */
function bareTarget(protocol: Protocol, bare: BareEcho, evaluations: readonly Evaluation[]): LoadTarget {
  return loadTarget(protocol, bare, evaluations.map(protocol.request));
}

interface Measured extends LoadResult {
  /** Over the measured window, in % of one core: the serving process (all its threads), and every other process on
   * the machine but it and the generator (other work competing for the cores). */
  readonly serverCpuPercent: number;
  readonly outsideCpuPercent: number;
  /** Server CPU time per successful request, in µs: what throughput on an idle core would be the inverse of. */
  readonly serverCpuMicros: number;
  /** The window's CPU readings (absent for a run without a measured window). */
  readonly window?: WindowCpu;
}

/** Runs one job, with the serving process's CPU time read over the job's measured window; throws if any failed. */
async function measure(
  generator: LoadGeneratorProcess,
  side: Side,
  mode: LoadMode,
  warmupMs: number,
  durationMs: number,
): Promise<Measured> {
  const job: LoadJob = { target: side.target, mode, warmupMs, durationMs, cpuPids: [side.pid] };
  const result = await generator.run(job);
  const problems = result.errors + result.unfinished;
  if (problems > 0) {
    throw new Error(
      `${side.target.requests[0]?.path}: ${result.errors} failed, ${result.unfinished} unanswered (${result.firstError})`,
    );
  }
  const window = result.cpu;
  if (window === undefined)
    return { ...result, serverCpuPercent: 0, outsideCpuPercent: 0, serverCpuMicros: 0 };
  const tick = 1 / clockTicksPerSecond();
  const seconds = window.windowMs / 1000;
  const serverSeconds = (window.processTicks[0] ?? Number.NaN) * tick;
  const outside = window.machineTicks * tick - serverSeconds - window.generatorMicros / 1e6;
  return {
    ...result,
    window,
    serverCpuPercent: (serverSeconds / seconds) * 100,
    outsideCpuPercent: Math.max(0, (outside / seconds) * 100),
    serverCpuMicros: window.answered > 0 ? (serverSeconds / window.answered) * 1e6 : 0,
  };
}

/** One side's CPU over its rounds, summed. */
interface CpuTotal {
  /** Server CPU per request, in µs (the same number as ms per 1 000 requests). */
  readonly serverMicros: number;
  /** The generator's own CPU per request, in µs. */
  readonly generatorMicros: number;
  /** Shares of one core over the rounds: the server's, and the generator's (mean and busiest round). */
  readonly serverShare: number;
  readonly generatorShare: number;
  readonly generatorMaxShare: number;
  /** Share of the machine's cores busy with other work (neither the server nor the generator). */
  readonly outsideShare: number;
  /** The worst case of reading each round's CPU time to one clock tick, as a fraction of the figure (1 if none). */
  readonly resolution: number;
  readonly answered: number;
  readonly bodyBytes: number;
  readonly rounds: number;
}

function totalCpu(runs: readonly Measured[]): CpuTotal {
  if (runs.length === 0) throw new Error("CPU of no rounds");
  const windows = runs.map((run) => {
    if (run.window === undefined) throw new Error("a saturation round without a CPU window");
    return run.window;
  });
  const sum = (value: (window: WindowCpu) => number) =>
    windows.reduce((total, window) => total + value(window), 0);
  const perSecond = clockTicksPerSecond();
  const ticks = sum((window) => window.processTicks[0] ?? Number.NaN);
  const answered = sum((window) => window.answered);
  const windowSeconds = sum((window) => window.windowMs) / 1000;
  const generatorSeconds = sum((window) => window.generatorMicros) / 1e6;
  return {
    serverMicros: (ticks / perSecond / answered) * 1e6,
    generatorMicros: (generatorSeconds / answered) * 1e6,
    serverShare: ticks / perSecond / windowSeconds,
    generatorShare: generatorSeconds / windowSeconds,
    generatorMaxShare: Math.max(...windows.map((window) => window.generatorMicros / 1000 / window.windowMs)),
    outsideShare: Math.max(
      0,
      (sum((window) => window.machineTicks) - ticks) / perSecond / windowSeconds -
        generatorSeconds / windowSeconds,
    ),
    resolution: ticks > 0 ? windows.length / ticks : 1,
    answered,
    bodyBytes: sum((window) => window.bodyBytes * window.answered) / answered,
    rounds: windows.length,
  };
}

/**
 * How long one more round must be for `total`'s resolution bound to fall to CPU_RESOLUTION, at the CPU share the
 * side has had (0: it is there already): n rounds and t ticks become n + 1 rounds and t + share × duration ticks.
 */
function extraRoundMs(total: CpuTotal): number {
  if (total.resolution <= CPU_RESOLUTION) return 0;
  const ticks = total.rounds / total.resolution;
  const needed = (total.rounds + 1) / CPU_RESOLUTION - ticks;
  const ticksPerMs = (Math.max(total.serverShare, 0.05) * clockTicksPerSecond()) / 1000;
  return Math.min(EXTRA_ROUND_MAX_MS, Math.max(ROUND_MS, Math.ceil((needed / ticksPerMs) * 1.2)));
}

/** One protocol's CPU per request: the evaluation, the echo through the same stack, and the bare echo. */
interface CpuRow {
  readonly protocol: string;
  readonly evaluation: CpuTotal;
  readonly echo: CpuTotal;
  readonly bare: CpuTotal;
}

const CPU_UNIT = "ms CPU / 1 000 req";

function cpuResults(protocol: Protocol, cpu: CpuRow): BenchResult[] {
  const perCore = 1e6 / cpu.evaluation.serverMicros;
  const rows: BenchResult[] = [
    {
      name: `${protocol.name}: server CPU per 1 000 evaluations`,
      value: cpu.evaluation.serverMicros,
      unit: CPU_UNIT,
      lowerIsBetter: true,
    },
    {
      name: `${protocol.name}: server CPU per 1 000 echoes (${protocol.echo})`,
      value: cpu.echo.serverMicros,
      unit: CPU_UNIT,
      lowerIsBetter: true,
    },
    {
      name: `${protocol.name}: bare echo CPU per 1 000 requests`,
      value: cpu.bare.serverMicros,
      unit: CPU_UNIT,
      lowerIsBetter: true,
    },
    {
      name: `${protocol.name}: CPU per evaluation / per echo`,
      value: cpu.evaluation.serverMicros / cpu.echo.serverMicros,
      unit: "×",
      lowerIsBetter: true,
    },
    {
      name: `${protocol.name}: CPU per evaluation / per bare echo`,
      value: cpu.evaluation.serverMicros / cpu.bare.serverMicros,
      unit: "×",
      target: TARGET_CPU_RATIO,
      lowerIsBetter: true,
    },
    {
      name: `${protocol.name}: evaluations per second per core, at that CPU (${PROJECTED_CORES} cores: ${Math.round(perCore * PROJECTED_CORES)})`,
      value: perCore,
      unit: "req/s",
      lowerIsBetter: false,
    },
  ];
  for (const [label, total] of [
    ["evaluations", cpu.evaluation],
    ["echoes", cpu.echo],
    ["bare echoes", cpu.bare],
  ] as const) {
    rows.push({
      name: `${protocol.name}: load generator CPU per 1 000 ${label}`,
      value: total.generatorMicros,
      unit: CPU_UNIT,
      lowerIsBetter: true,
    });
  }
  return rows;
}

function describeCpu(cpu: CpuRow): string {
  const side = (label: string, total: CpuTotal) =>
    `${label} ${total.serverMicros.toFixed(0)} (server ${percent(total.serverShare)} of a core; generator ` +
    `${total.generatorMicros.toFixed(0)}, ${percent(total.generatorShare)}, busiest round ` +
    `${percent(total.generatorMaxShare)}${total.generatorMaxShare >= GENERATOR_BOUND_SHARE ? " GENERATOR-BOUND" : ""}; ` +
    `outside ${percent(total.outsideShare)}; ${total.answered} answers of ${total.bodyBytes.toFixed(0)} B ` +
    `in ${total.rounds} rounds; ` +
    `resolution ±${percent(total.resolution, 1)}${total.resolution > 0.02 ? " OVER 2 %" : ""})`;
  return (
    `${cpu.protocol} CPU per 1 000 requests, ms: ${side("evaluation", cpu.evaluation)}, ${side("echo", cpu.echo)}, ` +
    `${side("bare echo", cpu.bare)}`
  );
}

/** The CPU figures of every protocol, as a Markdown table (the first lines of `docs/performance.md`'s). */
function cpuTable(rows: readonly CpuRow[]): string[] {
  const ms = (value: number) => Math.round(value).toLocaleString("en-US").replace(/,/g, " ");
  const times = (value: number) => `${value.toFixed(2)}×`;
  const lines = [
    "CPU per 1 000 requests (ms; = µs per request), server / generator:",
    `| Protocol | Evaluation | Echo | Bare echo | Eval / echo | Eval / bare | Evaluations/s per core | ${PROJECTED_CORES} cores |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const perCore = 1e6 / row.evaluation.serverMicros;
    const pair = (total: CpuTotal) => `${ms(total.serverMicros)} / ${ms(total.generatorMicros)}`;
    lines.push(
      `| ${row.protocol} | ${pair(row.evaluation)} | ${pair(row.echo)} | ${pair(row.bare)} | ` +
        `${times(row.evaluation.serverMicros / row.echo.serverMicros)} | ` +
        `${times(row.evaluation.serverMicros / row.bare.serverMicros)} | ${ms(perCore)} | ${ms(perCore * PROJECTED_CORES)} |`,
    );
  }
  return lines;
}

function percent(share: number, digits = 0): string {
  return `${(share * 100).toFixed(digits)} %`;
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

/**
 * A short closed run that must see no failure: the requests are right and the flags exist. A run that saw no answer
 * at all (a path's first call loads code, on a machine that may be busy) is tried again, longer.
 */
async function check(generator: LoadGeneratorProcess, target: LoadTarget, label: string): Promise<void> {
  for (const durationMs of [200, 1000, 5000]) {
    const result = await generator.run({
      target,
      mode: { kind: "closed", concurrency: 4 },
      warmupMs: 0,
      durationMs,
    });
    if (result.errors > 0) {
      throw new Error(
        `${label}: ${result.errors} of ${result.completed + result.errors} failed (${result.firstError})`,
      );
    }
    if (result.completed > 0) return;
  }
  throw new Error(`${label}: no answer within 5 s`);
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
