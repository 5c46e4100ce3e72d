import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { timeBuilds } from "./time-builds.js";

const run = promisify(execFile);

/**
 * `timeBuilds` in a process of its own, as a server builds its first snapshot: the builds are not slowed by what the
 * benchmark's own process holds or left for the collector (in the scale suite, three evaluators of up to 100 000
 * flags). Resolves with the build times in ms, in order.
 */
export async function timeBuildsApart(directory: string, runs: number): Promise<number[]> {
  const script = fileURLToPath(import.meta.url);
  const { stdout } = await run(process.execPath, ["--import", "tsx", script, directory, String(runs)], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as number[];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [directory, runs] = process.argv.slice(2);
  process.stdout.write(`${JSON.stringify(await timeBuilds(directory as string, Number(runs)))}\n`);
}
