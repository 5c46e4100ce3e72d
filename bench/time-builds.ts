import { pino } from "pino";
import { buildSnapshot } from "../src/storage/build-snapshot.js";
import { createGitRunner } from "../src/storage/git/run-git.js";
import { LocalSource } from "../src/storage/local/local-source.js";

/**
 * Reads a directory of features files once, as local storage does, then times `runs` cold snapshot builds of it
 * (parse, validate, merge, compile: no parse cache), in ms, in order. The first is the JIT's warm-up.
 */
export async function timeBuilds(directory: string, runs: number): Promise<number[]> {
  const source = await LocalSource.open({
    path: directory,
    branch: "main",
    git: createGitRunner(process.env),
    signature: { name: "bench", email: "bench@example.com" },
    rescanIntervalMs: 60_000,
    logger: pino({ level: "silent" }),
  });
  try {
    const state = await source.read("");
    const builds: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const build = buildSnapshot(state, new Date());
      builds.push(performance.now() - started);
      if (!build.ok) throw build.error;
    }
    return builds;
  } finally {
    await source.close();
  }
}
