import type { Logger } from "pino";
import type { CacheStatus, PurgeMessage, SharedCache } from "../cache/shared-cache.js";
import { type DatabaseState, readChangeCounter, readDatabaseState } from "./read-database-state.js";
import type { SqlDatabase } from "./sql-database.js";
import { readText } from "./sql-values.js";
import type { StoredNamespace } from "./stored-state.js";

/** How long entries whose read failed are served before the database is tried again. */
const RETRY_AFTER_FAILURE_MS = 1_000;

export interface NamespaceCacheOptions {
  /** The storage's config id: part of every key, so that storages sharing a Redis never share entries. */
  readonly storage: string;
  /** `cache.backend`, the `cache` label of `flipt_cache_*`. */
  readonly backend: string;
  /** `cache.ttl`: how long an entry is served; 0 for ever. */
  readonly ttlMs: number;
  /** `cache.memory.eviction_interval`: how often expired entries are dropped; 0 never. */
  readonly evictionIntervalMs: number;
  /** With `cache.backend: redis`: the cache the replicas share. */
  readonly shared?: SharedCache | undefined;
  readonly logger?: Logger | undefined;
}

interface Entry<T> {
  readonly value: T;
  /** The change counter the value was read at. */
  readonly counter: number;
  /** Epoch milliseconds; Infinity for an entry that never expires. */
  expiresAt: number;
}

/** The namespace keys. */
type NamespaceList = ReadonlySet<string>;

/**
 * Flipt v1's cache in front of database storage (`cache.enabled`), one entry per namespace plus one for the list of
 * namespaces. An entry is served until it expires (`cache.ttl`) or a write purges it; then the next read or
 * evaluation of that namespace is a miss that reads it again: from the shared cache when there is one and its entry
 * is current, else from the database (and the shared cache is filled). A write purges the namespaces it changed,
 * here and, through the shared cache, on every replica. A change the replica cannot account for (rows changed
 * by hand, by Flipt v1, by a replica without the shared cache) purges every entry, and entries in the shared cache
 * read before it are not used again.
 */
export class CachedNamespaces {
  readonly #options: NamespaceCacheOptions;
  readonly #entries = new Map<string, Entry<StoredNamespace>>();
  #list: Entry<NamespaceList> | undefined;
  /** The newest change counter whose changes this replica accounted for (its writes, purges announced). */
  #known: number | undefined;
  /** Shared entries read at an older counter than this predate a change nobody announced: not used. */
  #floor = 0;
  #hits = 0;
  #misses = 0;
  #janitor: NodeJS.Timeout | undefined;

  constructor(options: NamespaceCacheOptions) {
    this.#options = options;
    if (options.evictionIntervalMs > 0) {
      this.#janitor = setInterval(() => this.#evict(Date.now()), options.evictionIntervalMs);
      this.#janitor.unref();
    }
  }

  get status(): CacheStatus {
    return {
      backend: this.#options.backend,
      hits: this.#hits,
      misses: this.#misses,
      errors: this.#options.shared?.errors ?? 0,
      entries: this.#entries.size + (this.#list === undefined ? 0 : 1),
      lastError: this.#options.shared?.lastError,
    };
  }

  /**
   * Whether a request about `namespace` (undefined: the list of namespaces) can be served from what is held (a
   * hit), or must read again first (a miss). Counted either way.
   */
  serves(namespace: string | undefined): boolean {
    const now = Date.now();
    const list = this.#list;
    const fresh =
      list !== undefined &&
      list.expiresAt > now &&
      (namespace === undefined ||
        !list.value.has(namespace) ||
        (this.#entries.get(namespace)?.expiresAt ?? 0) > now);
    if (fresh) this.#hits++;
    else this.#misses++;
    return fresh;
  }

  /** The state to serve: what is held and current, with every other namespace read again. */
  async read(database: SqlDatabase): Promise<DatabaseState> {
    const now = Date.now();
    try {
      const list = await this.#readList(database, now);
      const stale = [...list.value].filter((key) => !((this.#entries.get(key)?.expiresAt ?? 0) > now));
      const missing = await this.#fromShared(stale, now);
      if (missing.length > 0) {
        const read = await database.transaction((tx) => readDatabaseState(tx, missing), "read");
        for (const [key, namespace] of read.namespaces) this.#store(key, namespace, read.counter, now);
        // A namespace listed and not found was deleted since the list was read.
        const gone = new Set(missing.filter((key) => !read.namespaces.has(key)));
        if (gone.size > 0) {
          this.#list = { ...list, value: new Set([...list.value].filter((key) => !gone.has(key))) };
        }
      }
      const namespaces = new Map<string, StoredNamespace>();
      const counters = new Set<number>();
      for (const key of [...list.value].sort()) {
        const entry = this.#entries.get(key);
        if (entry === undefined) continue;
        namespaces.set(key, entry.value);
        counters.add(entry.counter);
      }
      // A state whose parts were read at one counter can be written on without reading again (see the source).
      const [counter] = counters;
      return { counter: counters.size === 1 && counter !== undefined ? counter : -1, namespaces };
    } catch (error) {
      // Served as held a little longer, so that a database that is down is not asked on every request.
      this.#holdStale(now + RETRY_AFTER_FAILURE_MS, now);
      throw error;
    }
  }

  /**
   * A write through this replica moved the counter `from` → `to` and changed `namespaces` (created, updated or
   * deleted): their entries (and the list) are purged here and in the shared cache, and the other replicas told.
   */
  async written(namespaces: readonly string[], from: number, to: number): Promise<void> {
    if (this.#known === from) this.#known = to;
    this.#purge(namespaces);
    const shared = this.#options.shared;
    if (shared === undefined) return;
    const keys = [this.#listKey(), ...namespaces.map((key) => this.#namespaceKey(key))];
    await shared.delete(keys);
    await shared.publish({ storage: this.#options.storage, keys: namespaces, from, to });
  }

  /**
   * With a shared cache: hears the purges every replica announces, and calls `onChange` after each one for this
   * storage, until `signal` aborts.
   */
  async watchPurges(onChange: () => void, signal: AbortSignal): Promise<void> {
    await this.#options.shared?.subscribe((message) => {
      if (signal.aborted || message.storage !== this.#options.storage) return;
      this.#purged(message);
      onChange();
    });
  }

  #purged(message: PurgeMessage): void {
    if (this.#known === message.from) this.#known = message.to;
    this.#purge(message.keys);
  }

  /**
   * The change counter as a poll or notification found it. A change not accounted for by a write or an announced
   * purge purges everything: nobody said what it changed.
   */
  counterIs(counter: number): void {
    if (this.#known === undefined || counter === this.#known) {
      this.#known = counter;
      return;
    }
    this.#options.logger?.debug(
      { from: this.#known, to: counter },
      "database changed by something else: cache purged",
    );
    this.#known = counter;
    this.#floor = counter;
    this.#list = undefined;
    this.#entries.clear();
  }

  close(): void {
    if (this.#janitor !== undefined) clearInterval(this.#janitor);
    this.#janitor = undefined;
  }

  async #readList(database: SqlDatabase, now: number): Promise<Entry<NamespaceList>> {
    const held = this.#list;
    if (held !== undefined && held.expiresAt > now) return held;
    const shared = await this.#options.shared?.get(this.#listKey());
    const fromShared = shared === undefined ? undefined : parseEntry(shared.value, isKeyList);
    if (fromShared !== undefined && fromShared.counter >= this.#floor) {
      return this.#setList(new Set(fromShared.value), fromShared.counter, expiry(now, shared?.ttlMs));
    }
    const { counter, keys } = await database.transaction(async (tx) => {
      const counter = await readChangeCounter(tx);
      const rows = await tx.query('SELECT "key" FROM namespaces');
      return { counter, keys: rows.map((row) => readText(row.key)) };
    }, "read");
    void this.#options.shared?.set(this.#listKey(), JSON.stringify({ counter, value: keys }));
    return this.#setList(new Set(keys), counter, expiry(now, this.#options.ttlMs));
  }

  #setList(keys: NamespaceList, counter: number, expiresAt: number): Entry<NamespaceList> {
    this.#known ??= counter;
    this.#list = { value: keys, counter, expiresAt };
    return this.#list;
  }

  /** Fills what the shared cache holds (and is current) of `keys`; resolves with the keys still missing. */
  async #fromShared(keys: readonly string[], now: number): Promise<string[]> {
    const shared = this.#options.shared;
    if (shared === undefined) return [...keys];
    const missing: string[] = [];
    await Promise.all(
      keys.map(async (key) => {
        const found = await shared.get(this.#namespaceKey(key));
        const entry = found === undefined ? undefined : parseEntry(found.value, isNamespace);
        if (entry === undefined || entry.counter < this.#floor || entry.value.key !== key) {
          missing.push(key);
          return;
        }
        this.#entries.set(key, { ...entry, expiresAt: expiry(now, found?.ttlMs) });
      }),
    );
    return missing;
  }

  #store(key: string, namespace: StoredNamespace, counter: number, now: number): void {
    this.#entries.set(key, { value: namespace, counter, expiresAt: expiry(now, this.#options.ttlMs) });
    void this.#options.shared?.set(this.#namespaceKey(key), JSON.stringify({ counter, value: namespace }));
  }

  /** Purges `namespaces`, and the list when one of them is not in it (a namespace created). */
  #purge(namespaces: readonly string[]): void {
    const listed = this.#list?.value;
    if (listed !== undefined && namespaces.some((key) => !listed.has(key))) this.#list = undefined;
    for (const key of namespaces) this.#entries.delete(key);
  }

  #holdStale(until: number, now: number): void {
    if (this.#list !== undefined && this.#list.expiresAt <= now) this.#list.expiresAt = until;
    for (const entry of this.#entries.values()) {
      if (entry.expiresAt <= now) entry.expiresAt = until;
    }
  }

  #evict(now: number): void {
    if (this.#list !== undefined && this.#list.expiresAt <= now) this.#list = undefined;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #listKey(): string {
    return `s:nl:${this.#options.storage}`;
  }

  #namespaceKey(namespace: string): string {
    return `s:ns:${this.#options.storage}:${namespace}`;
  }
}

function expiry(now: number, ttlMs: number | undefined): number {
  return ttlMs === undefined || ttlMs <= 0 ? Number.POSITIVE_INFINITY : now + ttlMs;
}

/** A shared entry's JSON (`{counter, value}`), or undefined when it is not one (it is then a miss). */
function parseEntry<T>(text: string, isValue: (value: unknown) => value is T): Entry<T> | undefined {
  try {
    const parsed = JSON.parse(text) as { counter?: unknown; value?: unknown };
    if (typeof parsed.counter !== "number" || !isValue(parsed.value)) return undefined;
    return { counter: parsed.counter, value: parsed.value, expiresAt: 0 };
  } catch {
    return undefined;
  }
}

function isKeyList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isNamespace(value: unknown): value is StoredNamespace {
  const namespace = value as Partial<StoredNamespace> | null;
  return (
    typeof namespace === "object" &&
    namespace !== null &&
    typeof namespace.key === "string" &&
    Array.isArray(namespace.flags) &&
    Array.isArray(namespace.segments)
  );
}
