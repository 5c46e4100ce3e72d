import type { ValidationIssue } from "../domain/errors.js";
import type { FeaturesDocument, ParsedFile } from "../format/features-document.js";
import type { CacheStatus } from "./cache/shared-cache.js";
import type { ForwardedWrite } from "./change-request.js";

/** What went wrong with the last load of an environment. */
export interface LoadError {
  readonly message: string;
  /** Every problem found, with file and line where known. */
  readonly issues: readonly ValidationIssue[];
  /** When the failed load happened (ISO 8601). */
  readonly at: string;
}

/**
 * One file of flag state: its path relative to the environment's directory, with `/` separators, and its bytes.
 *
 * A storage whose state is not files (a database) hands over each file's `documents` instead of text to parse:
 * already decoded, and valid against the features schema (everything `parseFeatures` checks of one document:
 * keys, names, enums, ranges, nesting), so the snapshot is built from them without parsing anything. Reference
 * checks, the merge into namespaces and the size limits still apply. `bytes` are then `encodeDocuments(documents)`,
 * a canonical encoding that is never parsed: it is what content hashes, namespace digests, fingerprints and the
 * size limits (`limits.max_features_file_bytes`, `limits.max_snapshot_bytes`) are computed from, so two replicas
 * holding the same documents agree on them.
 */
export interface SourceFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  /** The file's documents, for a storage that holds documents rather than text (see above). */
  readonly documents?: readonly FeaturesDocument[] | undefined;
  /** The file's parse, made by the storage as the file arrived (see `FeaturesFile.parsed`). */
  readonly parsed?: ParsedFile | undefined;
}

/** What a storage holds for one environment directory at one moment. */
export interface SourceState {
  /** The storage's revision: a commit SHA, or a content hash where there is no git. */
  readonly revision: string;
  /** Every file discovery selects, in lexical path order. */
  readonly files: readonly SourceFile[];
  /**
   * Files discovery selected that the storage would not read (a symbolic link, a device, a file over the size
   * limit), each with the reason. The state is then invalid, as if those files had failed validation.
   */
  readonly refused?: readonly ValidationIssue[] | undefined;
  /** The repository settings file (`flipt.yaml` or `flipt.yml` at the root), when there is one. */
  readonly settings?: SourceFile | undefined;
  /** Which discovery rule selected a file (a default glob, or the `.flipt.yml` include), for `/meta/status`. */
  readonly ruleFor?: ((path: string) => string | undefined) | undefined;
  /**
   * True for a storage that holds documents, not text (a database): every file carries `documents`, and every
   * write to it must carry them too (`FileWrite.documents`), a new file included.
   */
  readonly structured?: boolean | undefined;
}

/**
 * A storage backend as environments see it: somewhere flag files live. `storage.<id>` in the config makes one;
 * several environments may read one storage, each in its own directory.
 */
export interface FlagSource {
  /** A name for logs and errors, such as `local "/srv/flags"`. */
  readonly description: string;
  /** Reads the flag files under `directory` ("" for the root), selected by discovery. */
  read(directory: string): Promise<SourceState>;
  /**
   * Calls `onChange` (debounced) whenever files may have changed, until `signal` aborts. Resolves once changes
   * are being watched, so nothing made after that is missed. A storage that never changes on its own may never
   * call it.
   */
  watch(onChange: () => void, signal: AbortSignal): Promise<void>;
  /** Releases watchers and temporary files. */
  close(): Promise<void>;
  /** For a storage with a remote: fetches now, resolving true when the state moved. */
  sync?(): Promise<boolean>;
  /** For a storage with a remote: how it follows it, for `/meta/status`. */
  remoteStatus?(): Promise<RemoteStatus>;
  /**
   * For a storage with a remote: the polls of it that failed since start (Flipt's `flipt_git_poll_errors_total`),
   * read without asking git, at each scrape.
   */
  readonly pollErrors?: number;
  /**
   * For a storage that decides per request whether the state last read may serve it (a database, with or
   * without its cache): true to serve a request about `namespace` (undefined: the list of namespaces) from that
   * state, false to read again first. `evaluate` is an evaluation, `read` an environments API read. Without it,
   * every request is served from the state last read.
   */
  servesFromMemory?(namespace: string | undefined, purpose: "evaluate" | "read"): boolean;
  /** For a storage read through a cache: the cache's counts and last error. */
  cacheStatus?(): CacheStatus | undefined;
  /** For a database: the statements sent to it since it was opened. */
  queryCount?(): number;
  /**
   * For a replica of a storage another process owns (a worker, `server.workers`): has the owner read its storage
   * again (for a request about `namespace` for `purpose`, as `servesFromMemory` would decide; without them, at
   * once) and resolves when what it then serves is what this replica's `read` returns.
   */
  refresh?(namespace?: string, purpose?: "evaluate" | "read"): Promise<void>;
  /** For a replica: runs a write in the process that owns the storage; resolves with the revision it made. */
  forwardWrite?(write: ForwardedWrite): Promise<string>;
  /** For a replica: when the owner last loaded the state, and its last failure, as the owner reports them. */
  ownerStatus?(): { readonly loadedAt: string | undefined; readonly lastError: LoadError | undefined };
}

/** What `/meta/status` reports about a storage's remote. */
export interface RemoteStatus {
  readonly remote: string;
  /** What is followed: the branch, or the tag a semver constraint chose. */
  readonly ref: string;
  readonly lastFetchAt: string | undefined;
  readonly lastFetchError: string | undefined;
  /** The followed ref's commit as last fetched. */
  readonly remoteRevision: string | undefined;
  /** Commits the served state is behind that head. */
  readonly behind: number;
  /** Fetches (polls, webhook syncs, fetches before writes) that failed since the server started. */
  readonly fetchErrors: number;
}

/**
 * One file to write in a transaction, by its path relative to the environment directory: its new text, or, for a
 * storage that holds documents (`SourceState.structured`), its new `documents` (valid as `SourceFile.documents`
 * are), or neither, to delete it. Storages of text (git, local directories, memory) never get a write of documents
 * (`textOf` refuses one), and a storage of documents never gets one of text.
 */
export type FileWrite =
  | { readonly path: string; readonly text: string; readonly documents?: undefined }
  | { readonly path: string; readonly documents: readonly FeaturesDocument[]; readonly text?: undefined }
  | { readonly path: string; readonly text?: undefined; readonly documents?: undefined };

/** A storage of text's reading of a write: the new text, or undefined to delete the file. */
export function textOf(write: FileWrite): string | undefined {
  if (write.documents !== undefined) {
    throw new Error(`a storage of text was given documents to write at "${write.path}"`);
  }
  return write.text;
}

/** What a write transaction changes, prepared from the state it applies to. */
export interface PreparedWrite {
  readonly writes: readonly FileWrite[];
  /** The commit message. */
  readonly message: string;
}

/** One write through the API: a commit on git storage, or its equivalent in memory. */
export interface WriteTransaction {
  /** The environment directory the paths are relative to ("" for the root). */
  readonly directory: string;
  /** The revision the writer last saw; when non-empty and not the current one, the write is a conflict. */
  readonly baseRevision: string;
  /** The commit's author (and committer). */
  readonly author: { readonly name: string; readonly email: string };
  /**
   * Computes the writes from the current files, under the storage's write lock. Throws a typed error to refuse
   * the write; nothing has changed then.
   */
  prepare(state: SourceState): PreparedWrite;
}

/** A storage that accepts writes. Writes to one storage are serialised; reads never wait on them. */
export interface WritableFlagSource extends FlagSource {
  /** Applies the transaction and resolves with the new revision, or rejects having changed nothing. */
  write(transaction: WriteTransaction): Promise<string>;
}

/**
 * A storage whose state lives on a git branch, and that can serve other branches of the same repository: Flipt's
 * branch environments (`flipt/<environment>/<name>`).
 */
export interface BranchingSource extends WritableFlagSource {
  /** Creates branch `ref` at the current head (and pushes it where there is a remote), then opens it. */
  createBranch(ref: string): Promise<WritableFlagSource>;
  /** Opens branch `ref`, which exists. */
  openBranch(ref: string): Promise<WritableFlagSource>;
  /** Deletes branch `ref` (on the remote too). Close the source `openBranch` gave first. */
  deleteBranch(ref: string): Promise<void>;
  /** The branches whose names start with `prefix`, such as `flipt/production/`. */
  listBranches(prefix: string): Promise<string[]>;
}

/** Whether a storage accepts writes. */
export function isWritable(source: FlagSource): source is WritableFlagSource {
  return typeof (source as Partial<WritableFlagSource>).write === "function";
}

/** Whether a storage can serve branch environments. */
export function isBranching(source: FlagSource): source is BranchingSource {
  return typeof (source as Partial<BranchingSource>).createBranch === "function";
}
