/**
 * Profiles the server under the server benchmark's load: runs `serverBench` (one saturation run) with the built
 * server under `node --cpu-prof`, then prints the server's self time by function and by file, per protocol.
 *
 *     npm run build && node --import tsx bench/server-profile.ts [protocol ...] [--top=N] [--last=MS] [--keep]
 *
 * Protocols are matched by name ("gRPC", "Connect", "REST", "OFREP"); each gets its own server and profile, so
 * the figures are not mixed. Idle time, GC and the profiler's own nodes are listed as such. With `--keep` the
 * `.cpuprofile` files stay in the printed directory (open them in Chrome DevTools). `--echo` also profiles each
 * protocol's echo, to compare. Only the last `--last` ms of each profile count (2 500 by default: the saturation
 * window, without start-up and warm-up).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROTOCOLS, serverBench } from "./server-bench.js";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

/**
 * Self time per function (`name file:line`) and per file, busiest first, with idle and GC kept apart, and each
 * function's inclusive time (itself and what it calls). Only samples in the last `lastMs` of the profile count when
 * given (the saturation window, without start-up and warm-up).
 */
export function summarise(
  profile: CpuProfile,
  lastMs?: number,
): { functions: SelfTime[]; files: SelfTime[]; inclusive: SelfTime[]; busyMs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const functionMs = new Map<string, number>();
  const fileMs = new Map<string, number>();
  const inclusiveMs = new Map<string, number>();
  const nameOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || "(anonymous)"} ${shortFile(url) || functionName}${url ? `:${lineNumber + 1}` : ""}`;
  };
  const from = lastMs === undefined ? -Infinity : profile.endTime - lastMs * 1000;
  let at = profile.startTime;
  let busyMs = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    const ms = delta / 1000;
    if (node === undefined || at < from) return;
    const { functionName, url } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(program)") {
      functionMs.set(functionName, (functionMs.get(functionName) ?? 0) + ms);
      return;
    }
    busyMs += ms;
    const file = shortFile(url) || functionName;
    const name = nameOf(node);
    functionMs.set(name, (functionMs.get(name) ?? 0) + ms);
    fileMs.set(file, (fileMs.get(file) ?? 0) + ms);
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const ancestor = byId.get(current);
      if (ancestor === undefined) break;
      const ancestorName = nameOf(ancestor);
      if (seen.has(ancestorName)) continue;
      seen.add(ancestorName);
      inclusiveMs.set(ancestorName, (inclusiveMs.get(ancestorName) ?? 0) + ms);
    }
  });
  const sorted = (map: Map<string, number>) =>
    [...map].map(([name, ms]) => ({ name, ms, percent: (ms / busyMs) * 100 })).sort((a, b) => b.ms - a.ms);
  return { functions: sorted(functionMs), files: sorted(fileMs), inclusive: sorted(inclusiveMs), busyMs };
}

/** `node:internal/...` stays; paths lose everything up to node_modules/ or the project's dist/. */
function shortFile(url: string): string {
  if (url === "") return "";
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("node_modules/");
  if (modules !== -1) return path.slice(modules + "node_modules/".length);
  const dist = path.lastIndexOf("/dist/");
  return dist === -1 ? path : path.slice(dist + 1);
}

async function main(args: readonly string[]): Promise<void> {
  const top = Number(args.find((arg) => arg.startsWith("--top="))?.slice("--top=".length) ?? 25);
  const keep = args.includes("--keep");
  const lastMs = Number(args.find((arg) => arg.startsWith("--last="))?.slice("--last=".length) ?? 2500);
  const names = args.filter((arg) => !arg.startsWith("--"));
  const protocols = PROTOCOLS.filter(
    (protocol) => names.length === 0 || names.some((name) => protocol.name.includes(name)),
  );
  const sides = args.includes("--echo") ? (["evaluation", "echo"] as const) : (["evaluation"] as const);
  for (const protocol of protocols) {
    for (const side of sides) await profileOne(protocol, side, top, keep, lastMs);
  }
}

async function profileOne(
  protocol: (typeof PROTOCOLS)[number],
  side: "evaluation" | "echo",
  top: number,
  keep: boolean,
  lastMs: number,
): Promise<void> {
  {
    const dir = await mkdtemp(join(tmpdir(), "pennant-server-profile-"));
    try {
      const results = await serverBench({
        only: [protocol.name],
        cpuProfileDir: dir,
        saturateOnly: side,
        log: () => {},
      });
      const files = (await readdir(dir)).filter((file) => file.endsWith(".cpuprofile"));
      if (files.length !== 1) throw new Error(`expected one profile in ${dir}, found ${files.length}`);
      const profile = JSON.parse(await readFile(join(dir, files[0] as string), "utf8")) as CpuProfile;
      const { functions, files: byFile, inclusive, busyMs } = summarise(profile, lastMs);
      const what = side === "evaluation" ? protocol.rpc : `echo ${protocol.echo}`;
      console.log(`\n== ${protocol.name} ${what}, saturated, under the profiler`);
      for (const result of results)
        console.log(`   ${result.name}: ${result.value.toFixed(1)} ${result.unit}`);
      console.log(
        `   busy ${busyMs.toFixed(0)} ms; profile ${keep ? join(dir, files[0] as string) : "deleted"}`,
      );
      console.log("-- self time by function");
      for (const entry of functions.slice(0, top)) {
        console.log(
          `${entry.ms.toFixed(0).padStart(7)} ms ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`,
        );
      }
      console.log("-- inclusive time by function (itself and what it calls)");
      for (const entry of inclusive.slice(0, top)) {
        console.log(
          `${entry.ms.toFixed(0).padStart(7)} ms ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`,
        );
      }
      console.log("-- self time by file");
      for (const entry of byFile.slice(0, top)) {
        console.log(
          `${entry.ms.toFixed(0).padStart(7)} ms ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`,
        );
      }
    } finally {
      if (!keep) await rm(dir, { recursive: true, force: true });
    }
  }
}

await main(process.argv.slice(2));
