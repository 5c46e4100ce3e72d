import { randomUUID } from "node:crypto";
import type { SqlExecutor, SqlValue } from "./sql-database.js";
import { timestampForColumn } from "./sql-values.js";

/** What the statements of one write share. */
export interface WriteContext {
  readonly tx: SqlExecutor;
  /** SQLite writes timestamps in go-sqlite3's text form. */
  readonly sqlite: boolean;
  /** Strictly increasing canonical timestamps (`createClock`). */
  readonly now: () => string;
  /** Set once any statement changed something in a namespace, to bump its `state_modified_at`. */
  changed: boolean;
}

/** Runs a statement that changes rows, and remembers that something changed. */
export async function change(context: WriteContext, sql: string, params: readonly SqlValue[]): Promise<void> {
  context.changed = true;
  await context.tx.exec(sql, params);
}

/** A canonical timestamp as its column takes it. */
export function column(context: WriteContext, timestamp: string): string {
  return timestampForColumn(timestamp, context.sqlite);
}

/** A new row id: a random UUID v4, as Flipt v1's `uuid.NewString()`. */
export function newId(): string {
  return randomUUID();
}

/** JSON for a column (attachment, metadata), compact, or NULL. Written as text, which every driver accepts. */
export function jsonColumn(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
