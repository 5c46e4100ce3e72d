import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/**
 * The unit of the CPU times in `/proc/<pid>/stat` and `/proc/stat` (USER_HZ), from `getconf CLK_TCK`: 100 on Linux
 * almost everywhere, so each reading is a multiple of 10 ms. Read once per process.
 */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    let value = Number.NaN;
    try {
      value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5000 }).trim());
    } catch {
      // no getconf: Linux's USER_HZ is 100 on every architecture Node runs on
    }
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/**
 * User plus system CPU time of a process so far (every thread of it: the main thread, libuv's pool, the GC's
 * helpers), in clock ticks: fields 14 (utime) and 15 (stime) of `/proc/<pid>/stat`. The process name (field 2)
 * may hold spaces and parentheses, so the fields are counted from the last `)`.
 */
export function processCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

/** User plus system CPU seconds of a process so far, from `/proc/<pid>/stat` (a multiple of one clock tick). */
export function cpuSeconds(pid: number): number {
  return processCpuTicks(pid) / clockTicksPerSecond();
}

/** Busy CPU time of the whole machine so far (every core: user, nice, system, irq, softirq, steal), in clock ticks. */
export function machineBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
}
