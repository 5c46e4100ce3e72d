import type { Logger } from "pino";
import type { FeaturesLimits } from "../../format/limits.js";
import type { GitRunner } from "./run-git.js";

/** How a `GitRemoteSource` reaches its remote, where its clone lives, and what it follows there. */
export interface RemoteSourceOptions {
  /** The remote URL, without credentials. */
  readonly remote: string;
  readonly branch: string;
  /**
   * A semver constraint (`ref_type: semver`): serve the newest tag that satisfies it, rechecked at every fetch,
   * instead of `branch`. Such a source cannot be written.
   */
  readonly semver?: string | undefined;
  /** Where the clone lives: the local backend's path (kept), or undefined for a temporary one (memory). */
  readonly path: string | undefined;
  readonly fetchPolicy: "strict" | "lenient";
  readonly pollIntervalMs: number;
  readonly git: GitRunner;
  /** The environment variables that authenticate the next git command against the remote. */
  readonly authEnv: () => Promise<Readonly<Record<string, string>>>;
  readonly signature: { readonly name: string; readonly email: string };
  readonly logger: Logger;
  /** At open, undo what a Pennant killed mid-write left in the clone (see `LocalSourceOptions.recover`). */
  readonly recover?: boolean | undefined;
  /** The config's limits on features files, kept to as the clone is read; the defaults without a config. */
  readonly limits?: FeaturesLimits | undefined;
  /** Called when the source closes (to remove credential files). */
  readonly onClose?: (() => Promise<void>) | undefined;
}

/** Runs git in the clone in `workdir`, authenticated against the remote. */
export function remoteGit(options: RemoteSourceOptions, workdir: string) {
  return async (args: readonly string[]) => options.git(workdir, args, { env: await options.authEnv() });
}
