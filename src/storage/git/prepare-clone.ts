import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UnavailableError } from "../../domain/errors.js";
import { LocalSource } from "../local/local-source.js";
import { clearStaleLocks } from "./clear-stale-locks.js";
import { checkoutFollowed, fetchArgs, followedRef, noTagMessage } from "./followed-ref.js";
import { remoteError } from "./remote-error.js";
import { type RemoteSourceOptions, remoteGit } from "./remote-source-options.js";
import { GitError } from "./run-git.js";

const README = `# Flipt Configuration Repository

This repository holds feature flag state. Each directory containing a file named features.yaml represents a
namespace.
`;

/**
 * Sets up the clone in `workdir` (made if missing) and returns the local view of it: fetched and checked out, or,
 * under the lenient fetch policy, as it was when the remote cannot be reached (`fetched` false). An empty remote,
 * or one without the branch, is seeded with a first commit, as Flipt does.
 */
export async function prepareClone(
  options: RemoteSourceOptions,
  workdir: string,
): Promise<{ local: LocalSource; fetched: boolean }> {
  const { git, branch, remote, signature } = options;
  const run = (args: readonly string[]) => git(workdir, args);
  const runRemote = remoteGit(options, workdir);
  await mkdir(workdir, { recursive: true });
  if (!(await exists(join(workdir, ".git")))) {
    await run(["init", "--quiet", "--initial-branch", branch]);
  }
  if (options.recover === true) {
    const locks = await clearStaleLocks(workdir);
    if (locks.length > 0)
      options.logger.warn({ workdir, locks }, "removed lock files left by a git that died");
  }
  const remotes = (await run(["remote"])).stdout.split("\n");
  await run(
    remotes.includes("origin")
      ? ["remote", "set-url", "origin", remote]
      : ["remote", "add", "origin", remote],
  );
  const hasCommits =
    (await run(["rev-parse", "--verify", "--quiet", "HEAD"]).catch(() => undefined)) !== undefined;
  try {
    await runRemote(fetchArgs(options));
  } catch (error) {
    const missingBranch = error instanceof GitError && /couldn't find remote ref/.test(error.stderr);
    if (!missingBranch) {
      const failure = remoteError("initial fetch from", remote, error);
      if (options.fetchPolicy === "lenient" && hasCommits) {
        options.logger.warn(
          { remote, err: failure.message },
          "remote unreachable at start; serving the local state",
        );
        return { local: await openLocal(options, workdir), fetched: false };
      }
      throw failure;
    }
  }
  const followed = await followedRef(options, workdir);
  if (followed !== undefined) {
    await checkoutFollowed(options, workdir, followed.ref);
  } else if (options.semver !== undefined) {
    throw new UnavailableError(noTagMessage(options));
  } else {
    // An empty remote, or one without the branch: seed it with a first commit, as Flipt does.
    if (!hasCommits) {
      await writeFile(join(workdir, "README.md"), README);
      await run(["add", "README.md"]);
      await run([
        ...["-c", `user.name=${signature.name}`, "-c", `user.email=${signature.email}`],
        ...["commit", "--quiet", "--message", "add initial README"],
      ]);
    }
    try {
      await runRemote(["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`]);
    } catch (error) {
      throw remoteError("seeding", remote, error);
    }
    await run(["update-ref", `refs/remotes/origin/${branch}`, "HEAD"]);
  }
  return { local: await openLocal(options, workdir), fetched: true };
}

function openLocal(options: RemoteSourceOptions, workdir: string): Promise<LocalSource> {
  return LocalSource.open({
    path: workdir,
    branch: options.branch,
    git: options.git,
    signature: options.signature,
    rescanIntervalMs: options.pollIntervalMs,
    logger: options.logger,
    recover: options.recover,
    limits: options.limits,
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
