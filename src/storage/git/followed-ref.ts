import { newestTag } from "./newest-tag.js";
import type { RemoteSourceOptions } from "./remote-source-options.js";

/** What a clone follows on its remote: the branch, or the newest tag matching the semver constraint. */
export interface FollowedRef {
  /** The branch or tag, as the status names it. */
  readonly name: string;
  /** Its local ref: `refs/remotes/origin/<branch>` or `refs/tags/<tag>`. */
  readonly ref: string;
  readonly commit: string;
}

/** The git command that fetches what the clone follows: the branch, or every tag (pruning those deleted on the remote). */
export function fetchArgs(options: RemoteSourceOptions): string[] {
  const refspec =
    options.semver === undefined
      ? `+refs/heads/${options.branch}:refs/remotes/origin/${options.branch}`
      : "+refs/tags/*:refs/tags/*";
  return ["fetch", "--quiet", "--prune", "origin", refspec];
}

/** What the clone in `workdir` follows as last fetched; undefined when there is none yet. */
export async function followedRef(
  options: RemoteSourceOptions,
  workdir: string,
): Promise<FollowedRef | undefined> {
  const { git, branch, semver } = options;
  let name = branch;
  let ref = `refs/remotes/origin/${branch}`;
  if (semver !== undefined) {
    const tags = (await git(workdir, ["tag", "--list"])).stdout.split("\n").filter((tag) => tag !== "");
    const tag = newestTag(tags, semver);
    if (tag === undefined) return undefined;
    name = tag;
    ref = `refs/tags/${tag}`;
  }
  const found = await git(workdir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).catch(
    () => undefined,
  );
  const commit = found?.stdout.trim();
  return commit ? { name, ref, commit } : undefined;
}

/** Checks out what the clone follows: the local branch reset to the remote's, or a tag's commit, detached. */
export async function checkoutFollowed(
  options: RemoteSourceOptions,
  workdir: string,
  ref: string,
): Promise<void> {
  await options.git(
    workdir,
    options.semver === undefined
      ? ["checkout", "--quiet", "--force", "-B", options.branch, ref]
      : ["checkout", "--quiet", "--force", "--detach", ref],
  );
}

/** Why a source that follows tags has nothing to serve. */
export function noTagMessage(options: RemoteSourceOptions): string {
  return `no tag of ${options.remote} matches ${JSON.stringify(options.semver)}`;
}
