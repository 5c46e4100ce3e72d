import type { DatabaseDriver } from "./parse-database-url.js";

/** A value bound to a `?` placeholder. Booleans are written as the dialect stores them. */
export type SqlValue = string | number | boolean | null;

/** One result row, by column name. Drivers differ in what they return; `sql-values.ts` reads them alike. */
export type SqlRow = Readonly<Record<string, unknown>>;

/**
 * Runs statements. SQL is written once, with `?` placeholders and ANSI double-quoted identifiers (MySQL runs in
 * ANSI mode, like Flipt v1's runtime connections); PostgreSQL's `$n` placeholders are made by the adapter.
 */
export interface SqlExecutor {
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Resolves with the number of rows changed. */
  exec(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/**
 * How a transaction begins. `read`: a consistent snapshot for a multi-query read (PostgreSQL REPEATABLE READ,
 * MySQL WITH CONSISTENT SNAPSHOT). `write`: SQLite takes the write lock at BEGIN (BEGIN IMMEDIATE), so two
 * writers never deadlock upgrading; the others lock rows with `SELECT … FOR UPDATE`.
 */
export type TransactionMode = "read" | "write";

/** A connection held by one caller: statements, transactions, and session state such as advisory locks. */
export interface SqlSession extends SqlExecutor {
  /** Runs `work` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, mode?: TransactionMode): Promise<T>;
  /**
   * SQLite and libSQL only: runs `statements` in one transaction with foreign-key enforcement off (checked with
   * `PRAGMA foreign_key_check` before the commit), as table rebuilds need.
   */
  rebuild?(statements: readonly string[]): Promise<void>;
}

/** A notification channel subscription (PostgreSQL LISTEN), on a connection of its own. */
export interface SqlListener {
  close(): Promise<void>;
}

/** A database behind a pool (or SQLite's single connection), as Pennant's storage uses it. */
export interface SqlDatabase extends SqlSession {
  readonly driver: DatabaseDriver;
  /** The URL without its password, for messages. */
  readonly redactedUrl: string;
  /** The database name, which golang-migrate's lock ids are derived from. */
  readonly databaseName: string;
  /**
   * Runs `work` on one dedicated connection, for what must stay on one connection (advisory locks, MySQL's
   * GET_LOCK, SQLite's foreign-key pragma). MySQL's session runs without ANSI mode, as Flipt's migration
   * connection does; SQL given to it quotes identifiers with backticks.
   */
  session<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: calls `onNotify` with each payload sent on `channel`, on a connection of its own. `onError`
   * hears when that connection fails; the caller then closes it and listens again.
   */
  listen?(
    channel: string,
    onNotify: (payload: string) => void,
    onError: (error: Error) => void,
  ): Promise<SqlListener>;
  close(): Promise<void>;
}
