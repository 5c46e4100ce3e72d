import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AlreadyExistsError, ReadOnlyError } from "../../domain/errors.js";
import type {
  BranchingSource,
  RemoteStatus,
  SourceState,
  WritableFlagSource,
  WriteTransaction,
} from "../flag-source.js";
import type { LocalSource } from "../local/local-source.js";
import { SerialLock } from "../serial-lock.js";
import { SharedPoll } from "../shared-poll.js";
import { prepareClone } from "./prepare-clone.js";
import { createRemoteClone, type RemoteClone } from "./remote-clone.js";
import { remoteError } from "./remote-error.js";
import type { RemoteSourceOptions } from "./remote-source-options.js";
import { writeToRemote } from "./write-to-remote.js";

/**
 * A storage backed by a remote git repository (`storage.<id>.remote`): a clone that is fetched at start and
 * every `poll_interval`, and pushed to on every write. A write that races a push to the remote is replayed on the
 * new head, and refused with Aborted when that would overwrite a flag, segment or namespace changed on the remote
 * since the write was planned. No write is acknowledged that is not on the remote: when the push fails, the local
 * branch goes back to the remote's head.
 */
export class GitRemoteSource implements BranchingSource {
  readonly description: string;
  readonly #options: RemoteSourceOptions;
  readonly #temporary: boolean;
  readonly #clone: RemoteClone;
  readonly #local: LocalSource;
  /** Serializes fetches, writes and branch changes: git commands in one clone must not interleave. */
  readonly #lock = new SerialLock();
  readonly #poll: SharedPoll;
  #pollErrors = 0;

  private constructor(
    options: RemoteSourceOptions,
    temporary: boolean,
    clone: RemoteClone,
    local: LocalSource,
  ) {
    this.#options = options;
    this.#temporary = temporary;
    this.#clone = clone;
    this.#local = local;
    this.#poll = new SharedPoll(
      () => this.#lock.run(() => this.#clone.fetchAndReset()),
      options.pollIntervalMs,
      () => {
        this.#pollErrors += 1;
      },
    );
    this.description =
      options.semver === undefined
        ? `remote "${options.remote}" (branch ${options.branch})`
        : `remote "${options.remote}" (newest tag matching ${options.semver})`;
  }

  /** Clones or fetches, seeding an empty remote (or a missing branch) with a first commit, as Flipt does. */
  static async open(options: RemoteSourceOptions): Promise<GitRemoteSource> {
    const temporary = options.path === undefined;
    const workdir = options.path ?? (await mkdtemp(join(tmpdir(), "pennant-clone-")));
    try {
      const { local, fetched } = await prepareClone(options, workdir);
      const clone = createRemoteClone(options, workdir, fetched ? new Date().toISOString() : undefined);
      return new GitRemoteSource(options, temporary, clone, local);
    } catch (error) {
      if (temporary) await rm(workdir, { recursive: true, force: true });
      await options.onClose?.();
      throw error;
    }
  }

  remoteStatus(): Promise<RemoteStatus> {
    return this.#clone.fetchStatus();
  }

  get pollErrors(): number {
    return this.#pollErrors;
  }

  read(directory: string): Promise<SourceState> {
    return this.#local.read(directory);
  }

  /** Fetches now; when the state moved, every environment watching this storage is told. Resolves whether it did. */
  sync(): Promise<boolean> {
    return this.#poll.run();
  }

  /** Pushes the current head to a new branch `ref` on the remote, then opens a clone that follows it. */
  createBranch(ref: string): Promise<WritableFlagSource> {
    if (this.#options.semver !== undefined) return Promise.reject(this.#followsTags());
    return this.#lock.run(async () => {
      if ((await this.#clone.branches(ref)).includes(ref)) {
        throw new AlreadyExistsError(`branch ${ref} exists on ${this.#options.remote}`);
      }
      try {
        await this.#clone.remoteGit(["push", "--quiet", "origin", `HEAD:refs/heads/${ref}`]);
      } catch (error) {
        throw remoteError("pushing a branch to", this.#options.remote, error);
      }
      return this.#openBranchClone(ref);
    });
  }

  openBranch(ref: string): Promise<WritableFlagSource> {
    return this.#openBranchClone(ref);
  }

  deleteBranch(ref: string): Promise<void> {
    return this.#lock.run(async () => {
      try {
        await this.#clone.remoteGit(["push", "--quiet", "origin", `:refs/heads/${ref}`]);
      } catch (error) {
        throw remoteError("deleting a branch on", this.#options.remote, error);
      }
    });
  }

  listBranches(prefix: string): Promise<string[]> {
    return this.#clone.branches(`${prefix}*`);
  }

  /** A clone of its own for a branch: branches are written and pushed independently of this one. */
  #openBranchClone(ref: string): Promise<GitRemoteSource> {
    return GitRemoteSource.open({
      ...this.#options,
      branch: ref,
      path: undefined,
      recover: false,
      onClose: undefined,
    });
  }

  /**
   * Polls the remote every `poll_interval` while anyone watches (one poll for every environment on this storage,
   * each told when it moved), until `signal` aborts.
   */
  async watch(onChange: () => void, signal: AbortSignal): Promise<void> {
    this.#poll.watch(onChange, signal);
  }

  write(transaction: WriteTransaction): Promise<string> {
    if (this.#options.semver !== undefined) return Promise.reject(this.#followsTags());
    return this.#lock.run(() =>
      writeToRemote({
        clone: this.#clone,
        transaction,
        read: (directory) => this.read(directory),
        onRemoteState: () => this.#poll.notify(),
      }),
    );
  }

  async close(): Promise<void> {
    this.#poll.close();
    await this.#local.close();
    // Wait for a write or fetch in progress before removing a temporary clone.
    await this.#lock.run(async () => undefined);
    if (this.#temporary) await rm(this.#clone.workdir, { recursive: true, force: true });
    await this.#options.onClose?.();
  }

  #followsTags(): ReadOnlyError {
    return new ReadOnlyError(`${this.description} is read-only: it follows tags`);
  }
}
