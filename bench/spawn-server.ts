import { type ChildProcessByStdio, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";

/** One JSON log line of the server: `M` is the message. */
export interface ServerLogLine {
  readonly M?: string;
  readonly [field: string]: unknown;
}

export interface SpawnedServer {
  readonly httpUrl: string;
  /** The gRPC listener (HTTP/2 only), e.g. `http://127.0.0.1:40123`. */
  readonly grpcUrl: string;
  readonly pid: number;
  /** Every log line so far, parsed (lines that are not JSON are left out). */
  readonly log: readonly ServerLogLine[];
  /** Every stdout line so far that is not JSON (what `node --trace-gc` prints, for one). */
  readonly output: readonly string[];
  /** From the `spawn` call to the "pennant is serving" line, in ms: process start, config, storage, listeners. */
  readonly startMs: number;
  /** Resident set size of the server process, from /proc. */
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Options for `node` itself, before the script (e.g. `--cpu-prof`, `--cpu-prof-dir=...`). */
  readonly nodeArgs?: readonly string[];
}

/** How long the server may take to log "pennant is serving" before it is killed and the spawn fails. */
const START_TIMEOUT_MS = 60_000;

/**
 * Runs the built server (`dist/`, as `npm start` does) in its own process, configured by FLIPT_* variables, and
 * resolves once it serves. Measuring a separate process keeps the benchmark's own memory and CPU out of it.
 */
export async function spawnServer(
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<SpawnedServer> {
  const started = performance.now();
  const args = [...(options.nodeArgs ?? []), "dist/cli/main.js"];
  const child: ChildProcessByStdio<null, Readable, null> = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: "/nonexistent",
      FLIPT_LOG_ENCODING: "json",
      FLIPT_SERVER_HOST: "127.0.0.1",
      FLIPT_SERVER_HTTP_PORT: "0",
      FLIPT_SERVER_GRPC_PORT: "0",
      // One process, whose pid is the server's, unless a benchmark asks for workers (bench/workers-bench.ts).
      FLIPT_SERVER_WORKERS: "1",
      ...env,
    },
    // The server logs on stdout, as Flipt does.
    stdio: ["ignore", "pipe", "ignore"],
  });
  const log: ServerLogLine[] = [];
  const output: string[] = [];
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      try {
        log.push(JSON.parse(line) as ServerLogLine);
      } catch {
        output.push(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const serving = await new Promise<ServerLogLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start within ${START_TIMEOUT_MS / 1000} s: ${JSON.stringify(log)}`));
    }, START_TIMEOUT_MS);
    const check = () => {
      const line = log.find((candidate) => candidate.M === "pennant is serving");
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout.off("data", check);
      resolve(line);
    };
    child.stdout.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${JSON.stringify(log)}`));
    });
  });
  const startMs = performance.now() - started;
  return {
    httpUrl: `http://127.0.0.1:${serving.httpPort}`,
    grpcUrl: `http://127.0.0.1:${serving.grpcPort}`,
    pid: child.pid as number,
    log,
    output,
    startMs,
    async rssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      return kb / 1024;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
