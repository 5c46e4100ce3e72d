import type { Logger } from "pino";
import type { CacheStatus, PurgeMessage, SharedCache } from "../cache/shared-cache.js";
import { type DatabaseState, readChangeCounter, readDatabaseState } from "./read-database-state.js";
import {
  decodeListEntry,
  decodeNamespaceEntry,
  encodeListEntry,
  encodeNamespaceEntry,
} from "./shared-entry.js";
import type { SqlDatabase } from "./sql-database.js";
import { readText } from "./sql-values.js";
import type { StoredNamespace } from "./stored-state.js";

/** How long entries whose read failed are served before the database is tried again. */
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * With a shared cache, how long a change of the counter that no purge message explains yet is held before every
 * entry is purged: the database tells replicas of a commit (PostgreSQL's NOTIFY) before the writer has announced
 * what it changed, and a purge of everything on each write would send every replica to the database. A writer that
 * died between its commit and its announcement makes replicas serve its namespaces this much longer.
 */
export const UNANNOUNCED_CHANGE_GRACE_MS = 1_000;

/** How many announced changes ahead of the last one accounted for are kept, waiting for the ones between. */
const MAX_PENDING_CHANGES = 1_024;

/** What `counterIs` made of a reading of the change counter. */
export interface CounterVerdict {
  /** Every entry was purged: the change is not accounted for. */
  readonly purged: boolean;
  /** The change is not accounted for yet: read the counter again after this many milliseconds. */
  readonly recheckInMs: number | undefined;
}

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

/** The key of the list of namespaces in `#purgedAt` (namespace keys cannot be empty). */
const LIST = "";

/**
 * Flipt v1's cache in front of database storage (`cache.enabled`), one entry per namespace plus one for the list of
 * namespaces. An entry is served until it expires (`cache.ttl`) or a write purges it; then the next read or
 * evaluation of that namespace is a miss that reads it again: from the shared cache when there is one and its entry
 * is current, else from the database (and the shared cache is filled). A write purges the namespaces it changed,
 * here and, through the shared cache, on every replica, and no entry read before that write is kept or used again
 * for them. A change of the counter nobody accounts for (rows changed by hand, by Flipt v1, by a replica without
 * the shared cache) purges every entry, and entries in the shared cache read before it are not used again; with a
 * shared cache, after `UNANNOUNCED_CHANGE_GRACE_MS`, since the writer's announcement may still be on its way.
 */
export class CachedNamespaces {
  readonly #options: NamespaceCacheOptions;
  readonly #entries = new Map<string, Entry<StoredNamespace>>();
  #list: Entry<NamespaceList> | undefined;
  /** The newest change counter whose changes this replica accounted for (its writes, purges announced). */
  #known: number | undefined;
  /** Changes announced (`from` → `to`) that start past `#known`: accounted for once the ones between arrive. */
  readonly #announced = new Map<number, number>();
  /** The first counter read that `#known` does not account for, and when; undefined while none is pending. */
  #unexplained: { readonly counter: number; readonly since: number } | undefined;
  /**
   * Entries read at an older counter than this are neither kept nor used: they may predate a change nobody
   * announced. It starts at the counter this replica first reads, since whatever changed before it started
   * was announced to nobody here.
   */
  #floor = 0;
  /** Per key (namespace, or `LIST` for the list), the counter of the last write that purged it: the same, for it. */
  readonly #purgedAt = new Map<string, number>();
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
      if (this.#known === undefined) this.#start(await readChangeCounter(database));
      const list = await this.#readList(database, now);
      const values = new Map<string, Entry<StoredNamespace>>();
      const stale: string[] = [];
      for (const key of list.value) {
        const entry = this.#entries.get(key);
        if (entry !== undefined && entry.expiresAt > now) values.set(key, entry);
        else stale.push(key);
      }
      const missing = await this.#fromShared(stale, values, now);
      if (missing.length > 0) {
        const read = await database.transaction((tx) => readDatabaseState(tx, missing), "read");
        for (const [key, namespace] of read.namespaces) {
          values.set(key, this.#store(key, namespace, read.counter, now));
        }
        // A namespace listed and not found was deleted since the list was read.
        const gone = new Set(missing.filter((key) => !read.namespaces.has(key)));
        if (gone.size > 0 && this.#list === list) {
          this.#list = { ...list, value: new Set([...list.value].filter((key) => !gone.has(key))) };
        }
      }
      const namespaces = new Map<string, StoredNamespace>();
      const known = this.#known ?? -1;
      let current = list.counter <= known;
      for (const key of [...values.keys()].sort()) {
        const entry = values.get(key) as Entry<StoredNamespace>;
        namespaces.set(key, entry.value);
        if (entry.counter > known) current = false;
      }
      // Every part read at or before the counter this replica accounted for is current as of it (a change since
      // its read would have purged it): a write that finds the database at that counter needs no read of its own
      // (see the source). A part read later may predate nothing, or a change not accounted for yet: no counter.
      return { counter: current ? known : -1, namespaces };
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
    this.#purged({ storage: this.#options.storage, keys: namespaces, from, to });
    const shared = this.#options.shared;
    if (shared === undefined) return;
    const keys = [LIST, ...namespaces].map((key) => this.#sharedKey(key));
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

  /** Purges what an announced change purged, and accounts for it (with the changes announced before it). */
  #purged(message: PurgeMessage): void {
    this.#purge(message.keys);
    for (const key of [LIST, ...message.keys]) {
      if ((this.#purgedAt.get(key) ?? -1) < message.to) this.#purgedAt.set(key, message.to);
    }
    if (this.#known === undefined || message.from < this.#known) return;
    this.#announced.set(message.from, message.to);
    for (let to = this.#announced.get(this.#known); to !== undefined; to = this.#announced.get(this.#known)) {
      this.#announced.delete(this.#known);
      this.#known = to;
    }
    if (this.#unexplained !== undefined && this.#known >= this.#unexplained.counter)
      this.#unexplained = undefined;
    if (this.#announced.size > MAX_PENDING_CHANGES) {
      const [oldest] = this.#announced.keys();
      if (oldest !== undefined) this.#announced.delete(oldest);
    }
  }

  /**
   * The change counter as a poll or notification read it. A change not accounted for by a write or an announced
   * purge purges everything: nobody said what it changed. With a shared cache, the announcement may be on its way:
   * the verdict then asks for the counter to be read again later, and purges everything only if it still is not
   * accounted for `UNANNOUNCED_CHANGE_GRACE_MS` after it was first seen.
   */
  counterIs(counter: number, now = Date.now()): CounterVerdict {
    if (this.#known === undefined) this.#start(counter);
    if (counter === this.#known) {
      this.#unexplained = undefined;
      return { purged: false, recheckInMs: undefined };
    }
    if (this.#options.shared !== undefined) {
      this.#unexplained ??= { counter, since: now };
      const left = this.#unexplained.since + UNANNOUNCED_CHANGE_GRACE_MS - now;
      if (left > 0) return { purged: false, recheckInMs: left };
    }
    this.#options.logger?.debug(
      { from: this.#known, to: counter },
      "database changed by something else: cache purged",
    );
    // What the shared cache holds of the namespaces known is stale too: removed, so that a replica starting now
    // does not take it (the others will not, by the floor).
    const keys = [...(this.#list?.value ?? []), ...this.#entries.keys()];
    void this.#options.shared?.delete([LIST, ...new Set(keys)].map((key) => this.#sharedKey(key)));
    this.#known = counter;
    this.#unexplained = undefined;
    this.#announced.clear();
    this.#floor = counter;
    for (const [key, at] of this.#purgedAt) if (at <= counter) this.#purgedAt.delete(key);
    this.#list = undefined;
    this.#entries.clear();
    return { purged: true, recheckInMs: undefined };
  }

  /**
   * When an entry taken from the shared cache expires here: when it does there, and never later than `cache.ttl`
   * from now (a value Redis keeps for ever, after a PERSIST, is still read again).
   */
  #sharedExpiry(now: number, sharedTtlMs: number | undefined): number {
    return Math.min(expiry(now, sharedTtlMs), expiry(now, this.#options.ttlMs));
  }

  /** The first counter this replica reads: what it accounts for, and the floor of what it takes as current. */
  #start(counter: number): void {
    this.#known = counter;
    this.#floor = counter;
  }

  close(): void {
    if (this.#janitor !== undefined) clearInterval(this.#janitor);
    this.#janitor = undefined;
  }

  async #readList(database: SqlDatabase, now: number): Promise<Entry<NamespaceList>> {
    const held = this.#list;
    if (held !== undefined && held.expiresAt > now) return held;
    const shared = await this.#options.shared?.get(this.#sharedKey(LIST));
    const fromShared = shared === undefined ? undefined : decodeListEntry(shared.value);
    if (fromShared !== undefined && this.#current(LIST, fromShared.counter)) {
      return this.#setList(
        new Set(fromShared.value),
        fromShared.counter,
        this.#sharedExpiry(now, shared?.ttlMs),
      );
    }
    const { counter, keys } = await database.transaction(async (tx) => {
      const counter = await readChangeCounter(tx);
      const rows = await tx.query('SELECT "key" FROM namespaces');
      return { counter, keys: rows.map((row) => readText(row.key)) };
    }, "read");
    // Read before a purge that reached this replica meanwhile: served this once, neither kept nor shared.
    if (!this.#current(LIST, counter)) return { value: new Set(keys), counter, expiresAt: now };
    void this.#options.shared?.set(this.#sharedKey(LIST), encodeListEntry(counter, keys));
    return this.#setList(new Set(keys), counter, expiry(now, this.#options.ttlMs));
  }

  #setList(keys: NamespaceList, counter: number, expiresAt: number): Entry<NamespaceList> {
    this.#list = { value: keys, counter, expiresAt };
    return this.#list;
  }

  /** Whether an entry for `key` read at `counter` was read after every purge of it (and of everything). */
  #current(key: string, counter: number): boolean {
    return counter >= this.#floor && counter >= (this.#purgedAt.get(key) ?? -1);
  }

  /**
   * Fills `values` (and the entries held) with what the shared cache holds of `keys` and is current; resolves with
   * the keys still missing.
   */
  async #fromShared(
    keys: readonly string[],
    values: Map<string, Entry<StoredNamespace>>,
    now: number,
  ): Promise<string[]> {
    const shared = this.#options.shared;
    if (shared === undefined) return [...keys];
    const missing: string[] = [];
    await Promise.all(
      keys.map(async (key) => {
        const found = await shared.get(this.#sharedKey(key));
        const entry = found === undefined ? undefined : decodeNamespaceEntry(found.value, key);
        if (entry === undefined || !this.#current(key, entry.counter)) {
          missing.push(key);
          return;
        }
        const held = { ...entry, expiresAt: this.#sharedExpiry(now, found?.ttlMs) };
        this.#entries.set(key, held);
        values.set(key, held);
      }),
    );
    return missing;
  }

  /**
   * Keeps (here and in the shared cache) `namespace` as read from the database at `counter`, unless a purge that
   * reached this replica meanwhile makes it stale: it is then served this once only. Returns the entry to serve.
   */
  #store(key: string, namespace: StoredNamespace, counter: number, now: number): Entry<StoredNamespace> {
    if (!this.#current(key, counter)) return { value: namespace, counter, expiresAt: now };
    const entry = { value: namespace, counter, expiresAt: expiry(now, this.#options.ttlMs) };
    this.#entries.set(key, entry);
    void this.#options.shared?.set(this.#sharedKey(key), encodeNamespaceEntry(counter, namespace));
    return entry;
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

  /** The shared cache's key of namespace `key`, or of the list (`LIST`). */
  #sharedKey(key: string): string {
    const storage = this.#options.storage;
    return key === LIST ? `s:nl:${storage}` : `s:ns:${storage}:${key}`;
  }
}

function expiry(now: number, ttlMs: number | undefined): number {
  return ttlMs === undefined || ttlMs <= 0 ? Number.POSITIVE_INFINITY : now + ttlMs;
}
