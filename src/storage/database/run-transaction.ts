import type { TransactionProgress } from "./retry-lost-transaction.js";
import type { SqlExecutor } from "./sql-database.js";

/**
 * Runs `work` in a transaction on one connection's `executor`: `begin` (the dialect's BEGIN), then COMMIT when it
 * resolves (marked in `progress` before it is sent), or ROLLBACK when it throws (a failed ROLLBACK is ignored:
 * the error that made it is the one reported, and a broken connection is dropped by its pool).
 */
export async function runTransaction<T>(
  executor: SqlExecutor,
  begin: string,
  work: (tx: SqlExecutor) => Promise<T>,
  progress: TransactionProgress | undefined,
): Promise<T> {
  await executor.exec(begin);
  try {
    const result = await work(executor);
    if (progress !== undefined) progress.committing = true;
    await executor.exec("COMMIT");
    return result;
  } catch (error) {
    await executor.exec("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
