/**
 * Issue 18's faults of the Redis cache (deliverable 4), each through a real `pennant server` on a SQLite database
 * with `cache.backend: redis` on a Redis server this file starts (test/helpers/private-redis.ts; never a shared
 * one), with a password, `cache.ttl: 1s` (every namespace is read again each second, so the cache is used all the
 * time) and `cache.redis.net_timeout: 500ms` (commands time out after 1 s). Under a steady load of evaluations
 * (Connect and REST) and environments API reads, none of which may fail, answer wrongly or take longer than
 * `HANG_BOUND_MS`:
 *
 * - Redis killed (SIGKILL): evaluations and reads are served from the database; a write succeeds and is served;
 *   `/meta/status` shows the cache error (message naming Redis, time after the kill, no password) and
 *   `flipt_cache_error_total` grows. Redis started again: the error clears by itself, the error counter stops, and
 *   Redis holds current entries again.
 * - Redis frozen (SIGSTOP, a partition: connections stay open, nothing answers): the same, within the bound (the
 *   cache must not wait on Redis), a write included; then thawed, and the same recovery.
 * - Redis answering garbage: its entries overwritten with random bytes, entries encoded as Pennant encodes them
 *   (no namespaces; a namespace without flags) but without the checksum, a value copied from the other key, a value cut short, and values of the wrong Redis type (a list, a
 *   hash). Each is read, logged as an error and counted, and the database is served; then Redis holds good values
 *   again. Values replayed from before a write (a Redis restored from a backup) are not served either.
 * - Redis serving a miss: once Redis holds current entries that outlive the ones in memory, the miss that follows
 *   is answered from Redis (list of namespaces and namespace) without a statement to the database.
 * - The password never appears in what the process wrote (at debug level) nor in `/meta/status`.
 *
 * And, with two processes started side by side:
 * - Redis down at start (over TLS, with a password and the CA in `ca_cert_path`): the server starts and serves
 *   evaluations and reads from the database, `/meta/status` shows the error; Redis started later is used without a
 *   restart (the error clears, entries appear in Redis).
 * - A wrong password: the server refuses to start, exit code 2, naming `cache.redis.password` and Redis's WRONGPASS,
 *   and the password is not in its output. (No password for a Redis that requires one is refused the same way:
 *   src/storage/cache/open-redis-cache.test.ts.)
 *
 * Timings are printed as diagnostics; only "did not hang" bounds are asserted.
 * Cost: three `pennant` processes (two of them started side by side), three Redis servers; about 25-35 s on 2
 * cores, half of it starting the processes.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { redisCacheKey } from "../../src/storage/cache/open-redis-cache.js";
import { openRedisEnvelope } from "../../src/storage/cache/redis-envelope.js";
import { encodeListEntry, encodeNamespaceEntry } from "../../src/storage/database/shared-entry.js";
import { betaFlag, booleanFlag, COLOR_FLAG, PRO_SEGMENT } from "../helpers/flag-payloads.js";
import { metricValue } from "../helpers/metric-value.js";
import { type PrivateRedis, startPrivateRedis } from "../helpers/private-redis.js";
import { resourcesPath, restJson, writeResource } from "../helpers/rest-json.js";
import {
  type PennantProcess,
  type PennantRun,
  runPennant,
  startPennantProcess,
} from "../helpers/start-pennant-process.js";
import { waitFor } from "../helpers/wait-for.js";

/** A request taking longer than this waited on Redis: the cache must fail fast instead. Not a timing target. */
const HANG_BOUND_MS = 5_000;
/** How long a request may take before it is abandoned (and counted as failed), so that the test never hangs. */
const REQUEST_TIMEOUT_MS = 15_000;
/** How long recovery may take before the test fails: generous, as this is not a timing test. */
const RECOVERY_DEADLINE_MS = 20_000;

/** `cache.ttl`: the shortest Redis honours as given, so each namespace is read again (a miss) every second. */
const CACHE_TTL = "1s";
const CACHE_TTL_MS = 1_000;
/** The storage's id, part of every logical key; the prefix is Flipt's default. */
const STORAGE = "default";
const PREFIX = "flipt";
/** The logical keys of the list of namespaces and of namespace `default`, and their keys in Redis. */
const LIST_KEY = `s:nl:${STORAGE}`;
const NAMESPACE_KEY = `s:ns:${STORAGE}:default`;
const LIST_REDIS_KEY = redisCacheKey(PREFIX, LIST_KEY);
const NAMESPACE_REDIS_KEY = redisCacheKey(PREFIX, NAMESPACE_KEY);

/** `beta` is on for everyone but the `pro` segment. */
const BETA = betaFlag(true);

/** The environment of a server on database `url` with the Redis cache on `redis`. */
function cacheEnv(
  url: string,
  redis: PrivateRedis,
  password: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
    FLIPT_STORAGE_DEFAULT_BACKEND_URL: url,
    // Only requests read the database: its statements are the requests' (and nothing polls it meanwhile).
    FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1h",
    FLIPT_CACHE_ENABLED: "true",
    FLIPT_CACHE_BACKEND: "redis",
    FLIPT_CACHE_TTL: CACHE_TTL,
    FLIPT_CACHE_REDIS_HOST: redis.host,
    FLIPT_CACHE_REDIS_PORT: String(redis.port),
    FLIPT_CACHE_REDIS_PASSWORD: password,
    FLIPT_CACHE_REDIS_NET_TIMEOUT: "500ms",
    ...extra,
  };
}

interface Counts {
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
  readonly queries: number;
}

async function counts(server: PennantProcess): Promise<Counts> {
  const response = await fetch(`${server.httpUrl}/metrics`, {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  return {
    hits: metricValue(text, "flipt_cache_hit_total", '{cache="redis"}'),
    misses: metricValue(text, "flipt_cache_miss_total", '{cache="redis"}'),
    errors: metricValue(text, "flipt_cache_error_total", '{cache="redis"}'),
    queries: metricValue(text, "pennant_database_queries_total", `{storage="${STORAGE}"}`),
  };
}

/** `/meta/status`'s cache of the only environment, as JSON. */
interface CacheStatusJson {
  readonly backend: string;
  readonly hits: string;
  readonly misses: string;
  readonly errors: string;
  readonly entries: number;
  readonly lastError: string;
  readonly lastErrorTime?: string;
}

async function cacheStatus(server: PennantProcess): Promise<{ cache: CacheStatusJson; text: string }> {
  const status = await restJson(server, "GET", "/meta/status");
  assert.equal(status.status, 200);
  const environments = status.body.environments as { cache?: CacheStatusJson }[];
  assert.equal(environments.length, 1);
  const cache = environments[0]?.cache ?? assert.fail("no cache in /meta/status");
  return { cache, text: JSON.stringify(status.body) };
}

/** Waits until `/meta/status` shows a cache error, and returns it. */
function cacheErrorShown(server: PennantProcess, what: string): Promise<CacheStatusJson> {
  return waitFor(
    async () => {
      const { cache } = await cacheStatus(server);
      return cache.lastError === "" ? undefined : cache;
    },
    { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 50, what },
  );
}

/** Waits until `/meta/status` shows no cache error. */
function cacheErrorCleared(server: PennantProcess, what: string): Promise<CacheStatusJson> {
  return waitFor(
    async () => {
      const { cache } = await cacheStatus(server);
      return cache.lastError === "" ? cache : undefined;
    },
    { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 50, what },
  );
}

/** A boolean evaluation over REST; throws unless it answers 200. */
async function evaluateBoolean(
  server: PennantProcess,
  flagKey: string,
  { namespaceKey = "default", plan = "free", entityId = "u1" } = {},
): Promise<boolean> {
  const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
    method: "POST",
    body: JSON.stringify({ namespaceKey, flagKey, entityId, context: { plan } }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${flagKey}: HTTP ${response.status}: ${text}`);
  return (JSON.parse(text) as { enabled: boolean }).enabled;
}

/**
 * Waits until Redis holds an entry in Pennant's format, checksum right, at each of `keys` (logical and Redis key),
 * calling `poke` before each look when given (entries are written on a miss: something must ask).
 */
function goodEntriesIn(
  redis: PrivateRedis,
  keys: readonly (readonly [string, string])[],
  what: string,
  poke?: () => Promise<unknown>,
) {
  return waitFor(
    async () => {
      await poke?.();
      for (const [logical, physical] of keys) {
        const stored = await redis.command("GET", physical).catch(() => null);
        if (typeof stored !== "string" || "problem" in openRedisEnvelope(logical, stored)) return undefined;
      }
      return true;
    },
    { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 50, what },
  );
}

/** One request the load made: the phase when it was sent, how long it took, and what went wrong, if anything. */
interface Outcome {
  readonly phase: string;
  readonly ms: number;
  readonly error?: string;
}

/** A check the load runs: throws when the answer is wrong. `call` varies the entity and plan. */
type Check = (call: number) => Promise<void>;

/**
 * Requests in `workers` loops until stopped, cycling through `checks` (which the test may add to): each answer is
 * checked, timed and recorded with the phase current when it was sent.
 */
function startLoad(workers: number, checks: Check[]) {
  const outcomes: Outcome[] = [];
  let phase = "start";
  let stopped = false;
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let call = worker; !stopped; call += workers) {
      const sentIn = phase;
      const check = checks[call % checks.length] as Check;
      const started = performance.now();
      try {
        await check(call);
        outcomes.push({ phase: sentIn, ms: performance.now() - started });
      } catch (error) {
        outcomes.push({ phase: sentIn, ms: performance.now() - started, error: String(error) });
      }
      // A pause that lets the test's own requests through on a 2-core machine; not a wait for anything.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    set phase(name: string) {
      phase = name;
    },
    count: (name: string) => outcomes.filter((outcome) => outcome.phase === name && !outcome.error).length,
    async stop(): Promise<readonly Outcome[]> {
      stopped = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

type Load = ReturnType<typeof startLoad>;

/** Waits until `count` requests sent in `phase` have been answered right, so each phase is shown to be under load. */
function answeredIn(load: Load, phase: string, count = 20): Promise<true> {
  return waitFor(() => (load.count(phase) >= count ? true : undefined), {
    deadlineMs: RECOVERY_DEADLINE_MS,
    intervalMs: 20,
    what: `${count} requests answered in phase "${phase}"`,
  });
}

/**
 * Asserts that every request answered right and within `HANG_BOUND_MS`, and that every phase in `phases` saw some;
 * prints each phase's count and slowest request.
 */
function assertAllAnswered(t: TestContext, outcomes: readonly Outcome[], phases: readonly string[]): void {
  for (const phase of new Set(outcomes.map((outcome) => outcome.phase))) {
    const inPhase = outcomes.filter((outcome) => outcome.phase === phase);
    const slowest = Math.max(...inPhase.map((outcome) => outcome.ms));
    t.diagnostic(`phase "${phase}": ${inPhase.length} requests, slowest ${slowest.toFixed(0)} ms`);
  }
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  assert.deepEqual(
    failed.slice(0, 5),
    [],
    `${failed.length} of ${outcomes.length} requests failed; the first five are shown`,
  );
  const slow = outcomes.filter((outcome) => outcome.ms > HANG_BOUND_MS);
  assert.deepEqual(slow.slice(0, 5), [], `${slow.length} requests took over ${HANG_BOUND_MS} ms`);
  for (const phase of phases) {
    assert.ok(
      outcomes.some((outcome) => outcome.phase === phase),
      `requests were answered in phase "${phase}"`,
    );
  }
}

/**
 * `error`, or, when the load also got something wrong or took too long, that first (with `error` after it): for a
 * test that failed while the load ran. Stops the load.
 */
async function withLoadFailures(t: TestContext, load: Load, error: unknown): Promise<unknown> {
  const outcomes = await load.stop();
  try {
    assertAllAnswered(t, outcomes, []);
  } catch (failure) {
    return new Error(`${(failure as Error).message}\nand then: ${String(error)}`, { cause: error });
  }
  return error;
}

/**
 * The load's checks: a Connect variant evaluation of `color`, a REST boolean evaluation of `beta`, and an
 * environments API read of `color`, each checked against the flags created.
 */
function baseChecks(server: PennantProcess): Check[] {
  const client = createClient(
    EvaluationService,
    createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
  );
  const planOf = (call: number) => (call % 4 < 2 ? "pro" : "free");
  return [
    async (call) => {
      const plan = planOf(call);
      const variant = await client.variant(
        { namespaceKey: "default", flagKey: "color", entityId: `e${call}`, context: { plan } },
        { timeoutMs: REQUEST_TIMEOUT_MS },
      );
      const expected = plan === "pro" ? "blue" : "gray";
      if (variant.variantKey !== expected) throw new Error(`color for ${plan}: ${variant.variantKey}`);
    },
    async (call) => {
      const plan = planOf(call);
      const enabled = await evaluateBoolean(server, "beta", { plan, entityId: `e${call}` });
      if (enabled !== (plan !== "pro")) throw new Error(`beta for ${plan}: ${enabled}`);
    },
    async () => {
      const read = await restJson(
        server,
        "GET",
        `${resourcesPath()}/flipt.core.Flag/color`,
        undefined,
        REQUEST_TIMEOUT_MS,
      );
      if (read.status !== 200) throw new Error(`read color: ${read.status} ${JSON.stringify(read.body)}`);
      const payload = (read.body.resource as { payload: { variants: unknown[]; defaultVariant: string } })
        .payload;
      if (payload.variants.length !== 2 || payload.defaultVariant !== "gray") {
        throw new Error(`read color: ${JSON.stringify(payload)}`);
      }
    },
  ];
}

/** A check that boolean flag `key` (in `namespace`) evaluates to `enabled`. */
function booleanCheck(server: PennantProcess, key: string, enabled: boolean, namespace = "default"): Check {
  return async (call) => {
    const got = await evaluateBoolean(server, key, { namespaceKey: namespace, entityId: `e${call}` });
    if (got !== enabled) throw new Error(`${namespace}/${key}: ${got}`);
  };
}

/** Writes boolean flag `key`, checking that it is accepted within the hang bound; resolves with the time taken. */
async function writeFlag(
  server: PennantProcess,
  key: string,
  { enabled = true, namespace = "default" } = {},
): Promise<number> {
  const started = performance.now();
  const written = await writeResource(server, "POST", booleanFlag(key, { enabled }), { namespace });
  const ms = performance.now() - started;
  assert.equal(written.status, 200, JSON.stringify(written.body));
  assert.ok(ms < HANG_BOUND_MS, `the write of ${key} took ${ms.toFixed(0)} ms`);
  return ms;
}

/** How many of the process's JSON log lines are Redis cache errors whose `err` contains `text`. */
function cacheErrorLines(server: PennantProcess, text: string): number {
  let count = 0;
  for (const line of server.stdout().split("\n")) {
    if (!line.startsWith("{") || !line.includes('"Redis cache error"')) continue;
    const parsed = JSON.parse(line) as { err?: unknown };
    if (typeof parsed.err === "string" && parsed.err.includes(text)) count++;
  }
  return count;
}

describe("the Redis cache failing under load", () => {
  const password = `rp-${randomBytes(12).toString("hex")}`;
  let root: string;
  let redis: PrivateRedis;
  let server: PennantProcess;
  let checks: Check[];

  before(async () => {
    const started = performance.now();
    root = await mkdtemp(join(tmpdir(), "pennant-cache-faults-"));
    redis = await startPrivateRedis({ password });
    server = await startPennantProcess(
      // At debug level, so that every line the cache may log is searched for the password.
      cacheEnv(`file:${join(root, "flipt.db")}`, redis, password, { FLIPT_LOG_LEVEL: "debug" }),
    );
    for (const payload of [PRO_SEGMENT, COLOR_FLAG, BETA]) {
      const created = await writeResource(server, "POST", payload);
      assert.equal(created.status, 200, JSON.stringify(created.body));
    }
    checks = baseChecks(server);
    for (const check of checks) await check(0);
    await goodEntriesIn(
      redis,
      [
        [LIST_KEY, LIST_REDIS_KEY],
        [NAMESPACE_KEY, NAMESPACE_REDIS_KEY],
      ],
      "the entries in Redis",
      () => evaluateBoolean(server, "beta"),
    );
    const keys = (await redis.command("KEYS", "*")) as string[];
    assert.deepEqual(
      keys.filter((key) => key !== LIST_REDIS_KEY && key !== NAMESPACE_REDIS_KEY),
      [],
      "Redis holds the list of namespaces and the namespace, under Flipt's key scheme",
    );
    process.stdout.write(`set up in ${(performance.now() - started).toFixed(0)} ms\n`);
  });
  after(async () => {
    await server?.killHard();
    await redis?.dispose();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it("serves everything from the database while Redis is killed, shows the error, and recovers when it is back", async (t) => {
    const load = startLoad(3, checks);
    try {
      await answeredIn(load, "start");
      assert.equal((await cacheStatus(server)).cache.lastError, "");
      const before = await counts(server);

      load.phase = "killed";
      const killedAt = Date.now();
      await redis.stop("SIGKILL");
      const failed = await cacheErrorShown(server, "the cache error in /meta/status");
      t.diagnostic(`error shown ${Date.now() - killedAt} ms after the kill: ${failed.lastError}`);
      assert.match(failed.lastError, new RegExp(`^redis 127\\.0\\.0\\.1:${redis.port}: `));
      const at = Date.parse(failed.lastErrorTime ?? "");
      assert.ok(at >= killedAt - 1000, `the error's time (${failed.lastErrorTime}) is that of the kill`);
      // A write while Redis is down succeeds, and is served from then on.
      t.diagnostic(`write while killed: ${(await writeFlag(server, "written-while-killed")).toFixed(0)} ms`);
      assert.equal(await evaluateBoolean(server, "written-while-killed"), true);
      checks.push(booleanCheck(server, "written-while-killed", true));
      // Long enough for misses (of the list and the namespace, each once a second) that find Redis down.
      await waitFor(async () => ((await counts(server)).misses >= before.misses + 2 ? true : undefined), {
        deadlineMs: RECOVERY_DEADLINE_MS,
        intervalMs: 50,
        what: "two misses while Redis is down",
      });
      await answeredIn(load, "killed");
      const down = await counts(server);
      assert.ok(
        down.errors > before.errors,
        `flipt_cache_error_total grew (${before.errors} → ${down.errors})`,
      );
      const { text } = await cacheStatus(server);
      assert.equal(text.includes(password), false, "the password is in /meta/status");

      load.phase = "restarted";
      const restartedAt = Date.now();
      await redis.start();
      await cacheErrorCleared(server, "the cache error cleared");
      t.diagnostic(`error cleared ${Date.now() - restartedAt} ms after the start`);
      // Redis is filled again by the misses that follow, and they count no error.
      await goodEntriesIn(
        redis,
        [
          [LIST_KEY, LIST_REDIS_KEY],
          [NAMESPACE_KEY, NAMESPACE_REDIS_KEY],
        ],
        "current entries in Redis again",
      );
      t.diagnostic(`Redis filled again ${Date.now() - restartedAt} ms after the start`);
      const refilled = await counts(server);
      await waitFor(async () => ((await counts(server)).misses >= refilled.misses + 2 ? true : undefined), {
        deadlineMs: RECOVERY_DEADLINE_MS,
        intervalMs: 50,
        what: "two misses with Redis back",
      });
      const healthy = await counts(server);
      assert.equal(healthy.errors, refilled.errors, "no cache error once Redis is back");
      assert.ok(healthy.hits > refilled.hits, "hits go on");
      assert.equal((await cacheStatus(server)).cache.lastError, "");
      await answeredIn(load, "restarted");
    } catch (error) {
      throw await withLoadFailures(t, load, error);
    }
    assertAllAnswered(t, await load.stop(), ["start", "killed", "restarted"]);
  });

  it("does not wait on a frozen Redis: every request answers within the bound, and it recovers once thawed", async (t) => {
    const load = startLoad(3, checks);
    try {
      await answeredIn(load, "start");
      const before = await counts(server);

      load.phase = "frozen";
      const frozenAt = Date.now();
      redis.freeze();
      const failed = await cacheErrorShown(server, "the frozen Redis in /meta/status");
      t.diagnostic(`error shown ${Date.now() - frozenAt} ms after the freeze: ${failed.lastError}`);
      assert.match(failed.lastError, new RegExp(`^redis 127\\.0\\.0\\.1:${redis.port}: `));
      t.diagnostic(`write while frozen: ${(await writeFlag(server, "written-while-frozen")).toFixed(0)} ms`);
      assert.equal(await evaluateBoolean(server, "written-while-frozen"), true);
      checks.push(booleanCheck(server, "written-while-frozen", true));
      await waitFor(async () => ((await counts(server)).misses >= before.misses + 2 ? true : undefined), {
        deadlineMs: RECOVERY_DEADLINE_MS,
        intervalMs: 50,
        what: "two misses while Redis is frozen",
      });
      await answeredIn(load, "frozen");
      const frozen = await counts(server);
      assert.ok(
        frozen.errors > before.errors,
        `flipt_cache_error_total grew (${before.errors} → ${frozen.errors})`,
      );

      load.phase = "thawed";
      const thawedAt = Date.now();
      redis.thaw();
      await cacheErrorCleared(server, "the cache error cleared after the thaw");
      t.diagnostic(`error cleared ${Date.now() - thawedAt} ms after the thaw`);
      await goodEntriesIn(
        redis,
        [
          [LIST_KEY, LIST_REDIS_KEY],
          [NAMESPACE_KEY, NAMESPACE_REDIS_KEY],
        ],
        "current entries in Redis after the thaw",
      );
      const refilled = await counts(server);
      await waitFor(async () => ((await counts(server)).misses >= refilled.misses + 2 ? true : undefined), {
        deadlineMs: RECOVERY_DEADLINE_MS,
        intervalMs: 50,
        what: "two misses after the thaw",
      });
      assert.equal((await counts(server)).errors, refilled.errors, "no cache error once Redis is thawed");
      await answeredIn(load, "thawed");
    } catch (error) {
      throw await withLoadFailures(t, load, error);
    }
    assertAllAnswered(t, await load.stop(), ["start", "frozen", "thawed"]);
  });

  it("never serves what a Redis answering garbage holds: each value is an error, and the database is served", async (t) => {
    const load = startLoad(3, checks);
    try {
      await answeredIn(load, "start");
      const before = await counts(server);
      const namespaceValue = String(await redis.command("GET", NAMESPACE_REDIS_KEY));
      // Entries as Pennant encodes them, read at a counter far ahead, that would serve no namespaces, or a namespace
      // without flags: wrong flag data, if anything but the checksum let them through.
      const forged = encodeListEntry(1e9, []);
      const forgedNamespace = encodeNamespaceEntry(1e9, {
        key: "default",
        name: "Default",
        description: "",
        flags: new Map(),
        segments: new Map(),
      });
      const setGarbage = async (key: string, kind: string) => {
        switch (kind) {
          case "random bytes":
            return redis.command("SET", key, randomBytes(96).toString("latin1"));
          case "JSON without checksum":
            return redis.command("SET", key, key === LIST_REDIS_KEY ? forged : forgedNamespace);
          case "copied from the other key":
            return redis.command("SET", key, namespaceValue);
          case "cut short":
            return redis.command("SET", key, namespaceValue.slice(0, -12));
          case "a list":
            await redis.command("DEL", key);
            return redis.command("LPUSH", key, forged);
          case "a hash":
            await redis.command("DEL", key);
            return redis.command("HSET", key, "value", forged);
        }
        throw new Error(kind);
      };
      const expected: Record<string, string> = {
        "random bytes": "failed its integrity check: not in Pennant's format",
        "JSON without checksum": "failed its integrity check: not in Pennant's format",
        "copied from the other key": "failed its integrity check: its checksum does not match",
        "cut short": "failed its integrity check: its checksum does not match",
        "a list": "WRONGTYPE",
        "a hash": "WRONGTYPE",
      };
      const rounds: [string, string][] = [
        ["JSON without checksum", "random bytes"],
        ["copied from the other key", "a list"],
        ["a hash", "cut short"],
      ];
      for (const [round, [listKind, namespaceKind]] of rounds.entries()) {
        load.phase = `garbage ${round}`;
        // Redis's WRONGTYPE error does not name the key; the checksum's does.
        const logged = (logical: string, kind: string) =>
          expected[kind] === "WRONGTYPE"
            ? cacheErrorLines(server, "get failed: WRONGTYPE")
            : cacheErrorLines(server, `${JSON.stringify(logical)} ${expected[kind]}`);
        const seen = [logged(LIST_KEY, listKind), logged(NAMESPACE_KEY, namespaceKind)];
        const injectedAt = Date.now();
        await setGarbage(LIST_REDIS_KEY, listKind);
        await setGarbage(NAMESPACE_REDIS_KEY, namespaceKind);
        // The next miss of each (within a second) reads it, and must log it as an error.
        await waitFor(
          () =>
            logged(LIST_KEY, listKind) > (seen[0] ?? 0) &&
            logged(NAMESPACE_KEY, namespaceKind) > (seen[1] ?? 0)
              ? true
              : undefined,
          {
            deadlineMs: RECOVERY_DEADLINE_MS,
            intervalMs: 20,
            what: `the list as ${listKind} and the namespace as ${namespaceKind} read and logged as errors`,
          },
        );
        t.diagnostic(
          `round ${round} (${listKind}, ${namespaceKind}): read ${Date.now() - injectedAt} ms after`,
        );
        await answeredIn(load, `garbage ${round}`, 5);
      }
      const after = await counts(server);
      assert.ok(
        after.errors >= before.errors + 2 * rounds.length,
        `each garbage value counted as an error (${before.errors} → ${after.errors})`,
      );
      assert.ok(after.misses >= before.misses + rounds.length, "each was read on a miss");

      load.phase = "replayed";
      // Values of the right keys, checksums right, from before a write: a Redis restored from a backup.
      const oldList = String(await redis.command("GET", LIST_REDIS_KEY));
      const oldNamespace = String(await redis.command("GET", NAMESPACE_REDIS_KEY));
      assert.equal("problem" in openRedisEnvelope(LIST_KEY, oldList), false);
      const created = await restJson(server, "POST", "/api/v2/environments/default/namespaces", {
        key: "team",
        name: "Team",
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      await writeFlag(server, "in-team", { namespace: "team" });
      await writeFlag(server, "after-replay-point");
      checks.push(
        booleanCheck(server, "in-team", true, "team"),
        booleanCheck(server, "after-replay-point", true),
      );
      await redis.command("SET", LIST_REDIS_KEY, oldList, "PX", 60_000);
      await redis.command("SET", NAMESPACE_REDIS_KEY, oldNamespace, "PX", 60_000);
      const replayedAt = Date.now();
      // Read on the next miss, found out of date, and replaced by what the database holds (a value taken as
      // current would have been kept in memory for its minute, and served: the load would have failed since).
      await waitFor(
        async () => {
          const [list, namespace] = await Promise.all([
            redis.command("GET", LIST_REDIS_KEY),
            redis.command("GET", NAMESPACE_REDIS_KEY),
          ]);
          return list !== oldList && namespace !== oldNamespace ? true : undefined;
        },
        { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 20, what: "the replayed values replaced" },
      );
      t.diagnostic(`replayed values replaced ${Date.now() - replayedAt} ms after`);

      load.phase = "cleaned";
      await goodEntriesIn(
        redis,
        [
          [LIST_KEY, LIST_REDIS_KEY],
          [NAMESPACE_KEY, NAMESPACE_REDIS_KEY],
        ],
        "good entries in Redis again",
      );
      await answeredIn(load, "cleaned");
    } catch (error) {
      throw await withLoadFailures(t, load, error);
    }
    assertAllAnswered(t, await load.stop(), [
      "start",
      "garbage 0",
      "garbage 1",
      "garbage 2",
      "replayed",
      "cleaned",
    ]);
  });

  it("answers a miss from Redis when it holds a current entry: no statement to the database", async (t) => {
    // Entries in Redis made to outlive the ones in memory, then a second with no request, so that every entry in
    // memory (the list and each namespace) expires: the next request is a miss that finds them all in Redis. Tried again when a
    // fill still on its way to Redis set a short time to live over the long one, or the request was not a miss.
    const listed = await restJson(server, "GET", "/api/v2/environments/default/namespaces");
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const namespaces = (listed.body.items as { key: string }[]).map((item) => item.key);
    const keys = [
      LIST_REDIS_KEY,
      ...namespaces.map((namespace) => redisCacheKey(PREFIX, `s:ns:${STORAGE}:${namespace}`)),
    ];
    const missed = await waitFor(
      async () => {
        assert.equal(await evaluateBoolean(server, "beta"), true);
        for (const key of keys) {
          if ((await redis.command("PEXPIRE", key, 10_000)) !== 1) return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, CACHE_TTL_MS + 200)); // the entries' lifetime in memory
        for (const key of keys) {
          if (Number(await redis.command("PTTL", key)) < 5_000) return undefined;
        }
        const before = await counts(server);
        assert.equal(await evaluateBoolean(server, "beta"), true);
        const after = await counts(server);
        // Not a miss: an entry in memory was read from Redis on a try before, for longer; it expires meanwhile.
        return after.misses > before.misses ? { before, after } : undefined;
      },
      {
        deadlineMs: RECOVERY_DEADLINE_MS,
        intervalMs: 0,
        what: "entries in Redis that outlive those in memory",
      },
    );
    assert.equal(missed.after.misses, missed.before.misses + 1, "the request was a miss");
    t.diagnostic(`the miss: ${JSON.stringify(missed)}`);
    assert.equal(missed.after.errors, missed.before.errors);
    assert.equal(missed.after.queries, missed.before.queries, "the miss was answered from Redis");
  });

  it("never shows the password: not in anything the process wrote, at debug level", () => {
    const output = server.output();
    assert.ok(output.includes('"Redis cache error"'), "the cache errors were logged");
    assert.ok(output.includes(`127.0.0.1:${redis.port}`), "the logs name Redis");
    assert.equal(output.includes(password), false, "the password is in the logs");
  });
});

describe("Redis at start: down (over TLS, with a password), or refusing the password", () => {
  const password = `rp-${randomBytes(12).toString("hex")}`;
  const wrong = `wrong-${randomBytes(12).toString("hex")}`;
  let root: string;
  let down: PrivateRedis;
  let refusing: PrivateRedis;
  let server: PennantProcess;
  let refused: PennantRun;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-cache-start-"));
    [down, refusing] = await Promise.all([
      startPrivateRedis({ password, tls: true, started: false }),
      startPrivateRedis({ password }),
    ]);
    const caPath = join(root, "redis-ca.pem");
    await writeFile(caPath, down.caPem ?? assert.fail("no CA"));
    // Both at once: a start costs seconds of CPU, mostly loading code.
    const started = performance.now();
    [server, refused] = await Promise.all([
      startPennantProcess(
        cacheEnv(`file:${join(root, "down.db")}`, down, password, {
          FLIPT_CACHE_REDIS_REQUIRE_TLS: "true",
          FLIPT_CACHE_REDIS_CA_CERT_PATH: caPath,
        }),
      ),
      runPennant(
        ["server"],
        {
          FLIPT_SERVER_HOST: "127.0.0.1",
          FLIPT_SERVER_HTTP_PORT: "0",
          FLIPT_SERVER_GRPC_PORT: "0",
          FLIPT_LOG_ENCODING: "json",
          FLIPT_LOG_LEVEL: "debug",
          ...cacheEnv(`file:${join(root, "refused.db")}`, refusing, wrong),
        },
        { deadlineMs: 30_000 },
      ),
    ]);
    process.stdout.write(`both started in ${(performance.now() - started).toFixed(0)} ms\n`);
  });
  after(async () => {
    await server?.killHard();
    await Promise.all([down?.dispose(), refusing?.dispose()]);
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it("starts while Redis is down and serves from the database, shows the error, and uses Redis once it is up, without a restart", async (t) => {
    await server.logLine(
      (line) => line.M === "the Redis cache is unreachable: serving without it and reconnecting",
    );
    await writeFlag(server, "served");
    assert.equal(await evaluateBoolean(server, "served"), true);
    const read = await restJson(server, "GET", `${resourcesPath()}/flipt.core.Flag/served`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    const failed = await cacheErrorShown(server, "the cache error in /meta/status");
    t.diagnostic(`error: ${failed.lastError}`);
    assert.match(failed.lastError, new RegExp(`^redis 127\\.0\\.0\\.1:${down.port}: .*ECONNREFUSED`));
    assert.ok(failed.lastErrorTime !== undefined);

    const startedAt = Date.now();
    await down.start();
    // Evaluations keep coming: each second's miss fills Redis once the cache has reconnected.
    await waitFor(
      async () => {
        assert.equal(await evaluateBoolean(server, "served"), true);
        const { cache } = await cacheStatus(server);
        if (cache.lastError !== "") return undefined;
        const keys = (await down.command("KEYS", "*")) as string[];
        return keys.includes(NAMESPACE_REDIS_KEY) ? true : undefined;
      },
      { deadlineMs: RECOVERY_DEADLINE_MS, intervalMs: 100, what: "the cache in use after Redis started" },
    );
    t.diagnostic(`Redis in use ${Date.now() - startedAt} ms after it started`);
    await goodEntriesIn(down, [[NAMESPACE_KEY, NAMESPACE_REDIS_KEY]], "a current entry in Redis");
    const { text } = await cacheStatus(server);
    assert.equal(text.includes(password), false);
    assert.equal(server.output().includes(password), false, "the password is in the logs");
  });

  it("refuses to start with a wrong password, naming cache.redis.password, never showing a password", () => {
    const run = refused;
    assert.equal(run.code, 2, `exit code: ${run.code} ${run.signal}\n${run.stdout}\n${run.stderr}`);
    const expected = `cache.redis.password: Redis at 127.0.0.1:${refusing.port} refused the credentials: check cache.redis.password (WRONGPASS`;
    assert.ok(run.stderr.includes(expected), run.stderr);
    assert.equal(run.stdout.includes("pennant is serving"), false);
    const output = `${run.stdout}${run.stderr}`;
    assert.equal(output.includes(wrong), false, "the wrong password is shown");
    assert.equal(output.includes(password), false);
  });
});
