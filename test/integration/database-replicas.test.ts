/**
 * Issue 17: three `pennant server` processes over ONE database, on PostgreSQL and on MariaDB (as MySQL), each
 * database created empty for the test, configured through Flipt v2's `storage.<id>.backend.type: database`
 * (FLIPT_* variables). Per database:
 *
 * 1. A write through each replica is served by the two others. On PostgreSQL the replicas poll once an
 *    hour, so within the 10 s deadline only the NOTIFY sent by the statement trigger can have told them (a
 *    replica reads the database only on a poll, a notification or a write of its own, and the readers write
 *    nothing meanwhile; checked by hand: the same run over `cockroachdb://`, which does not LISTEN, misses
 *    the deadline).
 *    MariaDB has no NOTIFY: there replicas find the change by polling the counter (every 1 s, the default).
 * 2. Changes made by hand in SQL as Flipt v1 writes them (a variant flag, its variant and its default
 *    variant, one statement each; an `UPDATE flags SET enabled`) are served and evaluated by every replica.
 * 3. Concurrent writers: every replica creates flags of its own at the same time (none is lost: all are in
 *    the database and served everywhere, at one revision); in three rounds, two replicas update one flag at
 *    the same revision at once: exactly one wins, the other gets 409 / Aborted and its change is not in the
 *    database; a revision a later write superseded is refused by every replica.
 * 4. A replica killed (SIGKILL) in the middle of a write, its transaction holding the counter row's lock
 *    (the test holds the flag's row, so the write stops there, and proves the counter row held with
 *    `FOR UPDATE NOWAIT`): the two others answer every evaluation throughout; a survivor's write queued
 *    behind the dead replica's lock goes through once the database ends that transaction; the dead replica's
 *    write is not in the database; a replica started afterwards serves everything, the writes made while
 *    one was dead included, and writes too.
 *
 * Timings are printed as diagnostics, never asserted (they belong in bench/).
 *
 * Cost: eight `pennant` processes (three, then one more, per database), started one at a time; about 25 s
 * on 2 cores.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import mysql from "mysql2/promise";
import pg from "pg";
import { booleanFlag } from "../helpers/flag-payloads.js";
import { type JsonAnswer, resourcesPath, restJson, writeResource } from "../helpers/rest-json.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-databases.js";
import { waitFor } from "../helpers/wait-for.js";

const KINDS = ["postgres", "mysql"] as const;

/** PostgreSQL replicas poll once an hour: within a test, only a notification can tell them of a change. */
const POSTGRES_POLL_INTERVAL = "1h";
/** How long a replica may take to serve a change made elsewhere, far above the 1 s poll and far below 1 h. */
const SERVED_DEADLINE_MS = 10_000;
const CREATES_PER_REPLICA = 5;
const CONFLICT_ROUNDS = 3;

interface Replica {
  readonly name: string;
  readonly process: PennantProcess;
}

interface FlagPayload {
  readonly key: string;
  readonly enabled?: boolean;
  readonly description?: string;
}

interface Served {
  readonly revision: string;
  readonly flags: ReadonlyMap<string, FlagPayload>;
}

/** One connection of the test's own to the database, with `?` placeholders on both dialects. */
interface SqlConnection {
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function connectSql(database: TestDatabase): Promise<SqlConnection> {
  if (database.kind === "postgres") {
    const client = new pg.Client({ connectionString: database.url });
    // An error on an idle connection (the database dropped after a failure) fails the query using it, not
    // the whole run.
    client.on("error", () => undefined);
    await client.connect();
    return {
      async query(sql, params = []) {
        let n = 0;
        const result = await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          [...params],
        );
        return result.rows as Record<string, unknown>[];
      },
      close: () => client.end(),
    };
  }
  const connection = await mysql.createConnection({ uri: database.url });
  connection.on("error", () => undefined);
  return {
    async query(sql, params = []) {
      const [rows] = await connection.query(sql, [...params]);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    close: () => connection.end(),
  };
}

/** Whether `error` says a row lock is held by another transaction (FOR UPDATE NOWAIT). */
function isLockNotAvailable(error: unknown): boolean {
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  // PostgreSQL: lock_not_available. MariaDB: NOWAIT answers ER_LOCK_WAIT_TIMEOUT at once.
  return code === "55P03" || errno === 1205;
}

/** A timestamp as Flipt v1 writes it: UTC wall time, explicit, never the column's default. */
const fliptNow = () => new Date().toISOString().replace("T", " ").replace("Z", "");

/** Creates (POST) or updates (PUT) a flag; resolves with the whole response, whatever its status. */
const writeFlag = (
  replica: Replica,
  method: "POST" | "PUT",
  payload: ReturnType<typeof booleanFlag>,
  revision?: string,
) => writeResource(replica.process, method, payload, revision === undefined ? {} : { revision });

/** Like `writeFlag`, failing unless the write was accepted; resolves with the revision it answered. */
async function acceptedWrite(
  replica: Replica,
  method: "POST" | "PUT",
  payload: ReturnType<typeof booleanFlag>,
  revision?: string,
): Promise<string> {
  const written = await writeFlag(replica, method, payload, revision);
  assert.equal(
    written.status,
    200,
    `${replica.name} ${method} ${payload.key}: ${JSON.stringify(written.body)}`,
  );
  return String(written.body.revision);
}

/** Every flag of namespace `default` a replica serves, and its revision (the snapshot; no database read). */
async function served(replica: Replica): Promise<Served> {
  const response = await restJson(replica.process, "GET", `${resourcesPath()}/flipt.core.Flag`);
  assert.equal(response.status, 200, `${replica.name}: ${JSON.stringify(response.body)}`);
  const resources = response.body.resources as { key: string; payload: FlagPayload }[];
  return {
    revision: String(response.body.revision),
    flags: new Map(resources.map((resource) => [resource.key, resource.payload])),
  };
}

/** Waits until every replica serves the same revision and `holds` is true of it; resolves with that state. */
async function converged(
  replicas: readonly Replica[],
  what: string,
  holds: (state: Served) => boolean = () => true,
): Promise<Served> {
  return waitFor(
    async () => {
      const states = await Promise.all(replicas.map(served));
      const first = states[0] as Served;
      return states.every((state) => state.revision === first.revision && holds(state)) ? first : undefined;
    },
    { deadlineMs: SERVED_DEADLINE_MS, intervalMs: 25, what: `${replicas.length} replicas serving ${what}` },
  );
}

async function evaluateBoolean(replica: Replica, flagKey: string): Promise<boolean> {
  const response = await restJson(replica.process, "POST", "/evaluate/v1/boolean", {
    namespaceKey: "default",
    flagKey,
    entityId: "someone",
    context: {},
  });
  assert.equal(response.status, 200, `${replica.name} ${flagKey}: ${JSON.stringify(response.body)}`);
  return response.body.enabled === true;
}

for (const kind of KINDS) {
  describe(`three replicas over one ${kind} database`, { timeout: 120_000 }, () => {
    let database: TestDatabase;
    let sql: SqlConnection;
    const replicas: Replica[] = [];
    const everyone: Replica[] = [];
    /** What each mechanism took, from the write's acknowledgement (or the SQL's commit) to being served. */
    const latencies: number[] = [];
    const dialect = {
      key: kind === "mysql" ? "`key`" : '"key"',
      how: kind === "postgres" ? `LISTEN/NOTIFY (poll every ${POSTGRES_POLL_INTERVAL})` : "polling every 1 s",
    };

    const startReplica = async (name: string): Promise<Replica> => {
      const child = await startPennantProcess({
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
        FLIPT_STORAGE_DEFAULT_BACKEND_URL: database.url,
        ...(kind === "postgres" ? { FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: POSTGRES_POLL_INTERVAL } : {}),
      });
      const replica = { name, process: child };
      everyone.push(replica);
      return replica;
    };

    /** Waits until each of `readers` serves `revision` (what a write answered); records how long it took. */
    const servedEverywhere = async (readers: readonly Replica[], revision: string, since: number) => {
      await Promise.all(
        readers.map(async (reader) => {
          await waitFor(async () => ((await served(reader)).revision === revision ? true : undefined), {
            deadlineMs: SERVED_DEADLINE_MS,
            intervalMs: 10,
            what: `${reader.name} serving revision ${revision} through ${dialect.how}`,
          });
          latencies.push(Date.now() - since);
        }),
      );
    };

    /** The flag row as stored, read by the test itself. */
    const storedFlag = async (key: string) => {
      const rows = await sql.query(
        `SELECT enabled, description FROM flags WHERE namespace_key = 'default' AND ${dialect.key} = ?`,
        [key],
      );
      const row = rows[0];
      return row === undefined ? undefined : { enabled: Boolean(row.enabled), description: row.description };
    };

    before(async () => {
      database = await createTestDatabase(kind);
      sql = await connectSql(database);
      // One at a time: the first migrates the empty database; cold start-ups on two cores slow each other.
      for (let index = 0; index < 3; index++) replicas.push(await startReplica(`replica-${index}`));
    });
    after(async () => {
      for (const replica of everyone) await replica.process.killHard();
      await sql?.close();
      await database?.drop();
    });

    it("serves a write made through each replica from the two others", async (t) => {
      const expected = new Map<string, boolean>();
      for (const [index, writer] of replicas.entries()) {
        const key = `from-replica-${index}`;
        const revision = await acceptedWrite(writer, "POST", booleanFlag(key, { enabled: index % 2 === 0 }));
        expected.set(key, index % 2 === 0);
        // The readers write nothing meanwhile: only the change notification (PostgreSQL) or the poll
        // (MariaDB) can make them read the database again.
        await servedEverywhere(
          replicas.filter((reader) => reader !== writer),
          revision,
          Date.now(),
        );
      }
      for (const replica of replicas) {
        for (const [key, enabled] of expected) {
          assert.equal(await evaluateBoolean(replica, key), enabled, `${key} evaluated by ${replica.name}`);
        }
      }
      t.diagnostic(`${kind}, ${dialect.how}: served elsewhere after ${latencies.join(", ")} ms`);
    });

    it("serves changes made by hand in SQL, as Flipt v1 writes them, from every replica", async (t) => {
      const before = await converged(replicas, "the writes so far");
      assert.equal(before.flags.get("from-replica-0")?.enabled, true);
      assert.equal(before.flags.has("by-hand"), false);
      const started = Date.now();
      // Flipt v1's CreateFlag, CreateVariant and UpdateFlag (setting the default variant): a statement each,
      // timestamps written explicitly, then the namespace's state_modified_at, as Flipt v1 bumps it.
      const variantId = randomUUID();
      await sql.query(
        `INSERT INTO flags
           (namespace_key, ${dialect.key}, type, name, description, enabled, metadata, created_at, updated_at)
         VALUES ('default', 'by-hand', 0, 'By hand', 'written in SQL', TRUE, NULL, ?, ?)`,
        [fliptNow(), fliptNow()],
      );
      await sql.query(
        `INSERT INTO variants
           (id, namespace_key, flag_key, ${dialect.key}, name, description, attachment, created_at,
            updated_at)
         VALUES (?, 'default', 'by-hand', 'handmade', 'Handmade', '', ?, ?, ?)`,
        [variantId, '{"by":"hand"}', fliptNow(), fliptNow()],
      );
      await sql.query(
        `UPDATE flags SET default_variant_id = ?, updated_at = ?
         WHERE namespace_key = 'default' AND ${dialect.key} = 'by-hand'`,
        [variantId, fliptNow()],
      );
      await sql.query(
        `UPDATE flags SET enabled = FALSE, updated_at = ?
         WHERE namespace_key = 'default' AND ${dialect.key} = 'from-replica-0'`,
        [fliptNow()],
      );
      await sql.query(`UPDATE namespaces SET state_modified_at = ? WHERE ${dialect.key} = 'default'`, [
        fliptNow(),
      ]);
      const after = await converged(
        replicas,
        "the changes made in SQL",
        (state) => state.flags.get("from-replica-0")?.enabled !== true && state.flags.has("by-hand"),
      );
      const ms = Date.now() - started;
      assert.notEqual(after.revision, before.revision);
      assert.equal(after.flags.get("by-hand")?.description, "written in SQL");
      for (const replica of replicas) {
        assert.equal(await evaluateBoolean(replica, "from-replica-0"), false, replica.name);
        const variant = await restJson(replica.process, "POST", "/evaluate/v1/variant", {
          namespaceKey: "default",
          flagKey: "by-hand",
          entityId: "someone",
          context: {},
        });
        assert.equal(variant.status, 200, JSON.stringify(variant.body));
        assert.equal(variant.body.variantKey, "handmade", `${replica.name}: ${JSON.stringify(variant.body)}`);
        assert.deepEqual(JSON.parse(String(variant.body.variantAttachment)), { by: "hand" });
      }
      t.diagnostic(`${kind}: five statements by hand served everywhere ${ms} ms after the first began`);
    });

    it("loses none of the flags every replica creates at the same time", async (t) => {
      const started = Date.now();
      const acknowledged: string[] = [];
      const keys: string[] = [];
      await Promise.all(
        replicas.map(async (replica, index) => {
          for (let n = 0; n < CREATES_PER_REPLICA; n++) {
            const key = `concurrent-${index}-${n}`;
            acknowledged.push(
              await acceptedWrite(replica, "POST", booleanFlag(key, { enabled: n % 2 === 0 })),
            );
            keys.push(key);
          }
        }),
      );
      const written = Date.now();
      assert.equal(
        new Set(acknowledged).size,
        acknowledged.length,
        "each write answered a revision of its own",
      );
      const stored = new Set(
        (await sql.query(`SELECT ${dialect.key} AS k FROM flags WHERE namespace_key = 'default'`)).map(
          (row) => String(row.k),
        ),
      );
      for (const key of keys) assert.ok(stored.has(key), `${key} is in the database`);
      const state = await converged(replicas, "every concurrent create", (candidate) =>
        keys.every((key) => candidate.flags.has(key)),
      );
      assert.equal(state.flags.size, stored.size, "the replicas serve exactly the rows");
      assert.ok(acknowledged.includes(state.revision), "they serve the state the last write left");
      for (const [n, key] of keys.entries()) {
        const expected = Number(key.split("-")[2]) % 2 === 0;
        const replica = replicas[n % replicas.length] as Replica;
        assert.equal(await evaluateBoolean(replica, key), expected, `${key} evaluated by ${replica.name}`);
      }
      t.diagnostic(
        `${kind}: ${keys.length} concurrent creates in ${written - started} ms; ` +
          `served everywhere ${Date.now() - written} ms later`,
      );
    });

    it("lets one of two replicas update a flag at one revision, and refuses the other", async (t) => {
      await acceptedWrite(
        replicas[0] as Replica,
        "POST",
        booleanFlag("contested", { enabled: false, description: "created" }),
      );
      const superseded: string[] = [];
      let lastWinner: string | undefined;
      for (let round = 0; round < CONFLICT_ROUNDS; round++) {
        const pair = [round % replicas.length, (round + 1) % replicas.length] as const;
        const start = await converged(replicas, `round ${round}'s start`, (state) =>
          state.flags.has("contested"),
        );
        superseded.push(start.revision);
        const descriptions = pair.map((index) => `round ${round} by replica-${index}`);
        const attempts = await Promise.all(
          pair.map((index, slot) =>
            writeFlag(
              replicas[index] as Replica,
              "PUT",
              booleanFlag("contested", { enabled: round % 2 === 0, description: descriptions[slot] ?? "" }),
              start.revision,
            ),
          ),
        );
        const statuses = attempts.map((attempt) => attempt.status);
        assert.deepEqual(
          [...statuses].sort(),
          [200, 409],
          `one write wins, one is refused: ${JSON.stringify(attempts)}`,
        );
        const winner = statuses.indexOf(200);
        const loser = attempts[1 - winner] as JsonAnswer;
        assert.equal(loser.body.code, Code.Aborted, JSON.stringify(loser.body));
        assert.match(String(loser.body.message), /has changed/);
        const stored = await storedFlag("contested");
        assert.deepEqual(
          stored,
          { enabled: round % 2 === 0, description: descriptions[winner] },
          "the database holds the winner's change, not the loser's",
        );
        lastWinner = descriptions[winner];
        const won = String((attempts[winner] as JsonAnswer).body.revision);
        await converged(replicas, `round ${round}'s winner`, (state) => state.revision === won);
        t.diagnostic(
          `${kind} round ${round}: replica-${pair[winner]} won, replica-${pair[1 - winner]} got 409`,
        );
      }
      // A revision a later write superseded is refused by every replica, whichever wrote it.
      for (const replica of replicas) {
        const stale = await writeFlag(
          replica,
          "PUT",
          booleanFlag("contested", { enabled: true, description: `stale through ${replica.name}` }),
          superseded[0],
        );
        assert.equal(stale.status, 409, `${replica.name}: ${JSON.stringify(stale.body)}`);
        assert.equal(stale.body.code, Code.Aborted);
      }
      assert.equal((await storedFlag("contested"))?.description, lastWinner, "no stale write landed");
    });

    it("goes on when a replica is killed mid-write; a new replica serves it all", async (t) => {
      const [survivor0, survivor1, victim] = replicas as [Replica, Replica, Replica];
      const survivors = [survivor0, survivor1];
      await acceptedWrite(
        survivor0,
        "POST",
        booleanFlag("victim-target", { enabled: false, description: "before" }),
      );
      await converged(replicas, "the victim's target", (state) => state.flags.has("victim-target"));

      // The test holds the target flag's row: the victim's write stops at its UPDATE, with the counter row.
      const blocker = await connectSql(database);
      const probe = await connectSql(database);
      let blocking = true;
      let traffic = true;
      let evaluations: Promise<void> | undefined;
      let last: string | undefined;
      try {
        await blocker.query("BEGIN");
        await blocker.query(
          `SELECT enabled FROM flags
           WHERE namespace_key = 'default' AND ${dialect.key} = 'victim-target' FOR UPDATE`,
        );

        // Traffic on the survivors throughout: evaluations, which must all be answered.
        const answered = { ok: 0, failed: [] as string[] };
        evaluations = (async () => {
          for (let n = 0; traffic; n++) {
            const replica = survivors[n % 2] as Replica;
            try {
              if (await evaluateBoolean(replica, "from-replica-1")) throw new Error("from-replica-1 is off");
              answered.ok++;
            } catch (error) {
              answered.failed.push(`${replica.name}: ${String(error)}`);
            }
            await delay(20);
          }
        })();

        // Settled as a value at once: it fails when the victim dies, before anything awaits it.
        const victimWrite = writeFlag(
          victim,
          "PUT",
          booleanFlag("victim-target", { enabled: true, description: "by the killed replica" }),
        ).then(
          (response) => ({ answered: response }),
          (error: unknown) => ({ failed: error }),
        );
        /**
         * How many connections wait in a statement matching `pattern` (LIKE). PostgreSQL says a backend
         * waits for a lock; MariaDB lists a transaction that has written nothing yet in PROCESSLIST only (not
         * INNODB_TRX), so there it counts statements still running: on rows known to be locked, they wait.
         */
        const waitingIn = async (pattern: string) => {
          const rows =
            kind === "postgres"
              ? await probe.query(
                  `SELECT count(*) AS n FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?`,
                  [pattern],
                )
              : await probe.query(
                  `SELECT count(*) AS n FROM information_schema.PROCESSLIST
                   WHERE DB = DATABASE() AND COMMAND = 'Query' AND INFO LIKE ?`,
                  [pattern],
                );
          return Number(rows[0]?.n);
        };
        await waitFor(
          async () => {
            try {
              await probe.query("SELECT change_counter FROM pennant_state WHERE id = 1 FOR UPDATE NOWAIT");
              return undefined;
            } catch (error) {
              if (!isLockNotAvailable(error)) throw error;
            }
            // Held, by the victim's write, which waits for the test's row lock and so cannot let go of it.
            return (await waitingIn("UPDATE flags%")) === 1 ? true : undefined;
          },
          {
            deadlineMs: SERVED_DEADLINE_MS,
            intervalMs: 20,
            what: "the victim's write holding the counter row",
          },
        );

        // A survivor's write queues behind the victim's lock; then the victim dies with its transaction open.
        const queued = writeFlag(survivor1, "POST", booleanFlag("queued-behind-the-dead", { enabled: true }));
        queued.catch(() => undefined);
        await waitFor(
          async () => ((await waitingIn("SELECT change_counter%FOR UPDATE")) === 1 ? true : undefined),
          {
            deadlineMs: SERVED_DEADLINE_MS,
            intervalMs: 20,
            what: "a survivor's write waiting for the counter row",
          },
        );
        await victim.process.killHard();
        const killed = await victim.process.exited;
        assert.equal(killed.signal, "SIGKILL");
        const lastWords = await victimWrite;
        assert.ok(
          "failed" in lastWords,
          `the killed replica never answered its write: ${JSON.stringify(lastWords)}`,
        );
        const released = Date.now();
        await blocker.query("ROLLBACK");
        blocking = false;

        // The database ends the dead replica's transaction, and the queued write goes through.
        const queuedWrite = await queued;
        const queuedMs = Date.now() - released;
        assert.equal(queuedWrite.status, 200, JSON.stringify(queuedWrite.body));
        assert.deepEqual(
          await storedFlag("victim-target"),
          { enabled: false, description: "before" },
          "the killed replica's write is not in the database",
        );
        const queuedKey = "queued-behind-the-dead";
        assert.equal((await storedFlag(queuedKey))?.enabled, true);

        // The survivors go on writing, each through the other's latest state.
        const afterKill = await converged(survivors, "the queued write", (state) =>
          state.flags.has(queuedKey),
        );
        await acceptedWrite(
          survivor0,
          "PUT",
          booleanFlag("victim-target", { enabled: true, description: "by a survivor" }),
          afterKill.revision,
        );
        last = await acceptedWrite(survivor1, "POST", booleanFlag("while-one-was-dead", { enabled: true }));
        await converged(survivors, "the survivors' writes", (state) => state.revision === last);

        traffic = false;
        await evaluations;
        assert.deepEqual(answered.failed, [], "every evaluation on the survivors was answered");
        assert.ok(answered.ok > 0);
        t.diagnostic(
          `${kind}: ${answered.ok} evaluations answered on the survivors; the write queued behind the ` +
            `killed replica's lock went through ${queuedMs} ms after the test let go of its row`,
        );
      } finally {
        traffic = false;
        await evaluations;
        if (blocking) await blocker.query("ROLLBACK").catch(() => undefined);
        await blocker.close();
        await probe.close();
      }

      // A replica started afterwards serves everything, as the survivors do, and writes.
      const newcomer = await startReplica("replica-new");
      const serving = [survivor0, survivor1, newcomer];
      const state = await converged(
        serving,
        "the survivors' last write",
        (candidate) => candidate.revision === last,
      );
      assert.equal(state.flags.get("victim-target")?.description, "by a survivor");
      for (const key of ["queued-behind-the-dead", "while-one-was-dead", "by-hand", "contested"]) {
        assert.ok(state.flags.has(key), `${key} is served`);
      }
      const newcomerState = await served(newcomer);
      assert.deepEqual(newcomerState, await served(survivor1));
      assert.equal(await evaluateBoolean(newcomer, "while-one-was-dead"), true);
      const fromNewcomer = await acceptedWrite(
        newcomer,
        "POST",
        booleanFlag("from-the-newcomer", { enabled: true }),
      );
      await servedEverywhere([survivor0, survivor1], fromNewcomer, Date.now());
      const rows = await sql.query("SELECT count(*) AS n FROM flags");
      assert.equal(
        Number(rows[0]?.n),
        (await served(survivor0)).flags.size,
        "served: every row, and no more",
      );
    });
  });
}
