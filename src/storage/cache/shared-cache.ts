/** A cache error, as `/meta/status` reports it: the message (no secrets) and when it happened (ISO 8601). */
export interface CacheFailure {
  readonly message: string;
  readonly at: string;
}

/** What `/meta/status` and the metrics report of a cache. */
export interface CacheStatus {
  readonly backend: string;
  readonly hits: number;
  readonly misses: number;
  /** Failed operations on the shared cache. */
  readonly errors: number;
  /** Entries held in this process. */
  readonly entries: number;
  readonly lastError: CacheFailure | undefined;
}

/** One value in a shared cache, and how much longer it stays there. */
export interface SharedValue {
  readonly value: string;
  /** Milliseconds left before it expires; undefined when it never does. */
  readonly ttlMs: number | undefined;
}

/**
 * What replicas sharing a cache tell each other: the namespaces `keys` were purged by a write that moved the database's change counter from `from` to `to`, and nothing else changed in between.
 */
export interface PurgeMessage {
  /** Which storage the keys belong to (its config id); replicas of other storages ignore the message. */
  readonly storage: string;
  readonly keys: readonly string[];
  readonly from: number;
  readonly to: number;
}

/**
 * A cache shared by replicas (`cache.backend: redis`), holding text values under logical keys such as
 * `s:ns:default:production`. It never fails a caller: an unreachable or misbehaving server makes `get` a miss and
 * `set`/`delete`/`publish` no-ops, counted in `errors` and reported in `lastError` until an operation succeeds
 * again; it reconnects on its own. Secrets never appear in its messages.
 */
export interface SharedCache {
  /** `redis`, for the `cache` label of `flipt_cache_*`. */
  readonly backend: string;
  /** The value at `key` and its remaining time to live, or undefined for a miss (or an error). */
  get(key: string): Promise<SharedValue | undefined>;
  /** Stores `value` at `key` for the configured time to live. */
  set(key: string, value: string): Promise<void>;
  /** Removes `keys`. */
  delete(keys: readonly string[]): Promise<void>;
  /** Tells every replica subscribed (this one included) about a purge. */
  publish(message: PurgeMessage): Promise<void>;
  /**
   * Calls `listener` with each purge published by any replica, until the cache is closed; resolves once
   * subscribed (or once the first attempt failed: it keeps trying). A malformed message is ignored.
   */
  subscribe(listener: (message: PurgeMessage) => void): Promise<void>;
  /** Operations that failed since the cache was opened. */
  readonly errors: number;
  /** The last failure, cleared when an operation succeeds. */
  readonly lastError: CacheFailure | undefined;
  close(): Promise<void>;
}
