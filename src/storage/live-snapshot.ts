import { ReadOnlyError, type ValidationError } from "../domain/errors.js";
import type { Snapshot } from "../domain/snapshot.js";
import type { DroppedSegment } from "../engine/compile-flag.js";
import { encodeDocuments } from "../format/encode-documents.js";
import type { FeaturesLimits } from "../format/limits.js";
import type { ParseCache } from "../format/load-state.js";
import { buildLoadable, buildSnapshot, emptySnapshot, type SnapshotBuild } from "./build-snapshot.js";
import { contentHash } from "./content-hash.js";
import {
  type FileWrite,
  type FlagSource,
  isWritable,
  type SourceFile,
  type SourceState,
  type WriteTransaction,
} from "./flag-source.js";

/** One snapshot build: whether it succeeded (else the last good snapshot was kept), and how long it took. */
export interface BuildOutcome {
  readonly ok: boolean;
  readonly ms: number;
}

/** A snapshot just swapped in, and what it was built from. */
export interface SnapshotSwap {
  readonly snapshot: Snapshot;
  /** The state it was built from; for a partial state, without the files left out. */
  readonly state: SourceState;
  /** Segments left out of evaluation because a constraint value could not be prepared. */
  readonly dropped: readonly DroppedSegment[];
  /** For a partial state (see `LiveSnapshotOptions.serveLoadable`): the files left out, in path order. */
  readonly left: readonly string[] | undefined;
  /** How long the load or the write that built it took, in milliseconds. */
  readonly ms: number;
}

/** Why the state last read is not served, and when that was found. */
export interface LoadFailure {
  readonly error: Error;
  /** ISO 8601. */
  readonly at: string;
}

export interface LiveSnapshotOptions {
  readonly source: FlagSource;
  /** The directory of the source that holds the flag state ("" for the root). */
  readonly directory: string;
  /** The limits every build keeps to: the config's, or the defaults where there is no config. */
  readonly limits: FeaturesLimits;
  /**
   * While no load has succeeded, serve what loads without the files that failed (a server started on a broken
   * head serves every namespace it can); the failure stands until a full load succeeds.
   */
  readonly serveLoadable?: boolean | undefined;
  /** Called right after each swap, before the load or write that made it resolves. */
  readonly onSwap?: ((swap: SnapshotSwap) => void) | undefined;
  /** Called after each snapshot build: a load whose state changed, or a write's validation. */
  readonly onBuild?: ((build: BuildOutcome) => void) | undefined;
  /** Called when a load fails (its read or its build); not again while the state read stays the same. */
  readonly onFailure?: ((error: Error) => void) | undefined;
}

/**
 * The live flag state of one directory of a source, for the server's environments and the library alike: the
 * snapshot being served, the state last read, the parse cache and the last failure. A new snapshot is built
 * aside and swapped in with one assignment; a load that fails keeps the last good snapshot and records why.
 * Loads and writes never overlap, and reloads asked for while another runs are merged into one that starts
 * after it.
 */
export class LiveSnapshot {
  readonly #options: LiveSnapshotOptions;
  #snapshot: Snapshot;
  #loadedAt: string | undefined;
  #lastError: LoadFailure | undefined;
  /** What identifies the state last read (see `fingerprintOf`), served or not. */
  #read: string | undefined;
  /** What identifies the state being served; undefined while nothing, or only a partial state, is. */
  #served: string | undefined;
  #parsed: ParseCache | undefined;
  /** The tail of the queue of loads and writes. */
  #tail: Promise<unknown> = Promise.resolve();
  /** A load queued and not yet started; later reload requests join it. */
  #pending: Promise<void> | undefined;

  constructor(options: LiveSnapshotOptions) {
    this.#options = options;
    // Served until a load succeeds: only an empty `default` namespace.
    this.#snapshot = emptySnapshot("", new Date());
  }

  /** The snapshot to serve. Take it once per request. */
  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** When the snapshot being served was built; undefined until a load or write has served one. */
  get loadedAt(): string | undefined {
    return this.#loadedAt;
  }

  /** Why the state last read is not served; cleared when it is. */
  get lastError(): LoadFailure | undefined {
    return this.#lastError;
  }

  /**
   * Reads the source again and swaps in a new snapshot if the state changed. Resolves when that is done, also
   * when it failed: `lastError` then says why.
   */
  reload(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const load = this.#tail.then(() => {
      this.#pending = undefined;
      return this.#load();
    });
    this.#pending = load;
    this.#tail = load.catch(() => undefined);
    return load;
  }

  /**
   * Writes through the source this reads (refused when it takes no writes), queued with the loads so that a
   * reaction to the write's own files cannot build a snapshot between the file write and the commit. The state `transaction.prepare` leaves
   * is built, and must be valid, before the source commits it; the source's revision is then served from that
   * build, without a re-read. Resolves with the revision once it serves; a refused write changes nothing.
   */
  write(transaction: Omit<WriteTransaction, "directory">): Promise<string> {
    const source = this.#options.source;
    if (!isWritable(source))
      return Promise.reject(new ReadOnlyError(`${source.description} does not accept writes`));
    const write = this.#tail.then(async () => {
      let validated:
        | { state: SourceState; build: Extract<SnapshotBuild, { ok: true }>; started: number }
        | undefined;
      const revision = await source.write({
        directory: this.#options.directory,
        baseRevision: transaction.baseRevision,
        author: transaction.author,
        prepare: (state) => {
          const started = performance.now();
          const prepared = transaction.prepare(state);
          // The state as the write leaves it: its files changed, the rest (settings, refusals, rules) as read.
          const written = { ...state, files: applyWrites(state.files, prepared.writes) };
          const build = this.#build(written, started);
          if (!build.ok) throw build.error;
          validated = { state: written, build, started };
          return prepared;
        },
      });
      if (validated === undefined) throw new Error("the storage committed without preparing the write");
      const { state, build, started } = validated;
      this.#swap({ ...build.snapshot, revision }, { ...state, revision }, build.dropped, started);
      return revision;
    });
    this.#tail = write.catch(() => undefined);
    return write;
  }

  /** Resolves once every load and write queued so far has finished. */
  async settled(): Promise<void> {
    await this.#tail;
  }

  async #load(): Promise<void> {
    const started = performance.now();
    try {
      const state = await this.#options.source.read(this.#options.directory);
      const fingerprint = fingerprintOf(state);
      if (fingerprint === this.#read) {
        // Back to the state being served after a read that failed (a broken `.flipt.yml` put right): no error now.
        if (fingerprint === this.#served) this.#lastError = undefined;
        return;
      }
      this.#read = fingerprint;
      const build = this.#build(state, started);
      if (build.ok) {
        this.#swap(build.snapshot, state, build.dropped, started);
        return;
      }
      if (this.#options.serveLoadable === true && this.#loadedAt === undefined) {
        this.#swapLoadable(state, build.error, started);
      }
      throw build.error;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#lastError = { error: failure, at: new Date().toISOString() };
      this.#options.onFailure?.(failure);
    }
  }

  #build(state: SourceState, started: number): SnapshotBuild {
    const build = buildSnapshot(state, new Date(), { limits: this.#options.limits, previous: this.#parsed });
    this.#parsed = build.parsed;
    this.#options.onBuild?.({ ok: build.ok, ms: performance.now() - started });
    return build;
  }

  /** Swaps in `snapshot` (one assignment), built from `state`; a partial one names the files `left` out. */
  #swap(
    snapshot: Snapshot,
    state: SourceState,
    dropped: readonly DroppedSegment[],
    started: number,
    left?: readonly string[],
  ): void {
    this.#snapshot = snapshot;
    this.#loadedAt = snapshot.builtAt;
    if (left === undefined) {
      this.#read = fingerprintOf(state);
      this.#served = this.#read;
      this.#lastError = undefined;
    }
    this.#options.onSwap?.({ snapshot, state, dropped, left, ms: performance.now() - started });
  }

  /** Serves what of a failed state loads without the files that failed (see `buildLoadable`), if anything. */
  #swapLoadable(state: SourceState, failed: ValidationError, started: number): void {
    const options = { limits: this.#options.limits, previous: this.#parsed };
    const loadable = buildLoadable(state, failed, new Date(), options);
    if (loadable === undefined) return;
    const left = new Set(loadable.left);
    const files = state.files.filter((file) => !left.has(file.path));
    // Not the state the storage holds: the state last read stays the full one, and its failure stands.
    const partial = { ...state, files, refused: [] };
    this.#swap(loadable.build.snapshot, partial, loadable.build.dropped, started, loadable.left);
  }
}

/**
 * The files a write would leave: replaced, added or removed, in path order. A write that carries documents makes a
 * file that carries them too, with their canonical bytes, so the build does not parse it.
 */
function applyWrites(files: readonly SourceFile[], writes: readonly FileWrite[]): SourceFile[] {
  const next = new Map(files.map((file) => [file.path, file]));
  const encoder = new TextEncoder();
  for (const { path, text, documents } of writes) {
    if (documents !== undefined) next.set(path, { path, bytes: encodeDocuments(documents), documents });
    else if (text !== undefined) next.set(path, { path, bytes: encoder.encode(text) });
    else next.delete(path);
  }
  return [...next.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * What identifies a state read from storage: its revision, its files (settings included) and what was refused.
 * A revision alone is not enough: a content-hash revision leaves out the settings and the refusals.
 */
function fingerprintOf(state: SourceState): string {
  const refused = state.refused?.map((issue) => issue.message).join("\n") ?? "";
  const settings = state.settings === undefined ? "" : contentHash([state.settings]);
  return `${state.revision}:${contentHash(state.files)}:${settings}:${refused}`;
}
