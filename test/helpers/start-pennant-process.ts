import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { type MemoryWatchdog, watchMemory } from "./memory-watchdog.js";

/** How a `pennant` process ended: its exit code, or the signal that ended it. */
export interface PennantExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A `pennant server` running as a child process, from source, as `npm run dev` runs it. */
export interface PennantProcess {
  readonly pid: number;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** e.g. http://127.0.0.1:40123 */
  readonly httpUrl: string;
  /** e.g. http://127.0.0.1:40124 */
  readonly grpcUrl: string;
  /** Resolves once the process has exited and its output is all read: its exit code, or the signal that ended it. */
  readonly exited: Promise<PennantExit>;
  /** Everything the process wrote so far (its JSON log lines on stdout, as Flipt writes them, and stderr). */
  output(): string;
  /** What the process wrote to stdout so far. */
  stdout(): string;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /**
   * Resolves with the first stdout line that is a JSON object `match` accepts (one already written included);
   * rejects when the process exits without one, or after `deadlineMs`.
   */
  logLine(
    match: (line: Record<string, unknown>) => boolean,
    deadlineMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a signal to the server process alone. */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends SIGKILL to the server's whole process group, so the git commands it runs die with it, as when a
   * container or machine goes away. Resolves once the server process is gone.
   */
  killHard(): Promise<void>;
  /** With `memoryLimitBytes`: the watchdog that kills the server when its resident memory passes the limit. */
  readonly memory: MemoryWatchdog | undefined;
}

/** What `runPennant` saw of a process that ran to its end. */
export interface PennantRun extends PennantExit {
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartPennantOptions {
  /** How long it may take to say it is serving; 30 s unless given. */
  readonly deadlineMs?: number;
  /** Kills the server when its resident memory passes this (see `watchMemory`). */
  readonly memoryLimitBytes?: number;
  /** The command line after `main.ts`; `["server"]` unless given (say `["server", "--config", path]`). */
  readonly args?: readonly string[];
  /**
   * With false, none of the FLIPT_* defaults (address 127.0.0.1, ports 0, JSON logs at info) is set: only `env`
   * (and a config file in `args`) configures the server, for a test of what a config file does to them.
   */
  readonly serverDefaults?: boolean;
}

/** Absolute, with tsx resolved from here, so that a command can run in any working directory. */
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

/**
 * What `startPennantProcess` sets unless `serverDefaults` is false: loopback, ports 0, JSON logs at info, and one
 * process (`server.workers: 1`; test/integration/workers.test.ts covers several).
 */
const SERVER_DEFAULTS: Readonly<Record<string, string>> = {
  FLIPT_SERVER_WORKERS: "1",
  FLIPT_SERVER_HOST: "127.0.0.1",
  FLIPT_SERVER_HTTP_PORT: "0",
  FLIPT_SERVER_GRPC_PORT: "0",
  FLIPT_LOG_ENCODING: "json",
  FLIPT_LOG_LEVEL: "info",
};

/**
 * The environment of a `pennant` child: this process's without its FLIPT_* variables and without a user config
 * directory (HOME and XDG_CONFIG_HOME point nowhere), then `env`. So only what a test gives configures it.
 */
function pennantEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("FLIPT_")));
  return { ...clean, HOME: "/nonexistent", XDG_CONFIG_HOME: "/nonexistent", ...env };
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Spawns `node --import tsx src/cli/main.ts <args>` with `pennantEnv(env)`. */
function spawnPennant(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  detached: boolean,
  cwd?: string,
): Child {
  return spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    cwd,
    env: pennantEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
}

/** Resolves once `child` has exited and both its streams are closed, so its output is all read. */
function closed(child: Child): Promise<PennantExit> {
  return new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
}

/**
 * Runs `pennant <args>` from source with `pennantEnv(env)` until it exits, and resolves with its exit and both
 * streams, apart. A process still running after `deadlineMs` (60 s unless given) is killed (SIGKILL). `cwd` is
 * its working directory (this process's unless given), for the commands that work on it (`bundle build`).
 */
export async function runPennant(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  { deadlineMs = 60_000, cwd }: { deadlineMs?: number; cwd?: string } = {},
): Promise<PennantRun> {
  const child = spawnPennant(args, env, false, cwd);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), deadlineMs);
  const exit = await closed(child);
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/** The JSON objects among `text`'s lines. */
function jsonLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut short, or not JSON after all
    }
  }
  return lines;
}

/**
 * Spawns `node --import tsx src/cli/main.ts server` (or `args`) in its own process group, configured only through
 * the given FLIPT_* variables (over 127.0.0.1, ports 0, JSON logs at info, unless `serverDefaults` is false), and
 * resolves once it logs that it is serving. With `memoryLimitBytes`, a watchdog kills the server if its resident
 * memory passes that (see `watchMemory`).
 */
export async function startPennantProcess(
  env: Readonly<Record<string, string>>,
  {
    deadlineMs = 30_000,
    memoryLimitBytes,
    args = ["server"],
    serverDefaults = true,
  }: StartPennantOptions = {},
): Promise<PennantProcess> {
  const child = spawnPennant(args, serverDefaults ? { ...SERVER_DEFAULTS, ...env } : env, true);
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn pennant");
  const memory = memoryLimitBytes === undefined ? undefined : watchMemory(pid, memoryLimitBytes);
  let output = "";
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = closed(child);
  let gone = false;
  child.once("close", () => {
    gone = true;
  });

  const logLine = (
    match: (line: Record<string, unknown>) => boolean,
    lineDeadlineMs = 20_000,
  ): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const look = () => {
        const found = jsonLines(stdout).find(match);
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const onExit = () => {
        if (look()) return;
        cleanup();
        reject(new Error(`pennant exited before the line:\n${stdout}\n${stderr}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no such line after ${lineDeadlineMs} ms:\n${stdout}\n${stderr}`));
      }, lineDeadlineMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout.off("data", look);
        child.off("close", onExit);
      };
      if (look()) return;
      if (gone) return onExit();
      child.stdout.on("data", look);
      child.once("close", onExit);
    });

  const serving = await logLine(
    (line) => Object.values(line).includes("pennant is serving"),
    deadlineMs,
  ).catch(async () => {
    if (!gone) {
      killGroup(pid);
      throw new Error(`pennant not serving after ${deadlineMs} ms: ${output}`);
    }
    const { code, signal } = await exited;
    throw new Error(`pennant exited (${code ?? signal}) before serving: ${output}`);
  });
  const ports = { httpPort: Number(serving.httpPort), grpcPort: Number(serving.grpcPort) };
  return {
    pid,
    ...ports,
    httpUrl: `http://127.0.0.1:${ports.httpPort}`,
    grpcUrl: `http://127.0.0.1:${ports.grpcPort}`,
    exited,
    memory,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    logLine,
    signal: (signal) => child.kill(signal),
    async killHard() {
      killGroup(pid);
      await exited;
    },
  };
}

/** SIGKILL to the process group `pid` leads; nothing when it is gone already. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
