import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createEvaluator, type EvaluationRequest, type Evaluator } from "../src/index.js";
import { generateNamespaceFile } from "./generate-state.js";
import type { BenchResult } from "./result.js";
import { seededRandom } from "./seeded-random.js";
import { TARGET_BUILD_MS, TARGET_RSS_MB } from "./snapshot-bench.js";
import { spawnServer } from "./spawn-server.js";
import { median } from "./stats.js";
import { timeBuildsApart } from "./time-builds-apart.js";

/** Every state is made of namespaces of this many flags (the last flags of the smallest one excepted). */
const FLAGS_PER_NAMESPACE = 100;
/** The flag counts evaluated against: each state holds `ns-0000` with the flags every request asks for. */
const STATE_SIZES = [10, 10_000, 100_000] as const;
/** The evaluated flags: `flag-0000` to `flag-0009` of `ns-0000`, present in every state. */
const EVALUATED_FLAGS = 10;
const REQUESTS = 1000;
/** Each state is measured in this many rounds of `ROUND_MS`, alternating, after a warm-up round. */
const ROUNDS = 7;
const ROUND_MS = 300;
/** The largest state's evaluation time may be at most this many times the smallest's. */
const TARGET_EVAL_RATIO = 1.2;

/** Cold snapshot builds at 100 000 flags, the median kept (the first, which warms the JIT up, left out). */
const BUILD_RUNS = 3;
/** Cold snapshot builds at 10 000 flags, as the flag state suite times them. */
const SMALL_BUILD_RUNS = 5;

const STREAMS = 1000;
const STREAM_EDITS = 5;
/** How long the benchmark waits for one change to reach every stream before it gives up. */
const STREAM_TIMEOUT_MS = 60_000;
const STREAM_NAMESPACE = "ns-0000";

/**
 * Issue 7, "Scale": how Pennant behaves as the flag state grows and as stream clients multiply.
 *
 * - In-process evaluation (`createEvaluator({ documents })`) of the same requests on the same ten flags, with
 *   10, 10 000 and 100 000 flags loaded: nanoseconds per evaluation and the ratio largest/smallest.
 * - Cold snapshot build time at 10 000 flags (as the flag state suite times it) and 100 000 flags, and the built
 *   server's RSS after loading, at 10 000 and 100 000 flags (issue 23's targets at 10 000).
 * - 1 000 client snapshot streams (REST framing, one HTTP/1.1 connection each, opened by a separate client
 *   process) on one namespace of the 10 000-flag server; one flag of that namespace is edited on disk, and the
 *   time until every stream has the new snapshot is taken, for several edits.
 */
export async function scaleBench(): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), "pennant-bench-scale-"));
  try {
    const states = new Map<number, Record<string, string>>(
      STATE_SIZES.map((flags) => [flags, generateState(flags)]),
    );
    const results = await evaluationScale(states);
    const directories = new Map<number, string>();
    for (const flags of [10_000, 100_000]) {
      const directory = join(root, `flags-${flags}`);
      await mkdir(directory);
      for (const [path, text] of Object.entries(states.get(flags) ?? {})) {
        await writeFile(join(directory, path), text);
      }
      directories.set(flags, directory);
    }
    const streamFile = states.get(10_000)?.[`${STREAM_NAMESPACE}.features.yaml`] ?? "";
    states.clear();
    results.push(
      await buildTime(10_000, directories.get(10_000) as string, SMALL_BUILD_RUNS, TARGET_BUILD_MS),
    );
    results.push(await buildTime(100_000, directories.get(100_000) as string, BUILD_RUNS));
    for (const [flags, directory] of directories) {
      results.push(...(await serverScale(flags, directory, flags === 10_000 ? streamFile : undefined)));
    }
    return results;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** File name to text: namespaces `ns-0000`, `ns-0001`, ... of `FLAGS_PER_NAMESPACE` flags, `flags` in all. */
function generateState(flags: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let index = 0; index * FLAGS_PER_NAMESPACE < flags; index++) {
    const namespace = `ns-${String(index).padStart(4, "0")}`;
    const count = Math.min(FLAGS_PER_NAMESPACE, flags - index * FLAGS_PER_NAMESPACE);
    files[`${namespace}.features.yaml`] = generateNamespaceFile(namespace, count);
  }
  return files;
}

type Request = EvaluationRequest & { readonly boolean: boolean };

/** Nanoseconds per evaluation of the same requests with each state loaded, alternating rounds, medians. */
async function evaluationScale(states: ReadonlyMap<number, Record<string, string>>): Promise<BenchResult[]> {
  const evaluators = new Map<number, Evaluator>();
  try {
    for (const [flags, documents] of states) {
      evaluators.set(flags, await createEvaluator({ documents }));
    }
    const requests = generateRequests();
    checkAgreement([...evaluators.values()], requests);
    const samples = new Map<number, number[]>();
    const order = [...evaluators.keys()];
    for (let round = -1; round < ROUNDS; round++) {
      // Rotate the order each round, so that no state always runs first (or right after a collection).
      const rotated = order.map((_, index) => order[(index + Math.max(round, 0)) % order.length] as number);
      for (const flags of rotated) {
        const nsPerEval = measure(evaluators.get(flags) as Evaluator, requests, ROUND_MS);
        if (round >= 0) samples.set(flags, [...(samples.get(flags) ?? []), nsPerEval]);
      }
    }
    const perEval = (flags: number) => median(samples.get(flags) ?? []);
    const smallest = perEval(STATE_SIZES[0]);
    const largest = perEval(STATE_SIZES[STATE_SIZES.length - 1] as number);
    return [
      ...STATE_SIZES.map(
        (flags): BenchResult => ({
          name: `evaluation with ${formatCount(flags)} flags loaded (median of ${ROUNDS})`,
          value: perEval(flags),
          unit: "ns/eval",
          lowerIsBetter: true,
        }),
      ),
      {
        name: `evaluation time ratio, ${formatCount(STATE_SIZES[STATE_SIZES.length - 1] as number)} / ${formatCount(STATE_SIZES[0])} flags`,
        value: largest / smallest,
        unit: "x",
        target: TARGET_EVAL_RATIO,
        lowerIsBetter: true,
      },
    ];
  } finally {
    for (const evaluator of evaluators.values()) await evaluator.close();
  }
}

/** Requests on the evaluated flags, half boolean and half variant, with varied entities and contexts. */
function generateRequests(): Request[] {
  const random = seededRandom(4242);
  const plans = ["free", "pro", "beta", "enterprise"];
  const countries = ["DE", "FR", "US", "JP", "BR"];
  const signups = ["2023-05-01T00:00:00Z", "2024-03-01T12:00:00Z", "2022-12-31T23:59:59Z"];
  return Array.from({ length: REQUESTS }, (_, index) => {
    const context: Record<string, string> = {
      plan: plans[random(plans.length)] as string,
      age: String(10 + random(60)),
      country: countries[random(countries.length)] as string,
    };
    if (random(2) === 0) context.signup = signups[random(signups.length)] as string;
    const flag = index % EVALUATED_FLAGS;
    return {
      namespaceKey: "ns-0000",
      flagKey: `flag-${String(flag).padStart(4, "0")}`,
      entityId: `user-${random(100_000)}`,
      context,
      // generateNamespaceFile makes even flags variant flags and odd ones boolean flags.
      boolean: flag % 2 === 1,
    };
  });
}

/** The states differ only in flags that are never asked for: every evaluator must answer alike. */
function checkAgreement(evaluators: readonly Evaluator[], requests: readonly Request[]): void {
  const answer = (evaluator: Evaluator, request: Request) => {
    if (request.boolean) {
      const { enabled, reason } = evaluator.boolean(request);
      return `${enabled} ${reason}`;
    }
    const { variantKey, reason } = evaluator.variant(request);
    return `${variantKey} ${reason}`;
  };
  const [first, ...others] = evaluators;
  if (first === undefined) return;
  for (const request of requests) {
    const expected = answer(first, request);
    for (const evaluator of others) {
      if (answer(evaluator, request) !== expected) {
        throw new Error(`evaluators disagree on ${JSON.stringify(request)}`);
      }
    }
  }
}

/** Nanoseconds per evaluation over `requests`, cycled for at least `durationMs`. */
function measure(evaluator: Evaluator, requests: readonly Request[], durationMs: number): number {
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (const request of requests) {
      if (request.boolean) evaluator.boolean(request);
      else evaluator.variant(request);
    }
    count += requests.length;
    elapsed = performance.now() - started;
  }
  return (elapsed * 1e6) / count;
}

/**
 * Cold snapshot builds of a state in a fresh process (as the flag state suite's are, and a server's first): the
 * median of `runs`, after one that warms the JIT up.
 */
async function buildTime(
  flags: number,
  directory: string,
  runs: number,
  target?: number,
): Promise<BenchResult> {
  return {
    name: `snapshot build, ${formatCount(flags)} flags (median of ${runs})`,
    value: median((await timeBuildsApart(directory, runs + 1)).slice(1)),
    unit: "ms",
    ...(target === undefined ? {} : { target }),
    lowerIsBetter: true,
  };
}

/**
 * The built server on a directory: time to serve and RSS once it has answered a request; with `streamFile` (the
 * text of `ns-0000`), also the stream fan-out.
 */
async function serverScale(flags: number, directory: string, streamFile?: string): Promise<BenchResult[]> {
  const started = performance.now();
  const server = await spawnServer({
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
    FLIPT_STORAGE_DEFAULT_BACKEND_PATH: directory,
    // Every stream comes from this one client address.
    FLIPT_LIMITS_MAX_STREAMS_PER_CLIENT: String(STREAMS),
  });
  try {
    const response = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/ns-0000/resources/flipt.core.Flag/flag-0000`,
    );
    if (response.status !== 200) throw new Error(`flag read answered HTTP ${response.status}`);
    await response.arrayBuffer();
    const results: BenchResult[] = [
      {
        name: `server start to serving, ${formatCount(flags)} flags`,
        value: performance.now() - started,
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `server RSS after load, ${formatCount(flags)} flags`,
        value: await server.rssMb(),
        unit: "MB",
        ...(flags <= 10_000 ? { target: TARGET_RSS_MB } : {}),
        lowerIsBetter: true,
      },
    ];
    if (streamFile !== undefined) {
      results.push(...(await streamFanOut(server.httpUrl, directory, streamFile, () => server.rssMb())));
    }
    return results;
  } finally {
    await server.stop();
  }
}

/**
 * Opens `STREAMS` snapshot streams on `ns-0000` from a client process, then edits one flag of that namespace
 * `STREAM_EDITS` times, each time waiting until every stream has the snapshot with the new file's digest.
 */
async function streamFanOut(
  httpUrl: string,
  directory: string,
  text: string,
  rssMb: () => Promise<number>,
): Promise<BenchResult[]> {
  const client = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      fileURLToPath(new URL("./scale-stream-client.ts", import.meta.url)),
      `${httpUrl}/client/v2/environments/default/namespaces/${STREAM_NAMESPACE}/stream`,
      String(STREAMS),
    ],
    { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => client.once("exit", () => resolve()));
  try {
    const next = lineQueue(client);
    const wait = async (digest: string, startedAt: number) => {
      for (;;) {
        const remaining = startedAt + STREAM_TIMEOUT_MS - performance.now();
        const line = (await next(remaining)) as { digest?: string; spreadMs?: number; error?: string };
        if (line.error !== undefined) throw new Error(`stream client: ${line.error}`);
        if (line.digest === digest) return { at: performance.now(), spreadMs: line.spreadMs ?? 0 };
      }
    };
    const opened = performance.now();
    const { at: allOpen } = await wait(sha1(text), opened);
    const openMs = allOpen - opened;
    const rssWithStreams = await rssMb();
    const latencies: number[] = [];
    const firsts: number[] = [];
    for (let edit = 1; edit <= STREAM_EDITS; edit++) {
      // One flag changes: flag-0001's threshold (the first boolean flag's; the others keep 25).
      const edited = text.replace("percentage: 25", `percentage: ${25 + edit}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      await writeFile(join(directory, `${STREAM_NAMESPACE}.features.yaml`), edited);
      const { at, spreadMs } = await wait(sha1(edited), started);
      latencies.push(at - started);
      firsts.push(at - started - spreadMs);
    }
    return [
      {
        name: `${formatCount(STREAMS)} client streams: open, until every stream has its first snapshot`,
        value: openMs,
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `server RSS with ${formatCount(STREAMS)} streams open, 10 000 flags`,
        value: rssWithStreams,
        unit: "MB",
        lowerIsBetter: true,
      },
      {
        name: `edit to first of ${formatCount(STREAMS)} streams, median of ${STREAM_EDITS}`,
        value: median(firsts),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `edit to every one of ${formatCount(STREAMS)} streams, median of ${STREAM_EDITS}`,
        value: median(latencies),
        unit: "ms",
        target: 1000,
        lowerIsBetter: true,
      },
      {
        name: `edit to every one of ${formatCount(STREAMS)} streams, max of ${STREAM_EDITS}`,
        value: Math.max(...latencies),
        unit: "ms",
        lowerIsBetter: true,
      },
    ];
  } finally {
    client.kill();
    await exited;
  }
}

/** The client's stdout, one JSON object per line, taken in order; rejects after `timeoutMs` or when it exits. */
function lineQueue(client: ReturnType<typeof spawn>): (timeoutMs: number) => Promise<unknown> {
  const lines: unknown[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const reader = createInterface({ input: client.stdout as NonNullable<typeof client.stdout> });
  reader.on("line", (line) => {
    lines.push(JSON.parse(line));
    wake?.();
  });
  reader.on("close", () => {
    ended = true;
    wake?.();
  });
  return async (timeoutMs) => {
    const deadline = performance.now() + timeoutMs;
    while (lines.length === 0) {
      if (ended) throw new Error("stream client exited");
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new Error(`no stream client report within ${STREAM_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return lines.shift();
  };
}

/** A namespace defined by one file has that file's SHA-1 as its digest. */
function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

function formatCount(count: number): string {
  return count.toLocaleString("en-US").replaceAll(",", " ");
}
