import type mysql from "mysql2/promise";
import { UnavailableError } from "../../domain/errors.js";
import { connectTimeoutMs, type DatabaseOptions, poolSize } from "./database-options.js";
import { loadDriver } from "./load-driver.js";
import { type ErrorContext, mapDatabaseError } from "./map-database-error.js";
import type { DatabaseUrl } from "./parse-database-url.js";
import { retryLostTransaction, type TransactionProgress } from "./retry-lost-transaction.js";
import { runTransaction } from "./run-transaction.js";
import type {
  SqlDatabase,
  SqlExecutor,
  SqlRow,
  SqlSession,
  SqlValue,
  TransactionMode,
} from "./sql-database.js";

/**
 * Every runtime connection: ANSI mode (double-quoted identifiers, as Flipt v1's `sql_mode=ANSI`), and UTC, so a
 * TIMESTAMP column holds and returns UTC wall time whatever the server's zone.
 */
const RUNTIME_SESSION = "SET SESSION sql_mode = 'ANSI', time_zone = '+00:00'";

interface CallbackConnection {
  query(sql: string, callback: () => void): unknown;
}

/**
 * MySQL and MariaDB behind a `mysql2` pool. Queries use the text protocol with values escaped by the client:
 * FLOAT columns (distribution rollouts, threshold percentages) then read back as the server prints them
 * (33.33), not as the binary protocol's widened float32 (33.33000183105469). Timestamps and JSON come back as
 * text, to be read alike on every driver.
 */
export function openMysql(url: DatabaseUrl, options: DatabaseOptions): SqlDatabase {
  const context: ErrorContext = { redactedUrl: url.redacted, secrets: url.secrets };
  const maxOpen = poolSize(options);
  const pool = loadDriver<typeof mysql>("mysql2/promise").createPool({
    uri: url.connection,
    connectionLimit: maxOpen,
    maxIdle: Math.min(maxOpen, options.maxIdleConn ?? 2),
    ...(options.connMaxLifetimeMs !== undefined && options.connMaxLifetimeMs > 0
      ? { idleTimeout: options.connMaxLifetimeMs }
      : {}),
    connectTimeout: connectTimeoutMs(options),
    dateStrings: true,
    jsonStrings: true,
    supportBigNumbers: true,
    enableKeepAlive: true,
  });
  // The event hands over the callback-style connection (typed as the promise one): queued first, the SET runs
  // before whatever the connection was opened for.
  pool.on("connection", (connection) => {
    (connection as unknown as CallbackConnection).query(RUNTIME_SESSION, () => undefined);
  });

  const run = async (
    client: mysql.Pool | mysql.PoolConnection,
    sql: string,
    params: readonly SqlValue[],
  ): Promise<SqlRow[] | mysql.ResultSetHeader> => {
    try {
      const [result] = await client.query(sql, [...params]);
      return result as SqlRow[] | mysql.ResultSetHeader;
    } catch (error) {
      throw mapDatabaseError(error, context);
    }
  };
  const executorOf = (client: mysql.Pool | mysql.PoolConnection): SqlExecutor => ({
    query: async (sql, params = []) => {
      const result = await run(client, sql, params);
      return Array.isArray(result) ? result : [];
    },
    exec: async (sql, params = []) => {
      const result = await run(client, sql, params);
      return Array.isArray(result) ? 0 : result.affectedRows;
    },
  });
  const transactionOn = async <T>(
    connection: mysql.PoolConnection,
    work: (tx: SqlExecutor) => Promise<T>,
    mode: TransactionMode,
    progress?: TransactionProgress,
  ): Promise<T> =>
    runTransaction(
      executorOf(connection),
      mode === "read" ? "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY" : "START TRANSACTION",
      work,
      progress,
    );
  const withConnection = async <T>(
    work: (connection: mysql.PoolConnection) => Promise<T>,
    progress?: TransactionProgress,
  ): Promise<T> => {
    let connection: mysql.PoolConnection;
    try {
      connection = await pool.getConnection();
    } catch (error) {
      throw mapDatabaseError(error, context);
    }
    if (progress !== undefined) progress.connected = true;
    let broken = false;
    try {
      return await work(connection);
    } catch (error) {
      broken = error instanceof UnavailableError;
      throw error;
    } finally {
      if (broken) connection.destroy();
      else connection.release();
    }
  };

  return {
    driver: url.driver,
    redactedUrl: url.redacted,
    databaseName: url.database,
    ...executorOf(pool),
    transaction: (work, mode = "write") =>
      retryLostTransaction(
        (progress) =>
          withConnection((connection) => transactionOn(connection, work, mode, progress), progress),
        maxOpen + 1,
      ),
    // Flipt's migration connection runs without ANSI mode: its (and our) migration SQL quotes with backticks.
    session: (work) =>
      withConnection(async (connection) => {
        const executor = executorOf(connection);
        await executor.exec("SET SESSION sql_mode = @@GLOBAL.sql_mode");
        try {
          const session: SqlSession = {
            ...executor,
            transaction: (inner, mode = "write") => transactionOn(connection, inner, mode),
          };
          return await work(session);
        } finally {
          await connection.query(RUNTIME_SESSION).catch(() => undefined);
        }
      }),
    close: () => pool.end(),
  };
}
