import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchResult } from "./result.js";
import { spawnServer } from "./spawn-server.js";
import { percentile } from "./stats.js";

const WRITES = 200;
/** Writes made first, timed apart: the server's code is compiled as it first runs, and git's config read. */
const WARMUP_WRITES = 20;

/**
 * Issue 5's measure (targets from issue 23): "create flag" to acknowledged on local storage (validate, write the
 * file, commit, serve the new snapshot), as p50 and p99 over 200 sequential writes against the built server,
 * after 20 writes that warm it up (their slowest, and the first, reported apart). The first write makes the
 * namespace's file; the others change it (both committed without running git, see `commitInProcess`).
 */
export async function writeBench(): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), "pennant-write-bench-"));
  try {
    execFileSync("git", ["init", "--quiet", "--initial-branch", "main"], { cwd: root });
    const server = await spawnServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: root,
    });
    const latencies: number[] = [];
    try {
      for (let index = 0; index < WARMUP_WRITES + WRITES; index++) {
        const key = `flag-${index}`;
        const started = performance.now();
        const response = await fetch(
          `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`,
          {
            method: "POST",
            body: JSON.stringify({
              key,
              payload: {
                "@type": "flipt.core.Flag",
                key,
                name: key,
                type: "BOOLEAN_FLAG_TYPE",
                enabled: true,
              },
            }),
          },
        );
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`write ${index} failed with ${response.status}`);
        latencies.push(performance.now() - started);
      }
    } finally {
      await server.stop();
    }
    const warmup = latencies.splice(0, WARMUP_WRITES);
    return [
      {
        name: "first create flag after start (a new file, and code not yet compiled)",
        value: warmup[0] as number,
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `slowest of the ${WARMUP_WRITES} first writes`,
        value: Math.max(...warmup),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `create flag to acknowledged, p50 of the next ${WRITES}`,
        value: percentile(latencies, 50),
        unit: "ms",
        target: 15,
        lowerIsBetter: true,
      },
      {
        name: `create flag to acknowledged, p99 of the next ${WRITES}`,
        value: percentile(latencies, 99),
        unit: "ms",
        target: 40,
        lowerIsBetter: true,
      },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
