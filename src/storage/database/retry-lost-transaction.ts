import { UnavailableError } from "../../domain/errors.js";
import { RetryableDatabaseError } from "./retryable-database-error.js";

/** How far one attempt at a transaction got, as the adapter running it records it. */
export interface TransactionProgress {
  /** A connection was taken from the pool (or opened) for it. */
  connected: boolean;
  /** Its COMMIT was sent: from here on, a lost connection leaves unknown whether it was written. */
  committing: boolean;
}

/**
 * Runs a transaction (`attempt`), and again on another connection each time its connection was lost after it was
 * taken and before its COMMIT was sent: the server rolls back a transaction whose connection is gone, so nothing
 * of that attempt was written, and connections that died in the pool (a database restarted, backends terminated
 * or killed one after another) are not the caller's failure. Each lost connection leaves the pool, so with
 * `maxAttempts` one more than the pool's size, the last attempt has a connection opened for it. Not retried: a
 * connection that could not be had (the database is down: another attempt would fail alike), a loss once COMMIT
 * was sent (the commit may have happened), contention (`RetryableDatabaseError`, the storage's to retry), and
 * any other error.
 */
export async function retryLostTransaction<T>(
  attempt: (progress: TransactionProgress) => Promise<T>,
  maxAttempts: number,
): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    const progress: TransactionProgress = { connected: false, committing: false };
    try {
      return await attempt(progress);
    } catch (error) {
      const lost =
        error instanceof UnavailableError &&
        !(error instanceof RetryableDatabaseError) &&
        progress.connected &&
        !progress.committing;
      if (!lost || attempts >= maxAttempts) throw error;
    }
  }
}
