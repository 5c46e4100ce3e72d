import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FliptClient } from "@flipt-io/flipt-client-js";
import { createEvaluator, type EvaluationResponse, type Evaluator } from "../src/index.js";
import { checkFlagdAgreement, createFlagdCore, type FlagdContext, flagdContext } from "./engine-flagd.js";
import {
  type EngineBatch,
  type EngineRequest,
  engineBatches,
  engineRequests,
  engineState,
  fliptDocument,
} from "./engine-state.js";
import type { BenchResult } from "./result.js";
import { spawnServer } from "./spawn-server.js";
import { median } from "./stats.js";

const FLAGS = 400;
/** Requests per single-flag kind, cycled while measuring. */
const REQUESTS = 2000;
const BATCH_SIZE = 50;
const BATCHES = 200;
/**
 * Each engine and kind is measured in this many rounds of `ROUND_MS`, alternating, and the median is kept. A round's
 * rate is calls per second of this process's CPU time (user + system), not of the wall clock: on a shared machine
 * another process taking the core stretches the wall time of a round, not the CPU time it took.
 */
const ROUNDS = 5;
const ROUND_MS = 600;
const WARMUP_MS = 300;
/** Pennant's in-process evaluator must be at least this many times faster than Flipt's official engine... */
const TARGET_OVER_FLIPT_CLIENT = 50;
/** ...and than flagd's in-process engine, for every kind (issue 23). */
const TARGET_OVER_FLAGD = 3;

const KINDS = {
  boolean: { label: "boolean flags", unit: "evals/s" },
  variant: { label: "variant flags (3 rules x 3 constraints)", unit: "evals/s" },
  batch: { label: `batches of ${BATCH_SIZE} flags`, unit: "batches/s" },
} as const;
type Kind = keyof typeof KINDS;

const ENGINES = {
  pennant: "Pennant evaluator",
  official: "flipt-client-js (WASM)",
  flagd: "flagd-core (JsonLogic)",
} as const;
type Engine = keyof typeof ENGINES;

/** One engine's work for one kind: calls per second over inputs built before measuring. */
type Workload = (durationMs: number) => number;

/**
 * In-process evaluation throughput on one fixed state of 400 flags (engine-state.ts: boolean flags with a segment
 * and a threshold rollout, variant flags with three rules over segments of three constraints), for three kinds of
 * call: a boolean flag, a variant flag, and a batch of 50 flags for one entity. Three engines, same requests, same
 * process, alternating rounds:
 *
 * - Pennant's evaluator, `createEvaluator({ documents })`: its fastest call for each answer, as for the other two
 *   engines: `resolveBoolean` and `resolveVariant` (the answer without Flipt's envelope of request id, duration and
 *   timestamp, as flagd-core's resolve calls answer), and `batch` (whose envelope is one per batch). The single
 *   calls with the envelope (`boolean`, `variant`) are measured too, and compared with flipt-client-js, whose
 *   calls answer one, without a target;
 * - Flipt's official client engine, @flipt-io/flipt-client-js (Rust compiled to WASM), fed the same state from a
 *   Pennant server's client snapshot endpoint; it must agree with Pennant on every answer;
 * - flagd's in-process engine, @openfeature/flagd-core, on the same rules written as flagd flags with JsonLogic
 *   targeting (engine-flagd.ts); it must agree with Pennant wherever bucketing does not decide. It has no batch
 *   call for a list of flags (`resolveAll` evaluates every flag of the set), so a batch is its typed resolve
 *   call for each of the 50 flags in turn, collected in an array.
 */
export async function evaluationBench(): Promise<BenchResult[]> {
  const state = engineState(FLAGS);
  const text = fliptDocument(state);
  const pennant = await createEvaluator({ documents: { "features.yaml": text } });
  const official = await officialClient(text);
  const flagd = createFlagdCore(state);
  try {
    const booleans = engineRequests(state, "boolean", REQUESTS, 12345);
    const variants = engineRequests(state, "variant", REQUESTS, 54321);
    const batches = engineBatches(state, BATCH_SIZE, BATCHES, 777);
    const batchItems = batches.flatMap((batch) => batch.requests);
    const isBoolean = new Set(state.flags.filter((flag) => flag.kind === "boolean").map((flag) => flag.key));
    checkOfficialAgreement(pennant, official, booleans, variants, batches);
    checkFlagdAgreement(
      state,
      pennant,
      flagd,
      [...booleans, ...batchItems.filter((request) => isBoolean.has(request.flagKey))],
      [...variants, ...batchItems.filter((request) => !isBoolean.has(request.flagKey))],
    );

    const single = (request: EngineRequest) => ({ flagKey: request.flagKey, context: flagdContext(request) });
    const flagdBatch = (batch: EngineBatch) => ({
      context: flagdContext(batch.requests[0] as EngineRequest),
      flags: batch.requests.map((request) => ({
        flagKey: request.flagKey,
        boolean: isBoolean.has(request.flagKey),
      })),
    });
    const evaluateFlagdBatch = ({ context, flags }: ReturnType<typeof flagdBatch>) =>
      flags.map(({ flagKey, boolean }) =>
        boolean
          ? flagd.resolveBooleanEvaluation(flagKey, false, context)
          : flagd.resolveStringEvaluation(flagKey, "", context),
      );
    const workloads: Record<Engine, Record<Kind, Workload>> = {
      pennant: {
        boolean: workload((request: EngineRequest) => pennant.resolveBoolean(request), booleans),
        variant: workload((request: EngineRequest) => pennant.resolveVariant(request), variants),
        batch: workload((batch: EngineBatch) => pennant.batch(batch.requests), batches),
      },
      official: {
        boolean: workload((request: EngineRequest) => official.evaluateBoolean(request), booleans),
        variant: workload((request: EngineRequest) => official.evaluateVariant(request), variants),
        batch: workload(
          (requests: EngineRequest[]) => official.evaluateBatch(requests),
          batches.map((batch) => [...batch.requests]),
        ),
      },
      flagd: {
        boolean: workload(
          (input: { flagKey: string; context: FlagdContext }) =>
            flagd.resolveBooleanEvaluation(input.flagKey, false, input.context),
          booleans.map(single),
        ),
        variant: workload(
          (input: { flagKey: string; context: FlagdContext }) =>
            flagd.resolveStringEvaluation(input.flagKey, "", input.context),
          variants.map(single),
        ),
        batch: workload(evaluateFlagdBatch, batches.map(flagdBatch)),
      },
    };
    const sameBatch = evaluateFlagdBatch(flagdBatch(batches[0] as EngineBatch));
    if (sameBatch.length !== BATCH_SIZE || sameBatch.some((result) => result.reason === "ERROR")) {
      throw new Error(`flagd-core batch failed: ${JSON.stringify(sameBatch)}`);
    }

    // Pennant's single calls with Flipt's envelope (request id, duration, timestamp: two clock reads), for reference
    // beside the calls without it, which are compared with the other engines (see `evaluationBench`).
    const envelopes = {
      boolean: workload((request: EngineRequest) => pennant.boolean(request), booleans),
      variant: workload((request: EngineRequest) => pennant.variant(request), variants),
    };
    const rates = new Map<string, number[]>();
    const record = (key: string, rate: number) => rates.set(key, [...(rates.get(key) ?? []), rate]);
    for (let round = -1; round < ROUNDS; round++) {
      const durationMs = round < 0 ? WARMUP_MS : ROUND_MS;
      for (const kind of Object.keys(KINDS) as Kind[]) {
        for (const engine of Object.keys(ENGINES) as Engine[]) {
          const rate = workloads[engine][kind](durationMs);
          if (round >= 0) record(`${engine} ${kind}`, rate);
        }
      }
      for (const [kind, measure] of Object.entries(envelopes)) {
        const rate = measure(durationMs);
        if (round >= 0) record(`envelope ${kind}`, rate);
      }
    }
    const rate = (engine: Engine, kind: Kind) => median(rates.get(`${engine} ${kind}`) ?? []);
    const results: BenchResult[] = [];
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const { label, unit } = KINDS[kind];
      for (const engine of Object.keys(ENGINES) as Engine[]) {
        results.push({
          name: `${ENGINES[engine]}, ${label}`,
          value: rate(engine, kind),
          unit,
          lowerIsBetter: false,
        });
      }
      const ours = rate("pennant", kind);
      results.push(
        {
          name: `speed-up over flipt-client-js, ${label}`,
          value: ours / rate("official", kind),
          unit: "x",
          target: TARGET_OVER_FLIPT_CLIENT,
          lowerIsBetter: false,
        },
        {
          name: `speed-up over flagd-core, ${label}`,
          value: ours / rate("flagd", kind),
          unit: "x",
          target: TARGET_OVER_FLAGD,
          lowerIsBetter: false,
        },
      );
    }
    for (const kind of Object.keys(envelopes) as (keyof typeof envelopes)[]) {
      const { label, unit } = KINDS[kind];
      const rate = median(rates.get(`envelope ${kind}`) ?? []);
      results.push(
        {
          name: `${ENGINES.pennant} with Flipt's envelope, ${label}`,
          value: rate,
          unit,
          lowerIsBetter: false,
        },
        {
          name: `speed-up over flipt-client-js with Flipt's envelope (both answer it), ${label}`,
          value: rate / median(rates.get(`official ${kind}`) ?? []),
          unit: "x",
          lowerIsBetter: false,
        },
      );
    }
    return results;
  } finally {
    official.close();
    await pennant.close();
  }
}

/** `run` over `inputs`, cycled for at least the given wall time, in calls per second of the process's CPU time. */
function workload<T>(run: (input: T) => unknown, inputs: readonly T[]): Workload {
  return (durationMs) => {
    let count = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    while (performance.now() - started < durationMs) {
      for (const input of inputs) run(input);
      count += inputs.length;
    }
    const used = process.cpuUsage(cpu);
    return (count / (used.user + used.system)) * 1_000_000;
  };
}

/** Flipt's client engine holding the state, read once from a Pennant server that is then stopped. */
async function officialClient(text: string): Promise<FliptClient> {
  const root = await mkdtemp(join(tmpdir(), "pennant-bench-eval-"));
  try {
    await writeFile(join(root, "features.yaml"), text);
    const server = await spawnServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: root,
    });
    try {
      return await FliptClient.init({ url: server.httpUrl, namespace: "default", updateInterval: 0 });
    } finally {
      await server.stop();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Pennant and Flipt's own engine run the same rules with the same bucketing: every answer must be the same. */
function checkOfficialAgreement(
  pennant: Evaluator,
  official: FliptClient,
  booleans: readonly EngineRequest[],
  variants: readonly EngineRequest[],
  batches: readonly EngineBatch[],
): void {
  const disagree = (what: unknown) =>
    new Error(`Pennant and flipt-client-js disagree on ${JSON.stringify(what)}`);
  for (const request of booleans) {
    const theirs = official.evaluateBoolean(request);
    for (const ours of [pennant.resolveBoolean(request), pennant.boolean(request)]) {
      if (ours.enabled !== theirs.enabled || ours.reason !== theirs.reason) throw disagree(request);
    }
  }
  for (const request of variants) {
    const theirs = official.evaluateVariant(request);
    for (const ours of [pennant.resolveVariant(request), pennant.variant(request)]) {
      if (ours.variantKey !== theirs.variantKey || ours.reason !== theirs.reason) throw disagree(request);
    }
  }
  for (const batch of batches) {
    const ours = pennant.batch(batch.requests).responses;
    const theirs = official.evaluateBatch([...batch.requests]).responses;
    const same = ours.every((item, index) => {
      const other = theirs[index];
      return other !== undefined && other.type === item.type && answer(item) === officialAnswer(other);
    });
    if (ours.length !== batch.requests.length || theirs.length !== ours.length || !same)
      throw disagree(batch);
  }
}

function answer(item: EvaluationResponse): string {
  if (item.type === "BOOLEAN_EVALUATION_RESPONSE_TYPE") {
    return `${item.booleanResponse.enabled} ${item.booleanResponse.reason}`;
  }
  if (item.type === "VARIANT_EVALUATION_RESPONSE_TYPE") {
    return `${item.variantResponse.variantKey} ${item.variantResponse.reason}`;
  }
  return `error ${item.errorResponse.reason}`;
}

function officialAnswer(item: ReturnType<FliptClient["evaluateBatch"]>["responses"][number]): string {
  if (item.booleanEvaluationResponse !== undefined) {
    return `${item.booleanEvaluationResponse.enabled} ${item.booleanEvaluationResponse.reason}`;
  }
  if (item.variantEvaluationResponse !== undefined) {
    return `${item.variantEvaluationResponse.variantKey} ${item.variantEvaluationResponse.reason}`;
  }
  return `error ${item.errorEvaluationResponse?.reason}`;
}
