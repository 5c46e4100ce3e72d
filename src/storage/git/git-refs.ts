import {
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { rename } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { UnavailableError } from "../../domain/errors.js";

/**
 * Where a working tree's repository lives: its own git directory (HEAD, index, logs/HEAD) and the common one
 * (objects, refs, packed-refs, config, hooks), which differ in a linked worktree.
 */
export interface RepositoryLayout {
  readonly worktree: string;
  readonly gitDir: string;
  readonly commonDir: string;
}

/**
 * The layout of the repository whose working tree is `worktree`: `.git` as a directory, or a `.git` file naming
 * the git directory (a linked worktree, whose `commondir` names the shared one). Undefined for anything else.
 */
export function resolveLayout(worktree: string): RepositoryLayout | undefined {
  const dotGit = join(worktree, ".git");
  const info = lstatSync(dotGit, { throwIfNoEntry: false });
  let gitDir: string;
  if (info?.isDirectory()) {
    gitDir = dotGit;
  } else if (info?.isFile()) {
    const named = /^gitdir: (.+)\n?$/.exec(readText(dotGit) ?? "")?.[1];
    if (named === undefined) return undefined;
    gitDir = isAbsolute(named) ? named : join(worktree, named);
  } else {
    return undefined;
  }
  const commonName = readText(join(gitDir, "commondir"))?.replace(/\n$/, "");
  const commonDir =
    commonName === undefined ? gitDir : isAbsolute(commonName) ? commonName : join(gitDir, commonName);
  return { worktree, gitDir, commonDir };
}

const SHA = /^[0-9a-f]{40}$/;
/** A branch name Pennant updates itself; anything else (odd characters, `..`, `.lock`) is left to git. */
const PLAIN_BRANCH = /^refs\/heads\/(?!.*(?:\.\.|\/\.|\/\/|\.lock\/|@\{))[A-Za-z0-9._/-]+(?<![./]|\.lock)$/;

/** The branch HEAD names and its commit; undefined when HEAD is detached, unborn or unusual. */
export function readSymbolicHead(layout: RepositoryLayout): { ref: string; oid: string } | undefined {
  const head = readText(join(layout.gitDir, "HEAD"));
  const ref = /^ref: (\S+)\n?$/.exec(head ?? "")?.[1];
  if (ref === undefined || !PLAIN_BRANCH.test(ref)) return undefined;
  const oid = readRef(layout, ref);
  return oid === undefined ? undefined : { ref, oid };
}

/** A branch's commit: its loose file, else its line in packed-refs; undefined if neither (or a symbolic ref). */
export function readRef(layout: RepositoryLayout, ref: string): string | undefined {
  let loose: string | undefined;
  try {
    loose = readFileSync(join(layout.commonDir, ref), "latin1");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
  }
  if (loose !== undefined) {
    const value = loose.replace(/\n$/, "");
    return SHA.test(value) ? value : undefined;
  }
  const packed = readText(join(layout.commonDir, "packed-refs")) ?? "";
  for (const line of packed.split("\n")) {
    if (line.startsWith("#") || line.startsWith("^")) continue;
    const space = line.indexOf(" ");
    if (line.slice(space + 1) === ref) {
      const value = line.slice(0, space);
      return SHA.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export interface RefUpdate {
  readonly ref: string;
  readonly from: string;
  readonly to: string;
  /** `Name <email> <seconds> <zone>`, as in the commit. */
  readonly who: string;
  readonly message: string;
  /** Whether a reflog that does not exist yet is made (`core.logAllRefUpdates`). */
  readonly createLogs: boolean;
}

/**
 * Moves the branch HEAD names from `from` to `to` with git's lock-file protocol: `<ref>.lock` is created
 * exclusively (so git and Pennant never update it at once), the branch is checked to still be at `from`, the new
 * value is written to the lock, a line is appended to the branch's reflog and to HEAD's, and the lock is renamed
 * over the ref. A ref only in packed-refs gets a loose file, which takes precedence, as git does. Refused
 * (Unavailable) when the ref is locked or has moved; then nothing changed. The small steps are synchronous,
 * the rename is not.
 */
export async function updateBranch(layout: RepositoryLayout, update: RefUpdate): Promise<void> {
  const path = join(layout.commonDir, update.ref);
  const lock = `${path}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  let descriptor: number;
  try {
    descriptor = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UnavailableError(
        `${update.ref} is locked (${lock} exists): another git process is updating it; retry`,
        { cause: error },
      );
    }
    throw error;
  }
  let renamed = false;
  try {
    try {
      const current = readRef(layout, update.ref);
      if (current !== update.from) {
        throw new UnavailableError(
          `${update.ref} moved during the write (now ${current ?? "missing"}, expected ${update.from}); retry`,
        );
      }
      writeFileSync(descriptor, `${update.to}\n`);
    } finally {
      closeSync(descriptor);
    }
    const line = `${update.from} ${update.to} ${update.who}\t${update.message}\n`;
    appendLog(join(layout.commonDir, "logs", update.ref), line, update.createLogs);
    appendLog(join(layout.gitDir, "logs", "HEAD"), line, update.createLogs);
    // Asynchronous: renaming over an existing file makes ext4 start writing the new one out (auto_da_alloc),
    // which can take milliseconds on a busy disk; the event loop need not wait for it.
    await rename(lock, path);
    renamed = true;
  } finally {
    if (!renamed) rmSync(lock, { force: true });
  }
}

function appendLog(path: string, line: string, create: boolean): void {
  if (!existsSync(path)) {
    if (!create) return;
    mkdirSync(dirname(path), { recursive: true });
  }
  appendFileSync(path, line, { encoding: "utf8", mode: 0o666 });
}

/** A small file's text (bytes as latin1), or undefined when it cannot be read. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}
