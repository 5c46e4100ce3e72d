import { execFileSync } from "node:child_process";

/**
 * Where the server benchmark runs its processes: the servers measured (Pennant, the bare echo) on one CPU, the load
 * generator on another, so that the generator never shares a core, and that core's caches, with the server it
 * measures. `undefined` on a machine with one CPU, or without `taskset` (util-linux): nothing is pinned then.
 */
export interface CpuPlan {
  readonly server: number;
  readonly generator: number;
}

export function cpuPlan(): CpuPlan | undefined {
  const allowed = allowedCpus();
  if (allowed === undefined || allowed.length < 2) return undefined;
  return { server: allowed[allowed.length - 1] as number, generator: allowed[0] as number };
}

/** Pins every thread of a running process to one CPU (`taskset -a -p`); threads it starts later inherit it. */
export function pinToCpu(pid: number, cpu: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore", timeout: 5000 });
}

/** The CPUs this process may run on, from `taskset -p` (a list such as `0-3,6`); undefined without taskset. */
function allowedCpus(): number[] | undefined {
  let output: string;
  try {
    output = execFileSync("taskset", ["-c", "-p", String(process.pid)], { encoding: "utf8", timeout: 5000 });
  } catch {
    return undefined;
  }
  const list = output.slice(output.lastIndexOf(":") + 1).trim();
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const [from, to] = part.split("-").map(Number);
    if (from === undefined || !Number.isInteger(from)) return undefined;
    for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
  }
  return cpus;
}
