import type { FeaturesLimits } from "../format/limits.js";
import { contentHash } from "../storage/content-hash.js";
import type { FlagSource, SourceState } from "../storage/flag-source.js";
import { readFeaturesTree } from "../storage/local/read-features-tree.js";
import { isScratchFile, type TreeWatcher, watchTree } from "../storage/local/watch-tree.js";

export interface DirectorySourceOptions {
  /** The directory holding the features files (absolute, or relative to the working directory). */
  readonly path: string;
  /** The limits its features files keep to as they are read. */
  readonly limits: FeaturesLimits;
  /** Called with the file watcher's own errors; watching goes on. */
  readonly onWatchError?: (error: unknown) => void;
}

/**
 * A plain directory of features files, for the embedded evaluator: the same discovery as local storage (the
 * `.flipt.yml` index, else the default globs; `.git` directories skipped) but no git at all, so nothing is ever
 * written to the user's directory. The revision is a SHA-1 of the selected files' paths and bytes.
 */
export class DirectorySource implements FlagSource {
  readonly description: string;
  readonly #options: DirectorySourceOptions;
  readonly #watchers = new Set<TreeWatcher>();

  constructor(options: DirectorySourceOptions) {
    this.#options = options;
    this.description = `directory "${options.path}"`;
  }

  async read(directory: string): Promise<SourceState> {
    const tree = await readFeaturesTree(this.#options.path, directory, this.#options.limits);
    return { revision: contentHash(tree.files), ...tree };
  }

  async watch(onChange: () => void, signal: AbortSignal): Promise<void> {
    const watcher = watchTree({
      root: this.#options.path,
      ignored,
      onChange,
      onError: (error) => this.#options.onWatchError?.(error),
      signal,
    });
    this.#watchers.add(watcher);
    signal.addEventListener("abort", () => this.#watchers.delete(watcher), { once: true });
    await watcher.ready;
  }

  async close(): Promise<void> {
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    await Promise.all(watchers.map((watcher) => watcher.close()));
  }
}

/** Git's own directories (at any depth) and editor scratch files never hold flag state. */
function ignored(path: string): boolean {
  if (path === "") return false;
  if (path === ".git" || path.startsWith(".git/") || path.endsWith("/.git") || path.includes("/.git/")) {
    return true;
  }
  return isScratchFile(path);
}
