/**
 * Issue 17: `pennant migrate` and the migration check of `pennant server`, as processes, on databases of their
 * own: a fresh database is migrated step by step, then "already up to date" (SQLite, PostgreSQL, MariaDB); a
 * database an older Flipt left refuses the server with Flipt's message and a non-zero exit, until
 * `--force-migrate` or `pennant migrate`; a dirty one is refused by both, with what to do; `--database=analytics`
 * is refused; an unreachable database stops the server with its URL and without its password.
 *
 * Cost: seventeen short `pennant` processes, most of the 30-80 s this takes on 2 cores (process starts).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { migrateDatabase } from "../../src/storage/database/migrations/migrate-database.js";
import { readMigrationStatus } from "../../src/storage/database/migrations/read-migration-status.js";
import { openDatabase } from "../../src/storage/database/open-database.js";
import { runPennant, startPennantProcess } from "../helpers/start-pennant-process.js";
import { type TestDatabaseKind, withTestDatabase } from "../helpers/test-databases.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "pennant-migrate-"));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A Flipt v1 config file naming the database, for `--config`. */
async function v1Config(url: string): Promise<string> {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(path, `db:\n  url: ${url}\n`);
  return path;
}

describe("pennant migrate", () => {
  for (const kind of ["sqlite", "postgres", "mysql"] as const satisfies readonly TestDatabaseKind[]) {
    it(`migrates a fresh ${kind} database step by step, then finds it up to date`, async () => {
      await withTestDatabase(kind, async (database) => {
        const config = await v1Config(database.url);
        const fresh = await runPennant(["migrate", "--config", config]);
        assert.equal(fresh.code, 0, fresh.stderr);
        const lines = fresh.stdout.trim().split("\n");
        assert.match(
          lines[0] ?? "",
          /^database .*: migrating \(Flipt schema at none of \d+, Pennant schema at none of \d+\)$/,
        );
        assert.match(lines[1] ?? "", /^applied Flipt migration 0 \(initial\) in [\d.]+ ms$/);
        assert.ok(lines.some((line) => /^applied Pennant migration 1 /.test(line)));
        assert.match(lines.at(-1) ?? "", /: applied \d+ migrations; now up to date/);
        const again = await runPennant(["migrate", "--config", config]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(
          again.stdout,
          /: already up to date \(Flipt schema at (\d+) of \1, Pennant schema at (\d+) of \2\)\n$/,
        );
      });
    });
  }

  it("refuses --database=analytics: Flipt's ClickHouse store is not part of Pennant", async () => {
    const run = await runPennant(["migrate", "--database=analytics"], {
      FLIPT_DB_URL: "file:/nonexistent/x.db",
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /analytics store \(ClickHouse\), which is not part of Pennant/);
    const unknown = await runPennant(["migrate", "--database", "other"], {
      FLIPT_DB_URL: "file:/nonexistent/x.db",
    });
    assert.equal(unknown.code, 2);
  });

  it("says so when no database storage is configured", async () => {
    const run = await runPennant(["migrate"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no database storage is configured/);
  });
});

describe("pending migrations", () => {
  it("refuse the server with Flipt's message until --force-migrate or pennant migrate", async () => {
    await withTestDatabase("postgres", async (database) => {
      const older = openDatabase(database.url);
      await migrateDatabase(older, { fliptTarget: 12 });
      await older.close();
      const env = { FLIPT_DB_URL: database.url };
      await assert.rejects(
        startPennantProcess(env),
        /pennant exited \(1\) before serving: .*migrations pending, please backup your database and run `pennant migrate` \(.*Flipt schema at 12 of 16/s,
      );

      const forced = await startPennantProcess(env, { args: ["server", "--force-migrate"] });
      forced.signal("SIGTERM");
      const stopped = await forced.exited;
      assert.ok(stopped.code === 0 || stopped.signal === "SIGTERM", forced.output());
      assert.match(forced.stdout(), /"version":13,"title":"namespaces_add_state_modified_at"/);
      assert.match(forced.stdout(), /"pennant is serving"/);

      const current = await startPennantProcess(env);
      await current.killHard();
      assert.doesNotMatch(current.output(), /database migration applied/);
    });
  });

  it("are applied by pennant migrate, which says each step", async () => {
    await withTestDatabase("sqlite", async (database) => {
      const older = openDatabase(database.url);
      await migrateDatabase(older, { fliptTarget: 13 });
      await older.close();
      const run = await runPennant(["migrate"], {
        FLIPT_STORAGE_TYPE: "database",
        FLIPT_DB_URL: database.url,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        run.stdout
          .trim()
          .split("\n")
          .slice(1, 3)
          .map((line) => line.replace(/ in [\d.]+ ms$/, "")),
        ["applied Flipt migration 14 (flag_metadata)", "applied Flipt migration 15 (segment_foreign_keys)"],
      );
      const opened = openDatabase(database.url);
      try {
        assert.equal((await readMigrationStatus(opened)).upToDate, true);
      } finally {
        await opened.close();
      }
    });
  });
});

describe("a dirty database", () => {
  it("is refused by pennant migrate and the server, with what to do, and left as it is", async () => {
    await withTestDatabase("mysql", async (database) => {
      const opened = openDatabase(database.url);
      await migrateDatabase(opened);
      await opened.exec("UPDATE schema_migrations SET dirty = true");
      const config = await v1Config(database.url);
      const migrate = await runPennant(["migrate", "--config", config]);
      assert.equal(migrate.code, 1);
      assert.match(migrate.stderr, /is dirty: migration 15 of schema_migrations stopped part way/);
      assert.match(migrate.stderr, /UPDATE schema_migrations SET dirty = false/);
      await assert.rejects(
        startPennantProcess({}, { args: ["server", "--config", config, "--force-migrate"] }),
        /pennant exited \(1\) before serving: .*is dirty: migration 15 of schema_migrations/s,
      );
      try {
        assert.equal((await readMigrationStatus(opened)).flipt.dirty, true, "never fixed silently");
      } finally {
        await opened.close();
      }
    });
  });
});

describe("an unreachable database at start", () => {
  it("stops the server with a non-zero exit, naming the URL without its password", async () => {
    const refused = await startPennantProcess({
      FLIPT_DB_URL: "postgres://flipt:hunter2@127.0.0.1:1/flipt",
    }).then(
      () => assert.fail("the server started"),
      (error: Error) => error.message,
    );
    assert.match(refused, /^pennant exited \(1\) before serving: /);
    assert.match(refused, /database postgres:\/\/flipt:xxxxx@127\.0\.0\.1:1\/flipt is unavailable/);
    assert.doesNotMatch(refused, /hunter2/);
    const migrate = await runPennant(["migrate"], { FLIPT_DB_URL: "mysql://root:hunter2@127.0.0.1:1/flipt" });
    assert.equal(migrate.code, 1);
    assert.match(migrate.stderr, /database mysql:\/\/root:xxxxx@127\.0\.0\.1:1\/flipt is unavailable/);
    assert.doesNotMatch(migrate.stdout + migrate.stderr, /hunter2/);
  });
});
