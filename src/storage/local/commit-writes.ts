import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConflictError } from "../../domain/errors.js";
import { type FileWrite, textOf } from "../flag-source.js";
import { readHead } from "../git/read-head.js";
import type { GitRunner } from "../git/run-git.js";
import { commitInProcess, isLeftToGit, type WriteStep } from "./commit-in-process.js";
import { assertWritable, diskError, removeContained, writeContained } from "./write-contained.js";

export interface CommitOptions {
  /** The repository root. */
  readonly repository: string;
  /** The environment directory inside it ("" for the root); write paths are relative to it. */
  readonly directory: string;
  readonly writes: readonly FileWrite[];
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string };
  /** Paths (relative to the environment directory) that exist now, so are tracked once the status is clean. */
  readonly existing: ReadonlySet<string>;
  readonly git: GitRunner;
  /** Tests only: awaited at each step of a write made without git; a promise that never settles is a death there. */
  readonly interrupt?: ((step: WriteStep) => Promise<void>) | undefined;
  /** Tests only: told why a write was left to git. */
  readonly onLeftToGit?: ((reason: string) => void) | undefined;
}

/** The file in a repository's git directory that lists the paths of a write in progress. */
const JOURNAL = "pennant-write-in-progress";

/**
 * Writes files into a repository's working tree and commits exactly those paths, as one commit (an empty one
 * when nothing changed, as Flipt makes), and resolves with the new commit. A file with uncommitted changes made
 * outside Pennant is never overwritten: the write is refused with a ConflictError before anything is touched. If
 * committing fails, the files are put back as they were at HEAD, so a refused write changes nothing. A full disk
 * is Unavailable.
 *
 * The commit is made without running git where the repository and the write are ordinary (see
 * `commitInProcess`: objects, ref and index written as git writes them); anything else is left to git itself
 * (`git status`, `git add`, `git commit --only`). Either way a journal in the git directory names the paths
 * while they change, so that `undoInterruptedWrite` can undo a write that a killed process left half-done.
 */
export function commitWrites(options: CommitOptions): Promise<string> {
  return commit(options).catch((error: unknown) => {
    throw diskError(error);
  });
}

async function commit(options: CommitOptions): Promise<string> {
  const { repository, git } = options;
  const paths = options.writes.map((write) => join(options.directory, write.path).split("\\").join("/"));
  // Refused before git sees the paths: git would fail on a path beyond a link with its own words.
  for (const path of paths) await assertWritable(repository, path);
  const committed = await commitInProcess({
    repository,
    paths,
    texts: options.writes.map(textOf),
    message: options.message,
    author: options.author,
    git,
    journal: (layout) => join(layout.gitDir, JOURNAL),
    restore: (restored, tracked) => restore(repository, restored, tracked, git),
    interrupt: options.interrupt,
  });
  if (!isLeftToGit(committed)) return committed;
  options.onLeftToGit?.(committed.leftToGit);
  await commitWithGit(options, paths);
  return readHead(repository, git);
}

/** The write made by git itself: `git status` for changes made outside Pennant, `git add`, `git commit --only`. */
async function commitWithGit(options: CommitOptions, paths: readonly string[]): Promise<void> {
  const { repository, git } = options;
  // No paths (an empty commit): nothing to check, and `git status --` alone would list the whole tree.
  const dirty =
    paths.length === 0
      ? { stdout: "" }
      : await git(repository, ["status", "--porcelain", "--untracked-files=all", "--", ...paths]);
  const changed = dirty.stdout
    .split("\n")
    .filter((line) => line.length > 3)
    .map((line) => line.slice(3));
  if (changed.length > 0) {
    throw new ConflictError(
      `${changed.join(", ")} ${changed.length === 1 ? "has" : "have"} changes made outside Pennant that are not committed; ` +
        "commit or discard them, then retry",
    );
  }
  // With a clean status, a file that exists is tracked and unmodified; only new files need `git add`.
  const tracked = new Set(
    paths.filter((_, index) => options.existing.has((options.writes[index] as FileWrite).path)),
  );
  // Say which paths are about to change, so that a process killed half-way is undone at the next start.
  const journal = await journalPath(repository, git);
  try {
    await writeFile(`${journal}.tmp`, JSON.stringify({ paths }));
    await rename(`${journal}.tmp`, journal);
  } catch (error) {
    await rm(`${journal}.tmp`, { force: true });
    throw error;
  }
  try {
    for (const [index, write] of options.writes.entries()) {
      const path = paths[index] as string;
      const text = textOf(write);
      if (text === undefined) await removeContained(repository, path);
      else await writeContained(repository, path, text);
    }
    const added = paths.filter(
      (path, index) => !tracked.has(path) && options.writes[index]?.text !== undefined,
    );
    if (added.length > 0) await git(repository, ["add", "--", ...added]);
    const identity = ["-c", `user.name=${options.author.name}`, "-c", `user.email=${options.author.email}`];
    await git(repository, [
      ...identity,
      ...[
        "commit",
        "--quiet",
        "--no-verify",
        "--allow-empty",
        "--message",
        options.message,
        "--only",
        "--",
        ...paths,
      ],
    ]);
  } catch (error) {
    await restore(repository, paths, tracked, git);
    await rm(journal, { force: true });
    throw error;
  }
  await rm(journal, { force: true });
}

/** Where a write in progress lists its paths: a file in the repository's git directory. */
async function journalPath(repository: string, git: GitRunner): Promise<string> {
  const dotGit = join(repository, ".git");
  const isDirectory = await stat(dotGit).then(
    (found) => found.isDirectory(),
    () => false,
  );
  // A linked worktree has a .git file naming its git directory: ask git where that is.
  const gitDir = isDirectory
    ? dotGit
    : (await git(repository, ["rev-parse", "--absolute-git-dir"])).stdout.trim();
  return join(gitDir, JOURNAL);
}

/**
 * Undoes a write that a killed process left half-done, as the journal of `commitWrites` names it: its paths are
 * put back as HEAD has them, in the index and the working tree (so a write that was committed stays, and one that
 * was not is gone: it was never acknowledged). Run it when opening a repository, after stale locks are cleared.
 * Resolves with the paths restored, or an empty list when no write was interrupted.
 */
export async function undoInterruptedWrite(repository: string, git: GitRunner): Promise<string[]> {
  const journal = await journalPath(repository, git);
  let text: string;
  try {
    text = await readFile(journal, "utf8");
  } catch {
    await rm(`${journal}.tmp`, { force: true });
    return [];
  }
  const paths = (JSON.parse(text) as { paths: string[] }).paths;
  if (paths.length === 0) {
    await rm(journal, { force: true });
    return [];
  }
  const inHead = new Set(
    (await git(repository, ["ls-tree", "-r", "--name-only", "HEAD", "--", ...paths])).stdout
      .split("\n")
      .filter((line) => line !== ""),
  );
  await restore(repository, paths, inHead, git);
  await rm(journal, { force: true });
  return paths;
}

/** Puts the paths back as HEAD has them: tracked files checked out, new files removed. */
async function restore(
  repository: string,
  paths: readonly string[],
  tracked: ReadonlySet<string>,
  git: GitRunner,
) {
  // `git reset --` without paths would reset the whole index.
  if (paths.length === 0) return;
  const existing = paths.filter((path) => tracked.has(path));
  await git(repository, ["reset", "--quiet", "--", ...paths]).catch(() => undefined);
  if (existing.length > 0)
    await git(repository, ["checkout", "HEAD", "--", ...existing]).catch(() => undefined);
  for (const path of paths.filter((candidate) => !tracked.has(candidate))) {
    // A path that became a link (or lies under one) since is left alone: removing it could reach outside.
    await removeContained(repository, path).catch(() => undefined);
  }
}
