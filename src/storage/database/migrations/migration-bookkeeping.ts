import { UnavailableError } from "../../../domain/errors.js";
import { crc32 } from "../../../engine/crc32.js";
import type { SqlExecutor, SqlSession } from "../sql-database.js";
import type { MigrationDialect } from "./migration-step.js";

/** A track's recorded version: golang-migrate's single `(version, dirty)` row. */
export interface RecordedVersion {
  readonly version: number;
  readonly dirty: boolean;
}

/**
 * golang-migrate's bookkeeping, per driver, exactly (spec v1-backends §2.3), so Flipt v1 and Pennant read and
 * write the same `schema_migrations` and serialise on the same lock: one row `(version, dirty)`, replaced on
 * each change; SQLite with the `version_unique` index; PostgreSQL's advisory lock, MySQL's GET_LOCK and
 * CockroachDB's `schema_lock` table, each keyed by golang-migrate's lock id.
 */
export interface Bookkeeping {
  /** Creates the version table when it is missing. */
  ensure(session: SqlSession, table: string): Promise<void>;
  /** The recorded version; undefined when the table is missing or empty (golang-migrate's NilVersion). */
  read(executor: SqlExecutor, table: string): Promise<RecordedVersion | undefined>;
  /** Replaces the row. Run it inside a transaction where the dialect has them. */
  write(executor: SqlExecutor, table: string, version: number, dirty: boolean): Promise<void>;
  /** Takes the migration lock for the session; resolves with the function that releases it. */
  lock(session: SqlSession, database: string): Promise<() => Promise<void>>;
}

/** golang-migrate's `GenerateAdvisoryLockId`: CRC-32 of the names joined by NUL, times its salt, as uint32. */
export function advisoryLockId(database: string, ...additional: string[]): string {
  const name = additional.length > 0 ? [...additional, database].join("\0") : database;
  return String(Math.imul(crc32(name), 1486364155) >>> 0);
}

const MIGRATIONS_TABLE = "schema_migrations";

async function tableExists(
  executor: SqlExecutor,
  dialect: MigrationDialect,
  table: string,
): Promise<boolean> {
  const sql =
    dialect === "sqlite3"
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
      : dialect === "mysql"
        ? "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
        : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?";
  return (await executor.query(sql, [table])).length > 0;
}

function common(dialect: MigrationDialect, create: (table: string) => string[]) {
  return {
    async ensure(session: SqlSession, table: string): Promise<void> {
      if (await tableExists(session, dialect, table)) return;
      for (const statement of create(table)) await session.exec(statement);
    },
    async read(executor: SqlExecutor, table: string): Promise<RecordedVersion | undefined> {
      if (!(await tableExists(executor, dialect, table))) return undefined;
      const [row] = await executor.query(`SELECT version, dirty FROM ${table} LIMIT 1`);
      if (row === undefined) return undefined;
      const dirty = row.dirty;
      return {
        version: Number(row.version),
        dirty: dirty === true || dirty === 1 || dirty === "1" || dirty === "t" || dirty === "true",
      };
    },
    async write(executor: SqlExecutor, table: string, version: number, dirty: boolean): Promise<void> {
      await executor.exec(`DELETE FROM ${table}`);
      await executor.exec(`INSERT INTO ${table} (version, dirty) VALUES (?, ?)`, [
        version,
        dialect === "sqlite3" ? (dirty ? 1 : 0) : dirty,
      ]);
    },
  };
}

const noLock = async () => async () => undefined;

/** golang-migrate's version table on PostgreSQL and MySQL. */
const serverTable = (table: string) => [
  `CREATE TABLE IF NOT EXISTS ${table} (version bigint not null primary key, dirty boolean not null)`,
];

/** The bookkeeping of `dialect`. */
export function bookkeepingFor(dialect: MigrationDialect): Bookkeeping {
  switch (dialect) {
    case "sqlite3":
      return {
        ...common(dialect, (table) => [
          `CREATE TABLE IF NOT EXISTS ${table} (version uint64, dirty bool)`,
          `CREATE UNIQUE INDEX IF NOT EXISTS ${table === MIGRATIONS_TABLE ? "version_unique" : `${table}_version_unique`} ON ${table} (version)`,
        ]),
        // golang-migrate's SQLite driver locks in-process only; Pennant holds SQLite's one connection throughout.
        lock: noLock,
      };
    case "postgres":
      return {
        ...common(dialect, serverTable),
        async lock(session, database) {
          const [row] = await session.query("SELECT current_schema() AS schema");
          const id = advisoryLockId(database, String(row?.schema ?? "public"), MIGRATIONS_TABLE);
          await session.query("SELECT pg_advisory_lock(?)", [id]);
          return async () => {
            await session.query("SELECT pg_advisory_unlock(?)", [id]);
          };
        },
      };
    case "mysql":
      return {
        ...common(dialect, serverTable),
        async lock(session, database) {
          const id = advisoryLockId(`${database}:${MIGRATIONS_TABLE}`);
          const [row] = await session.query("SELECT GET_LOCK(?, 10) AS locked", [id]);
          if (Number(row?.locked) !== 1) throw new UnavailableError("can't acquire the migration lock");
          return async () => {
            await session.query("SELECT RELEASE_LOCK(?)", [id]);
          };
        },
      };
    case "cockroachdb":
      return {
        // CockroachDB's INT is 64-bit; BIGINT says the same on PostgreSQL, where this is tested.
        ...common(dialect, (table) => [
          `CREATE TABLE IF NOT EXISTS ${table} (version BIGINT NOT NULL PRIMARY KEY, dirty BOOL NOT NULL)`,
        ]),
        async lock(session, database) {
          await session.exec("CREATE TABLE IF NOT EXISTS schema_lock (lock_id BIGINT NOT NULL PRIMARY KEY)");
          const id = advisoryLockId(database);
          await session.transaction(async (tx) => {
            if ((await tx.query("SELECT lock_id FROM schema_lock WHERE lock_id = ?", [id])).length > 0) {
              throw new UnavailableError("can't acquire the migration lock: schema_lock is held");
            }
            await tx.exec("INSERT INTO schema_lock (lock_id) VALUES (?)", [id]);
          });
          return async () => {
            await session.exec("DELETE FROM schema_lock WHERE lock_id = ?", [id]);
          };
        },
      };
  }
}
