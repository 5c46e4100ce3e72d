/**
 * CachedNamespaces as a replica uses it with a shared cache: a real Redis of the test's own, a SQLite database
 * written through a DatabaseSource (the other replica, which announces its writes) and by hand (a change nobody
 * announces). The replica under test hears purges through a gate the test opens, so that the order in which the
 * database's change and the writer's announcement reach it is the test's to choose.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { type PrivateRedis, startPrivateRedis } from "../../../test/helpers/private-redis.js";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-databases.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import { parseFeatures } from "../../format/parse-features.js";
import { openRedisCache } from "../cache/open-redis-cache.js";
import type { PurgeMessage, SharedCache } from "../cache/shared-cache.js";
import type { FileWrite } from "../flag-source.js";
import { CachedNamespaces, UNANNOUNCED_CHANGE_GRACE_MS } from "./cached-namespaces.js";
import { countQueries } from "./count-queries.js";
import { DatabaseSource } from "./database-source.js";
import { migrateDatabase } from "./migrations/migrate-database.js";
import { openDatabase } from "./open-database.js";
import { readChangeCounter } from "./read-database-state.js";
import type { SqlDatabase } from "./sql-database.js";

/** A boolean flag document for `namespace` with one flag per entry of `flags`. */
function namespaceWrite(namespace: string, flags: Record<string, boolean>): FileWrite {
  const path = `${namespace}/features.yaml`;
  const lines = [`version: "1.4"`, `namespace: ${namespace}`, "flags:"];
  for (const [key, enabled] of Object.entries(flags)) {
    lines.push(
      `  - key: ${key}`,
      `    name: ${key}`,
      "    type: BOOLEAN_FLAG_TYPE",
      `    enabled: ${enabled}`,
    );
  }
  const parsed = parseFeatures(lines.join("\n"), path);
  assert.deepEqual(parsed.issues, []);
  return { path, documents: parsed.documents };
}

function deleteWrite(namespace: string): FileWrite {
  return { path: `${namespace}/features.yaml`, text: undefined };
}

/** Whether flag `flag` of `namespace` is enabled in `state`; undefined when it is not there. */
function enabled(
  state: Awaited<ReturnType<CachedNamespaces["read"]>>,
  namespace: string,
  flag: string,
): boolean | undefined {
  return state.namespaces.get(namespace)?.flags.get(flag)?.enabled;
}

/** A shared cache whose purge messages wait, from `hold()` on, for `release()` before the listener hears them. */
function gated(inner: SharedCache): SharedCache & { hold(): void; release(): void; readonly heard: number } {
  let waiting: PurgeMessage[] | undefined;
  let listener: ((message: PurgeMessage) => void) | undefined;
  let heard = 0;
  const deliver = (message: PurgeMessage) => {
    heard++;
    listener?.(message);
  };
  return {
    backend: inner.backend,
    get: (key) => inner.get(key),
    set: (key, value) => inner.set(key, value),
    delete: (keys) => inner.delete(keys),
    publish: (message) => inner.publish(message),
    subscribe(onMessage) {
      listener = onMessage;
      return inner.subscribe((message) => {
        if (waiting === undefined) deliver(message);
        else waiting.push(message);
      });
    },
    hold() {
      waiting ??= [];
    },
    release() {
      const held = waiting ?? [];
      waiting = undefined;
      for (const message of held) deliver(message);
    },
    get heard() {
      return heard;
    },
    get errors() {
      return inner.errors;
    },
    get lastError() {
      return inner.lastError;
    },
    close: () => inner.close(),
  };
}

describe("CachedNamespaces with a shared cache", () => {
  let redis: PrivateRedis;
  let database: TestDatabase;
  let writer: DatabaseSource;
  let replica: CachedNamespaces;
  let replicaDatabase: SqlDatabase;
  let queries: () => number;
  let shared: ReturnType<typeof gated>;
  const caches: SharedCache[] = [];
  let stop: AbortController;
  let prefix: string;

  async function openShared(prefix: string): Promise<SharedCache> {
    const cache = await openRedisCache({ host: redis.host, port: redis.port, prefix, ttlMs: 3_600_000 });
    caches.push(cache);
    return cache;
  }

  function write(...writes: FileWrite[]): Promise<string> {
    return writer.write({
      directory: "",
      baseRevision: "",
      author: { name: "test", email: "test@example.com" },
      prepare: () => ({ writes, message: "test" }),
    });
  }

  const counter = () => readChangeCounter(replicaDatabase);

  before(async () => {
    redis = await startPrivateRedis();
  });
  after(async () => {
    await redis?.dispose();
  });

  beforeEach(async () => {
    database = await createTestDatabase("sqlite");
    const migrating = openDatabase(database.url);
    await migrateDatabase(migrating);
    await migrating.close();
    prefix = `t${randomBytes(4).toString("hex")}`;
    const options = { storage: "default", backend: "redis", ttlMs: 3_600_000, evictionIntervalMs: 0 };
    writer = new DatabaseSource({
      database: openDatabase(database.url),
      pollIntervalMs: 3_600_000,
      cache: { ...options, shared: await openShared(prefix) },
    });
    shared = gated(await openShared(prefix));
    replica = new CachedNamespaces({ ...options, shared });
    const counted = countQueries(openDatabase(database.url));
    replicaDatabase = counted.database;
    queries = counted.count;
    stop = new AbortController();
    await replica.watchPurges(() => undefined, stop.signal);
    await write(namespaceWrite("default", { alpha: true }), namespaceWrite("team", { beta: false }));
    const first = await replica.read(replicaDatabase);
    assert.equal(enabled(first, "default", "alpha"), true);
    assert.equal(enabled(first, "team", "beta"), false);
    await waitFor(() => shared.heard >= 1, { what: "the first write's purge message" });
    assert.equal(replica.counterIs(await counter()).recheckInMs, undefined);
  });
  afterEach(async () => {
    stop.abort();
    replica.close();
    await writer.close();
    await replicaDatabase.close();
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
    await database.drop();
  });

  it("holds a change the database told of until the writer's announcement, which purges only what it changed", async () => {
    const before = await replica.read(replicaDatabase);
    shared.hold();
    await write(namespaceWrite("default", { alpha: false }));
    const now = Date.now();
    const changed = await counter();
    // The database's notification comes first: nothing purged yet, the counter to be read again in a while.
    const held = replica.counterIs(changed, now);
    assert.equal(held.purged, false);
    assert.equal(held.recheckInMs, UNANNOUNCED_CHANGE_GRACE_MS);
    assert.equal(replica.counterIs(changed, now + 400).recheckInMs, UNANNOUNCED_CHANGE_GRACE_MS - 400);
    assert.ok(replica.serves("default") && replica.serves("team"));

    // The announcement arrives: the change is accounted for, and only `default` is read again.
    const heard = shared.heard;
    shared.release();
    await waitFor(() => shared.heard > heard, { what: "the writer's purge message" });
    assert.deepEqual(replica.counterIs(changed, now + UNANNOUNCED_CHANGE_GRACE_MS), {
      purged: false,
      recheckInMs: undefined,
    });
    assert.equal(replica.serves("team"), true);
    assert.equal(replica.serves("default"), false);
    const after = await replica.read(replicaDatabase);
    assert.equal(enabled(after, "default", "alpha"), false);
    assert.equal(after.namespaces.get("team"), before.namespaces.get("team"), "team was not read again");
    assert.equal(after.counter, changed, "current as of the counter accounted for, though read at two");
  });

  it("purges everything once the grace has passed without an announcement, and never takes the shared cache's older entries", async () => {
    // Another replica fills the shared cache.
    const other = new CachedNamespaces({
      storage: "default",
      backend: "redis",
      ttlMs: 3_600_000,
      evictionIntervalMs: 0,
      shared: await openShared(prefix),
    });
    await other.read(replicaDatabase);
    other.close();
    await waitFor(async () => (await shared.get("s:ns:default:team")) !== undefined, {
      what: "the shared entry of team",
    });

    // Changed by hand, as Flipt v1 writes rows: nobody announces it.
    await replicaDatabase.exec("UPDATE flags SET enabled = ? WHERE namespace_key = ? AND key = ?", [
      true,
      "team",
      "beta",
    ]);
    const changed = await counter();
    const now = Date.now();
    assert.equal(replica.counterIs(changed, now).purged, false);
    assert.equal(replica.counterIs(changed, now + UNANNOUNCED_CHANGE_GRACE_MS - 1).recheckInMs, 1);
    assert.deepEqual(replica.counterIs(changed, now + UNANNOUNCED_CHANGE_GRACE_MS), {
      purged: true,
      recheckInMs: undefined,
    });
    assert.equal(replica.serves(undefined), false, "the list is purged too");
    await waitFor(async () => (await shared.get("s:ns:default:team")) === undefined, {
      what: "the shared entries removed",
    });
    const statements = queries();
    const after = await replica.read(replicaDatabase);
    assert.ok(queries() > statements, "read from the database");
    assert.equal(enabled(after, "team", "beta"), true);
    assert.equal(enabled(after, "default", "alpha"), true);
    assert.equal(after.counter, changed);
  });

  it("starts from the database's counter: what the shared cache holds from before a change nobody announced is not taken", async () => {
    await replicaDatabase.exec("UPDATE flags SET enabled = ? WHERE namespace_key = ? AND key = ?", [
      true,
      "team",
      "beta",
    ]);
    // Nobody heard of it: the shared cache still holds team as the replica read it in beforeEach.
    const late = new CachedNamespaces({
      storage: "default",
      backend: "redis",
      ttlMs: 3_600_000,
      evictionIntervalMs: 0,
      shared,
    });
    try {
      assert.equal(enabled(await late.read(replicaDatabase), "team", "beta"), true);
    } finally {
      late.close();
    }
  });

  it("does not keep a read that a purge overtook", async () => {
    const current = await counter();
    // A write elsewhere, announced, whose rows this replica's read (at `current`) cannot have seen.
    const purgeSeen = shared.heard + 1;
    await caches[0]?.publish({ storage: "default", keys: ["team"], from: current + 10, to: current + 11 });
    await waitFor(() => shared.heard >= purgeSeen, { what: "the purge message" });
    assert.equal(replica.serves("team"), false);
    const read = await replica.read(replicaDatabase);
    assert.equal(enabled(read, "team", "beta"), false, "served once");
    assert.equal(replica.serves("team"), false, "and not kept");
    assert.equal(replica.serves("default"), true);
  });

  it("drops a namespace deleted by another replica from the list", async () => {
    const heard = shared.heard;
    await write(deleteWrite("team"));
    await waitFor(() => shared.heard > heard, { what: "the purge message" });
    const read = await replica.read(replicaDatabase);
    assert.deepEqual([...read.namespaces.keys()], ["default"]);
    assert.equal(replica.counterIs(await counter()).purged, false, "the delete was accounted for");
  });

  it("treats a shared entry that is not one of its own as a miss, and serves the database's rows", async () => {
    const fresh = new CachedNamespaces({
      storage: "default",
      backend: "redis",
      ttlMs: 3_600_000,
      evictionIntervalMs: 0,
      shared,
    });
    try {
      await shared.set("s:ns:default:team", "not json");
      await shared.set("s:ns:default:default", JSON.stringify({ counter: 1e9, value: { key: "other" } }));
      const read = await fresh.read(replicaDatabase);
      assert.equal(enabled(read, "team", "beta"), false);
      assert.equal(enabled(read, "default", "alpha"), true);
    } finally {
      fresh.close();
    }
  });
});
