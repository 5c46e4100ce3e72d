import { type ChildProcessByStdio, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { LoadJob, LoadResult } from "./load-generator.js";

/** The load generator (`bench/load-generator.ts`) in its own process, one job at a time over JSON lines. */
export interface LoadGeneratorProcess {
  readonly pid: number;
  /** Runs one job; throws if the generator reports an error. */
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

/** Starts the load generator (`bench/load-generator.ts`) in its own process. */
export function startLoadGenerator(): LoadGeneratorProcess {
  const script = fileURLToPath(new URL("./load-generator.ts", import.meta.url));
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(
    process.execPath,
    ["--import", "tsx", script],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    pid: child.pid as number,
    async run(job) {
      const line = await new Promise<string>((resolve, reject) => {
        waiting.push(resolve);
        child.stdin.write(`${JSON.stringify(job)}\n`);
        void exited.then(() => reject(new Error("the load generator exited")));
      });
      const answer = JSON.parse(line) as LoadResult | { error: string };
      if ("error" in answer) throw new Error(`load generator: ${answer.error}`);
      return answer;
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

/** User plus system CPU seconds of a process so far (`bench/proc-cpu.ts`). */
export { cpuSeconds } from "./proc-cpu.js";
