import { setTimeout as delay } from "node:timers/promises";
import type { Client, createClient, InArgs, ResultSet } from "@libsql/client";
import { SerialLock } from "../serial-lock.js";
import type { DatabaseOptions } from "./database-options.js";
import { loadDriver } from "./load-driver.js";
import { type ErrorContext, mapDatabaseError } from "./map-database-error.js";
import type { DatabaseUrl } from "./parse-database-url.js";
import { RetryableDatabaseError } from "./retryable-database-error.js";
import type { SqlDatabase, SqlExecutor, SqlRow, SqlSession, SqlValue } from "./sql-database.js";

/**
 * How long a statement keeps trying while another connection holds the file's lock (SQLITE_BUSY). SQLite's own
 * busy handler would wait inside the native call, blocking the event loop (and every evaluation) meanwhile; so
 * it is off, and the wait is asynchronous: retries with a growing pause, up to this long.
 */
const BUSY_TIMEOUT_MS = 5_000;
const BUSY_PAUSE_MAX_MS = 50;

/**
 * SQLite files and libSQL servers through `@libsql/client`, on ONE connection as Flipt v1 forces
 * (`max_open_conn` 1): every call waits its turn, and a transaction or session holds the connection until it
 * ends, as Go's `database/sql` does with a single connection. Foreign keys are on; write transactions begin
 * IMMEDIATE, taking the file's write lock up front so two writers never deadlock upgrading a read lock.
 */
export function openLibsql(url: DatabaseUrl, _options: DatabaseOptions): SqlDatabase {
  const context: ErrorContext = { redactedUrl: url.redacted, secrets: url.secrets };
  const local = url.connection.startsWith("file:");
  let client: Client;
  try {
    client = loadDriver<{ createClient: typeof createClient }>("@libsql/client").createClient({
      url: url.connection,
      ...(url.authToken === undefined ? {} : { authToken: url.authToken }),
      concurrency: 1,
      ...(local ? { timeout: 0 } : {}),
    });
  } catch (error) {
    throw mapDatabaseError(error, context);
  }
  const turn = new SerialLock();
  let foreignKeysChecked = false;
  let stale = false;

  /**
   * Runs a driver call, mapping its errors. Outside a transaction a busy statement is tried again after a pause
   * (it did nothing); inside one, busy aborts the transaction as retryable, for the caller to run it again: a
   * busy COMMIT cannot be retried on the same statement, and waiting inside a transaction only prolongs it.
   */
  const call = async <T>(work: () => Promise<T>, retryBusy = true): Promise<T> => {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, BUSY_PAUSE_MAX_MS)) {
      try {
        return await work();
      } catch (error) {
        if (!isBusy(error)) throw mapDatabaseError(error, context);
        stale = true;
        if (!retryBusy || Date.now() >= deadline) {
          throw new RetryableDatabaseError(
            `database ${url.redacted} is busy: another connection holds its lock`,
            {
              cause: error,
            },
          );
        }
        await delay(pause);
        await renew();
      }
    }
  };
  /**
   * A statement that failed busy is left active on its connection (the driver does not reset it), and SQLite
   * then refuses every later COMMIT there ("SQL statements in progress"): after a busy failure the connection is
   * replaced before the next use.
   */
  const renew = async () => {
    if (!stale) return;
    stale = false;
    foreignKeysChecked = false;
    await client.reconnect();
  };
  /** Foreign keys on, once per connection: SQLite's default is off, and Flipt's DSN asks for `_fk=true`. */
  const ensureForeignKeys = async () => {
    await renew();
    if (foreignKeysChecked || !local) return;
    await call(() => client.execute("PRAGMA foreign_keys = ON"));
    foreignKeysChecked = true;
  };
  const executorOf = (target: Pick<Client, "execute">, retryBusy: boolean): SqlExecutor => ({
    query: async (sql, params = []) =>
      rowsOf(await call(() => target.execute({ sql, args: args(params) }), retryBusy)),
    exec: async (sql, params = []) =>
      (await call(() => target.execute({ sql, args: args(params) }), retryBusy)).rowsAffected,
  });
  const direct = executorOf(client, true);
  const transactionUnlocked: SqlSession["transaction"] = async (work, mode = "write") => {
    await ensureForeignKeys();
    return transactionOnConnection(work, mode);
  };
  /** A transaction on the connection as it is (its pragmas untouched). */
  const transactionOnConnection: SqlSession["transaction"] = async (work, mode = "write") => {
    const tx = await call(() => client.transaction(mode === "write" ? "write" : "deferred"));
    try {
      const result = await work(executorOf(tx, false));
      await call(() => tx.commit(), false);
      return result;
    } catch (error) {
      await tx.rollback().catch(() => undefined);
      throw error;
    } finally {
      tx.close();
    }
  };
  const rebuildUnlocked = async (statements: readonly string[]): Promise<void> => {
    if (!local) {
      // A server runs each request on a stream of its own; `migrate` keeps the pragma and the batch on one.
      await call(() => client.migrate(statements.map((sql) => ({ sql, args: [] }))));
      return;
    }
    await ensureForeignKeys();
    await call(() => client.execute("PRAGMA foreign_keys = OFF"));
    try {
      await transactionOnConnection(async (tx) => {
        for (const statement of statements) await tx.exec(statement);
        const violations = await tx.query("PRAGMA foreign_key_check");
        if (violations.length > 0) {
          throw new Error(
            `foreign key check failed after rebuilding tables: ${JSON.stringify(violations[0])}`,
          );
        }
      });
    } finally {
      await call(() => client.execute("PRAGMA foreign_keys = ON"));
    }
  };
  const session: SqlSession = { ...direct, transaction: transactionUnlocked, rebuild: rebuildUnlocked };

  return {
    driver: url.driver,
    redactedUrl: url.redacted,
    databaseName: url.database,
    query: (sql, params) =>
      turn.run(async () => {
        await ensureForeignKeys();
        return direct.query(sql, params);
      }),
    exec: (sql, params) =>
      turn.run(async () => {
        await ensureForeignKeys();
        return direct.exec(sql, params);
      }),
    transaction: (work, mode) => turn.run(() => transactionUnlocked(work, mode)),
    session: (work) =>
      turn.run(async () => {
        await ensureForeignKeys();
        return work(session);
      }),
    close: async () => {
      await turn.run(async () => client.close());
    },
  };
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}

function args(params: readonly SqlValue[]): InArgs {
  return params.map((value) => (typeof value === "boolean" ? (value ? 1 : 0) : value));
}

function rowsOf(result: ResultSet): SqlRow[] {
  const { columns } = result;
  return result.rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) record[columns[i] as string] = row[i];
    return record;
  });
}
