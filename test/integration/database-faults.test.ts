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
import { type PrivatePostgres, startPrivatePostgres } from "../helpers/private-postgres.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-databases.js";
import { waitFor } from "../helpers/wait-for.js";

const MYSQL_ADMIN = process.env.PENNANT_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** How long recovery may take before the test fails: generous, as this is not a timing test. */
const RECOVERY_DEADLINE_MS = 20_000;

/** How many times Pennant's connections are cut while the load runs. */
const CUT_ROUNDS = 3;

const SEGMENT = {
  "@type": "flipt.core.Segment",
  key: "pro",
  name: "Pro",
  matchType: "ALL_MATCH_TYPE",
  constraints: [{ type: "STRING_COMPARISON_TYPE", property: "plan", operator: "eq", value: "pro" }],
};
const COLOR = {
  "@type": "flipt.core.Flag",
  key: "color",
  name: "Color",
  type: "VARIANT_FLAG_TYPE",
  enabled: true,
  variants: [
    { key: "gray", name: "Gray" },
    { key: "blue", name: "Blue" },
  ],
  defaultVariant: "gray",
  rules: [{ segments: ["pro"], distributions: [{ variant: "blue", rollout: 100 }] }],
};
const BETA = {
  "@type": "flipt.core.Flag",
  key: "beta",
  name: "Beta",
  type: "BOOLEAN_FLAG_TYPE",
  enabled: true,
  rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: ["pro"], value: false } }],
};
/** A flag the test changes by hand in SQL; the load never evaluates it. */
const SIDE = { "@type": "flipt.core.Flag", key: "side", name: "Side", type: "BOOLEAN_FLAG_TYPE" };

const booleanFlag = (key: string) => ({
  "@type": "flipt.core.Flag",
  key,
  name: key,
  type: "BOOLEAN_FLAG_TYPE",
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function rest(server: PennantProcess, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${server.httpUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const RESOURCES = "/api/v2/environments/default/namespaces/default/resources";

/** Creates a resource through the environments API. */
function create(server: PennantProcess, payload: { key: string }): Promise<Answer> {
  return rest(server, "POST", RESOURCES, { key: payload.key, payload });
}

async function createAll(server: PennantProcess): Promise<void> {
  for (const payload of [SEGMENT, COLOR, BETA, SIDE]) {
    const created = await create(server, payload);
    assert.equal(created.status, 200, JSON.stringify(created.body));
  }
}

/** A flag as served: its payload, or undefined while it is not there. */
async function servedFlag(server: PennantProcess, key: string): Promise<Record<string, unknown> | undefined> {
  const read = await rest(server, "GET", `${RESOURCES}/flipt.core.Flag/${key}`);
  if (read.status === 404) return undefined;
  assert.equal(read.status, 200, JSON.stringify(read.body));
  return (read.body.resource as { payload: Record<string, unknown> }).payload;
}

interface EnvironmentStatusJson {
  readonly revision: string;
  readonly lastError?: { readonly message: string; readonly time?: string };
}

async function metaStatus(server: PennantProcess): Promise<EnvironmentStatusJson> {
  const status = await rest(server, "GET", "/meta/status");
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
async function writeUntilAccepted(server: PennantProcess, key: string): Promise<Answer> {
  const refusals: string[] = [];
  const accepted = await waitFor(
    async () => {
      const written = await create(server, booleanFlag(key));
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
    const answer = create(server, booleanFlag(key));
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
      const refused = await create(server, booleanFlag("during-outage"));
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
    const load = startLoad(server, 4);
    let outcomes: readonly Outcome[];
    try {
      for (let round = 0; round < CUT_ROUNDS; round++) {
        load.phase = `cut ${round}`;
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
        const retried = await inFlight.answer;
        assert.equal(
          retried.status,
          200,
          `the write in flight is run again: ${JSON.stringify(retried.body)}`,
        );
        const written = await create(server, booleanFlag(`after-cut-${round}`));
        assert.equal(written.status, 200, JSON.stringify(written.body));
        await evaluationsIn(load, `cut ${round}`);
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
        assert.notEqual(await servedFlag(server, `after-cut-${round}`), undefined);
      }
    } finally {
      outcomes = await load.stop();
    }
    assertAllAnswered(outcomes, [
      ...Array.from({ length: CUT_ROUNDS }, (_, round) => `cut ${round}`),
      "after",
    ]);
  });

  it("never shows the password: not in the logs, which name the URL redacted", () => {
    const output = server.output();
    assert.ok(output.includes(redacted), "the logs name the database");
    assert.equal(output.includes(password), false, "the password is in the logs");
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
    const load = startLoad(server, 4);
    let outcomes: readonly Outcome[];
    try {
      for (let round = 0; round < CUT_ROUNDS; round++) {
        load.phase = `kill ${round}`;
        // A write in flight, waiting for the counter row's lock (held here), when its connection is killed.
        const holder = await mysql.createConnection({ uri: MYSQL_ADMIN });
        holder.on("error", () => undefined);
        await holder.query("START TRANSACTION");
        await holder.query(
          `SELECT change_counter FROM ${database.name}.pennant_state WHERE id = 1 FOR UPDATE`,
        );
        const inFlight = create(server, booleanFlag(`in-flight-${round}`));
        inFlight.catch(() => undefined); // awaited below, after the kill
        try {
          const waiting = await waitFor(
            async () => {
              const ids = await connections(true);
              return ids.length > 0 ? ids : undefined;
            },
            {
              deadlineMs: RECOVERY_DEADLINE_MS,
              intervalMs: 20,
              what: "Pennant's write waiting for the lock",
            },
          );
          // One after another, as an operator would: the write run again may land on one not yet killed.
          const ids = await connections();
          assert.ok(
            waiting.every((id) => ids.includes(id)),
            "the connection of the write in flight is killed",
          );
          for (const id of ids) await admin.query(`KILL ${id}`).catch(() => undefined);
          await waitFor(
            async () => ((await connections()).some((id) => ids.includes(id)) ? undefined : true),
            {
              deadlineMs: RECOVERY_DEADLINE_MS,
              intervalMs: 20,
              what: "the killed connections gone",
            },
          );
        } finally {
          await holder.query("COMMIT").catch(() => undefined);
          await holder.end().catch(() => undefined);
        }
        const retried = await inFlight;
        assert.equal(
          retried.status,
          200,
          `the write in flight is run again: ${JSON.stringify(retried.body)}`,
        );
        const written = await create(server, booleanFlag(`after-kill-${round}`));
        assert.equal(written.status, 200, JSON.stringify(written.body));
        await evaluationsIn(load, `kill ${round}`);
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
        assert.notEqual(await servedFlag(server, `after-kill-${round}`), undefined);
      }
    } finally {
      outcomes = await load.stop();
    }
    assertAllAnswered(outcomes, [
      ...Array.from({ length: CUT_ROUNDS }, (_, round) => `kill ${round}`),
      "after",
    ]);
  });

  it("never shows the password: not in the logs, which name the URL redacted", () => {
    const output = server.output();
    assert.ok(output.includes(redacted), "the logs name the database");
    assert.equal(output.includes(password), false, "the password is in the logs");
  });
});

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

/** `text` as a regular expression that matches it literally. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
