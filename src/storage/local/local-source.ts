import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../../format/limits.js";
import type { BranchingSource, SourceState, WritableFlagSource, WriteTransaction } from "../flag-source.js";
import { clearStaleLocks } from "../git/clear-stale-locks.js";
import { readHead } from "../git/read-head.js";
import type { GitRunner } from "../git/run-git.js";
import { revisionConflict } from "../revision-conflict.js";
import { SerialLock } from "../serial-lock.js";
import { commitWrites, undoInterruptedWrite } from "./commit-writes.js";
import { readFeaturesTree } from "./read-features-tree.js";
import { isScratchFile, type TreeWatcher, watchTree } from "./watch-tree.js";

export { WATCH_DEBOUNCE_MS } from "./watch-tree.js";

export interface LocalSourceOptions {
  /** The directory; a git repository is initialised in it if it is not one. */
  readonly path: string;
  readonly branch: string;
  readonly git: GitRunner;
  /** Author of the initial commit in a new repository. */
  readonly signature: { readonly name: string; readonly email: string };
  /** The backstop: the tree is re-read this often even if the watcher saw nothing. */
  readonly rescanIntervalMs: number;
  readonly logger: Logger;
  /**
   * At open, undo what a Pennant process killed in the middle of a write left behind: git's lock files and
   * half-written files (see `clearStaleLocks`, `undoInterruptedWrite`). Only for the process that owns the
   * directory (the server), never for a command run beside it, which would break the server's write in progress.
   */
  readonly recover?: boolean | undefined;
  /** The config's limits on features files, kept to as the files are read; the defaults without a config. */
  readonly limits?: FeaturesLimits | undefined;
}

/**
 * `backend.type: local`: a git repository on disk whose working tree is the flag state. The tree is read at
 * start, watched live (a change is served within moments of the edit settling), and re-scanned periodically as
 * a backstop. The revision is the commit at HEAD. Every write through the API is one commit.
 */
export class LocalSource implements BranchingSource {
  readonly description: string;
  readonly #options: LocalSourceOptions;
  readonly #watchers = new Set<TreeWatcher>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #lock = new SerialLock();

  private constructor(options: LocalSourceOptions) {
    this.#options = options;
    this.description = `local "${options.path}"`;
  }

  /** Opens the directory, creating it and a repository with one empty commit when needed. */
  static async open(options: LocalSourceOptions): Promise<LocalSource> {
    await mkdir(options.path, { recursive: true });
    const { git, path, branch, signature } = options;
    if (!(await exists(join(path, ".git")))) {
      await git(path, ["init", "--quiet", "--initial-branch", branch]);
      options.logger.info({ path }, "initialised a git repository for local storage");
    }
    if (options.recover === true) {
      const locks = await clearStaleLocks(path);
      if (locks.length > 0)
        options.logger.warn({ path, locks }, "removed lock files left by a git that died");
    }
    const head = await git(path, ["rev-parse", "--verify", "--quiet", "HEAD"]).catch(() => undefined);
    if (head === undefined) {
      await git(path, [
        ...["-c", `user.name=${signature.name}`, "-c", `user.email=${signature.email}`],
        ...["commit", "--quiet", "--allow-empty", "--message", "initialise flag state repository"],
      ]);
    }
    if (options.recover === true) {
      const undone = await undoInterruptedWrite(path, git);
      if (undone.length > 0)
        options.logger.warn({ path, paths: undone }, "undid a write that was interrupted");
    }
    return new LocalSource(options);
  }

  async read(directory: string): Promise<SourceState> {
    const [tree, head] = await Promise.all([
      readFeaturesTree(this.#options.path, directory, this.#options.limits ?? DEFAULT_FEATURES_LIMITS),
      readHead(this.#options.path, this.#options.git),
    ]);
    return { revision: head, ...tree };
  }

  write(transaction: WriteTransaction): Promise<string> {
    return this.#lock.run(async () => {
      const { git, path } = this.#options;
      const state = await this.read(transaction.directory);
      if (transaction.baseRevision !== "" && transaction.baseRevision !== state.revision) {
        throw revisionConflict(transaction.baseRevision, state.revision);
      }
      const prepared = transaction.prepare(state);
      return commitWrites({
        existing: new Set(state.files.map((file) => file.path)),
        repository: path,
        directory: transaction.directory,
        writes: prepared.writes,
        message: prepared.message,
        author: transaction.author,
        git,
      });
    });
  }

  createBranch(ref: string): Promise<WritableFlagSource> {
    return this.#lock.run(async () => {
      await this.#options.git(this.#options.path, ["branch", "--no-track", "--", ref, "HEAD"]);
      return this.#openWorktree(ref);
    });
  }

  openBranch(ref: string): Promise<WritableFlagSource> {
    return this.#lock.run(() => this.#openWorktree(ref));
  }

  deleteBranch(ref: string): Promise<void> {
    return this.#lock.run(async () => {
      const { git, path } = this.#options;
      const worktree = await this.#worktreePath(ref);
      if (await exists(worktree)) await git(path, ["worktree", "remove", "--force", "--", worktree]);
      await git(path, ["worktree", "prune"]);
      await git(path, ["branch", "--delete", "--force", "--", ref]);
    });
  }

  async listBranches(prefix: string): Promise<string[]> {
    const listed = await this.#options.git(this.#options.path, [
      "for-each-ref",
      "--format=%(refname:lstrip=2)",
      "--",
      `refs/heads/${prefix}`,
    ]);
    return listed.stdout.split("\n").filter((line) => line !== "");
  }

  /**
   * A branch is served from a git worktree of its own, kept in the repository's git directory (so the flag state
   * tree never holds it), and read and written like this directory.
   */
  async #openWorktree(ref: string): Promise<LocalSource> {
    const { git, path } = this.#options;
    const worktree = await this.#worktreePath(ref);
    if (!(await exists(worktree))) {
      await git(path, ["worktree", "prune"]);
      await git(path, ["worktree", "add", "--quiet", "--", worktree, ref]);
    }
    return LocalSource.open({ ...this.#options, path: worktree, branch: ref, recover: false });
  }

  async #worktreePath(ref: string): Promise<string> {
    const gitDir = (
      await this.#options.git(this.#options.path, ["rev-parse", "--absolute-git-dir"])
    ).stdout.trim();
    return join(gitDir, "pennant-branches", ref.split("/").join("--"));
  }

  async watch(onChange: () => void, signal: AbortSignal): Promise<void> {
    const root = this.#options.path;
    const rescan = setInterval(onChange, this.#options.rescanIntervalMs);
    rescan.unref();
    this.#timers.add(rescan);
    signal.addEventListener(
      "abort",
      () => {
        clearInterval(rescan);
        this.#timers.delete(rescan);
      },
      { once: true },
    );
    const watcher = watchTree({
      root,
      ignored,
      onChange,
      onError: (error) => this.#options.logger.warn({ err: error, path: root }, "file watcher error"),
      signal,
    });
    this.#watchers.add(watcher);
    signal.addEventListener("abort", () => this.#watchers.delete(watcher), { once: true });
    await watcher.ready;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.all([...this.#watchers].map((watcher) => watcher.close()));
    this.#watchers.clear();
  }
}

/** Inside .git only HEAD and the refs matter (they move the revision); scratch files never matter. */
function ignored(path: string): boolean {
  if (path === "" || path === ".git") return false;
  if (path.startsWith(".git/")) {
    return !(
      path === ".git/HEAD" ||
      path === ".git/packed-refs" ||
      path === ".git/refs" ||
      path.startsWith(".git/refs/")
    );
  }
  return isScratchFile(path);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
