/**
 * Issue 18, deliverable 3: replicas made predictable with Redis. `pennant server` processes over ONE PostgreSQL
 * database created empty for the test, storage `default` with `poll_interval: 1h` (so that within the test only
 * PostgreSQL's NOTIFY and Redis's purge messages tell a replica of a change): A, B and C with `cache.backend: redis`
 * on a redis-server the test starts on a port of its own (`cache.redis.prefix` of its own, `cache.ttl: 1h`, debug
 * logs), and M with `cache.backend: memory`.
 *
 * 1. The shared cache is shared: A alone creates the flags and reads both namespaces, which fills Redis (keys
 *    under the prefix only, one per namespace, living `cache.ttl`). A replica takes from Redis only entries read at
 *    or after the change counter it finds at its start: B, started first, reads from the database the namespace A
 *    last read before its last write (and refreshes it in Redis); C, started after B, takes the list and every
 *    namespace from Redis and sends the database only its two readings of the change counter (when it starts
 *    watching, and when LISTEN begins), never a table of flags; M, with the memory cache, reads every table.
 *    Redis then holds one key per namespace and the list. B's and C's first evaluations and read are hits that
 *    send nothing; `/meta/status` shows the cache; every Redis replica is subscribed to `<prefix>:purge`.
 * 2. Writes on each Redis replica in turn (a flag created, updated and deleted, a namespace created and a flag in
 *    it, a flag of another namespace updated): the writer at once, and every other replica, M included, within 5 s,
 *    serve each in evaluations and environments API reads. Each write is announced once on `<prefix>:purge`,
 *    naming the namespace it changed, and no Redis replica purged everything for a change nobody announced (the
 *    debug line it logs when it does; 4. checks that the line shows when it should).
 * 3. Mixed backends: a write on a Redis replica is served by M (its change detection: NOTIFY); a write on M, which
 *    announces nothing, is served by A, B and C (a change nobody announced, after their grace period).
 * 4. Rows changed by hand in SQL as Flipt v1 writes them (`UPDATE flags SET enabled`, then the namespace's
 *    `state_modified_at`): every replica serves the change; nobody announced it, and A, B and C each purged
 *    everything for it.
 * 5. Every Redis replica stopped (SIGKILL) while Redis holds each namespace (and not the list, which a write just
 *    deleted), a flag changed by hand meanwhile: M serves it; D, a Redis replica started afterwards, serves what
 *    did not change and the change too: a replica takes from Redis only entries read at or after the change
 *    counter it found at its start.
 *
 * Deadlines are generous (machines are noisy): 5 s for what a purge message or NOTIFY carries, 10 s where a grace
 * period comes first. The latencies seen are printed as diagnostics; timings are asserted in bench/ only.
 *
 * Cost: five `pennant` processes (A; then B, C and M at once; D at the end) and one redis-server; about 20 s on
 * 2 cores, 35 s when other tests and benches load them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import pg from "pg";
import { booleanFlag } from "../helpers/flag-payloads.js";
import { metricValue } from "../helpers/metric-value.js";
import { type PrivateRedis, startPrivateRedis } from "../helpers/private-redis.js";
import { resourcesPath, restJson, writeResource } from "../helpers/rest-json.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-databases.js";
import { waitFor } from "../helpers/wait-for.js";

/** `cache.redis.prefix`: every key the replicas write starts with it, and purges go out on `<prefix>:purge`. */
const PREFIX = "pennant-replicas-test";
const PURGE_CHANNEL = `${PREFIX}:purge`;
const TTL = "1h";
const TTL_MS = 3_600_000;
/** Replicas poll the change counter once an hour: within the test, NOTIFY and purge messages tell them. */
const POLL_INTERVAL = "1h";
/** How long a replica may take to serve a write announced through Redis or NOTIFY (measured: milliseconds). */
const SERVED_DEADLINE_MS = 5_000;
/** The same for a change nobody announced, which Redis replicas purge after a grace period (about 1 s). */
const UNANNOUNCED_DEADLINE_MS = 10_000;
/** What a replica logs (at debug) when it purges everything for a change of the counter nobody announced. */
const UNANNOUNCED_LOG = "database changed by something else";

type Backend = "redis" | "memory";

interface Replica {
  readonly name: string;
  readonly backend: Backend;
  readonly process: PennantProcess;
}

/** What a replica serves of a flag: whether it is enabled, or that it is not there. */
type FlagState = boolean | "absent";

/** What every replica must serve after a write. */
interface Expected {
  readonly namespace: string;
  readonly flag?: { readonly key: string; readonly state: FlagState };
}

interface Counts {
  readonly hits: number;
  readonly misses: number;
  readonly queries: number;
  readonly entries: number;
}

/** A replica's cache and database counters, from its `/metrics`. */
async function counts(replica: Replica): Promise<Counts> {
  const text = await (await fetch(`${replica.process.httpUrl}/metrics`)).text();
  const cache = `{cache="${replica.backend}"}`;
  return {
    hits: metricValue(text, "flipt_cache_hit_total", cache),
    misses: metricValue(text, "flipt_cache_miss_total", cache),
    queries: metricValue(text, "pennant_database_queries_total", '{storage="default"}'),
    entries: metricValue(text, "pennant_cache_entries", `{storage="default",cache="${replica.backend}"}`),
  };
}

/** How many times a replica has purged every entry for a change nobody announced. */
function unannouncedPurges(replica: Replica): number {
  return replica.process
    .stdout()
    .split("\n")
    .filter((line) => line.includes(UNANNOUNCED_LOG)).length;
}

/** Flag `key` of `namespace` as the environments API reads it. */
async function readFlag(replica: Replica, namespace: string, key: string): Promise<FlagState> {
  const answer = await restJson(replica.process, "GET", `${resourcesPath(namespace)}/flipt.core.Flag/${key}`);
  if (answer.status === 404) return "absent";
  assert.equal(
    answer.status,
    200,
    `${replica.name} read ${namespace}/${key}: ${JSON.stringify(answer.body)}`,
  );
  const resource = answer.body.resource as { payload: { enabled?: boolean } };
  return resource.payload.enabled === true;
}

/** Flag `key` of `namespace` as a boolean evaluation sees it. */
async function evaluateFlag(replica: Replica, namespace: string, key: string): Promise<FlagState> {
  const answer = await restJson(replica.process, "POST", "/evaluate/v1/boolean", {
    namespaceKey: namespace,
    flagKey: key,
    entityId: "someone",
    context: {},
  });
  if (answer.status === 404) return "absent";
  assert.equal(
    answer.status,
    200,
    `${replica.name} evaluate ${namespace}/${key}: ${JSON.stringify(answer.body)}`,
  );
  return answer.body.enabled === true;
}

async function hasNamespace(replica: Replica, namespace: string): Promise<boolean> {
  const answer = await restJson(
    replica.process,
    "GET",
    `/api/v2/environments/default/namespaces/${namespace}`,
  );
  assert.ok(
    answer.status === 200 || answer.status === 404,
    `${replica.name}: ${JSON.stringify(answer.body)}`,
  );
  return answer.status === 200;
}

/** Whether `replica` serves `expected`: the namespace, and the flag both read and evaluated. */
async function servesExpected(replica: Replica, expected: Expected): Promise<boolean> {
  if (!(await hasNamespace(replica, expected.namespace))) return false;
  const flag = expected.flag;
  if (flag === undefined) return true;
  const [read, evaluated] = await Promise.all([
    readFlag(replica, expected.namespace, flag.key),
    evaluateFlag(replica, expected.namespace, flag.key),
  ]);
  return read === flag.state && evaluated === flag.state;
}

function describeExpected({ namespace, flag }: Expected): string {
  if (flag === undefined) return `namespace ${namespace}`;
  const state = flag.state === "absent" ? "absent" : flag.state ? "enabled" : "disabled";
  return `${namespace}/${flag.key} ${state}`;
}

/** Accepted writes, failing the test otherwise. */
async function createFlag(replica: Replica, namespace: string, key: string, enabled: boolean): Promise<void> {
  const written = await writeResource(replica.process, "POST", booleanFlag(key, { enabled }), { namespace });
  assert.equal(
    written.status,
    200,
    `${replica.name} create ${namespace}/${key}: ${JSON.stringify(written.body)}`,
  );
}

async function updateFlag(replica: Replica, namespace: string, key: string, enabled: boolean): Promise<void> {
  const written = await writeResource(replica.process, "PUT", booleanFlag(key, { enabled }), { namespace });
  assert.equal(
    written.status,
    200,
    `${replica.name} update ${namespace}/${key}: ${JSON.stringify(written.body)}`,
  );
}

async function deleteFlag(replica: Replica, namespace: string, key: string): Promise<void> {
  const deleted = await restJson(
    replica.process,
    "DELETE",
    `${resourcesPath(namespace)}/flipt.core.Flag/${key}`,
  );
  assert.equal(
    deleted.status,
    200,
    `${replica.name} delete ${namespace}/${key}: ${JSON.stringify(deleted.body)}`,
  );
}

async function createNamespace(replica: Replica, key: string): Promise<void> {
  const created = await restJson(replica.process, "POST", "/api/v2/environments/default/namespaces", {
    key,
    name: key,
  });
  assert.equal(
    created.status,
    200,
    `${replica.name} create namespace ${key}: ${JSON.stringify(created.body)}`,
  );
}

/** A timestamp as Flipt v1 writes it: UTC wall time, explicit. */
const fliptNow = () => new Date().toISOString().replace("T", " ").replace("Z", "");

describe("replicas over one PostgreSQL database with the Redis cache", { timeout: 120_000 }, () => {
  let redis: PrivateRedis;
  let database: TestDatabase;
  let sql: pg.Client;
  /** The test's own subscriber to the purge channel, and what it heard. */
  let listener: Redis;
  const purges: { storage?: unknown; keys?: unknown }[] = [];
  const everyone: Replica[] = [];
  let a: Replica;
  let b: Replica;
  let c: Replica;
  let m: Replica;
  /** Started at the end, once A, B and C are stopped. */
  let d: Replica | undefined;
  /** B's, C's and M's counters right after they started, before any request. */
  const atStart = new Map<string, Counts>();
  /** The keys under the prefix before B and C started, and their time to live. */
  let seededKeys: string[] = [];
  let seededTtls: number[] = [];

  const startReplica = async (name: string, backend: Backend): Promise<Replica> => {
    const child = await startPennantProcess({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
      FLIPT_STORAGE_DEFAULT_BACKEND_URL: database.url,
      FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: POLL_INTERVAL,
      FLIPT_CACHE_ENABLED: "true",
      FLIPT_CACHE_BACKEND: backend,
      FLIPT_CACHE_TTL: TTL,
      FLIPT_CACHE_REDIS_HOST: redis.host,
      FLIPT_CACHE_REDIS_PORT: String(redis.port),
      FLIPT_CACHE_REDIS_PREFIX: PREFIX,
      FLIPT_LOG_LEVEL: "debug",
    });
    const replica = { name, backend, process: child };
    everyone.push(replica);
    return replica;
  };

  /** Every key in Redis, sorted. */
  const redisKeys = async () => ((await redis.command("KEYS", "*")) as string[]).sort();

  /**
   * Waits until each of `readers` serves `expected`, and resolves with how long each took from `since`.
   */
  const servedBy = async (
    readers: readonly Replica[],
    expected: Expected,
    since: number,
    deadlineMs = SERVED_DEADLINE_MS,
  ): Promise<string[]> =>
    Promise.all(
      readers.map(async (reader) => {
        await waitFor(async () => ((await servesExpected(reader, expected)) ? true : undefined), {
          deadlineMs,
          intervalMs: 10,
          what: `${reader.name} (${reader.backend}) serving ${describeExpected(expected)}`,
        });
        return `${reader.name} ${Date.now() - since} ms`;
      }),
    );

  before(async () => {
    redis = await startPrivateRedis();
    database = await createTestDatabase("postgres");
    sql = new pg.Client({ connectionString: database.url });
    sql.on("error", () => undefined);
    await sql.connect();
    listener = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    listener.on("error", () => undefined);
    listener.on("message", (channel: string, text: string) => {
      if (channel === PURGE_CHANNEL) purges.push(JSON.parse(text) as { storage?: unknown; keys?: unknown });
    });
    await listener.connect();
    await listener.subscribe(PURGE_CHANNEL);

    // A first, alone: it migrates the empty database.
    a = await startReplica("A", "redis");
    await createNamespace(a, "team");
    await createFlag(a, "default", "seed", true);
    await createFlag(a, "team", "gamma", false);
    // A's reads fill Redis with both namespaces (their writes purged them).
    assert.equal(await evaluateFlag(a, "default", "seed"), true);
    assert.equal(await evaluateFlag(a, "team", "gamma"), false);
    seededKeys = await waitFor(
      async () => {
        const keys = await redisKeys();
        return keys.length >= 2 ? keys : undefined;
      },
      { deadlineMs: SERVED_DEADLINE_MS, what: "A filling Redis with both namespaces" },
    );
    seededTtls = await Promise.all(seededKeys.map(async (key) => Number(await redis.command("PTTL", key))));

    // B (and M) first: A's last write purged the list and team, and A read them again afterwards, but it still
    // holds default as read before that write, so Redis holds default from before the change counter B finds at
    // its start: B reads it from the database (and refreshes it in Redis). C starts after B, when Redis holds every
    // namespace (and the list) as read at or after the counter it finds: it reads none of them.
    [b, m] = await Promise.all([startReplica("B", "redis"), startReplica("M", "memory")]);
    c = await startReplica("C", "redis");
    // A start reads the change counter twice (when watching begins, and when LISTEN begins), then what Redis does
    // not hold as current.
    for (const replica of [b, c]) {
      const settled = await waitFor(
        async () => {
          const counted = await counts(replica);
          return counted.queries >= 2 && counted.entries === 3 ? counted : undefined;
        },
        { deadlineMs: SERVED_DEADLINE_MS, what: `${replica.name}'s start done with the database` },
      );
      atStart.set(replica.name, settled);
    }
    atStart.set(m.name, await counts(m));
  });

  after(async () => {
    await Promise.all(everyone.map((replica) => replica.process.killHard()));
    listener?.disconnect();
    await sql?.end().catch(() => undefined);
    await database?.drop();
    await redis?.dispose();
  });

  it("fills Redis under the prefix, and a replica started when it holds every namespace as current reads none from the database", async (t) => {
    // Under the prefix only: one key per namespace (and the list's, unless A's last write deleted it), living
    // cache.ttl.
    const pattern = new RegExp(`^${PREFIX}:[0-9a-f]{32}$`);
    for (const key of seededKeys) assert.match(key, pattern);
    assert.ok(seededKeys.length === 2 || seededKeys.length === 3, `keys in Redis: ${seededKeys.join(", ")}`);
    for (const ttl of seededTtls) assert.ok(ttl > TTL_MS - 60_000 && ttl <= TTL_MS, `PTTL ${ttl}: cache.ttl`);
    // B's or C's start filled the list if it was missing: the two namespaces and the list, nothing else.
    const held = await redisKeys();
    assert.equal(held.length, 3, `keys in Redis: ${held.join(", ")}`);
    for (const key of held) assert.match(key, pattern);
    assert.ok(seededKeys.every((key) => held.includes(key)));

    // Nothing was asked of B and C yet. C's start read the change counter twice and nothing else: the list and
    // the namespaces came from Redis. B read what Redis held from before its start (default), as M, with the
    // memory cache, read every table.
    const startQueries = (name: string) => (atStart.get(name) as Counts).queries;
    const memory = startQueries("M");
    assert.equal(startQueries("C"), 2, `C's statements at start (B: ${startQueries("B")}, M: ${memory})`);
    assert.ok(memory >= 15, `M read every table at start (${memory} statements)`);
    assert.ok(startQueries("B") > 2, `B read default from the database (${startQueries("B")} statements)`);

    // Their first evaluations and reads are hits that send nothing.
    for (const replica of [b, c]) {
      assert.equal(await evaluateFlag(replica, "default", "seed"), true);
      assert.equal(await evaluateFlag(replica, "team", "gamma"), false);
      assert.equal(await readFlag(replica, "team", "gamma"), false);
      const after = await counts(replica);
      assert.deepEqual(
        { hits: after.hits, misses: after.misses, queries: after.queries, entries: after.entries },
        { hits: 3, misses: 0, queries: startQueries(replica.name), entries: 3 },
        `${replica.name}: the list and both namespaces held; first evaluations and read are hits, no statement`,
      );
      const status = await restJson(replica.process, "GET", "/meta/status");
      const environments = status.body.environments as { cache?: { backend?: string; entries?: number } }[];
      assert.deepEqual(
        { backend: environments[0]?.cache?.backend, entries: environments[0]?.cache?.entries },
        { backend: "redis", entries: 3 },
      );
    }
    // Every Redis replica listens on the prefix's channel (and the test).
    assert.deepEqual(await redis.command("PUBSUB", "NUMSUB", PURGE_CHANNEL), [PURGE_CHANNEL, 4]);
    t.diagnostic(
      `statements at start: B ${startQueries("B")}, C ${startQueries("C")} (namespaces from Redis), ` +
        `M ${memory} (memory cache: from the database)`,
    );
  });

  it("serves a write through each Redis replica from every other replica within the bound", async (t) => {
    const redisReplicas = [a, b, c];
    const purgedBefore = redisReplicas.map(unannouncedPurges);
    const heardBefore = purges.length;
    const steps: { writer: Replica; write: () => Promise<void>; expected: Expected }[] = [
      {
        writer: a,
        write: () => createFlag(a, "default", "alpha", true),
        expected: { namespace: "default", flag: { key: "alpha", state: true } },
      },
      {
        writer: b,
        write: () => updateFlag(b, "default", "alpha", false),
        expected: { namespace: "default", flag: { key: "alpha", state: false } },
      },
      {
        writer: c,
        write: () => createNamespace(c, "ops"),
        expected: { namespace: "ops" },
      },
      {
        writer: a,
        write: () => createFlag(a, "ops", "bravo", true),
        expected: { namespace: "ops", flag: { key: "bravo", state: true } },
      },
      {
        writer: b,
        write: () => deleteFlag(b, "default", "alpha"),
        expected: { namespace: "default", flag: { key: "alpha", state: "absent" } },
      },
      {
        writer: c,
        write: () => updateFlag(c, "team", "gamma", true),
        expected: { namespace: "team", flag: { key: "gamma", state: true } },
      },
    ];
    const lines: string[] = [];
    for (const [index, { writer, write, expected }] of steps.entries()) {
      const heard = purges.length;
      await write();
      const since = Date.now();
      // The writer serves its own write at once; every other replica within the bound.
      assert.ok(await servesExpected(writer, expected), `${writer.name} serves its own write`);
      const others = everyone.filter((replica) => replica !== writer);
      const seen = await servedBy(others, expected, since);
      lines.push(`(${index + 1}) ${writer.name} wrote ${describeExpected(expected)}: ${seen.join(", ")}`);
      // Announced once, naming the namespace it changed.
      await waitFor(() => (purges.length > heard ? true : undefined), {
        deadlineMs: SERVED_DEADLINE_MS,
        what: `the purge message of ${writer.name}'s write`,
      });
      const messages = purges.slice(heard);
      assert.equal(messages.length, 1, `one purge message for ${writer.name}'s write`);
      assert.deepEqual(
        { storage: messages[0]?.storage, keys: messages[0]?.keys },
        { storage: "default", keys: [expected.namespace] },
      );
    }
    assert.equal(purges.length - heardBefore, steps.length, "one purge message per write, no more");
    // The purge messages did the work: no Redis replica had to purge everything for an unexplained change.
    assert.deepEqual(redisReplicas.map(unannouncedPurges), purgedBefore);
    t.diagnostic(`served elsewhere, after the write's answer: ${lines.join("; ")}`);
  });

  it("keeps a memory-cache replica and the Redis replicas in step both ways", async (t) => {
    const heard = purges.length;
    await updateFlag(a, "default", "seed", false);
    const fromRedis = await servedBy(
      [m],
      { namespace: "default", flag: { key: "seed", state: false } },
      Date.now(),
    );

    // M has no Redis: its write is announced to nobody; the Redis replicas find it by the change counter.
    await createFlag(m, "default", "from-memory", true);
    const since = Date.now();
    const fromMemory = await servedBy(
      [a, b, c],
      { namespace: "default", flag: { key: "from-memory", state: true } },
      since,
      UNANNOUNCED_DEADLINE_MS,
    );
    assert.equal(purges.length - heard, 1, "A's write announced; M's write not");
    t.diagnostic(`A's write served by ${fromRedis.join(", ")}; M's write served by ${fromMemory.join(", ")}`);
  });

  it("serves a change made by hand in SQL, which nobody announced, from every replica", async (t) => {
    const redisReplicas = [a, b, c];
    const purgedBefore = redisReplicas.map(unannouncedPurges);
    const heard = purges.length;
    assert.equal(await evaluateFlag(a, "team", "gamma"), true);
    const since = Date.now();
    // Flipt v1's UpdateFlag, then the namespace's state_modified_at, one statement each.
    await sql.query(
      `UPDATE flags SET enabled = FALSE, updated_at = $1 WHERE namespace_key = 'team' AND "key" = 'gamma'`,
      [fliptNow()],
    );
    await sql.query(`UPDATE namespaces SET state_modified_at = $1 WHERE "key" = 'team'`, [fliptNow()]);
    const seen = await servedBy(
      everyone,
      { namespace: "team", flag: { key: "gamma", state: false } },
      since,
      UNANNOUNCED_DEADLINE_MS,
    );
    assert.equal(purges.length, heard, "nobody announced the change");
    const purgedAfter = redisReplicas.map(unannouncedPurges);
    for (const [index, replica] of redisReplicas.entries()) {
      assert.ok(
        (purgedAfter[index] as number) > (purgedBefore[index] as number),
        `${replica.name} purged everything for the change nobody announced`,
      );
    }
    t.diagnostic(`a change by hand in SQL served by ${seen.join(", ")}`);
  });

  it("serves a change made by hand while every Redis replica was stopped from the memory replica", async () => {
    assert.equal(await evaluateFlag(b, "default", "from-memory"), true);
    // A write to ops: Redis loses the list and ops's entry (ops's comes back as the replicas read it again; they
    // keep their lists). Redis then holds one entry per namespace, read before the change below.
    await createFlag(a, "ops", "charlie", true);
    await servedBy([b, c], { namespace: "ops", flag: { key: "charlie", state: true } }, Date.now());
    const keys = await waitFor(
      async () => {
        const held = await redisKeys();
        return held.length === 3 ? held : undefined;
      },
      { deadlineMs: SERVED_DEADLINE_MS, what: "Redis holding the three namespaces" },
    );
    await Promise.all([a, b, c].map((replica) => replica.process.killHard()));
    const since = Date.now();
    await sql.query(
      `UPDATE flags SET enabled = FALSE, updated_at = $1 WHERE namespace_key = 'default' AND "key" = 'from-memory'`,
      [fliptNow()],
    );
    await sql.query(`UPDATE namespaces SET state_modified_at = $1 WHERE "key" = 'default'`, [fliptNow()]);
    await servedBy([m], { namespace: "default", flag: { key: "from-memory", state: false } }, since);
    assert.deepEqual(await redisKeys(), keys, "no replica refreshed Redis meanwhile");
    d = await startReplica("D", "redis");
    // D serves what Redis held and nobody changed.
    assert.ok(await servesExpected(d, { namespace: "ops", flag: { key: "charlie", state: true } }));
    assert.ok(await servesExpected(d, { namespace: "team", flag: { key: "gamma", state: false } }));
  });

  it("serves a change made by hand while every Redis replica was stopped from a Redis replica started afterwards", async (t) => {
    assert.ok(d !== undefined, "D started");
    const seen = await servedBy(
      [d],
      { namespace: "default", flag: { key: "from-memory", state: false } },
      Date.now(),
      SERVED_DEADLINE_MS,
    );
    t.diagnostic(`served by ${seen.join(", ")} after its start`);
  });
});
