import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshRequest } from "../test/helpers/fresh-request.js";
import { generateNamespaceFile } from "./generate-state.js";
import type { LoadResult } from "./load-generator.js";
import type { BenchResult } from "./result.js";
import { type SpawnedServer, spawnServer } from "./spawn-server.js";
import { startLoadGenerator } from "./start-load-generator.js";
import { median, percentile } from "./stats.js";

const WRITES = 60;
const EDITS = 10;
const ROUND_MS = 3_000;
const CONCURRENCY = 64;

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd });
}

async function workerPids(server: SpawnedServer): Promise<number[]> {
  const status = JSON.parse((await freshRequest(server.httpUrl, "GET", "/meta/status")).body) as {
    workers: { pid: number }[];
  };
  return status.workers.map((worker) => worker.pid);
}

/** Create-flag latencies over `WRITES` sequential writes, each on a fresh connection. */
async function writeLatencies(server: SpawnedServer, prefix: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let index = 0; index < WRITES; index++) {
    const key = `${prefix}-${index}`;
    const body = JSON.stringify({
      key,
      payload: { "@type": "flipt.core.Flag", key, name: key, type: "BOOLEAN_FLAG_TYPE", enabled: true },
    });
    const started = performance.now();
    const answer = await freshRequest(
      server.httpUrl,
      "POST",
      "/api/v2/environments/default/namespaces/default/resources",
      body,
    );
    if (answer.status !== 200) throw new Error(`write ${key}: ${answer.status} ${answer.body}`);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/**
 * Commits a new flag on disk and times until `readers` fresh connections in a row find it (with workers: spread
 * over every worker by cluster's round-robin), polling every millisecond.
 */
async function editLatencies(server: SpawnedServer, root: string, readers: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let edit = 0; edit < EDITS; edit++) {
    const key = `edit-${edit}`;
    await writeFile(
      join(root, "edits", "features.yaml"),
      `namespace: edits\nflags:\n  - key: ${key}\n    name: ${key}\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n`,
    );
    const started = performance.now();
    git(root, "add", "--all");
    git(root, "commit", "--quiet", "--message", key);
    const body = JSON.stringify({ flagKey: key, namespaceKey: "edits", entityId: "e" });
    for (let found = 0; found < readers; ) {
      const answer = await freshRequest(server.httpUrl, "POST", "/evaluate/v1/boolean", body);
      found = answer.status === 200 ? found + 1 : 0;
      if (performance.now() - started > 10_000) throw new Error(`${key} not served within 10 s`);
    }
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function saturate(server: SpawnedServer, pids: number[]): Promise<LoadResult> {
  const generator = startLoadGenerator();
  try {
    const body = Buffer.from(
      JSON.stringify({ flagKey: "flag-0001", entityId: "user-1", context: {} }),
    ).toString("base64");
    const result = await generator.run({
      target: {
        origin: server.httpUrl,
        transport: "h1",
        connections: CONCURRENCY,
        check: "http",
        requests: [
          {
            method: "POST",
            path: "/evaluate/v1/boolean",
            headers: { "content-type": "application/json" },
            body,
          },
        ],
      },
      mode: { kind: "closed", concurrency: CONCURRENCY },
      warmupMs: 1_000,
      durationMs: ROUND_MS,
      cpuPids: pids,
    });
    if (result.errors > 0) throw new Error(`${result.errors} evaluations failed: ${result.firstError}`);
    return result;
  } finally {
    await generator.close();
  }
}

/**
 * Issue 23 item 1 (`server.workers`): the same built server with one process and with two workers (this machine
 * has two cores), on local git storage: REST evaluation throughput at saturation and the CPU every process of the
 * server spends per request; create-flag latency (a write answers once every worker serves it); and an edit
 * committed on disk until every worker serves it.
 */
export async function workersBench(): Promise<BenchResult[]> {
  const figures: Record<
    string,
    { rate: number; cpuMicros: number; generatorPercent: number; write: number[]; edit: number[] }
  > = {};
  for (const workers of [1, 2]) {
    const root = await mkdtemp(join(tmpdir(), "pennant-workers-bench-"));
    try {
      await writeFile(join(root, "features.yaml"), generateNamespaceFile("default", 100));
      await mkdir(join(root, "edits"));
      git(root, "init", "--quiet", "--initial-branch", "main");
      git(root, "add", "--all");
      git(root, "commit", "--quiet", "--message", "seed");
      const server = await spawnServer({
        FLIPT_SERVER_WORKERS: String(workers),
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
        FLIPT_STORAGE_DEFAULT_BACKEND_PATH: root,
      });
      try {
        const pids = [server.pid, ...(workers > 1 ? await workerPids(server) : [])];
        const load = await saturate(server, pids);
        const ticks = load.cpu?.processTicks.reduce((sum, value) => sum + value, 0) ?? 0;
        figures[workers] = {
          rate: load.rate,
          cpuMicros: load.cpu === undefined ? 0 : (ticks * 10_000) / Math.max(1, load.cpu.answered),
          generatorPercent: load.cpuPercent,
          write: await writeLatencies(server, "write"),
          edit: await editLatencies(server, root, 2 * workers),
        };
      } finally {
        await server.stop();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  const one = figures[1] as (typeof figures)[number];
  const two = figures[2] as (typeof figures)[number];
  return [
    {
      name: `REST evaluations/s, 2 workers / 1 process (${one.rate.toFixed(0)} req/s alone)`,
      value: two.rate / one.rate,
      unit: "x",
      lowerIsBetter: false,
    },
    {
      name: `server CPU per REST evaluation, every process, 2 workers (1 process: ${one.cpuMicros.toFixed(0)} µs)`,
      value: two.cpuMicros,
      unit: "µs",
      lowerIsBetter: true,
    },
    {
      // Two cores, shared by the server and this generator: a generator near 100 % is the ceiling, not the server.
      name: `load generator's own CPU, 2 workers, % of one core (1 process: ${one.generatorPercent.toFixed(0)} %)`,
      value: two.generatorPercent,
      unit: "%",
      lowerIsBetter: true,
    },
    {
      name: `create flag, 2 workers, acknowledged once every worker serves it, p50 of ${WRITES} (1 process: ${percentile(one.write, 50).toFixed(1)} ms)`,
      value: percentile(two.write, 50),
      unit: "ms",
      lowerIsBetter: true,
    },
    {
      name: `create flag, 2 workers, p99 of ${WRITES} (1 process: ${percentile(one.write, 99).toFixed(1)} ms)`,
      value: percentile(two.write, 99),
      unit: "ms",
      lowerIsBetter: true,
    },
    {
      name: `commit on disk -> served by every worker, median of ${EDITS} (1 process: ${median(one.edit).toFixed(0)} ms)`,
      value: median(two.edit),
      unit: "ms",
      lowerIsBetter: true,
    },
  ];
}
