/**
 * Issue 17's faults, each against a real `pennant server` process on a database storage under a steady load of
 * evaluations (Connect and REST), none of which may fail or answer wrongly:
 *
 * - PostgreSQL, on a server this file starts (test/helpers/private-postgres.ts; the shared one on 5432 serves
 *   other tests), reached with a password, stopped and started again with a write in flight. While it is down,
 *   that write and the next are Unavailable (503) naming the URL without its password, `/meta/status` shows the
 *   error and when it was found, and the last good revision is served; once it is back, writes recover on their
 *   own, the error clears, and changes made by hand in SQL are served through the re-established LISTEN
 *   connection (the poll interval is an hour, so nothing else explains it). Then, a few times, every backend of
 *   Pennant's role is terminated (`pg_terminate_backend`) while a write waits for a lock the test holds: that
 *   write is run again on another connection and succeeds, and so does the next.
 * - MariaDB (the shared server, a user with a password of its own): the same with `KILL`, one connection after
 *   another, so the write run again may land on a pooled connection about to be killed.
 *
 * The password never appears in anything the process wrote, nor in any answer.
 *
 * Cost: a PostgreSQL cluster created and started twice, two `pennant` processes; about 10-13 s on 2 cores.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import mysql from "mysql2/promise";
import pg from "pg";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { betaFlag, booleanFlag, COLOR_FLAG, PRO_SEGMENT } from "../helpers/flag-payloads.js";
import { type PrivatePostgres, startPrivatePostgres } from "../helpers/private-postgres.js";
import { type JsonAnswer, resourcesPath, restJson, writeResource } from "../helpers/rest-json.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTestDatabase, MYSQL_ADMIN, type TestDatabase } from "../helpers/test-databases.js";
import { waitFor } from "../helpers/wait-for.js";

/** How long recovery may take before the test fails: generous, as this is not a timing test. */
const RECOVERY_DEADLINE_MS = 20_000;

/** How many times Pennant's connections are cut while the load runs. */
const CUT_ROUNDS = 3;

/** `beta` is on for everyone but the `pro` segment. */
const BETA = betaFlag(true);
/** A flag the test changes by hand in SQL; the load never evaluates it. */
const SIDE = booleanFlag("side", { name: "Side" });

async function createAll(server: PennantProcess): Promise<void> {
  for (const payload of [PRO_SEGMENT, COLOR_FLAG, BETA, SIDE]) {
    const created = await writeResource(server, "POST", payload);
    assert.equal(created.status, 200, JSON.stringify(created.body));
  }
}

/** A flag as served: its payload, or undefined while it is not there. */
async function servedFlag(server: PennantProcess, key: string): Promise<Record<string, unknown> | undefined> {
  const read = await restJson(server, "GET", `${resourcesPath()}/flipt.core.Flag/${key}`);
  if (read.status === 404) return undefined;
  assert.equal(read.status, 200, JSON.stringify(read.body));
  return (read.body.resource as { payload: Record<string, unknown> }).payload;
}

interface EnvironmentStatusJson {
  readonly revision: string;
  readonly lastError?: { readonly message: string; readonly time?: string };
}

async function metaStatus(server: PennantProcess): Promise<EnvironmentStatusJson> {
  const status = await restJson(server, "GET", "/meta/status");
  assert.equal(status.status, 200);
  const environments = status.body.environments as EnvironmentStatusJson[];
  assert.equal(environments.length, 1);
  return environments[0] as EnvironmentStatusJson;
}

/** One evaluation the load made: the phase of the test when it was sent, and what went wrong, if anything. */
interface Outcome {
  readonly phase: string;
  readonly error?: string;
}

/**
 * Evaluations in `workers` loops until stopped, alternating a Connect variant evaluation of `color` and a REST
 * boolean evaluation of `beta` for entities on the `pro` and `free` plans; each answer is checked against the flags
 * the test created, and recorded with the phase current when it was sent.
 */
function startLoad(server: PennantProcess, workers: number) {
  const client = createClient(
    EvaluationService,
    createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
  );
  const outcomes: Outcome[] = [];
  let phase = "start";
  let stopped = false;
  const evaluate = async (call: number) => {
    const plan = call % 4 < 2 ? "pro" : "free";
    const request = { namespaceKey: "default", entityId: `e${call}`, context: { plan } };
    if (call % 2 === 0) {
      const variant = await client.variant({ ...request, flagKey: "color" });
      const expected = plan === "pro" ? "blue" : "gray";
      if (variant.variantKey !== expected) throw new Error(`color for ${plan}: ${variant.variantKey}`);
      return;
    }
    const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ ...request, flagKey: "beta" }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text}`);
    const enabled = (JSON.parse(text) as { enabled: boolean }).enabled;
    if (enabled !== (plan !== "pro")) throw new Error(`beta for ${plan}: ${enabled}`);
  };
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let call = worker; !stopped; call += workers) {
      const sentIn = phase;
      try {
        await evaluate(call);
        outcomes.push({ phase: sentIn });
      } catch (error) {
        outcomes.push({ phase: sentIn, error: String(error) });
      }
      // A pause that lets the test's own requests through on a 2-core machine; not a wait for anything.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    set phase(name: string) {
      phase = name;
    },
    /** How many evaluations sent in `name` have been answered so far. */
    count: (name: string) => outcomes.filter((outcome) => outcome.phase === name).length,
    async stop(): Promise<readonly Outcome[]> {
      stopped = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

type Load = ReturnType<typeof startLoad>;

/** Waits until `count` evaluations sent in `phase` have been answered, so each phase is shown to be under load. */
function evaluationsIn(load: Load, phase: string, count = 20): Promise<true> {
  return waitFor(() => (load.count(phase) >= count ? true : undefined), {
    deadlineMs: RECOVERY_DEADLINE_MS,
    intervalMs: 20,
    what: `${count} evaluations answered in phase "${phase}"`,
  });
}

/** Asserts that every evaluation answered right, and that every phase in `phases` saw some. */
function assertAllAnswered(outcomes: readonly Outcome[], phases: readonly string[]): void {
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  assert.deepEqual(
    failed.slice(0, 5),
    [],
    `${failed.length} of ${outcomes.length} evaluations failed; the first five are shown`,
  );
  for (const phase of phases) {
    assert.ok(
      outcomes.some((outcome) => outcome.phase === phase),
      `evaluations were answered in phase "${phase}"`,
    );
  }
}

/** Writes flags until one is accepted; every refusal on the way must be Unavailable (503, code 14). */
async function writeUntilAccepted(server: PennantProcess, key: string): Promise<JsonAnswer> {
  const refusals: string[] = [];
  const accepted = await waitFor(
    async () => {
      const written = await writeResource(server, "POST", booleanFlag(key));
      if (written.status === 200) return written;
      refusals.push(`${written.status} ${JSON.stringify(written.body)}`);
      return undefined;
    },
    { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 100, what: `the write of ${key} accepted` },
  );
  const unexpected = refusals.filter((refusal) => !refusal.startsWith('503 {"code":14,'));
  assert.deepEqual(unexpected, [], "every write refused while the database came back was Unavailable");
  return accepted;
}

describe("PostgreSQL stopped, started and its connections cut, under load", () => {
  const password = `pw-${randomBytes(12).toString("hex")}`;
  let postgres: PrivatePostgres;
  let server: PennantProcess;
  let redacted: string;

  before(async () => {
    postgres = await startPrivatePostgres();
    await postgres.admin(`CREATE ROLE pennant LOGIN PASSWORD '${password}'`);
    await postgres.admin("CREATE DATABASE flags OWNER pennant");
    redacted = `postgres://pennant:xxxxx@127.0.0.1:${postgres.port}/flags?sslmode=disable`;
    server = await startPennantProcess({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
      FLIPT_STORAGE_DEFAULT_BACKEND_URL: redacted.replace(":xxxxx@", `:${password}@`),
      // Nothing but a notification, or the loss of the notification connection, makes Pennant read again.
      FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1h",
    });
    await createAll(server);
  });
  after(async () => {
    await server?.killHard();
    await postgres?.dispose();
  });

  /** The pids of Pennant's backends that match `where`, once there is one. */
  const backends = (where: string, what: string) =>
    waitFor(
      async () => {
        const rows = await postgres.admin(
          `SELECT pid FROM pg_stat_activity WHERE usename = 'pennant' AND ${where}`,
        );
        return rows.length > 0 ? rows.map((row) => Number(row.pid)) : undefined;
      },
      { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 20, what },
    );
  const listening = () => backends("state = 'idle' AND query LIKE 'LISTEN %'", "Pennant's LISTEN connection");

  /** Sends a write while the lock every write takes first is held here, and resolves once it waits for it. */
  const writeInFlight = async (key: string) => {
    const lock = await holdPostgresWriteLock(postgres.adminUrl("flags"));
    const answer = writeResource(server, "POST", booleanFlag(key));
    answer.catch(() => undefined); // awaited by the caller, after the fault
    const waiting = await backends("wait_event_type = 'Lock'", "Pennant's write waiting for the lock");
    return { answer, waiting, lock };
  };

  it("serves every evaluation through an outage, refuses writes as Unavailable meanwhile, and recovers by itself", async () => {
    const load = startLoad(server, 4);
    let outcomes: readonly Outcome[];
    try {
      await evaluationsIn(load, "start");
      const served = await metaStatus(server);
      assert.equal(served.lastError, undefined);
      const inFlight = await writeInFlight("in-flight-at-stop");

      load.phase = "outage";
      const stoppedAt = Date.now();
      await postgres.stop("fast");
      await inFlight.lock.release();
      const cut = await inFlight.answer;
      assert.equal(cut.status, 503, `the write in flight: ${JSON.stringify(cut.body)}`);
      assert.match(String(cut.body.message), new RegExp(`^database ${literally(redacted)} is unavailable: `));
      assert.equal(JSON.stringify(cut.body).includes(password), false);
      const failed = await waitFor(
        async () => {
          const status = await metaStatus(server);
          return status.lastError === undefined ? undefined : status;
        },
        { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 50, what: "the outage shown by /meta/status" },
      );
      assert.match(
        failed.lastError?.message ?? "",
        new RegExp(`^database ${literally(redacted)} is unavailable: `),
      );
      const foundAt = Date.parse(failed.lastError?.time ?? "");
      assert.ok(foundAt >= stoppedAt, `the error's time (${failed.lastError?.time}) is after the stop`);
      assert.equal(failed.revision, served.revision, "the last good revision is served");
      const refused = await writeResource(server, "POST", booleanFlag("during-outage"));
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 14);
      assert.match(
        String(refused.body.message),
        new RegExp(`^database ${literally(redacted)} is unavailable: `),
      );
      assert.equal(JSON.stringify(refused.body).includes(password), false);
      await evaluationsIn(load, "outage");
      assert.equal((await metaStatus(server)).revision, served.revision);

      load.phase = "restart";
      await postgres.start();
      // Cleared by the environment's own reload: no write has been made since (a write's snapshot would clear it).
      const recovered = await waitFor(
        async () => {
          const status = await metaStatus(server);
          return status.lastError === undefined ? status : undefined;
        },
        { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 50, what: "the status error cleared" },
      );
      assert.equal(recovered.revision, served.revision);
      const accepted = await writeUntilAccepted(server, "after-outage");
      load.phase = "recovered";
      assert.equal((await metaStatus(server)).revision, accepted.body.revision);
      assert.equal(await servedFlag(server, "during-outage"), undefined, "the refused write changed nothing");
      assert.equal(await servedFlag(server, "in-flight-at-stop"), undefined, "the cut write changed nothing");

      // Changed by hand once Pennant listens again: the second change is made after the first is served, so
      // neither the read that follows a new LISTEN nor the hourly poll can explain it; only a notification can.
      await listening();
      for (const description of ["by hand 1", "by hand 2"]) {
        await postgres.admin(
          "UPDATE flags SET description = $1 WHERE namespace_key = 'default' AND key = 'side'",
          [description],
          "flags",
        );
        await waitFor(
          async () => ((await servedFlag(server, "side"))?.description === description ? true : undefined),
          { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 20, what: `"${description}" served` },
        );
      }
      await evaluationsIn(load, "recovered");
    } finally {
      outcomes = await load.stop();
    }
    assertAllAnswered(outcomes, ["start", "outage", "restart", "recovered"]);
  });

  it("runs again the write whose backend was terminated, accepts the next, and serves throughout", async () => {
    await postgres.start();
    await listening();
    await faultRoundsUnderLoad(server, "cut", async (round) => {
      await listening();
      const inFlight = await writeInFlight(`in-flight-${round}`);
      const terminated = await postgres.admin(
        "SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE usename = 'pennant'",
      );
      const pids = terminated.map((row) => Number(row.pid));
      assert.ok(
        inFlight.waiting.every((pid) => pids.includes(pid)),
        "the backend of the write in flight was terminated",
      );
      await waitFor(
        async () =>
          (await postgres.admin("SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)", [pids])).length ===
            0 || undefined,
        { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 20, what: "the terminated backends gone" },
      );
      await inFlight.lock.release();
      return inFlight.answer;
    });
  });

  it("never shows the password: not in the logs, which name the URL redacted", () => {
    assertPasswordNotLogged(server, redacted, password);
  });
});

describe("MariaDB connections killed under load", () => {
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const user = `pennant_${randomBytes(4).toString("hex")}`;
  let database: TestDatabase;
  let server: PennantProcess;
  let admin: mysql.Connection;
  let redacted: string;

  before(async () => {
    database = await createTestDatabase("mysql");
    admin = await mysql.createConnection({ uri: MYSQL_ADMIN });
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await admin.query(`GRANT ALL ON ${database.name}.* TO '${user}'@'%'`);
    const address = new URL(MYSQL_ADMIN);
    redacted = `mysql://${user}:xxxxx@${address.hostname}:${address.port || "3306"}/${database.name}`;
    server = await startPennantProcess({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
      FLIPT_STORAGE_DEFAULT_BACKEND_URL: redacted.replace(":xxxxx@", `:${password}@`),
    });
    await createAll(server);
  });
  after(async () => {
    await server?.killHard();
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await admin?.end();
    await database?.drop();
  });

  /** The ids of Pennant's connections; with `waiting`, only one running a `FOR UPDATE` (it waits for the lock). */
  const connections = async (waiting = false): Promise<number[]> => {
    const [rows] = await admin.query(
      waiting
        ? "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND = 'Query' AND INFO LIKE '%FOR UPDATE'"
        : "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?",
      [user],
    );
    return (rows as { id: number }[]).map((row) => Number(row.id));
  };

  it("runs again the write whose connection was killed, accepts the next, and serves throughout", async () => {
    await faultRoundsUnderLoad(server, "kill", async (round) => {
      // A write in flight, waiting for the counter row's lock (held here), when its connection is killed.
      const lock = await holdMysqlWriteLock(database.name);
      const inFlight = writeResource(server, "POST", booleanFlag(`in-flight-${round}`));
      inFlight.catch(() => undefined); // awaited below, after the kill
      try {
        const waiting = await waitFor(
          async () => {
            const ids = await connections(true);
            return ids.length > 0 ? ids : undefined;
          },
          { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 20, what: "Pennant's write waiting for the lock" },
        );
        // One after another, as an operator would: the write run again may land on one not yet killed.
        const ids = await connections();
        assert.ok(
          waiting.every((id) => ids.includes(id)),
          "the connection of the write in flight is killed",
        );
        for (const id of ids) await admin.query(`KILL ${id}`).catch(() => undefined);
        await waitFor(async () => ((await connections()).some((id) => ids.includes(id)) ? undefined : true), {
          deadlineMs: RECOVERY_DEADLINE_MS,
          intervalMs: 20,
          what: "the killed connections gone",
        });
      } finally {
        await lock.release();
      }
      return inFlight;
    });
  });

  it("never shows the password: not in the logs, which name the URL redacted", () => {
    assertPasswordNotLogged(server, redacted, password);
  });
});

/**
 * `CUT_ROUNDS` rounds of `fault` under a load of evaluations. In each (phase `<fault> <round>`), `cutWhileWriting`
 * sends the write of flag `in-flight-<round>`, cuts Pennant's connections while it waits, and resolves with its
 * answer: it must be accepted (run again on another connection), and so must the next write, `after-<fault>-<round>`.
 * Then, in phase `after`, the status error a cut may leave clears by itself, and every flag written is served. No
 * evaluation fails or answers wrongly in any phase.
 */
async function faultRoundsUnderLoad(
  server: PennantProcess,
  fault: "cut" | "kill",
  cutWhileWriting: (round: number) => Promise<JsonAnswer>,
): Promise<void> {
  const load = startLoad(server, 4);
  let outcomes: readonly Outcome[];
  try {
    for (let round = 0; round < CUT_ROUNDS; round++) {
      load.phase = `${fault} ${round}`;
      const retried = await cutWhileWriting(round);
      assert.equal(retried.status, 200, `the write in flight is run again: ${JSON.stringify(retried.body)}`);
      const written = await writeResource(server, "POST", booleanFlag(`after-${fault}-${round}`));
      assert.equal(written.status, 200, JSON.stringify(written.body));
      await evaluationsIn(load, `${fault} ${round}`);
    }
    load.phase = "after";
    // A cut can fail a reload (the poll it sets off may take a pooled connection not yet found dead): the
    // status may show that for a moment, and clears by itself.
    await waitFor(async () => ((await metaStatus(server)).lastError === undefined ? true : undefined), {
      deadlineMs: RECOVERY_DEADLINE_MS,
      intervalMs: 50,
      what: "no error in the status",
    });
    await evaluationsIn(load, "after");
    for (let round = 0; round < CUT_ROUNDS; round++) {
      assert.notEqual(await servedFlag(server, `in-flight-${round}`), undefined);
      assert.notEqual(await servedFlag(server, `after-${fault}-${round}`), undefined);
    }
  } finally {
    outcomes = await load.stop();
  }
  assertAllAnswered(outcomes, [
    ...Array.from({ length: CUT_ROUNDS }, (_, round) => `${fault} ${round}`),
    "after",
  ]);
}

/** Asserts that what the process wrote names the database by `redacted`, and never contains `password`. */
function assertPasswordNotLogged(server: PennantProcess, redacted: string, password: string): void {
  const output = server.output();
  assert.ok(output.includes(redacted), "the logs name the database");
  assert.equal(output.includes(password), false, "the password is in the logs");
}

/**
 * Takes the lock every Pennant write takes first (the change counter's row, `FOR UPDATE`) in a transaction of its
 * own, so that a write sent now waits for it until `release`. The server may stop under it.
 */
async function holdPostgresWriteLock(connectionString: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString });
  client.on("error", () => undefined);
  await client.connect();
  await client.query("BEGIN");
  await client.query("SELECT change_counter FROM pennant_state WHERE id = 1 FOR UPDATE");
  return {
    async release() {
      await client.query("COMMIT").catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** `holdPostgresWriteLock` on MariaDB: the change counter's row of database `name`, held by the admin user. */
async function holdMysqlWriteLock(name: string): Promise<{ release(): Promise<void> }> {
  const holder = await mysql.createConnection({ uri: MYSQL_ADMIN });
  holder.on("error", () => undefined);
  await holder.query("START TRANSACTION");
  await holder.query(`SELECT change_counter FROM ${name}.pennant_state WHERE id = 1 FOR UPDATE`);
  return {
    async release() {
      await holder.query("COMMIT").catch(() => undefined);
      await holder.end().catch(() => undefined);
    },
  };
}

/** `text` as a regular expression that matches it literally. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
