import type { Logger } from "pino";
import { ReadOnlyError, ValidationError } from "../domain/errors.js";
import type { Snapshot } from "../domain/snapshot.js";
import type { CommitChange } from "../format/commit-message.js";
import { loadedByFliptV2 } from "../format/discovery.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../format/limits.js";
import type { CacheStatus } from "./cache/shared-cache.js";
import {
  type CommitTemplateData,
  compileCommitTemplate,
  DEFAULT_COMMIT_TEMPLATE,
} from "./commit-template.js";
import type { FlagSource, LoadError, PreparedWrite, RemoteStatus, SourceState } from "./flag-source.js";
import { type BuildOutcome, LiveSnapshot, type SnapshotSwap } from "./live-snapshot.js";
import { repositoryCommitTemplate } from "./repository-commit-template.js";

export type { LoadError } from "./flag-source.js";

/** A file the served state was built from, and the discovery rule that selected it. */
export interface LoadedFile {
  readonly path: string;
  /** The default glob or `.flipt.yml` include that selected it; "" when the storage does not say. */
  readonly rule: string;
  /** Whether Flipt v2's server would load this file too (see `loadedByFliptV2`). */
  readonly fliptV2: boolean;
  /** The repository settings file (`flipt.yaml`), not flag state. */
  readonly settings: boolean;
}

/** An environment's health, as `GET /meta/status` reports it. */
export interface EnvironmentStatus {
  readonly key: string;
  readonly revision: string;
  /** The files the served state was built from, in path order. */
  readonly files: readonly LoadedFile[];
  /** When the snapshot being served was built; undefined if no load has succeeded yet. */
  readonly loadedAt: string | undefined;
  /** The last load's failure, cleared by the next success. */
  readonly lastError: LoadError | undefined;
}

export interface EnvironmentOptions {
  /** The key APIs use: the environment's `name`, which defaults to its config key. */
  readonly key: string;
  readonly isDefault: boolean;
  /** The storage id this environment reads. */
  readonly storage: string;
  /** The sub-directory of the storage that holds this environment's files ("" for the root). */
  readonly directory: string;
  /** The git branch the storage tracks. */
  readonly ref: string;
  /** The storage's remote, if it has one. */
  readonly remote?: string | undefined;
  /** `storage.read_only` (global or per storage): every write is refused. */
  readonly readOnly?: boolean | undefined;
  /** Author and committer of API writes (`storage.<id>.signature`). */
  readonly author?: { readonly name: string; readonly email: string } | undefined;
  /** For a branch environment: the key of the environment it was branched from. */
  readonly base?: string | undefined;
  /** `storage.<id>.webhook_secret`: authenticates webhook-triggered syncs. */
  readonly webhookSecret?: string | undefined;
  /**
   * The compiled `templates.commit_message`, run on this environment and the changes of a write; Flipt's default
   * otherwise. A repository's own `flipt.yaml` template wins over it.
   */
  readonly commitTemplate?: ((data: CommitTemplateData) => string) | undefined;
  /** The config's limits on features files (`limits.*`); the defaults where there is no config. */
  readonly limits?: FeaturesLimits | undefined;
  readonly source: FlagSource;
  readonly logger: Logger;
}

/**
 * One environment: the current immutable snapshot of its flag state (a `LiveSnapshot` of its directory), rebuilt
 * when its files change and after each write through it. A rebuild that fails keeps the last good snapshot and
 * records the error; a server started on a broken head serves what of it loads.
 */
export class Environment {
  readonly key: string;
  readonly isDefault: boolean;
  readonly storage: string;
  readonly directory: string;
  readonly ref: string;
  readonly remote: string | undefined;
  readonly readOnly: boolean;
  readonly author: { readonly name: string; readonly email: string };
  readonly #commitTemplate: (data: CommitTemplateData) => string;
  readonly webhookSecret: string | undefined;
  /** For a branch environment: the environment it was branched from. */
  readonly base: string | undefined;
  /** The limits its files keep to; writes through it parse with them too. */
  readonly limits: FeaturesLimits;
  readonly #options: EnvironmentOptions;
  readonly #source: FlagSource;
  readonly #logger: Logger;
  readonly #live: LiveSnapshot;
  readonly #listeners = new Set<(snapshot: Snapshot) => void>();
  readonly #statusListeners = new Set<() => void>();
  readonly #buildListeners = new Set<(build: BuildOutcome) => void>();
  readonly #stop = new AbortController();
  #files: readonly LoadedFile[] = [];
  #servedState: SourceState | undefined;

  constructor(options: EnvironmentOptions) {
    this.key = options.key;
    this.isDefault = options.isDefault;
    this.storage = options.storage;
    this.directory = options.directory;
    this.ref = options.ref;
    this.remote = options.remote;
    this.readOnly = options.readOnly ?? false;
    this.author = options.author ?? { name: "flipt", email: "flipt[bot]@noreply.flipt.io" };
    this.#commitTemplate = options.commitTemplate ?? defaultCommitTemplate();
    this.webhookSecret = options.webhookSecret;
    this.base = options.base;
    this.limits = options.limits ?? DEFAULT_FEATURES_LIMITS;
    this.#options = options;
    this.#source = options.source;
    this.#logger = options.logger.child({ environment: options.key });
    this.#live = new LiveSnapshot({
      source: options.source,
      directory: options.directory,
      limits: this.limits,
      serveLoadable: true,
      onSwap: (swap) => this.#swapped(swap),
      onBuild: (build) => {
        for (const listener of this.#buildListeners) listener(build);
      },
      onFailure: (error) => this.#failed(error),
    });
  }

  /**
   * A branch environment of this one: `key`, served from `source` (the storage's branch `ref`), with this one's
   * directory, author, templates, limits and access.
   */
  branch(key: string, ref: string, source: FlagSource): Environment {
    return new Environment({ ...this.#options, key, isDefault: false, ref, base: this.key, source });
  }

  /** The storage this environment reads. */
  get source(): FlagSource {
    return this.#source;
  }

  /**
   * The commit message for a write of `changes` to `state`: from the repository's `flipt.yaml` template when it
   * has one (read from the state the write applies to, as Flipt reads it on every write), else the server's.
   */
  commitMessage(changes: readonly CommitChange[], state?: SourceState): string {
    const render = repositoryCommitTemplate(state?.settings).render ?? this.#commitTemplate;
    const environment = {
      key: this.key,
      name: this.key,
      directory: this.directory,
      storage: this.storage,
      default: this.isDefault,
    };
    return render({ environment, changes });
  }

  /** The state the snapshot being served was built from; undefined while no load has succeeded. */
  get servedState(): SourceState | undefined {
    return this.#servedState;
  }

  /** The snapshot to serve. Take it once per request. */
  get snapshot(): Snapshot {
    return this.#live.snapshot;
  }

  /**
   * The snapshot to serve a request about `namespace` (undefined: the list of namespaces) from: the current one,
   * unless the storage says its state must be read again first (a database's cache entry that expired or was
   * purged; an API read of a database without a cache). A read that fails leaves the last good snapshot served.
   */
  snapshotFor(namespace: string | undefined, purpose: "evaluate" | "read"): Snapshot | Promise<Snapshot> {
    if (this.#source.servesFromMemory?.(namespace, purpose) ?? true) return this.#live.snapshot;
    return this.#refreshed(namespace, purpose).then(() => this.#live.snapshot);
  }

  /** For a storage read through a cache: its counts and last error. */
  get cacheStatus(): CacheStatus | undefined {
    return this.#source.cacheStatus?.();
  }

  /** For a database storage: the statements sent to it since it was opened. */
  get queryCount(): number | undefined {
    return this.#source.queryCount?.();
  }

  get status(): EnvironmentStatus {
    const owner = this.#source.ownerStatus?.();
    const failure = this.#live.lastError;
    return {
      key: this.key,
      revision: this.#live.snapshot.revision,
      files: this.#files,
      loadedAt: owner === undefined ? this.#live.loadedAt : owner.loadedAt,
      lastError:
        owner !== undefined
          ? owner.lastError
          : failure === undefined
            ? undefined
            : {
                message: failure.error.message,
                issues: failure.error instanceof ValidationError ? failure.error.issues : [],
                at: failure.at,
              },
    };
  }

  /**
   * Starts watching for changes, then loads the state, so no change can fall between the two. Invalid state is
   * logged, not thrown: the environment then serves what of it loads, or an empty `default` namespace, until it is
   * fixed.
   */
  async start(): Promise<void> {
    await this.#source.watch(() => void this.load(), this.#stop.signal);
    await this.load();
  }

  /**
   * Re-reads the files and swaps in a new snapshot if they changed. Resolves when that is done. A replica asks
   * the process that owns its storage to read it first.
   */
  reload(): Promise<void> {
    return this.#source.refresh === undefined ? this.#live.reload() : this.#refreshed(undefined, undefined);
  }

  /** Reads the source as it is and swaps in a new snapshot if the state changed; for a replica, without asking. */
  load(): Promise<void> {
    return this.#live.reload();
  }

  /** Throws the ReadOnlyError every write to read-only storage gets; a write may ask before it reads anything. */
  refuseWrites(): void {
    if (this.readOnly) throw new ReadOnlyError(`storage ${this.storage} is read-only`);
  }

  /**
   * Writes through the storage: `plan` turns the current files into file writes and a commit message; the state
   * they produce is validated as a whole before anything is written. Resolves with the new revision once the
   * new snapshot serves, so the writer's next read sees its write. Refused writes change nothing.
   */
  async write(request: {
    readonly baseRevision: string;
    plan(state: SourceState): PreparedWrite;
  }): Promise<string> {
    this.refuseWrites();
    return this.#live.write({
      baseRevision: request.baseRevision,
      author: this.author,
      prepare: (state) => request.plan(state),
    });
  }

  /**
   * Brings the environment up to date with its storage now: a remote is fetched (instead of waiting for the next
   * poll), then the state is reloaded. Resolves when the new state serves.
   */
  async sync(): Promise<void> {
    await this.#source.sync?.();
    await this.load();
  }

  /** How the storage follows its remote, when it has one. */
  async remoteStatus(): Promise<RemoteStatus | undefined> {
    return this.#source.remoteStatus?.();
  }

  /** For a storage with a remote: its failed polls since start. */
  get pollErrors(): number | undefined {
    return this.#source.pollErrors;
  }

  /**
   * Calls `listener` after each snapshot build (a load whose files changed, a write's validated state), until
   * `signal` aborts: Flipt counts these as git views.
   */
  onBuild(listener: (build: BuildOutcome) => void, signal: AbortSignal): void {
    this.#buildListeners.add(listener);
    signal.addEventListener("abort", () => this.#buildListeners.delete(listener), { once: true });
  }

  /** Calls `listener` with each new snapshot until `signal` aborts. */
  subscribe(listener: (snapshot: Snapshot) => void, signal: AbortSignal): void {
    this.#listeners.add(listener);
    signal.addEventListener("abort", () => this.#listeners.delete(listener), { once: true });
  }

  /** Calls `listener` after each new snapshot and each failed load (`status` then says what changed). */
  watchStatus(listener: () => void, signal: AbortSignal): void {
    this.#statusListeners.add(listener);
    signal.addEventListener("abort", () => this.#statusListeners.delete(listener), { once: true });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#live.settled();
  }

  /** Logs a new snapshot, records the files it was built from, and tells subscribers. */
  #swapped({ snapshot, state, dropped, left, ms }: SnapshotSwap): void {
    for (const segment of dropped) {
      this.#logger.warn(segment, "skipping segment with malformed constraint");
    }
    this.#files = loadedFiles(state);
    this.#servedState = state;
    let flags = 0;
    for (const namespace of snapshot.namespaces.values()) flags += namespace.flags.size;
    this.#logger.info(
      { revision: snapshot.revision, namespaces: snapshot.namespaces.size, flags, ms: Math.round(ms) },
      "flag state loaded",
    );
    for (const listener of this.#listeners) listener(snapshot);
    for (const listener of this.#statusListeners) listener();
    if (left !== undefined) {
      this.#logger.warn({ files: left }, "serving the flag state without the files that could not load");
    }
  }

  /** Has a replica's owner read its storage again (see `FlagSource.refresh`), then reads the source. */
  async #refreshed(namespace: string | undefined, purpose: "evaluate" | "read" | undefined): Promise<void> {
    await this.#source.refresh?.(namespace, purpose);
    await this.#live.reload();
  }

  #failed(error: Error): void {
    const issues = error instanceof ValidationError ? error.issues : [];
    for (const issue of issues) {
      this.#logger.error({ file: issue.file, line: issue.line, path: issue.path }, issue.message);
    }
    this.#logger.error(
      { err: error, source: this.#source.description },
      "flag state not loaded; serving the last good state",
    );
    for (const listener of this.#statusListeners) listener();
  }
}

/** The files a state was built from, for the status: the repository settings first, then in path order. */
function loadedFiles(state: SourceState): LoadedFile[] {
  return [
    ...(state.settings === undefined
      ? []
      : [{ path: state.settings.path, rule: "repository settings", fliptV2: true, settings: true }]),
    ...state.files.map(({ path }) => ({
      path,
      rule: state.ruleFor?.(path) ?? "",
      fliptV2: loadedByFliptV2(path),
      settings: false,
    })),
  ];
}

let compiledDefault: ((data: CommitTemplateData) => string) | undefined;

/** Flipt's default commit message template, compiled once. */
function defaultCommitTemplate(): (data: CommitTemplateData) => string {
  compiledDefault ??= compileCommitTemplate(DEFAULT_COMMIT_TEMPLATE);
  return compiledDefault;
}
