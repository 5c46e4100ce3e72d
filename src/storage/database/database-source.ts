import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import { ValidationError } from "../../domain/errors.js";
import type { CacheStatus } from "../cache/shared-cache.js";
import type {
  FileWrite,
  SourceFile,
  SourceState,
  WritableFlagSource,
  WriteTransaction,
} from "../flag-source.js";
import { revisionConflict } from "../revision-conflict.js";
import { SerialLock } from "../serial-lock.js";
import { CachedNamespaces, type NamespaceCacheOptions } from "./cached-namespaces.js";
import { countQueries } from "./count-queries.js";
import { databaseFiles } from "./database-files.js";
import { PENNANT_CHANGE_CHANNEL } from "./migrations/pennant-steps.js";
import { type DatabaseState, readChangeCounter, readDatabaseState } from "./read-database-state.js";
import { RetryableDatabaseError } from "./retryable-database-error.js";
import type { SqlDatabase, SqlListener } from "./sql-database.js";
import type { StoredNamespace } from "./stored-state.js";
import { writeDatabaseState } from "./write-database-state.js";

/** How long to wait before listening again after PostgreSQL's notification connection failed. */
const RELISTEN_DELAY_MS = 1_000;

/**
 * How many times a write the database aborted for contention (a deadlock, SQLite's lock held by another
 * connection) is run, with a pause that doubles from `RETRY_PAUSE_MS` (and a random part, so two writers that
 * collided do not collide again).
 */
const WRITE_ATTEMPTS = 8;
const RETRY_PAUSE_MS = 5;

export interface DatabaseSourceOptions {
  /** The database, migrated (Flipt's schema and Pennant's). The source closes it. */
  readonly database: SqlDatabase;
  /** How often the change counter is polled (`poll_interval`): the bound on how late a change made elsewhere is seen. */
  readonly pollIntervalMs: number;
  readonly logger?: Logger | undefined;
  /** `cache.enabled`: reads and evaluations served through a cache of namespaces (see `CachedNamespaces`). */
  readonly cache?: NamespaceCacheOptions | undefined;
}

/** A read of the whole state, kept while the change counter stays where it was read. */
interface Cached {
  readonly counter: number;
  readonly namespaces: ReadonlyMap<string, StoredNamespace>;
  readonly files: readonly SourceFile[];
  readonly revision: string;
}

/**
 * `storage.type: database`: flag state in Flipt v1's tables, served as one `<namespace>/features.yaml` per
 * namespace that carries its document (`SourceFile.documents`; no YAML is written or parsed), so it builds the same
 * snapshots as git storage and evaluation never queries the database. The revision is the content hash of those
 * files' canonical encodings: replicas reading the same rows agree on it. Pennant's change
 * counter (kept by triggers, whoever changes the rows) says when to read again; a read while it has not moved
 * costs one query. A write is one transaction that locks the counter row, checks the revision, applies the
 * changed rows only, and keeps what it wrote as the new state, with no read back.
 */
export class DatabaseSource implements WritableFlagSource {
  readonly description: string;
  readonly #database: SqlDatabase;
  readonly #pollIntervalMs: number;
  readonly #logger: Logger | undefined;
  readonly #lock = new SerialLock();
  readonly #stops = new Set<AbortController>();
  #cache: Cached | undefined;
  readonly #namespaces: CachedNamespaces | undefined;

  readonly #queries: () => number;

  constructor(options: DatabaseSourceOptions) {
    const counted = countQueries(options.database);
    this.#database = counted.database;
    this.#queries = counted.count;
    this.#namespaces = options.cache === undefined ? undefined : new CachedNamespaces(options.cache);
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#logger = options.logger;
    this.description = `database "${options.database.redactedUrl}"`;
  }

  async read(directory: string): Promise<SourceState> {
    checkDirectory(directory);
    return stateOf(await this.#current());
  }

  /**
   * With the cache, whether its entry for `namespace` is current (a hit) or must be read again (a miss). Without
   * it, evaluations are served from the state last read (kept current by watching the change counter), and API
   * reads read the database again (one query while nothing changed), so that a read after a write through any
   * replica sees it, as in Flipt v1.
   */
  servesFromMemory(namespace: string | undefined, purpose: "evaluate" | "read"): boolean {
    if (this.#namespaces !== undefined) return this.#namespaces.serves(namespace);
    return purpose === "evaluate";
  }

  cacheStatus(): CacheStatus | undefined {
    return this.#namespaces?.status;
  }

  queryCount(): number {
    return this.#queries();
  }

  write(transaction: WriteTransaction): Promise<string> {
    checkDirectory(transaction.directory);
    return this.#lock.run(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const { from, written, namespaces } = await this.#writeOnce(transaction);
          this.#cache = written;
          await this.#namespaces?.written(namespaces, from, written.counter);
          return written.revision;
        } catch (error) {
          if (!(error instanceof RetryableDatabaseError) || attempt >= WRITE_ATTEMPTS) throw error;
          this.#logger?.debug({ err: error, attempt }, "database write aborted for contention; retrying");
          await delay(RETRY_PAUSE_MS * 2 ** attempt * (0.5 + Math.random()));
        }
      }
    });
  }

  async #writeOnce(
    transaction: WriteTransaction,
  ): Promise<{ from: number; written: Cached; namespaces: string[] }> {
    const database = this.#database;
    const sqlite = database.driver === "sqlite" || database.driver === "libsql";
    return database.transaction(async (tx) => {
      // SQLite's BEGIN IMMEDIATE already holds the write lock; the servers lock the counter row, which every
      // Pennant writer takes first, so writers queue here instead of interleaving.
      const counter = await readChangeCounter(tx, !sqlite);
      let base = this.#cache;
      if (base?.counter !== counter) base = cachedOf(await readDatabaseState(tx));
      if (transaction.baseRevision !== "" && transaction.baseRevision !== base.revision) {
        throw revisionConflict(transaction.baseRevision, base.revision);
      }
      const prepared = transaction.prepare(stateOf(base));
      const namespaces = await writeDatabaseState(tx, { sqlite }, base.namespaces, prepared.writes);
      const written = cachedOf({ counter: await readChangeCounter(tx), namespaces }, prepared.writes);
      const changed = prepared.writes.map((write) => write.path.slice(0, write.path.indexOf("/")));
      return { from: counter, written, namespaces: changed };
    }, "write");
  }

  /**
   * The state now: with the cache, what it holds and is current, with the rest read again; without it, the last
   * read while the counter has not moved, else a consistent read of every row.
   */
  async #current(): Promise<Cached> {
    if (this.#namespaces !== undefined) {
      const read = cachedOf(await this.#namespaces.read(this.#database));
      this.#cache = read;
      return read;
    }
    const counter = await readChangeCounter(this.#database);
    const cached = this.#cache;
    if (cached !== undefined && cached.counter === counter) return cached;
    const read = cachedOf(await this.#database.transaction(readDatabaseState, "read"));
    this.#cache = read;
    return read;
  }

  /**
   * Polls the change counter and calls `onChange` when it moved, once when the database fails (so the
   * environment's reload records the error), and once when it is back. On PostgreSQL a LISTEN connection hears
   * each change as it commits and polls at once; the poll stays as the backstop.
   */
  async watch(onChange: () => void, signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    this.#stops.add(stop);
    const stopped = AbortSignal.any([signal, stop.signal]);
    stopped.addEventListener("abort", () => this.#stops.delete(stop), { once: true });
    let last: number | undefined;
    let healthy = true;
    let polling: Promise<void> | undefined;
    let again = false;
    const poll = async (): Promise<void> => {
      try {
        const counter = await readChangeCounter(this.#database);
        if (stopped.aborted) return;
        const verdict = this.#namespaces?.counterIs(counter);
        if (verdict?.recheckInMs !== undefined) recheck(verdict.recheckInMs);
        const moved = counter !== last;
        last = counter;
        if (!healthy || moved || verdict?.purged === true) {
          healthy = true;
          onChange();
        }
      } catch (error) {
        if (stopped.aborted) return;
        if (healthy) {
          healthy = false;
          this.#logger?.warn({ err: error, source: this.description }, "database change poll failed");
          onChange();
        }
      }
    };
    const pollNow = (): Promise<void> => {
      if (polling !== undefined) {
        again = true;
        return polling;
      }
      polling = poll().finally(() => {
        polling = undefined;
        if (again && !stopped.aborted) {
          again = false;
          void pollNow();
        }
      });
      return polling;
    };

    let rechecking: NodeJS.Timeout | undefined;
    const recheck = (afterMs: number) => {
      if (rechecking !== undefined) return;
      rechecking = setTimeout(() => {
        rechecking = undefined;
        void pollNow();
      }, afterMs);
      rechecking.unref();
    };
    stopped.addEventListener("abort", () => clearTimeout(rechecking), { once: true });

    try {
      last = await readChangeCounter(this.#database);
      // The cache starts from it: what the shared cache holds from before it is not taken (see CachedNamespaces).
      this.#namespaces?.counterIs(last);
    } catch {
      healthy = false;
    }
    const timer = setInterval(() => void pollNow(), this.#pollIntervalMs);
    timer.unref();
    stopped.addEventListener("abort", () => clearInterval(timer), { once: true });
    await this.#namespaces?.watchPurges(onChange, stopped);
    await this.#listen(() => void pollNow(), stopped);
  }

  /**
   * LISTENs on a connection of its own, listening again after it fails, until `signal` aborts. `onNotify` is
   * called for each notification, when listening starts (for what changed while nobody listened), and when the
   * connection is lost (the database may be down, and polling finds out now).
   */
  async #listen(onNotify: () => void, signal: AbortSignal): Promise<void> {
    const listen = this.#database.listen;
    if (listen === undefined) return;
    let listener: SqlListener | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      if (signal.aborted) return;
      try {
        listener = await listen(PENNANT_CHANGE_CHANNEL, onNotify, (error) => {
          this.#logger?.warn({ err: error, source: this.description }, "database change notifications lost");
          void listener?.close();
          listener = undefined;
          scheduleRetry();
          // The database may be down: poll now, so that a failure is recorded at once, not at the next poll.
          onNotify();
        });
        if (signal.aborted) await listener.close();
        // Whatever changed while nobody listened is found by polling now.
        else onNotify();
      } catch {
        scheduleRetry();
      }
    };
    const scheduleRetry = () => {
      if (signal.aborted || retry !== undefined) return;
      retry = setTimeout(() => {
        retry = undefined;
        void connect();
      }, RELISTEN_DELAY_MS);
      retry.unref();
    };
    signal.addEventListener(
      "abort",
      () => {
        if (retry !== undefined) clearTimeout(retry);
        void listener?.close();
      },
      { once: true },
    );
    await connect();
  }

  async close(): Promise<void> {
    this.#namespaces?.close();
    for (const stop of this.#stops) stop.abort();
    this.#stops.clear();
    await this.#database.close();
  }
}

function checkDirectory(directory: string): void {
  if (directory !== "") {
    throw new ValidationError(
      `a database storage has no directories: the environment's directory must be empty, not "${directory}"`,
      { issues: [{ path: "directory", message: "a database storage has no directories" }] },
    );
  }
}

function cachedOf(state: DatabaseState, written?: readonly FileWrite[]): Cached {
  return {
    counter: state.counter,
    namespaces: state.namespaces,
    ...databaseFiles(state.namespaces, written),
  };
}

function stateOf(cached: Cached): SourceState {
  return { revision: cached.revision, files: cached.files, structured: true };
}
