/**
 * A connection lost in the middle of a transaction, on the real servers (a database of its own per test): the
 * server ends Pennant's connection between two statements (PostgreSQL's `pg_terminate_backend`, MySQL's `KILL`),
 * and the transaction is run again on another connection, with nothing of the first attempt written. On
 * PostgreSQL the lost connection also emits "error" while it is checked out of the pool, which ends the process
 * unless it is heard: this test's own process would die.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import { withTestDatabase } from "../../../test/helpers/test-databases.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import { openDatabase } from "./open-database.js";
import type { SqlExecutor } from "./sql-database.js";

interface Server {
  /** The id the server knows the transaction's connection by. */
  connectionId(tx: SqlExecutor): Promise<number>;
  /** Ends connection `id` from another session, and resolves once the server has let it go. */
  cut(url: string, id: number): Promise<void>;
  /**
   * Resolves once the client has heard of the loss by itself, while no statement runs and the connection is still
   * checked out of the pool.
   */
  lossHeard(): Promise<void>;
}

/**
 * How many "error" events the real `pg` clients have emitted so far (counted while this file's tests run): an
 * "error" nobody hears ends the process, so one counted, with the process alive, was heard.
 */
let pgClientErrors = 0;
/** `pgClientErrors` when the last PostgreSQL cut began. */
let pgClientErrorsAtCut = 0;
const pgEmit = pg.Client.prototype.emit;
before(() => {
  pg.Client.prototype.emit = function (this: pg.Client, event: string | symbol, ...args: unknown[]) {
    if (event === "error") pgClientErrors += 1;
    return pgEmit.call(this, event, ...args);
  };
});
after(() => {
  pg.Client.prototype.emit = pgEmit;
});

const SERVERS: Record<"postgres" | "mysql", Server> = {
  postgres: {
    connectionId: async (tx) => Number((await tx.query("SELECT pg_backend_pid() AS id"))[0]?.id),
    async cut(url, id) {
      pgClientErrorsAtCut = pgClientErrors;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query("SELECT pg_terminate_backend($1)", [id]);
        await waitFor(
          async () =>
            (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [id])).rowCount === 0 ||
            undefined,
          { what: `backend ${id} gone` },
        );
      } finally {
        await admin.end();
      }
    },
    // pg emits "error" on the checked-out client once it reads the server's notice or the socket's end.
    lossHeard: async () => {
      await waitFor(() => (pgClientErrors > pgClientErrorsAtCut ? true : undefined), {
        what: `pg's "error" event on the checked-out client`,
      });
    },
  },
  mysql: {
    connectionId: async (tx) => Number((await tx.query("SELECT CONNECTION_ID() AS id"))[0]?.id),
    async cut(url, id) {
      const admin = await mysql.createConnection({ uri: url });
      try {
        await admin.query(`KILL ${id}`);
        await waitFor(
          async () => {
            const [rows] = await admin.query("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?", [
              id,
            ]);
            return (rows as unknown[]).length === 0 || undefined;
          },
          { what: `connection ${id} gone` },
        );
      } finally {
        await admin.end();
      }
    },
    // mysql2's pool connection hears its own "error"; nothing the test could wait for is exposed. The next statement
    // fails on the killed connection either way.
    lossHeard: async () => undefined,
  },
};

for (const [kind, server] of Object.entries(SERVERS) as ["postgres" | "mysql", Server][]) {
  describe(`a connection lost in a transaction on ${kind}`, () => {
    it("runs the transaction again on another connection, and nothing of the lost attempt is written", () =>
      withTestDatabase(kind, async ({ url }) => {
        const database = openDatabase(url);
        try {
          await database.exec('CREATE TABLE marks ("attempt" INTEGER NOT NULL)');
          const connections: number[] = [];
          const result = await database.transaction(async (tx) => {
            const id = await server.connectionId(tx);
            connections.push(id);
            await tx.exec('INSERT INTO marks ("attempt") VALUES (?)', [connections.length]);
            if (connections.length === 1) {
              await server.cut(url, id);
              await server.lossHeard();
            }
            return tx.query('SELECT "attempt" FROM marks');
          });
          assert.equal(connections.length, 2, "run twice");
          assert.notEqual(connections[0], connections[1], "on another connection");
          assert.deepEqual(
            result.map((row) => Number(row.attempt)),
            [2],
          );
          const stored = await database.query('SELECT "attempt" FROM marks');
          assert.deepEqual(
            stored.map((row) => Number(row.attempt)),
            [2],
            "the lost attempt wrote nothing",
          );
        } finally {
          await database.close();
        }
      }));
  });
}
