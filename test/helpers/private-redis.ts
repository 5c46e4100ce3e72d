/**
 * A Redis server of a test's own, which it may stop, kill, freeze and restart, with a password or TLS: every test
 * that needs Redis starts one (none relies on a server already running). It runs `redis-server` (from PATH, or
 * `PENNANT_TEST_REDIS_SERVER`) on a free 127.0.0.1 port with no persistence and its files in a temporary
 * directory; with `tls`, it listens with TLS only, on a one-day self-signed certificate that is its own CA, and does
 * not ask clients for certificates. The port stays the same across restarts, so a client can reconnect.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";
import { createSelfSignedCert } from "./self-signed-cert.js";
import { waitForReadyOutput } from "./wait-for-ready-output.js";

export interface PrivateRedisOptions {
  /** `--requirepass`: clients must authenticate with this password (as the `default` user). */
  readonly password?: string;
  /** Listen with TLS only (`--tls-port`, `--port 0`). */
  readonly tls?: boolean;
  /** Start the server now (default); false leaves the port closed until `start()`. */
  readonly started?: boolean;
}

export interface PrivateRedis {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** With `tls`: the PEM of the server's certificate, which is its own CA. */
  readonly caPem: string | undefined;
  /** Whether the server runs. */
  readonly running: boolean;
  /** Runs one command with a client of its own (authenticated, over TLS where needed), and returns the reply. */
  command(name: string, ...args: (string | number)[]): Promise<unknown>;
  /** Stops the server: SIGTERM shuts it down cleanly, SIGKILL kills it at once. Resolves once it has exited. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /**
   * Freezes the running server (SIGSTOP): connections stay open and commands get no reply, as behind a network
   * partition, until `thaw`.
   */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
  /** Starts it if it is stopped, on the same port, and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it if it runs and removes its directory. Idempotent. */
  dispose(): Promise<void>;
}

/** How long a start may take before the test fails. */
const START_TIMEOUT_MS = 10_000;

/** Creates a server, started unless `started: false`. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const binary = process.env.PENNANT_TEST_REDIS_SERVER ?? "redis-server";
  const root = await mkdtemp(join(tmpdir(), "pennant-private-redis-"));
  const port = await freePort();
  let caPem: string | undefined;
  const args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", root];
  args.push("--loglevel", "notice", "--logfile", "", "--daemonize", "no");
  if (options.password !== undefined) args.push("--requirepass", options.password);
  if (options.tls === true) {
    const { certPath, keyPath } = await createSelfSignedCert(root);
    caPem = await readFile(certPath, "utf8");
    args.push("--port", "0", "--tls-port", String(port));
    args.push("--tls-cert-file", certPath, "--tls-key-file", keyPath, "--tls-ca-cert-file", certPath);
    args.push("--tls-auth-clients", "no");
  } else {
    args.push("--port", String(port));
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child !== undefined) return;
    const process_ = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = process_;
    exited = new Promise((resolve) => process_.once("exit", () => resolve()));
    void exited.then(() => {
      if (child === process_) child = undefined;
    });
    await waitForReadyOutput(
      process_,
      "redis-server",
      (output) => (output.includes("Ready to accept connections") ? true : undefined),
      START_TIMEOUT_MS,
    );
  };

  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    const running = child;
    if (running === undefined) return;
    if (signal === "SIGTERM") running.kill("SIGCONT"); // a frozen server would not act on it
    running.kill(signal);
    await exited;
  };

  let disposed: Promise<void> | undefined;
  const dispose = () => {
    disposed ??= (async () => {
      await stop("SIGKILL");
      await rm(root, { recursive: true, force: true });
    })();
    return disposed;
  };

  try {
    if (options.started !== false) await start();
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    host: "127.0.0.1",
    port,
    caPem,
    get running() {
      return child !== undefined;
    },
    async command(name, ...commandArgs) {
      const client = new Redis({
        host: "127.0.0.1",
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(caPem === undefined ? {} : { tls: { ca: [caPem] } }),
      });
      client.on("error", () => undefined);
      try {
        await client.connect();
        return await client.call(name, ...commandArgs);
      } finally {
        client.disconnect();
      }
    },
    stop,
    freeze() {
      if (child === undefined) throw new Error("redis-server is not running");
      child.kill("SIGSTOP");
    },
    thaw() {
      child?.kill("SIGCONT");
    },
    start,
    dispose,
  };
}
