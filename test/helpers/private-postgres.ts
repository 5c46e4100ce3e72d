/**
 * A PostgreSQL server of a test's own, in a temporary directory, for tests that stop and start the server (the
 * shared one on 5432 serves other tests). It listens on 127.0.0.1 on a free port, with its socket in the temporary
 * directory; the `postgres` superuser connects over TCP without a password (trust), every other role with its
 * password (scram-sha-256), so a test can give Pennant a URL that carries one. initdb and postgres refuse to run as
 * root: as root, they run as the `postgres` OS user (runuser). The binaries are the newest under
 * /usr/lib/postgresql, or in `PENNANT_TEST_POSTGRES_BIN`.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

/** Which role may connect how: the superuser without a password (for the test), the rest with theirs. */
const PG_HBA = [
  "local all all trust",
  "host all postgres 127.0.0.1/32 trust",
  "host all all 127.0.0.1/32 scram-sha-256",
  "",
].join("\n");

export interface PrivatePostgres {
  readonly port: number;
  /** The superuser's URL on `database`. */
  adminUrl(database?: string): string;
  /** Runs `sql` as the superuser on `database`, and returns the rows. */
  admin(sql: string, params?: readonly unknown[], database?: string): Promise<Record<string, unknown>[]>;
  /** Stops the server (`pg_ctl stop`; `fast` rolls back and disconnects every client, `immediate` crashes). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts it again if it is stopped, on the same port and data, and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it if it runs and removes its directory, whatever state it is in. Idempotent. */
  dispose(): Promise<void>;
}

/** initdb's and postgres's directory: `PENNANT_TEST_POSTGRES_BIN`, else the newest /usr/lib/postgresql/<n>/bin. */
function postgresBin(): string {
  const configured = process.env.PENNANT_TEST_POSTGRES_BIN;
  if (configured !== undefined && configured !== "") return configured;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(`no PostgreSQL server binaries under ${root}; set PENNANT_TEST_POSTGRES_BIN`);
  }
  return join(root, newest, "bin");
}

/** Creates, configures and starts a server. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const root = await mkdtemp(join(tmpdir(), "pennant-private-pg-"));
  const asRoot = process.getuid?.() === 0;
  // As root, the server's files belong to, and its programs run as, the postgres OS user.
  const as = async (program: string, args: readonly string[]) => {
    const [command, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]]
      : [join(bin, program), [...args]];
    return run(command, argv, { timeout: 60_000 });
  };
  const data = join(root, "data");
  const port = await freePort();
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  let running = false;
  const start = async () => {
    if (running) return;
    await as("pg_ctl", [
      "start",
      "-D",
      data,
      "-l",
      join(root, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      options,
    ]);
    running = true;
  };
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    await as("pg_ctl", ["stop", "-D", data, "-m", mode, "-w", "-t", "60"]);
    running = false;
  };
  let disposed: Promise<void> | undefined;
  const dispose = () => {
    disposed ??= (async () => {
      // Also when a start failed part way: pg_ctl says so when nothing runs.
      await stop("immediate").catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    })();
    return disposed;
  };
  try {
    if (asRoot) {
      const { stdout } = await run("id", ["-u", "postgres"]);
      const { stdout: group } = await run("id", ["-g", "postgres"]);
      await chown(root, Number(stdout.trim()), Number(group.trim()));
    }
    await as("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
    await writeFile(join(data, "pg_hba.conf"), PG_HBA);
    await start();
  } catch (error) {
    await dispose();
    throw error;
  }
  const adminUrl = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    adminUrl,
    async admin(sql, params = [], database = "postgres") {
      const client = new pg.Client({ connectionString: adminUrl(database) });
      await client.connect();
      try {
        return (await client.query(sql, [...params])).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    },
    stop,
    start,
    dispose,
  };
}
