/**
 * Issue 18: the memory cache in front of a database storage, as Flipt v1's docs describe it, seen through a real
 * `pennant server` on SQLite and its `/metrics`: evaluations and API reads are hits that send no statement to the
 * database; a write purges the namespace it changed, and the next read of it is a miss that reads the database;
 * other namespaces stay hits; an entry is read again once `cache.ttl` has passed, and the janitor drops expired
 * entries every `cache.memory.eviction_interval`. Without the cache, evaluations send no statement either, and each
 * API read checks the database's change counter (one statement), so that a read sees every write made anywhere.
 *
 * The poll interval is an hour, so that the only statements counted are the ones requests cause.
 * Cost: three `pennant` processes, about 10 s.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { booleanFlag } from "../helpers/flag-payloads.js";
import { metricValue } from "../helpers/metric-value.js";
import { restJson, writeResource } from "../helpers/rest-json.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { waitFor } from "../helpers/wait-for.js";

interface Counts {
  readonly hits: number;
  readonly misses: number;
  readonly queries: number;
  readonly entries: number;
}

async function counts(server: PennantProcess): Promise<Counts> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  return {
    hits: metricValue(text, "flipt_cache_hit_total", '{cache="memory"}'),
    misses: metricValue(text, "flipt_cache_miss_total", '{cache="memory"}'),
    queries: metricValue(text, "pennant_database_queries_total", '{storage="default"}'),
    entries: metricValue(text, "pennant_cache_entries", '{storage="default",cache="memory"}'),
  };
}

async function evaluate(server: PennantProcess, namespaceKey: string, flagKey: string): Promise<boolean> {
  const answer = await restJson(server, "POST", "/evaluate/v1/boolean", {
    namespaceKey,
    flagKey,
    entityId: "u1",
    context: {},
  });
  assert.equal(answer.status, 200, String(answer.body.message));
  return answer.body.enabled === true;
}

/** Writes boolean flag `key` as `enabled` to `namespace`, failing unless the write is accepted. */
async function writeFlag(
  server: PennantProcess,
  namespace: string,
  key: string,
  enabled: boolean,
  method: "POST" | "PUT" = "POST",
) {
  const written = await writeResource(server, method, booleanFlag(key, { enabled }), { namespace });
  assert.equal(written.status, 200, JSON.stringify(written.body));
}

async function createNamespace(server: PennantProcess, key: string): Promise<void> {
  const created = await restJson(server, "POST", "/api/v2/environments/default/namespaces", {
    key,
    name: key,
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
}

function databaseEnv(root: string, extra: Record<string, string>): Record<string, string> {
  return {
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database",
    FLIPT_STORAGE_DEFAULT_BACKEND_URL: `file:${join(root, "flipt.db")}`,
    FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1h",
    ...extra,
  };
}

describe("the memory cache in front of a database storage", () => {
  let root: string;
  let server: PennantProcess;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-database-cache-"));
    server = await startPennantProcess(
      databaseEnv(root, { FLIPT_CACHE_ENABLED: "true", FLIPT_CACHE_TTL: "1h" }),
    );
    await createNamespace(server, "team");
    await writeFlag(server, "default", "beta", true);
    await writeFlag(server, "team", "gamma", false);
    // Fill both namespaces' entries.
    await evaluate(server, "default", "beta");
    await evaluate(server, "team", "gamma");
  });
  after(async () => {
    await server?.killHard();
    await rm(root, { recursive: true, force: true });
  });

  it("serves evaluations and reads from the cache: hits, and not one statement to the database", async () => {
    const before = await counts(server);
    for (let index = 0; index < 50; index++) {
      assert.equal(await evaluate(server, "default", "beta"), true);
      assert.equal(await evaluate(server, "team", "gamma"), false);
    }
    const read = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/team/resources/flipt.core.Flag/gamma`,
    );
    assert.equal(read.status, 200);
    const after = await counts(server);
    assert.equal(after.hits - before.hits, 101);
    assert.equal(after.misses, before.misses);
    assert.equal(after.queries, before.queries, "a hit sends no statement");
    assert.ok(after.entries >= 3, `the list and two namespaces are held (${after.entries})`);
  });

  it("purges what a write changed: the next evaluation there is a miss that reads the database", async () => {
    const before = await counts(server);
    await writeFlag(server, "team", "gamma", true, "PUT");
    const written = await counts(server);
    assert.ok(written.queries > before.queries, "the write ran its transaction");
    // The namespace the write did not touch is still held.
    assert.equal(await evaluate(server, "default", "beta"), true);
    const untouched = await counts(server);
    assert.equal(untouched.misses, written.misses);
    assert.equal(untouched.queries, written.queries);
    assert.equal(await evaluate(server, "team", "gamma"), true);
    const missed = await counts(server);
    assert.equal(missed.misses - untouched.misses, 1);
    assert.ok(missed.queries > untouched.queries, "the miss read the namespace again");
    assert.equal(await evaluate(server, "team", "gamma"), true);
    assert.equal((await counts(server)).queries, missed.queries, "then it is held again");
  });
});

describe("cache.ttl and cache.memory.eviction_interval", () => {
  let root: string;
  let server: PennantProcess;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-database-cache-ttl-"));
    server = await startPennantProcess(
      databaseEnv(root, {
        FLIPT_CACHE_ENABLED: "true",
        FLIPT_CACHE_TTL: "1s",
        FLIPT_CACHE_MEMORY_EVICTION_INTERVAL: "1s",
      }),
    );
    await writeFlag(server, "default", "beta", true);
  });
  after(async () => {
    await server?.killHard();
    await rm(root, { recursive: true, force: true });
  });

  it("drops expired entries on its own, and reads the database again for the next evaluation", async () => {
    await evaluate(server, "default", "beta");
    assert.ok((await counts(server)).entries > 0);
    // Nothing asks meanwhile: only the janitor can empty the cache.
    await waitFor(async () => ((await counts(server)).entries === 0 ? true : undefined), {
      deadlineMs: 10_000,
      intervalMs: 100,
      what: "the janitor dropping the expired entries",
    });
    const before = await counts(server);
    assert.equal(await evaluate(server, "default", "beta"), true);
    const after = await counts(server);
    assert.equal(after.misses - before.misses, 1);
    assert.ok(after.queries > before.queries, "the expired entry was read from the database");
  });
});

describe("a database storage without the cache", () => {
  let root: string;
  let server: PennantProcess;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-database-nocache-"));
    server = await startPennantProcess(databaseEnv(root, {}));
    await writeFlag(server, "default", "beta", true);
  });
  after(async () => {
    await server?.killHard();
    await rm(root, { recursive: true, force: true });
  });

  it("evaluates from memory, and checks the change counter for each API read", async () => {
    const before = await counts(server);
    for (let index = 0; index < 20; index++) assert.equal(await evaluate(server, "default", "beta"), true);
    const evaluated = await counts(server);
    assert.equal(evaluated.queries, before.queries, "evaluations send no statement");
    for (let index = 0; index < 5; index++) {
      const read = await fetch(
        `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag/beta`,
      );
      assert.equal(read.status, 200);
    }
    const read = await counts(server);
    assert.equal(read.queries - evaluated.queries, 5, "one statement per read: the change counter");
    const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.doesNotMatch(text, /^flipt_cache_hit_total\{/m, "no cache, no cache series");
  });
});
