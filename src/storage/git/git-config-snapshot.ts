import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { GitRunner } from "./run-git.js";

/**
 * The configuration git sees in a repository (system, global, local, worktree, includes), as `git config --list`
 * gives it, and the files it came from, so that a later caller can tell cheaply whether it may still be used.
 */
export interface GitConfigSnapshot {
  /** The last value of a key (section and name in lower case); "" for a key given without a value. */
  get(key: string): string | undefined;
  /** Every key present. */
  keys(): Iterable<string>;
  /** A boolean as git reads one; `fallback` when the key is absent. */
  flag(key: string, fallback: boolean): boolean;
  /** When it was read (ms since the epoch). */
  readonly readAt: number;
  /** Whether the files it was read from are all unchanged (same size, time and inode). */
  unchanged(): boolean;
}

/** Reads the configuration git sees in `repository`. */
export async function readGitConfig(repository: string, git: GitRunner): Promise<GitConfigSnapshot> {
  const readAt = Date.now();
  const listed = await git(repository, ["config", "--null", "--list", "--show-origin"]);
  const values = new Map<string, string | null>();
  const files = new Set<string>();
  const tokens = listed.stdout.split("\0");
  for (let index = 0; index + 1 < tokens.length; index += 2) {
    const origin = tokens[index] as string;
    const entry = tokens[index + 1] as string;
    if (origin.startsWith("file:")) {
      const file = origin.slice("file:".length);
      files.add(isAbsolute(file) ? file : join(repository, file));
    }
    const newline = entry.indexOf("\n");
    // Re-inserted so that the last occurrence decides, as it does for git.
    const key = newline < 0 ? entry : entry.slice(0, newline);
    values.delete(key);
    values.set(key, newline < 0 ? null : entry.slice(newline + 1));
  }
  const stamps = new Map<string, string>();
  for (const file of files) stamps.set(file, stamp(file));
  return {
    get: (key) => {
      const value = values.get(key);
      return value === null ? "" : value;
    },
    keys: () => values.keys(),
    flag: (key, fallback) => {
      if (!values.has(key)) return fallback;
      const value = values.get(key);
      return value === null || value === undefined ? true : parseBoolean(value, fallback);
    },
    readAt,
    unchanged: () => {
      for (const [file, before] of stamps) if (stamp(file) !== before) return false;
      return true;
    },
  };
}

/** A git boolean: true/yes/on/1..., false/no/off/0/""; anything else is `fallback`. */
function parseBoolean(value: string, fallback: boolean): boolean {
  const lower = value.trim().toLowerCase();
  if (["true", "yes", "on"].includes(lower)) return true;
  if (["false", "no", "off", ""].includes(lower)) return false;
  const number = Number(lower);
  return Number.isInteger(number) ? number !== 0 : fallback;
}

function stamp(file: string): string {
  const info = statSync(file, { bigint: true, throwIfNoEntry: false });
  return info === undefined ? "missing" : `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}
