import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnavailableError } from "../../domain/errors.js";
import { mapDatabaseError } from "./map-database-error.js";

const context = { redactedUrl: "postgres://flipt:xxxxx@db:5432/flipt", secrets: ["s3cret"] };

/** A driver's error: a message and the fields drivers set. */
function driverError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe("mapDatabaseError for a lost or refused connection", () => {
  for (const [what, error] of [
    [
      "PostgreSQL's backend terminated",
      driverError("terminating connection due to administrator command", { code: "57P01" }),
    ],
    ["PostgreSQL shutting down", driverError("the database system is shutting down", { code: "57P03" })],
    [
      "a PostgreSQL database whose connections are turned off",
      driverError('database "flipt" is not currently accepting connections', { code: "55000" }),
    ],
    ["pg's connection ended", new Error("Connection terminated unexpectedly")],
    [
      "MySQL's connection lost",
      driverError("Connection lost: The server closed the connection.", {
        code: "PROTOCOL_CONNECTION_LOST",
        fatal: true,
      }),
    ],
    [
      "MariaDB's connection killed",
      driverError("Connection was killed", { code: "ER_CONNECTION_KILLED", errno: 1927 }),
    ],
    [
      "a refused socket, with a password in its message",
      driverError("connect ECONNREFUSED s3cret", { code: "ECONNREFUSED" }),
    ],
  ] as const) {
    it(`is Unavailable, naming the URL without its password: ${what}`, () => {
      const mapped = mapDatabaseError(error, context);
      assert.ok(mapped instanceof UnavailableError, `${mapped.name}: ${mapped.message}`);
      assert.match(mapped.message, /^database postgres:\/\/flipt:xxxxx@db:5432\/flipt is unavailable: /);
      assert.doesNotMatch(mapped.message, /s3cret/);
    });
  }

  it("is not Unavailable for another refusal that shares SQLSTATE 55000", () => {
    const mapped = mapDatabaseError(
      driverError("lastval is not yet defined in this session", { code: "55000" }),
      context,
    );
    assert.equal(mapped instanceof UnavailableError, false);
  });
});
