import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { type PrivateRedis, startPrivateRedis } from "../test/helpers/private-redis.js";
import { createTestDatabase, type TestDatabase } from "../test/helpers/test-databases.js";
import { answer, type Evaluation } from "./answer.js";
import { generateNamespaceFile } from "./generate-state.js";
import type { LoadTarget } from "./load-generator.js";
import { measureRound, type Round } from "./measure-round.js";
import { ms } from "./ms.js";
import type { BenchResult } from "./result.js";
import { seededRandom } from "./seeded-random.js";
import { type SpawnedServer, spawnServer } from "./spawn-server.js";
import { startLoadGenerator } from "./start-load-generator.js";
import { median } from "./stats.js";

/** The state: 500 generated flags in namespace `default` (the one listed), and 4 namespaces of 100 more. */
const LISTED_FLAGS = 500;
const OTHER_NAMESPACES = 4;
const FLAGS_PER_OTHER_NAMESPACE = 100;
/** Evaluations counted for the queries they cost, after a warm-up, sent by this many clients at once. */
const EVALUATIONS = 10_000;
const WARMUP_EVALUATIONS = 1_000;
const EVALUATION_CLIENTS = 8;
const DISTINCT_REQUESTS = 256;
/** API reads (`GET …/namespaces/default`) counted for the statements they cost, one at a time. */
const API_READS_COUNTED = 1_000;
/** Writes on replica A timed until replica B serves them, per backend, with a random pause after each. */
const REPLICATED_WRITES = 50;
const MIN_PAUSE_MS = 20;
const MAX_PAUSE_MS = 120;
/** How long B may take to serve a write before the run fails. */
const SERVED_DEADLINE_MS = 30_000;
/**
 * API read throughput: clients on keep-alive HTTP/1.1 connections, one request in flight each; a warm-up of each
 * server, then rounds of the three back to back (the order turning each round), compared within each round.
 */
const API_CLIENTS = 8;
const THROUGHPUT_WARMUP_MS = 2000;
const THROUGHPUT_ROUNDS = 9;
const ROUND_WARMUP_MS = 200;
const ROUND_MS = 1000;
/**
 * The database's change counter is polled this seldom, so that every statement counted is one a request caused,
 * and a replica hears a write only by Redis's purge message or PostgreSQL's NOTIFY. Entries live as long, so that
 * none expires inside a measured window.
 */
const POLL_INTERVAL = "1h";
const CACHE_TTL = "1h";

const LIST_PATH = "/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag";
const NAMESPACE_PATH = "/api/v2/environments/default/namespaces/default";
const EVALUATE_PATH = "/evaluate/v1/boolean";

type CacheMode = "off" | "memory" | "redis";
const MODES: readonly CacheMode[] = ["off", "memory", "redis"];
const CACHED = ["memory", "redis"] as const;
const MODE_NAMES: Record<CacheMode, string> = { off: "no cache", memory: "memory", redis: "Redis" };

const run = promisify(execFile);
const log = (line: string) => console.error(`cache-bench: ${line}`);

/**
 * Issue 18's measures for the cache in front of database storage, on this machine's PostgreSQL (databases of the
 * run's own) and a Redis of the run's own (`redis-server` on a free port, `test/helpers/private-redis.ts`):
 *
 * - the statements sent to the database (`pennant_database_queries_total`) by 10 000 REST boolean evaluations in
 *   steady state (after 1 000 unmeasured), with the cache off, `memory` and `redis`: one server each, all three on
 *   one database;
 * - the statements 1 000 reads of a namespace through the environments API cost, on the same servers;
 * - on those servers, environments API reads at saturation, compared round by round: the list of 500 flags
 *   (`GET …/namespaces/default/resources/flipt.core.Flag`, the issue's measure), and that namespace
 *   (`GET …/namespaces/default`: the same database work without the cache, next to no encoding);
 * - a write on replica A until replica B serves it (B's REST evaluation polled back to back from A's
 *   acknowledgement), two servers on one database, with `redis` (B hears Redis's purge message, and PostgreSQL's
 *   NOTIFY) and with `memory` (B hears NOTIFY only), in a namespace of one flag and in one of 500.
 *
 * About 4 minutes with the build on two cores (`npm run bench -- cache`). Lines of detail go to stderr.
 */
export async function cacheBench(): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), "pennant-cache-bench-"));
  const redis = await startPrivateRedis();
  try {
    const state = await writeState(root);
    return [
      ...(await steadyState(state.files, redis)),
      ...(await replication("redis", [...state.files, state.replicas], redis, 100)),
      ...(await replication("memory", [...state.files, state.replicas], redis)),
    ];
  } finally {
    await redis.dispose();
    await rm(root, { recursive: true, force: true });
  }
}

function otherNamespace(index: number): string {
  return `ns-${String(index + 1).padStart(3, "0")}`;
}

/**
 * The state's features files, and for the replicas' runs one more: namespace `replicas`, which holds only the
 * boolean flag `replicated`.
 */
async function writeState(root: string): Promise<{ files: string[]; replicas: string }> {
  const files = [join(root, "default.features.yaml")];
  await writeFile(files[0] as string, generateNamespaceFile("default", LISTED_FLAGS));
  for (let index = 0; index < OTHER_NAMESPACES; index++) {
    const file = join(root, `${otherNamespace(index)}.features.yaml`);
    await writeFile(file, generateNamespaceFile(otherNamespace(index), FLAGS_PER_OTHER_NAMESPACE));
    files.push(file);
  }
  const replicas = join(root, "replicas.features.yaml");
  await writeFile(
    replicas,
    [
      'version: "1.6"',
      "namespace: replicas",
      "flags:",
      "  - {key: replicated, name: replicated, type: BOOLEAN_FLAG_TYPE, enabled: true}",
      "",
    ].join("\n"),
  );
  return { files, replicas };
}

/**
 * The environment of a server on the database at `url` (storage `default`, polled every `POLL_INTERVAL`), with
 * the cache as `mode` says; Redis keys under `prefix`, so that runs sharing the Redis never share entries.
 */
function serverEnv(
  url: string,
  mode: CacheMode,
  redis: PrivateRedis,
  prefix: string,
): Record<string, string> {
  return {
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
    FLIPT_STORAGE_DEFAULT_BACKEND_URL: url,
    FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: POLL_INTERVAL,
    ...(mode === "off"
      ? {}
      : { FLIPT_CACHE_ENABLED: "true", FLIPT_CACHE_BACKEND: mode, FLIPT_CACHE_TTL: CACHE_TTL }),
    ...(mode === "redis"
      ? {
          FLIPT_CACHE_REDIS_HOST: redis.host,
          FLIPT_CACHE_REDIS_PORT: String(redis.port),
          FLIPT_CACHE_REDIS_PREFIX: prefix,
        }
      : {}),
  };
}

/** A new PostgreSQL database with the state imported (one write per file, as `pennant import` does by default). */
async function seededDatabase(files: readonly string[]): Promise<TestDatabase> {
  const database = await createTestDatabase("postgres");
  try {
    const seeding = performance.now();
    await run(process.execPath, ["dist/cli/main.js", "import", ...files], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: "/nonexistent",
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
        FLIPT_STORAGE_DEFAULT_BACKEND_URL: database.url,
      },
    });
    log(`seeded ${database.name} in ${ms(performance.now() - seeding)}`);
    return database;
  } catch (error) {
    await database.drop();
    throw error;
  }
}

function generateEvaluations(): Evaluation[] {
  const random = seededRandom(1818);
  const plans = ["free", "pro", "beta", "enterprise"];
  const countries = ["DE", "FR", "US", "JP", "BR"];
  return Array.from({ length: DISTINCT_REQUESTS }, () => {
    const which = random(OTHER_NAMESPACES + 1);
    const flags = which === 0 ? LISTED_FLAGS : FLAGS_PER_OTHER_NAMESPACE;
    return {
      namespaceKey: which === 0 ? "default" : otherNamespace(which - 1),
      // Boolean flags are the odd indices of the generated state.
      flagKey: `flag-${String(2 * random(flags / 2) + 1).padStart(4, "0")}`,
      entityId: `user-${random(1_000_000)}`,
      context: {
        plan: plans[random(plans.length)] as string,
        age: String(10 + random(60)),
        country: countries[random(countries.length)] as string,
      },
    };
  });
}

/** The server's cache and database counters, from `/metrics`. */
interface Counters {
  readonly hits: number;
  readonly misses: number;
  readonly queries: number;
}

async function counters(server: SpawnedServer, mode: CacheMode): Promise<Counters> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const series = (name: string, labels: string) => {
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  const cache = `{cache="${mode}"}`;
  return {
    hits: series("flipt_cache_hit_total", cache),
    misses: series("flipt_cache_miss_total", cache),
    queries: series("pennant_database_queries_total", '{storage="default"}'),
  };
}

/** Sends `count` of `evaluations` (cycled) to `server`, `EVALUATION_CLIENTS` at a time; fails on any error. */
async function evaluateMany(
  server: SpawnedServer,
  evaluations: readonly Evaluation[],
  count: number,
): Promise<void> {
  const bodies = evaluations.map((evaluation) => JSON.stringify(evaluation));
  let next = 0;
  const client = async () => {
    for (let index = next++; index < count; index = next++) {
      const response = await fetch(`${server.httpUrl}${EVALUATE_PATH}`, {
        method: "POST",
        body: bodies[index % bodies.length] as string,
      });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`evaluation failed with ${response.status}: ${body}`);
    }
  };
  await Promise.all(Array.from({ length: EVALUATION_CLIENTS }, client));
}

/**
 * One server per mode on one seeded database, all up at once. Checked first: the same answers to every
 * evaluation and the same list of flags from all three. Then the queries per 10 000 evaluations, and the list's
 * throughput.
 */
async function steadyState(files: readonly string[], redis: PrivateRedis): Promise<BenchResult[]> {
  const database = await seededDatabase(files);
  const servers: Partial<Record<CacheMode, SpawnedServer>> = {};
  try {
    for (const mode of MODES) {
      servers[mode] = await spawnServer(serverEnv(database.url, mode, redis, "steady"));
    }
    const server = (mode: CacheMode) => servers[mode] as SpawnedServer;
    const evaluations = generateEvaluations();
    for (const evaluation of evaluations) {
      const answers = await Promise.all(MODES.map((mode) => answer(server(mode), evaluation)));
      if (new Set(answers).size !== 1) {
        throw new Error(`the servers disagree on ${JSON.stringify(evaluation)}: ${answers.join(" / ")}`);
      }
    }
    const lists = await Promise.all(
      MODES.map(async (mode) => {
        const response = await fetch(`${server(mode).httpUrl}${LIST_PATH}`);
        const text = await response.text();
        if (response.status !== 200)
          throw new Error(`${mode}: listing failed with ${response.status}: ${text}`);
        return text;
      }),
    );
    if (new Set(lists).size !== 1) throw new Error("the servers list different flags");
    const listed = (JSON.parse(lists[0] as string) as { resources: unknown[] }).resources.length;
    if (listed !== LISTED_FLAGS) throw new Error(`expected ${LISTED_FLAGS} flags listed, got ${listed}`);
    log(`list of flags: ${listed} flags, ${Buffer.byteLength(lists[0] as string)} bytes of JSON`);
    const results = await queriesPerEvaluations(server, evaluations);
    results.push(...(await queriesPerReads(server)));
    for (const read of API_READS) results.push(...(await apiThroughput(server, read)));
    return results;
  } finally {
    await Promise.all(Object.values(servers).map((spawned) => spawned.stop()));
    await database.drop();
  }
}

async function queriesPerEvaluations(
  server: (mode: CacheMode) => SpawnedServer,
  evaluations: readonly Evaluation[],
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const mode of MODES) {
    await evaluateMany(server(mode), evaluations, WARMUP_EVALUATIONS);
    const before = await counters(server(mode), mode);
    const started = performance.now();
    await evaluateMany(server(mode), evaluations, EVALUATIONS);
    const elapsed = performance.now() - started;
    const after = await counters(server(mode), mode);
    const queries = after.queries - before.queries;
    log(
      `${MODE_NAMES[mode]}: ${EVALUATIONS} evaluations in ${ms(elapsed)}: ${queries} statements` +
        (mode === "off" ? "" : `, ${after.hits - before.hits} hits, ${after.misses - before.misses} misses`),
    );
    // Without the cache, evaluations send no statement either: that every one was a hit shows the cache is on.
    if (mode !== "off" && after.hits - before.hits !== EVALUATIONS) {
      throw new Error(
        `${MODE_NAMES[mode]}: ${after.hits - before.hits} cache hits for ${EVALUATIONS} evaluations`,
      );
    }
    results.push({
      name: `database statements per ${EVALUATIONS} evaluations in steady state, ${cacheName(mode)}`,
      value: queries,
      unit: "statements",
      ...(mode === "off" ? {} : { target: 0 }),
      lowerIsBetter: true,
    });
  }
  return results;
}

/**
 * The statements that `API_READS_COUNTED` reads of namespace `default` through the environments API cost: without
 * the cache, each reads the change counter, so that it sees every write made through any replica.
 */
async function queriesPerReads(server: (mode: CacheMode) => SpawnedServer): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const mode of MODES) {
    const before = await counters(server(mode), mode);
    for (let index = 0; index < API_READS_COUNTED; index++) {
      const response = await fetch(`${server(mode).httpUrl}${NAMESPACE_PATH}`);
      const body = await response.text();
      if (response.status !== 200)
        throw new Error(`reading the namespace failed with ${response.status}: ${body}`);
    }
    const after = await counters(server(mode), mode);
    const queries = after.queries - before.queries;
    log(
      `${MODE_NAMES[mode]}: ${API_READS_COUNTED} namespace reads: ${queries} statements` +
        (mode === "off" ? "" : `, ${after.hits - before.hits} hits, ${after.misses - before.misses} misses`),
    );
    results.push({
      name: `database statements per ${API_READS_COUNTED} API reads (get namespace), ${cacheName(mode)}`,
      value: queries,
      unit: "statements",
      lowerIsBetter: true,
    });
  }
  return results;
}

/** An environments API read whose throughput is compared across the three servers. */
interface ApiRead {
  /** What the result names call it. */
  readonly name: string;
  readonly path: string;
  /** The ratio target, cached / no cache, where the issue gives one. */
  readonly target?: number;
}

const API_READS: readonly ApiRead[] = [
  { name: `list ${LISTED_FLAGS} flags`, path: LIST_PATH, target: 10 },
  { name: "get namespace", path: NAMESPACE_PATH },
];

const cacheName = (mode: CacheMode) => (mode === "off" ? "without the cache" : `cache ${MODE_NAMES[mode]}`);

/**
 * An API read at saturation (`API_CLIENTS` in flight) from each server: a warm-up of each, then
 * `THROUGHPUT_ROUNDS` rounds of the three back to back, the order turning each round. The ratios are medians of
 * the per-round ratios; the server's CPU time per request is kept too, which other load moves less than the rate.
 */
async function apiThroughput(
  server: (mode: CacheMode) => SpawnedServer,
  read: ApiRead,
): Promise<BenchResult[]> {
  const generator = startLoadGenerator();
  try {
    const target = (mode: CacheMode): LoadTarget => ({
      origin: server(mode).httpUrl,
      transport: "h1",
      connections: API_CLIENTS,
      check: "http",
      requests: [{ method: "GET", path: read.path, headers: {}, body: "" }],
    });
    const measure = (mode: CacheMode, warmupMs: number, durationMs: number) =>
      measureRound(generator, server(mode).pid, target(mode), API_CLIENTS, warmupMs, durationMs);
    for (const mode of MODES) await measure(mode, THROUGHPUT_WARMUP_MS, 0);
    const rounds: Record<CacheMode, Round[]> = { off: [], memory: [], redis: [] };
    const ratios: Record<"memory" | "redis", number[]> = { memory: [], redis: [] };
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      const order = MODES.map((_, index) => MODES[(index + round) % MODES.length] as CacheMode);
      const measured: Partial<Record<CacheMode, Round>> = {};
      for (const mode of order) measured[mode] = await measure(mode, ROUND_WARMUP_MS, ROUND_MS);
      for (const mode of MODES) rounds[mode].push(measured[mode] as Round);
      const off = (measured.off as Round).rate;
      for (const mode of CACHED) ratios[mode].push((measured[mode] as Round).rate / off);
    }
    const rate = (mode: CacheMode) => median(rounds[mode].map((round) => round.rate));
    const cpu = (mode: CacheMode) => median(rounds[mode].map((round) => round.serverCpuMicros));
    for (const mode of MODES) {
      const each = rounds[mode].map(
        (round) => `${Math.round(round.rate)} (${Math.round(round.serverCpuMicros)} µs)`,
      );
      log(`${read.name}, ${cacheName(mode)}: req/s per round (server CPU per request): ${each.join(", ")}`);
      const p50 = median(rounds[mode].map((round) => round.p50));
      log(
        `${read.name}, ${cacheName(mode)}: median ${Math.round(rate(mode))} req/s, p50 ${ms(p50)}, ` +
          `server CPU ${cpu(mode).toFixed(0)} µs per request`,
      );
    }
    for (const mode of CACHED) {
      const each = ratios[mode].map((ratio) => `${ratio.toFixed(2)}×`).join(", ");
      log(`${read.name}, ${cacheName(mode)} / no cache per round: ${each}`);
    }
    return [
      ...MODES.map((mode) => ({
        name: `${read.name} (environments API) from PostgreSQL, ${cacheName(mode)}, median of ${THROUGHPUT_ROUNDS}`,
        value: rate(mode),
        unit: "req/s",
        lowerIsBetter: false,
      })),
      ...CACHED.map((mode) => ({
        name: `${read.name}: throughput ${cacheName(mode)} / no cache, median of ${THROUGHPUT_ROUNDS} rounds`,
        value: median(ratios[mode]),
        unit: "×",
        ...(read.target === undefined ? {} : { target: read.target }),
        lowerIsBetter: false,
      })),
      ...MODES.map((mode) => ({
        name: `${read.name}: server CPU per request, ${cacheName(mode)}, median of ${THROUGHPUT_ROUNDS}`,
        value: cpu(mode),
        unit: "µs",
        lowerIsBetter: true,
      })),
    ];
  } finally {
    await generator.close();
  }
}

/** Whether `server` evaluates boolean flag `key` of `namespace` as enabled; throws on an error. */
async function enabled(server: SpawnedServer, namespace: string, key: string): Promise<boolean> {
  const response = await fetch(`${server.httpUrl}${EVALUATE_PATH}`, {
    method: "POST",
    body: JSON.stringify({ namespaceKey: namespace, flagKey: key, entityId: "replica-bench", context: {} }),
  });
  const body = (await response.json()) as { enabled?: unknown };
  if (response.status !== 200) {
    throw new Error(`evaluation failed with ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.enabled === true;
}

/** PUTs boolean flag `key` of `namespace` as `value` (no rollouts); resolves when it is acknowledged. */
async function setFlag(server: SpawnedServer, namespace: string, key: string, value: boolean): Promise<void> {
  const response = await fetch(
    `${server.httpUrl}/api/v2/environments/default/namespaces/${namespace}/resources`,
    {
      method: "PUT",
      body: JSON.stringify({
        key,
        payload: { "@type": "flipt.core.Flag", key, name: key, type: "BOOLEAN_FLAG_TYPE", enabled: value },
      }),
    },
  );
  const body = await response.text();
  if (response.status !== 200) throw new Error(`updating ${key} failed with ${response.status}: ${body}`);
}

/** Evaluates back to back on `server` until it answers `value`; resolves with the time of that answer. */
async function servedAt(
  server: SpawnedServer,
  namespace: string,
  key: string,
  value: boolean,
): Promise<number> {
  const deadline = performance.now() + SERVED_DEADLINE_MS;
  for (;;) {
    const answered = await enabled(server, namespace, key);
    const now = performance.now();
    if (answered === value) return now;
    if (now > deadline) {
      throw new Error(`B did not serve ${namespace}/${key} = ${value} within ${SERVED_DEADLINE_MS} ms`);
    }
  }
}

/** A flag written on A: its namespace, what the results call it, and the timings of its writes. */
interface Written {
  readonly namespace: string;
  readonly key: string;
  readonly name: string;
  /** From A's acknowledgement to B's first answer with the new value. */
  readonly latencies: number[];
  /** A's own write: from the request's send to its acknowledgement. */
  readonly writes: number[];
}

/**
 * Two servers, A and B, on a new database seeded with `files`, with the cache `mode` (Redis: the run's own, shared
 * by both). Two boolean flags are turned on and off `REPLICATED_WRITES` times each on A, taking turns, one write at
 * a time with a random pause after each: `replicated`, alone in namespace `replicas`, and `flag-0001` of namespace
 * `default` (500 flags, which B then reads and builds again). Each write is timed from A's acknowledgement until
 * B, evaluated back to back, answers with the new value. The change counter is polled hourly, so only Redis's purge
 * message or PostgreSQL's NOTIFY can tell B.
 */
async function replication(
  mode: "memory" | "redis",
  files: readonly string[],
  redis: PrivateRedis,
  targetMs?: number,
): Promise<BenchResult[]> {
  const database = await seededDatabase(files);
  const servers: SpawnedServer[] = [];
  try {
    const env = serverEnv(database.url, mode, redis, `replicas-${mode}`);
    const a = await spawnServer(env);
    servers.push(a);
    const b = await spawnServer(env);
    servers.push(b);
    const flags: Written[] = [
      { namespace: "replicas", key: "replicated", name: "a namespace of 1 flag", latencies: [], writes: [] },
      {
        namespace: "default",
        key: "flag-0001",
        name: `a namespace of ${LISTED_FLAGS} flags`,
        latencies: [],
        writes: [],
      },
    ];
    // Not timed: each flag's first write drops what the generated state gave it (rollouts), so that its value is
    // `enabled` for every entity.
    for (const flag of flags) {
      await setFlag(a, flag.namespace, flag.key, true);
      await servedAt(b, flag.namespace, flag.key, true);
    }
    const random = seededRandom(18);
    let value = true;
    for (let index = 0; index < REPLICATED_WRITES; index++) {
      value = !value;
      for (const flag of flags) {
        const sent = performance.now();
        await setFlag(a, flag.namespace, flag.key, value);
        const acknowledged = performance.now();
        flag.latencies.push((await servedAt(b, flag.namespace, flag.key, value)) - acknowledged);
        flag.writes.push(acknowledged - sent);
        await delay(MIN_PAUSE_MS + random(MAX_PAUSE_MS - MIN_PAUSE_MS));
      }
    }
    const onB = await counters(b, mode);
    log(`${MODE_NAMES[mode]}: B made ${onB.hits} hits, ${onB.misses} misses, ${onB.queries} statements`);
    return flags.flatMap((flag) => {
      const { latencies } = flag;
      log(
        `${MODE_NAMES[mode]}, ${flag.name}: acknowledged on A to served on B median ${ms(median(latencies))}, ` +
          `max ${ms(Math.max(...latencies))}, min ${ms(Math.min(...latencies))}; A's write median ` +
          `${ms(median(flag.writes))}`,
      );
      const name = `write on replica A to served on B, cache ${MODE_NAMES[mode]}, ${flag.name}`;
      return [
        {
          name: `${name}, median of ${REPLICATED_WRITES}`,
          value: median(latencies),
          unit: "ms",
          ...(targetMs === undefined ? {} : { target: targetMs }),
          lowerIsBetter: true,
        },
        {
          name: `${name}, max of ${REPLICATED_WRITES}`,
          value: Math.max(...latencies),
          unit: "ms",
          lowerIsBetter: true,
        },
      ];
    });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
  }
}
