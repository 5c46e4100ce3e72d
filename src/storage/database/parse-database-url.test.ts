import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UnavailableError, ValidationError } from "../../domain/errors.js";
import { openDatabase } from "./open-database.js";
import { parseDatabaseUrl } from "./parse-database-url.js";
import { redactDatabaseUrl } from "./redact-database-url.js";

describe("parseDatabaseUrl", () => {
  let directory: string;
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "pennant-url-"));
    await writeFile(join(directory, "empty"), "");
    await writeFile(join(directory, "real"), "SQLite format 3\0rest of the header");
    await writeFile(join(directory, "text.db"), "not a database");
  });
  after(() => rm(directory, { recursive: true, force: true }));

  const servers: [string, string, string][] = [
    ["postgres://u:p@db:5432/flipt", "postgres", "postgres://u:p@db:5432/flipt"],
    ["postgresql://db/flipt?sslmode=disable", "postgres", "postgres://db:5432/flipt?sslmode=disable"],
    ["pgx://u@db/flipt", "postgres", "postgres://u@db:5432/flipt"],
    ["px://db:6000/flipt", "postgres", "postgres://db:6000/flipt"],
    ["cockroachdb://root@crdb/flipt", "cockroachdb", "postgres://root@crdb:26257/flipt?sslmode=disable"],
    ["cockroach://crdb/flipt?sslmode=require", "cockroachdb", "postgres://crdb:26257/flipt?sslmode=require"],
    ["crdb://crdb/flipt", "cockroachdb", "postgres://crdb:26257/flipt?sslmode=disable"],
    ["cr://crdb/flipt", "cockroachdb", "postgres://crdb:26257/flipt?sslmode=disable"],
    ["cdb://crdb/flipt", "cockroachdb", "postgres://crdb:26257/flipt?sslmode=disable"],
    ["mysql://root:pw@db/flipt", "mysql", "mysql://root:pw@db:3306/flipt"],
    ["mariadb://db/flipt", "mysql", "mysql://db:3306/flipt"],
    ["maria://db/flipt", "mysql", "mysql://db:3306/flipt"],
    ["percona://db/flipt", "mysql", "mysql://db:3306/flipt"],
    ["aurora://db/flipt", "mysql", "mysql://db:3306/flipt"],
    ["my://db:3307/flipt", "mysql", "mysql://db:3307/flipt"],
  ];
  for (const [url, driver, connection] of servers) {
    it(`${url} → ${driver}`, () => {
      const parsed = parseDatabaseUrl(url);
      assert.equal(parsed.driver, driver);
      assert.equal(parsed.connection, connection);
      assert.equal(parsed.database, "flipt");
    });
  }

  it("SQLite schemes, opaque and with slashes", () => {
    for (const [url, path] of [
      ["sqlite:flipt.db", "flipt.db"],
      ["sqlite://flipt.db", "flipt.db"],
      ["sqlite3:///var/opt/flipt/flipt.db", "/var/opt/flipt/flipt.db"],
      ["sq:/tmp/x.db", "/tmp/x.db"],
    ] as const) {
      const parsed = parseDatabaseUrl(url);
      assert.equal(parsed.driver, "sqlite", url);
      assert.equal(parsed.connection, `file:${path}`, url);
    }
  });

  it("file: by extension when missing, by header when present", () => {
    assert.equal(parseDatabaseUrl(`file:${join(directory, "new.sqlite3")}`).driver, "sqlite");
    assert.equal(
      parseDatabaseUrl(`file://${join(directory, "new.db")}?_fk=true`).connection,
      `file:${join(directory, "new.db")}`,
    );
    assert.equal(parseDatabaseUrl(`file:${join(directory, "empty")}`).driver, "sqlite");
    assert.equal(parseDatabaseUrl(`file:${join(directory, "real")}`).driver, "sqlite");
    assert.throws(() => parseDatabaseUrl(`file:${join(directory, "text.db")}`), /unknown file header/);
    assert.throws(() => parseDatabaseUrl(`file:${join(directory, "missing.txt")}`), /unknown file extension/);
  });

  it("libSQL: a file, a server with its token kept out of the URL", () => {
    const file = parseDatabaseUrl("libsql://file:/var/flipt.db");
    assert.deepEqual([file.driver, file.connection], ["libsql", "file:/var/flipt.db"]);
    const turso = parseDatabaseUrl("libsql://my-db.turso.io?authToken=s3cret");
    assert.deepEqual(
      [turso.driver, turso.connection, turso.authToken],
      ["libsql", "libsql://my-db.turso.io", "s3cret"],
    );
    assert.ok(!turso.redacted.includes("s3cret"));
    const sqld = parseDatabaseUrl("http://127.0.0.1:8080");
    assert.deepEqual([sqld.driver, sqld.authToken], ["libsql", undefined]);
    assert.equal(parseDatabaseUrl("https://db.example.com/?authToken=t").authToken, "t");
  });

  it("unknown schemes are Flipt's error", () => {
    for (const scheme of ["pg", "memsql", "tidb", "vitess", "redis"]) {
      assert.throws(
        () => parseDatabaseUrl(`${scheme}://db/flipt`),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.message.includes(`unknown database driver for: "${scheme}"`),
      );
    }
  });

  it("the password is in the connection only, never in the redacted form or an error", () => {
    const parsed = parseDatabaseUrl("postgres://flipt:p%40ss:w0rd@db/flipt");
    assert.equal(parsed.redacted, "postgres://flipt:xxxxx@db/flipt");
    assert.ok(parsed.secrets.includes("p@ss:w0rd"));
    assert.throws(
      () => parseDatabaseUrl("postgres://flipt:hunter2@/flipt"),
      (error: unknown) => error instanceof Error && !error.message.includes("hunter2"),
    );
  });
});

describe("redactDatabaseUrl", () => {
  it("removes passwords and tokens, keeps everything else", () => {
    assert.equal(redactDatabaseUrl("mysql://root:pw@db:3306/flipt"), "mysql://root:xxxxx@db:3306/flipt");
    assert.equal(redactDatabaseUrl("postgres://u:a@b@db/flipt"), "postgres://u:xxxxx@db/flipt");
    assert.equal(redactDatabaseUrl("postgres://u@db:5432/flipt"), "postgres://u@db:5432/flipt");
    assert.equal(redactDatabaseUrl("postgres://db:5432/flipt"), "postgres://db:5432/flipt");
    assert.equal(
      redactDatabaseUrl("libsql://x.turso.io?authToken=abc&tls=1"),
      "libsql://x.turso.io?authToken=xxxxx&tls=1",
    );
    assert.equal(redactDatabaseUrl("file:/var/opt/flipt/flipt.db"), "file:/var/opt/flipt/flipt.db");
  });
});

describe("connection failures", () => {
  it("are Unavailable, naming the URL without its password", async () => {
    for (const url of [
      "postgres://flipt:hunter2@127.0.0.1:1/flipt",
      "mysql://flipt:hunter2@127.0.0.1:1/flipt",
    ]) {
      const database = openDatabase(url, { connectTimeoutMs: 2_000 });
      try {
        await assert.rejects(
          database.query("SELECT 1"),
          (error: unknown) =>
            error instanceof UnavailableError &&
            error.message.includes("flipt:xxxxx@127.0.0.1:1") &&
            !error.message.includes("hunter2"),
        );
      } finally {
        await database.close();
      }
    }
  });
});
