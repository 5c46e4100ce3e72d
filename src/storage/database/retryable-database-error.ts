import { UnavailableError } from "../../domain/errors.js";

/**
 * The database aborted a transaction to resolve contention (a deadlock, a serialization failure, a lock wait
 * that timed out). Nothing was written; the same transaction run again normally succeeds, so the storage
 * retries it a few times before the caller hears Unavailable.
 */
export class RetryableDatabaseError extends UnavailableError {
  override readonly name: string = "RetryableDatabaseError";
}
