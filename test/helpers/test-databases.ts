/**
 * A database of its own for each test, on the servers this machine runs (PostgreSQL 127.0.0.1:5432 with trust
 * auth, MariaDB 127.0.0.1:3306 as root without a password) or in a temporary SQLite file, dropped afterwards.
 * CockroachDB does not run here: its URL scheme is exercised on PostgreSQL, which speaks the same protocol.
 * `PENNANT_TEST_POSTGRES_URL` / `PENNANT_TEST_MYSQL_URL` point at other servers (an admin URL on any database).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";

export type TestDatabaseKind = "sqlite" | "libsql" | "postgres" | "cockroachdb" | "mysql";

export interface TestDatabase {
  readonly kind: TestDatabaseKind;
  /** The `db.url` to open it with. */
  readonly url: string;
  /** The database's name (the SQLite file's path). */
  readonly name: string;
  /** Drops the database (deletes the file). Idempotent. */
  drop(): Promise<void>;
}

const POSTGRES_ADMIN = process.env.PENNANT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_ADMIN = process.env.PENNANT_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** The kinds the database tests run on: every dialect, libSQL files and CockroachDB's scheme included. */
export const TEST_DATABASE_KINDS: readonly TestDatabaseKind[] = [
  "sqlite",
  "libsql",
  "postgres",
  "cockroachdb",
  "mysql",
];

/** Creates an empty database of `kind`. */
export async function createTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  const name = `pennant_test_${randomBytes(6).toString("hex")}`;
  switch (kind) {
    case "sqlite":
    case "libsql": {
      const directory = await mkdtemp(join(tmpdir(), "pennant-db-"));
      const path = join(directory, "flipt.db");
      return {
        kind,
        url: kind === "sqlite" ? `file:${path}` : `libsql://file:${path}`,
        name: path,
        drop: () => rm(directory, { recursive: true, force: true }),
      };
    }
    case "postgres":
    case "cockroachdb": {
      await postgresAdmin(`CREATE DATABASE ${name}`);
      const admin = new URL(POSTGRES_ADMIN);
      const auth =
        admin.username === "" ? "" : `${admin.username}${admin.password ? `:${admin.password}` : ""}@`;
      const host = `${admin.hostname}:${admin.port || "5432"}`;
      const url =
        kind === "postgres"
          ? `postgres://${auth}${host}/${name}?sslmode=disable`
          : `cockroachdb://${auth}${host}/${name}`;
      return {
        kind,
        url,
        name,
        drop: once(() => postgresAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
      };
    }
    case "mysql": {
      await mysqlAdmin(`CREATE DATABASE ${name}`);
      const admin = new URL(MYSQL_ADMIN);
      const auth = `${admin.username}${admin.password ? `:${admin.password}` : ""}@`;
      const url = `mysql://${auth}${admin.hostname}:${admin.port || "3306"}/${name}`;
      return { kind, url, name, drop: once(() => mysqlAdmin(`DROP DATABASE IF EXISTS ${name}`)) };
    }
  }
}

/** Runs `work` on a fresh database of `kind` and drops it afterwards, whatever happens. */
export async function withTestDatabase<T>(
  kind: TestDatabaseKind,
  work: (database: TestDatabase) => Promise<T>,
): Promise<T> {
  const database = await createTestDatabase(kind);
  try {
    return await work(database);
  } finally {
    await database.drop();
  }
}

async function postgresAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function mysqlAdmin(sql: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: MYSQL_ADMIN });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

function once(task: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= task();
    return done;
  };
}
