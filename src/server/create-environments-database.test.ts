/**
 * `createEnvironments` on a database storage, on the real servers (a PostgreSQL database and a SQLite file of its
 * own per test): the start checks of Flipt v1 (an empty database is migrated, pending migrations refuse the
 * start unless forced, a dirty one is refused), an unreachable database named without its password, a URL
 * Pennant cannot read named by its key, and `close()` closing the database, on a failed start too.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import pg from "pg";
import { pino } from "pino";
import { useConfigTextLoader } from "../../test/helpers/load-config-text.js";
import { createTestDatabase, withTestDatabase } from "../../test/helpers/test-databases.js";
import { waitFor } from "../../test/helpers/wait-for.js";
import { ConfigError } from "../config/config-error.js";
import { PreconditionError, UnavailableError } from "../domain/errors.js";
import { migrateDatabase } from "../storage/database/migrations/migrate-database.js";
import { readMigrationStatus } from "../storage/database/migrations/read-migration-status.js";
import { openDatabase } from "../storage/database/open-database.js";
import { createGitRunner } from "../storage/git/run-git.js";
import { createEnvironments } from "./create-environments.js";

const git = createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" });
const silent = pino({ level: "silent" });

const configs = useConfigTextLoader("pennant-create-db-");

/** The configuration of `env` and, when given, of a `--config` file of `text`. */
const configFor = async (env: Record<string, string>, text?: string) =>
  (await configs.load(text, env)).config;

/** Connections open to the PostgreSQL database at `url`, from anyone but the asking session. */
async function connectionsTo(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    return (rows[0] as { n: number }).n;
  } finally {
    await client.end();
  }
}

/**
 * Waits until no connection to the PostgreSQL database at `url` is left: a backend goes away a moment after its
 * client closed the connection, so the count is not 0 at once.
 */
function noConnectionsTo(url: string, what: string): Promise<true> {
  return waitFor(async () => ((await connectionsTo(url)) === 0 ? true : undefined), { what });
}

/** Whether the database at `url` has every migration applied. */
async function upToDate(url: string): Promise<boolean> {
  const opened = openDatabase(url);
  try {
    return (await readMigrationStatus(opened)).upToDate;
  } finally {
    await opened.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

describe("createEnvironments() on a database storage", () => {
  it("migrates an empty database, serves writes through it, and closes it", async () => {
    await withTestDatabase("postgres", async (database) => {
      const config = await configFor({
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
        FLIPT_STORAGE_DEFAULT_BACKEND_URL: database.url,
      });
      const created = await createEnvironments(config, git, silent);
      try {
        const environment = created.environments.default;
        await environment.reload();
        assert.equal(environment.status.lastError, undefined);
        assert.ok(environment.snapshot.namespaces.has("default"));
      } finally {
        await created.close();
      }
      await noConnectionsTo(database.url, "close() closing the database's connections");
      assert.equal(await upToDate(database.url), true);
    });
  });

  it("refuses pending migrations with Flipt's message, unless forced", async () => {
    await withTestDatabase("sqlite", async (database) => {
      const old = openDatabase(database.url);
      await migrateDatabase(old, { fliptTarget: 10 });
      await old.close();
      const config = await configFor({}, `db:\n  url: ${database.url}\n`);
      const refused = await rejection(createEnvironments(config, git, silent));
      assert.ok(refused instanceof PreconditionError, String(refused));
      assert.match(
        refused.message,
        /^migrations pending, please backup your database and run `pennant migrate` \(database file:.*: Flipt schema at 10 of 15, Pennant schema at none of \d+\)$/,
      );
      const forced = await createEnvironments(config, git, silent, {}, { forceMigrate: true });
      await forced.close();
      assert.equal(await upToDate(database.url), true);
    });
  });

  it("refuses a dirty database with what to do, forced or not", async () => {
    await withTestDatabase("sqlite", async (database) => {
      const opened = openDatabase(database.url);
      await migrateDatabase(opened);
      await opened.exec("UPDATE schema_migrations SET dirty = 1");
      await opened.close();
      const config = await configFor({ FLIPT_DB_URL: database.url });
      for (const forceMigrate of [false, true]) {
        const refused = await rejection(createEnvironments(config, git, silent, {}, { forceMigrate }));
        assert.ok(refused instanceof PreconditionError);
        assert.match(refused.message, /is dirty: migration 15 of schema_migrations stopped part way/);
        assert.match(refused.message, /UPDATE schema_migrations SET dirty = false/);
      }
    });
  });

  it("names an unreachable database without its password", async () => {
    const config = await configFor({ FLIPT_DB_URL: "postgres://flipt:hunter2@127.0.0.1:1/flipt" });
    const refused = await rejection(createEnvironments(config, git, silent));
    assert.ok(refused instanceof UnavailableError, String(refused));
    assert.match(refused.message, /^database postgres:\/\/flipt:xxxxx@127\.0\.0\.1:1\/flipt is unavailable/);
    assert.doesNotMatch(`${refused.message} ${String(refused.cause ?? "")}`, /hunter2/);
  });

  it("names the key of a URL it cannot read, as the file wrote it", async () => {
    const v1 = await configFor({ FLIPT_DB_URL: "oracle://scott:tiger@db/orcl" });
    const v1Error = await rejection(createEnvironments(v1, git, silent));
    assert.ok(v1Error instanceof ConfigError);
    assert.deepEqual(
      v1Error.issues.map((issue) => issue.path),
      ["db.url"],
    );
    assert.match(v1Error.message, /invalid database URL "oracle:\/\/scott:xxxxx@db\/orcl"/);
    assert.doesNotMatch(v1Error.message, /tiger/);
    const v2 = await configFor({
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "database",
      FLIPT_STORAGE_FLAGS_BACKEND_URL: "file:/tmp/flags.txt",
      FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "flags",
    });
    const v2Error = await rejection(createEnvironments(v2, git, silent));
    assert.ok(v2Error instanceof ConfigError);
    assert.deepEqual(
      v2Error.issues.map((issue) => `${issue.path}: ${issue.message}`),
      ['storage.flags.backend.url: invalid database URL "file:/tmp/flags.txt": unknown file extension'],
    );
  });

  it("closes a database it opened when another storage fails to open", async () => {
    const database = await createTestDatabase("postgres");
    const dir = await mkdtemp(join(tmpdir(), "pennant-create-db-"));
    try {
      // A file where the local storage's directory should be: opening it fails after the database opened.
      await writeFile(join(dir, "not-a-directory"), "x");
      const config = await configFor({
        FLIPT_STORAGE_DB_BACKEND_TYPE: "database",
        FLIPT_STORAGE_DB_BACKEND_URL: database.url,
        FLIPT_STORAGE_DISK_BACKEND_TYPE: "local",
        FLIPT_STORAGE_DISK_BACKEND_PATH: join(dir, "not-a-directory"),
        FLIPT_ENVIRONMENTS_A_STORAGE: "db",
        FLIPT_ENVIRONMENTS_A_DEFAULT: "true",
        FLIPT_ENVIRONMENTS_B_STORAGE: "disk",
      });
      await rejection(createEnvironments(config, git, silent));
      await noConnectionsTo(database.url, "the database opened first closed again");
    } finally {
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
