import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnavailableError, ValidationError } from "../../domain/errors.js";
import { retryLostTransaction, type TransactionProgress } from "./retry-lost-transaction.js";
import { RetryableDatabaseError } from "./retryable-database-error.js";

/** An attempt that gets as far as `reached`, then fails with `error`, for its first `failures` runs. */
function failing(failures: number, reached: Partial<TransactionProgress>, error: () => Error) {
  let runs = 0;
  const attempt = async (progress: TransactionProgress) => {
    runs++;
    Object.assign(progress, reached);
    if (runs <= failures) throw error();
    return `run ${runs}`;
  };
  return { attempt, runs: () => runs };
}

const lost = () => new UnavailableError("database x is unavailable: Connection terminated unexpectedly");

describe("retryLostTransaction", () => {
  it("runs again a transaction whose connection was lost before its COMMIT was sent", async () => {
    const { attempt, runs } = failing(2, { connected: true }, lost);
    assert.equal(await retryLostTransaction(attempt, 3), "run 3");
    assert.equal(runs(), 3);
  });

  it("gives up after maxAttempts, with the last loss", async () => {
    const { attempt, runs } = failing(5, { connected: true }, lost);
    await assert.rejects(retryLostTransaction(attempt, 3), UnavailableError);
    assert.equal(runs(), 3);
  });

  it("does not run again a transaction lost once its COMMIT was sent: it may have been written", async () => {
    const { attempt, runs } = failing(1, { connected: true, committing: true }, lost);
    await assert.rejects(retryLostTransaction(attempt, 3), UnavailableError);
    assert.equal(runs(), 1);
  });

  it("does not run again a transaction that got no connection: the database is down", async () => {
    const { attempt, runs } = failing(1, {}, lost);
    await assert.rejects(retryLostTransaction(attempt, 3), UnavailableError);
    assert.equal(runs(), 1);
  });

  it("leaves contention and every other error to the caller", async () => {
    for (const error of [
      () => new RetryableDatabaseError("deadlock detected"),
      () => new ValidationError("not unique"),
      () => new Error("syntax error"),
    ]) {
      const { attempt, runs } = failing(1, { connected: true }, error);
      await assert.rejects(retryLostTransaction(attempt, 3), { message: error().message });
      assert.equal(runs(), 1);
    }
  });
});
