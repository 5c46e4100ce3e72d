import { createHash } from "node:crypto";
import type pg from "pg";
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
  SqlListener,
  SqlRow,
  SqlSession,
  SqlValue,
  TransactionMode,
} from "./sql-database.js";

/** Column types read as the server's text: timestamps (sorted and compared as text), JSON (parsed by us). */
function typeParsers(driver: typeof pg) {
  const rawText = new Set([
    driver.types.builtins.TIMESTAMP,
    driver.types.builtins.TIMESTAMPTZ,
    driver.types.builtins.JSON,
    driver.types.builtins.JSONB,
  ]);
  return {
    getTypeParser: ((oid: number, format?: string) =>
      rawText.has(oid)
        ? (value: string) => value
        : driver.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
  };
}

/**
 * PostgreSQL (and CockroachDB, which speaks its protocol) behind a `pg` pool. With prepared statements on
 * (Flipt's default), each SQL text is a named statement, prepared once per connection as pgx's statement cache
 * does. With them off (`prepared_statements_enabled: false`, for PgBouncer in transaction mode) values are
 * inlined as escaped literals and sent with the simple query protocol, so no statement outlives its query.
 */
export function openPostgres(url: DatabaseUrl, options: DatabaseOptions): SqlDatabase {
  const driver = loadDriver<typeof pg>("pg");
  const types = typeParsers(driver);
  const context: ErrorContext = { redactedUrl: url.redacted, secrets: url.secrets };
  const prepared = options.preparedStatements ?? true;
  const maxOpen = poolSize(options);
  const config: pg.PoolConfig = {
    connectionString: url.connection,
    types,
    max: maxOpen,
    connectionTimeoutMillis: connectTimeoutMs(options),
    ...(options.connMaxLifetimeMs !== undefined && options.connMaxLifetimeMs > 0
      ? { maxLifetimeSeconds: Math.max(1, Math.round(options.connMaxLifetimeMs / 1000)) }
      : {}),
  };
  const pool = new driver.Pool(config);
  // An idle connection the server closed is reported here; the pool drops it, the next query opens another.
  pool.on("error", () => undefined);

  const run = async (client: pg.ClientBase | pg.Pool, sql: string, params: readonly SqlValue[]) => {
    try {
      if (!prepared) return await client.query(inline(driver, sql, params));
      const text = numberPlaceholders(sql);
      if (params.length === 0) return await client.query(text);
      return await client.query({ name: statementName(text), text, values: [...params] });
    } catch (error) {
      throw mapDatabaseError(error, context);
    }
  };
  const executorOf = (client: pg.ClientBase | pg.Pool): SqlExecutor => ({
    query: async (sql, params = []) => (await run(client, sql, params)).rows as SqlRow[],
    exec: async (sql, params = []) => (await run(client, sql, params)).rowCount ?? 0,
  });
  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      throw mapDatabaseError(error, context);
    }
  };
  const transactionOn = async <T>(
    client: pg.ClientBase,
    work: (tx: SqlExecutor) => Promise<T>,
    mode: TransactionMode,
    progress?: TransactionProgress,
  ): Promise<T> =>
    runTransaction(
      executorOf(client),
      mode === "read" ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
      work,
      progress,
    );
  const sessionOf = (client: pg.ClientBase): SqlSession => ({
    ...executorOf(client),
    transaction: (work, mode = "write") => transactionOn(client, work, mode),
  });
  const withClient = async <T>(
    work: (client: pg.PoolClient) => Promise<T>,
    progress?: TransactionProgress,
  ): Promise<T> => {
    const client = await connect();
    if (progress !== undefined) progress.connected = true;
    // The pool hears a connection's failure only while it is idle. Checked out, a client whose connection is lost
    // (the server stopped, the backend terminated) emits "error" too, even after failing the query it was
    // running, and an "error" nobody hears ends the process.
    let broken: Error | undefined;
    const lost = (error: Error) => {
      broken ??= error;
    };
    client.on("error", lost);
    try {
      return await work(client);
    } catch (error) {
      // A connection lost mid-work must not go back to the pool.
      if (error instanceof UnavailableError) broken ??= error;
      throw error;
    } finally {
      client.off("error", lost);
      client.release(broken);
    }
  };

  const listen = async (
    channel: string,
    onNotify: (payload: string) => void,
    onError: (error: Error) => void,
  ): Promise<SqlListener> => {
    const client = new driver.Client({
      connectionString: url.connection,
      connectionTimeoutMillis: connectTimeoutMs(options),
    });
    client.on("notification", (message) => {
      if (message.channel === channel) onNotify(message.payload ?? "");
    });
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      onError(mapDatabaseError(error, context));
    };
    client.on("error", fail);
    client.on("end", () => fail(new Error("Connection terminated")));
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      failed = true;
      await client.end().catch(() => undefined);
      throw mapDatabaseError(error, context);
    }
    return {
      close: async () => {
        failed = true;
        await client.end().catch(() => undefined);
      },
    };
  };

  return {
    driver: url.driver,
    redactedUrl: url.redacted,
    databaseName: url.database,
    ...executorOf(pool),
    transaction: (work, mode = "write") =>
      retryLostTransaction(
        (progress) => withClient((client) => transactionOn(client, work, mode, progress), progress),
        maxOpen + 1,
      ),
    session: (work) => withClient((client) => work(sessionOf(client))),
    // CockroachDB speaks PostgreSQL's protocol but has no LISTEN/NOTIFY: its changes are found by polling alone.
    ...(url.driver === "postgres" ? { listen } : {}),
    close: () => pool.end(),
  };
}

/** `?` → `$1, $2, …`, outside quoted strings and identifiers. */
function numberPlaceholders(sql: string): string {
  let index = 0;
  return replacePlaceholders(sql, () => `$${++index}`);
}

/** The SQL with each `?` replaced by its value as a literal, for the simple query protocol. */
function inline(driver: typeof pg, sql: string, params: readonly SqlValue[]): string {
  let index = 0;
  return replacePlaceholders(sql, () => {
    const value = params[index++];
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
    if (typeof value === "number") return Number.isFinite(value) ? String(value) : "NULL";
    return driver.escapeLiteral(value);
  });
}

function replacePlaceholders(sql: string, next: () => string): string {
  let out = "";
  let quote: string | undefined;
  for (const char of sql) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      out += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      out += char;
    } else {
      out += char === "?" ? next() : char;
    }
  }
  return out;
}

/** A statement name per SQL text, so each connection prepares a text once (named statements are per session). */
function statementName(text: string): string {
  return `pennant_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
}
