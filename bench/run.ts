import { writeFile } from "node:fs/promises";
import { cacheBench } from "./cache-bench.js";
import { consoleBench } from "./console-bench.js";
import { databaseBench } from "./database-bench.js";
import { evaluationBench } from "./evaluation-bench.js";
import { explainBench } from "./explain-bench.js";
import { objectBench } from "./object-bench.js";
import { ociBench } from "./oci-bench.js";
import { remoteBench } from "./remote-bench.js";
import type { BenchResult } from "./result.js";
import { scaleBench } from "./scale-bench.js";
import { serverBench } from "./server-bench.js";
import { snapshotBench } from "./snapshot-bench.js";
import { v1ApiBench } from "./v1-api-bench.js";
import { workersBench } from "./workers-bench.js";
import { writeBench } from "./write-bench.js";

/** Runs every benchmark, prints a table, and writes bench/results.json. Exits 1 if a target is missed. */
const only = process.argv[2];
const allSuites: Record<string, () => Promise<BenchResult[]>> = {
  "flag state (issue 3)": snapshotBench,
  "in-process evaluation": evaluationBench,
  server: () => serverBench(),
  scale: scaleBench,
  "writes (issue 5)": writeBench,
  "git remotes (issue 6)": remoteBench,
  "database (issue 17)": databaseBench,
  "cache (issue 18)": cacheBench,
  "object storage (issue 19)": objectBench,
  "OCI bundles (issue 20)": ociBench,
  "v1 API (issue 21)": v1ApiBench,
  "console (issue 22)": consoleBench,
  "explain (issue 22)": explainBench,
  "workers (issue 23)": workersBench,
};

/** `npm run bench -- writes` runs only the suites whose name contains "writes". */
const suites = Object.fromEntries(
  Object.entries(allSuites).filter(([name]) => only === undefined || name.includes(only)),
);

/** How long one suite may take before it is reported as not finished and the run goes on (the longest takes ~5). */
const SUITE_DEADLINE_MS = 15 * 60_000;

/** A suite's results, or an error once it has run past `SUITE_DEADLINE_MS` (naming what it still waits on). */
async function runSuite(suite: string, run: () => Promise<BenchResult[]>): Promise<BenchResult[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const waiting = process.getActiveResourcesInfo().join(", ");
      reject(
        new Error(
          `${suite} did not finish within ${SUITE_DEADLINE_MS / 60_000} min (waiting on: ${waiting})`,
        ),
      );
    }, SUITE_DEADLINE_MS);
  });
  try {
    return await Promise.race([run(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const results: (BenchResult & { suite: string; met: boolean | null })[] = [];
for (const [suite, run] of Object.entries(suites)) {
  const started = performance.now();
  let suiteResults: BenchResult[];
  try {
    suiteResults = await runSuite(suite, run);
  } catch (error) {
    // One suite that fails or hangs does not cost the others' figures: it is a missed row, and the run goes on.
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    suiteResults = [{ name: "suite finished", value: 0, unit: "", target: 1, lowerIsBetter: false }];
  }
  for (const result of suiteResults) {
    const met =
      result.target === undefined
        ? null
        : result.lowerIsBetter
          ? result.value <= result.target
          : result.value >= result.target;
    results.push({ ...result, suite, met });
    // Each figure as soon as it is known, so that a run cut short keeps what it measured.
    console.error(`bench: ${suite}: ${result.name}: ${result.value.toFixed(1)} ${result.unit}`);
  }
  console.error(`bench: ${suite} took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

const rows = results.map((result) => [
  result.suite,
  result.name,
  `${result.value.toFixed(1)} ${result.unit}`,
  result.target === undefined ? "-" : `${result.lowerIsBetter ? "<=" : ">="} ${result.target} ${result.unit}`,
  result.met === null ? "" : result.met ? "met" : "MISSED",
]);
const header = ["suite", "measure", "value", "target", ""];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
);
for (const row of [header, ...rows]) {
  console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  "));
}
await writeFile(
  new URL("./results.json", import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
);
// A suite left hanging past its deadline must not keep the process alive.
process.exit(results.some((result) => result.met === false) ? 1 : 0);
