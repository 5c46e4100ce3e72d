import type { RemoteStatus } from "../flag-source.js";
import { checkoutFollowed, type FollowedRef, fetchArgs, followedRef, noTagMessage } from "./followed-ref.js";
import { readHead } from "./read-head.js";
import { remoteError } from "./remote-error.js";
import { type RemoteSourceOptions, remoteGit } from "./remote-source-options.js";
import { GitError, type GitResult } from "./run-git.js";

/**
 * What git says when a push lost a race: refused as not a fast-forward, or accepted as one and then beaten to the
 * ref by a push that landed meanwhile (`[remote rejected] main (failed to update ref)`, `cannot lock ref`).
 */
const REMOTE_MOVED =
  /\[rejected\]|non-fast-forward|fetch first|Updates were rejected|\(stale info\)|failed to update ref|cannot lock ref/;

/** A push's outcome: "ok", or the error to report, `moved` when git says the remote moved meanwhile. */
export type PushResult = "ok" | { readonly error: Error; readonly moved: boolean };

/**
 * A prepared clone (see `prepareClone`) and what is done with its remote: fetching (remembering how the last one
 * went, for the status), following the remote's head, pushing. Callers serialize these calls.
 */
export interface RemoteClone {
  readonly options: RemoteSourceOptions;
  readonly workdir: string;
  /** Runs git in the clone, authenticated against the remote. */
  remoteGit(args: readonly string[]): Promise<GitResult>;
  /** What the clone follows, as last fetched. */
  followed(): Promise<FollowedRef | undefined>;
  /** Fetches what the clone follows; a failure is logged, counted and kept for the status, then thrown. */
  fetch(): Promise<void>;
  /** Fetches, and checks out what the clone follows if it moved. Resolves true when it did. */
  fetchAndReset(): Promise<boolean>;
  /** Checks out what the clone follows, as last fetched, dropping local commits. */
  resetToRemote(): Promise<void>;
  /** Pushes HEAD to the followed branch. */
  push(): Promise<PushResult>;
  /** The remote's branches matching `pattern` (a ref name or a glob after `refs/heads/`). */
  branches(pattern: string): Promise<string[]>;
  /** The status of the remote, as far as fetches tell it (polls are counted by whoever polls). */
  fetchStatus(): Promise<RemoteStatus>;
}

/** `lastFetchAt`: when `prepareClone` fetched, if it did. */
export function createRemoteClone(
  options: RemoteSourceOptions,
  workdir: string,
  lastFetchAt: string | undefined,
): RemoteClone {
  const { git, branch, remote, logger } = options;
  let lastFetchError: string | undefined;
  let fetchErrors = 0;
  const clone: RemoteClone = {
    options,
    workdir,
    remoteGit: remoteGit(options, workdir),
    followed: () => followedRef(options, workdir),

    async fetch() {
      try {
        await clone.remoteGit(fetchArgs(options));
        lastFetchAt = new Date().toISOString();
        lastFetchError = undefined;
      } catch (error) {
        const failure = remoteError("fetch from", remote, error);
        lastFetchError = failure.message;
        fetchErrors++;
        logger.warn({ remote, err: failure.message }, "fetch failed");
        throw failure;
      }
    },

    async fetchAndReset() {
      await clone.fetch();
      const followed = await clone.followed();
      if (followed === undefined) {
        if (options.semver !== undefined) {
          // The matching tags were deleted: keep serving what we have, and say why in the status.
          lastFetchError = noTagMessage(options);
        }
        return false;
      }
      if (followed.commit === (await readHead(workdir, git))) return false;
      await checkoutFollowed(options, workdir, followed.ref);
      return true;
    },

    async resetToRemote() {
      const followed = await clone.followed();
      if (followed !== undefined) await checkoutFollowed(options, workdir, followed.ref);
    },

    async push() {
      try {
        await clone.remoteGit(["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`]);
        await git(workdir, ["update-ref", `refs/remotes/origin/${branch}`, "HEAD"]);
        return "ok";
      } catch (error) {
        const text = error instanceof GitError ? error.stderr : String(error);
        return { error: remoteError("push to", remote, error), moved: REMOTE_MOVED.test(text) };
      }
    },

    async branches(pattern) {
      let listed: GitResult;
      try {
        listed = await clone.remoteGit(["ls-remote", "--heads", "origin", `refs/heads/${pattern}`]);
      } catch (error) {
        throw remoteError("listing the branches of", remote, error);
      }
      return listed.stdout
        .split("\n")
        .map((line) => line.split("\t")[1]?.replace(/^refs\/heads\//, ""))
        .filter((ref): ref is string => ref !== undefined && ref !== "");
    },

    async fetchStatus() {
      const followed = await clone.followed();
      const remoteRevision = followed?.commit;
      const count =
        remoteRevision === undefined
          ? undefined
          : await git(workdir, ["rev-list", "--count", `HEAD..${remoteRevision}`]).catch(() => undefined);
      return {
        remote,
        ref: followed?.name ?? branch,
        lastFetchAt,
        lastFetchError,
        remoteRevision,
        behind: Number(count?.stdout.trim() ?? "0"),
        fetchErrors,
      };
    },
  };
  return clone;
}
