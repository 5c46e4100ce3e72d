import type { EvalFlag } from "../src/domain/evaluation-model.js";
import { evaluateFlag } from "../src/engine/evaluate-flag.js";
import type { EvaluationInput } from "../src/engine/evaluation-result.js";
import { explainFlag } from "../src/engine/explain-flag.js";
import { buildSnapshot } from "../src/storage/build-snapshot.js";
import { type EngineRequest, engineRequests, engineState, fliptDocument } from "./engine-state.js";
import type { BenchResult } from "./result.js";
import { median } from "./stats.js";

const FLAGS = 400;
/** Requests per kind, cycled while measuring. */
const REQUESTS = 2000;
/** Plain and explained evaluation alternate in this many rounds of `ROUND_MS` per kind; medians are kept. */
const ROUNDS = 7;
const ROUND_MS = 500;
const WARMUP_MS = 500;
/** An explanation may cost at most this many plain evaluations of the same flag. */
const TARGET_RATIO = 20;

const KINDS = {
  boolean: "boolean flags",
  variant: "variant flags (3 rules x 3 constraints)",
} as const;
type Kind = keyof typeof KINDS;

type Call = readonly [flag: EvalFlag, input: EvaluationInput];

/**
 * Issue 22, "Explain": the engine's explanation (`explainFlag`: the evaluation with a recorder, plus the trace and
 * its summary) against the plain evaluation (`evaluateFlag`) of the same flags and requests, in one process. The
 * state and requests are the in-process evaluation suite's (engine-state.ts: boolean flags with a segment and a
 * threshold rollout, variant flags with three rules over segments of three constraints), built by the real
 * snapshot build; flags are looked up once, so both sides time the engine alone. Each side must give the same
 * results before anything is timed. Rounds alternate plain and explained, after a warm-up of each; medians of
 * nanoseconds per evaluation, and their ratio, whose target is a ceiling.
 */
export async function explainBench(): Promise<BenchResult[]> {
  const state = engineState(FLAGS);
  const build = buildSnapshot(
    {
      revision: "bench",
      files: [{ path: "features.yaml", bytes: new TextEncoder().encode(fliptDocument(state)) }],
    },
    new Date(),
  );
  if (!build.ok) throw build.error;
  const flags = build.snapshot.namespaces.get("default")?.evaluation;
  if (flags === undefined) throw new Error("the bench state has no default namespace");
  const calls = (requests: readonly EngineRequest[]): Call[] =>
    requests.map((request) => {
      const flag = flags.get(request.flagKey);
      if (flag === undefined) throw new Error(`no flag ${request.flagKey}`);
      return [flag, request];
    });
  const workloads: Record<Kind, readonly Call[]> = {
    boolean: calls(engineRequests(state, "boolean", REQUESTS, 12345)),
    variant: calls(engineRequests(state, "variant", REQUESTS, 54321)),
  };
  for (const [flag, input] of [...workloads.boolean, ...workloads.variant]) {
    const plain = JSON.stringify(evaluateFlag(flag, input));
    const explained = explainFlag(flag, input);
    if (JSON.stringify(explained.result) !== plain || explained.trace.steps.length === 0) {
      throw new Error(`explain disagrees with evaluation on ${flag.key} for ${JSON.stringify(input)}`);
    }
  }

  const samples = new Map<string, number[]>();
  for (let round = -1; round < ROUNDS; round++) {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      // Alternate which side goes first, so that neither always runs right after the other's garbage.
      const sides = round % 2 === 0 ? (["plain", "explain"] as const) : (["explain", "plain"] as const);
      for (const side of sides) {
        const ns = TIMERS[side](workloads[kind], round < 0 ? WARMUP_MS : ROUND_MS);
        if (round < 0) continue;
        const key = `${side} ${kind}`;
        samples.set(key, [...(samples.get(key) ?? []), ns]);
      }
    }
  }
  if (sink === undefined) throw new Error("no result");
  const ns = (side: "plain" | "explain", kind: Kind) => median(samples.get(`${side} ${kind}`) ?? []);
  return (Object.keys(KINDS) as Kind[]).flatMap((kind): BenchResult[] => [
    {
      name: `plain evaluation, ${KINDS[kind]}`,
      value: ns("plain", kind),
      unit: "ns/eval",
      lowerIsBetter: true,
    },
    { name: `explain, ${KINDS[kind]}`, value: ns("explain", kind), unit: "ns/eval", lowerIsBetter: true },
    {
      name: `explain / plain evaluation, ${KINDS[kind]}`,
      value: ns("explain", kind) / ns("plain", kind),
      unit: "x",
      target: TARGET_RATIO,
      lowerIsBetter: true,
    },
  ]);
}

/** Keeps results reachable, so that the optimizer cannot drop the calls. */
let sink: unknown;

/**
 * Nanoseconds per call of `evaluateFlag` (or `explainFlag`) over `calls`, cycled for at least `durationMs`. Two
 * loops, not one taking the function, so that each call site sees one function and is optimized as in the server.
 */
const TIMERS = {
  plain(calls: readonly Call[], durationMs: number): number {
    let count = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < durationMs) {
      for (const [flag, input] of calls) sink = evaluateFlag(flag, input);
      count += calls.length;
      elapsed = performance.now() - started;
    }
    return (elapsed * 1e6) / count;
  },
  explain(calls: readonly Call[], durationMs: number): number {
    let count = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < durationMs) {
      for (const [flag, input] of calls) sink = explainFlag(flag, input);
      count += calls.length;
      elapsed = performance.now() - started;
    }
    return (elapsed * 1e6) / count;
  },
};
