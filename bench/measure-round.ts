import type { LoadResult, LoadTarget } from "./load-generator.js";
import { cpuSeconds, type LoadGeneratorProcess } from "./start-load-generator.js";

export interface Round extends LoadResult {
  /** Server CPU time per successful request over the measured window, in µs. */
  readonly serverCpuMicros: number;
}

/**
 * One closed-loop run at saturation (`concurrency` requests in flight), with the server's CPU time sampled over the
 * measured window. Throws if a request failed.
 */
export async function measureRound(
  generator: LoadGeneratorProcess,
  pid: number,
  target: LoadTarget,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
): Promise<Round> {
  let start: number | undefined;
  let end: number | undefined;
  const timers = [
    setTimeout(() => {
      start = cpuSeconds(pid);
    }, warmupMs),
    setTimeout(() => {
      end = cpuSeconds(pid);
    }, warmupMs + durationMs),
  ];
  try {
    const result = await generator.run({
      target,
      mode: { kind: "closed", concurrency },
      warmupMs,
      durationMs,
    });
    if (result.errors > 0) throw new Error(`${result.errors} requests failed: ${result.firstError}`);
    end ??= cpuSeconds(pid);
    const cpu = end - (start ?? end);
    return { ...result, serverCpuMicros: result.completed > 0 ? (cpu / result.completed) * 1e6 : 0 };
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}
