import { join } from "node:path";
import { ConflictError, UnavailableError } from "../../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS } from "../../format/limits.js";
import { clashingResources } from "../clashing-resources.js";
import { type PreparedWrite, type SourceState, textOf, type WriteTransaction } from "../flag-source.js";
import { commitWrites } from "../local/commit-writes.js";
import { revisionConflict } from "../revision-conflict.js";
import { readHead } from "./read-head.js";
import type { RemoteClone } from "./remote-clone.js";
import { GitError } from "./run-git.js";

/**
 * How many times a write is pushed, replayed each time onto the remote head that moved meanwhile, before it gives
 * up. Each lost race means another write landed; with several replicas writing at once a write may lose many.
 */
export const PUSH_ATTEMPTS = 30;

export interface RemoteWrite {
  readonly clone: RemoteClone;
  readonly transaction: WriteTransaction;
  /** Reads the state of a directory of the clone as checked out. */
  read(directory: string): Promise<SourceState>;
  /** Called whenever the clone has taken a newer state from the remote: environments must load it. */
  onRemoteState(): void;
}

/**
 * Commits a write in the clone and pushes it, resolving with the new head once it is on the remote. A push that
 * races another is replayed on the remote's new head, and refused with Aborted when that would overwrite a flag,
 * segment or namespace changed on the remote since the write was planned. When the push fails, the local branch
 * goes back to the remote's head. The caller holds the clone's lock.
 */
export async function writeToRemote({
  clone,
  transaction,
  read,
  onRemoteState,
}: RemoteWrite): Promise<string> {
  const { git, logger } = clone.options;
  // Plan the write on the remote's newest head, so that a replica that has just pushed has no head start over one
  // that must fetch after losing a race (it would win every race, and starve the others). Unreachable? The push
  // below says so.
  if (await clone.fetchAndReset().catch(() => false)) onRemoteState();
  const base = await read(transaction.directory);
  if (transaction.baseRevision !== "" && transaction.baseRevision !== base.revision) {
    throw revisionConflict(transaction.baseRevision, base.revision);
  }
  for (let attempt = 1; ; attempt++) {
    const state = attempt === 1 ? base : await read(transaction.directory);
    const prepared = transaction.prepare(state);
    if (state.revision !== base.revision) {
      await refuseClashes(clone, transaction.directory, base.revision, state.revision, prepared);
    }
    await commitWrites({
      repository: clone.workdir,
      directory: transaction.directory,
      writes: prepared.writes,
      message: prepared.message,
      author: transaction.author,
      existing: new Set(state.files.map((file) => file.path)),
      git,
    });
    const pushed = await clone.push();
    if (pushed === "ok") return readHead(clone.workdir, git);
    // Take our commit back off: the branch must equal the remote's head again.
    await git(clone.workdir, ["reset", "--quiet", "--hard", state.revision]);
    if (!pushed.moved) throw pushed.error;
    // The remote moved: take its new head, and replay the write on it (unless that would overwrite a change made
    // on the remote since the write's base; see refuseClashes).
    logger.info({ attempt }, "the remote moved during the push; replaying the write on its head");
    await clone.fetch();
    // Refused as if it had moved, yet it did not: that is no race, and replaying would not help.
    if ((await clone.followed())?.commit === state.revision) throw pushed.error;
    await clone.resetToRemote();
    // The clone now holds the remote's newer state: environments must load it.
    onRemoteState();
    if (attempt >= PUSH_ATTEMPTS) {
      throw new UnavailableError(`the remote kept moving: gave up after ${PUSH_ATTEMPTS} attempts to push`);
    }
  }
}

/**
 * Refuses, with Aborted, a write replayed on the remote's newer head (`theirs`) when it would change again a flag,
 * segment or namespace that changed on the remote since the write's `base`: that change would be lost. Changes
 * to other resources, even in the same file, are kept and the replay goes ahead.
 */
async function refuseClashes(
  clone: RemoteClone,
  directory: string,
  base: string,
  theirs: string,
  prepared: PreparedWrite,
): Promise<void> {
  const files: string[] = [];
  const clashes: string[] = [];
  for (const write of prepared.writes) {
    const path = join(directory, write.path).split("\\").join("/");
    const before = await show(clone, base, path);
    const remote = await show(clone, theirs, path);
    if (before === remote) continue;
    const found = clashingResources(
      path,
      before,
      remote,
      textOf(write),
      clone.options.limits ?? DEFAULT_FEATURES_LIMITS,
    );
    if (found !== undefined && found.length === 0) continue;
    files.push(path);
    clashes.push(...(found ?? []));
  }
  if (files.length > 0) {
    throw new ConflictError(
      `${files.join(", ")} changed on the remote since this write's revision ${base}` +
        `${clashes.length > 0 ? ` (${clashes.join(", ")})` : ""}; read it again and retry`,
    );
  }
}

/** A file's text at a commit, or undefined when the commit has no such file. */
async function show(clone: RemoteClone, commit: string, path: string): Promise<string | undefined> {
  try {
    return (await clone.options.git(clone.workdir, ["show", `${commit}:${path}`])).stdout;
  } catch (error) {
    if (error instanceof GitError && /does not exist in|exists on disk, but not in/.test(error.stderr)) {
      return undefined;
    }
    throw error;
  }
}
