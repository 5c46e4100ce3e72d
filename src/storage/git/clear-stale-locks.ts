import type { Dirent } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Removes the lock files (`index.lock`, `refs/heads/main.lock`, ...) that a git command leaves behind when it dies
 * by SIGKILL with the Pennant process that ran it, and resolves with their paths. Git never removes them itself,
 * so without this every later write would fail with "Unable to create '.git/index.lock': File exists".
 * Call it only when opening a repository, before Pennant runs any git command in it: the repository must not be
 * used by other git commands at that moment. Objects are never touched (git writes them atomically).
 */
export async function clearStaleLocks(repository: string): Promise<string[]> {
  const gitDir = join(repository, ".git");
  const removed: string[] = [];
  const walk = async (directory: string, relative: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      return; // not a directory (a linked worktree's .git file) or gone: nothing of ours to clear
    }
    for (const entry of entries) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== "objects") await walk(join(directory, entry.name), path);
      } else if (entry.name.endsWith(".lock")) {
        await rm(join(directory, entry.name), { force: true });
        removed.push(`.git/${path}`);
      }
    }
  };
  await walk(gitDir, "");
  return removed;
}
