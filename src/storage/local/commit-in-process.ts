import {
  type BigIntStats,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { rename } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { ConflictError, UnavailableError } from "../../domain/errors.js";
import { type GitConfigSnapshot, readGitConfig } from "../git/git-config-snapshot.js";
import {
  ASSUME_VALID,
  entryFor,
  type GitIndex,
  type IndexEntry,
  invalidateCacheTree,
  parseIndex,
  serializeIndex,
  stageOf,
  statMatches,
  UnsupportedIndexError,
} from "../git/git-index.js";
import {
  cleanMessage,
  encodeCommit,
  encodeTree,
  formatSignature,
  isTreeMode,
  objectId,
  parseCommit,
  parseTree,
  reflogMessage,
  type Signature,
  type TreeEntry,
  toBinary,
} from "../git/git-objects.js";
import { type RepositoryLayout, readSymbolicHead, resolveLayout, updateBranch } from "../git/git-refs.js";
import { createObjectReader, type ObjectReader, writeLooseObject } from "../git/object-store.js";
import { GitError, type GitRunner } from "../git/run-git.js";

/**
 * How long the configuration git sees (and the attributes of the paths written) are trusted before they are
 * asked again, even if none of their files changed: a global config file that did not exist when they were read
 * (so could not be watched) is taken into account after at most this long.
 */
export const CONFIG_RECHECK_MS = 10_000;

/** Every this many writes in a repository, its loose objects are counted, as `git commit` does after each. */
export const MAINTENANCE_CHECK_WRITES = 50;

/** How many repositories' caches (objects, configuration) are kept. */
const REPOSITORIES_KEPT = 32;

/** Hooks that `git commit --no-verify` would still run: with any of them, git does the write. */
const COMMIT_HOOKS = ["prepare-commit-msg", "post-commit", "reference-transaction", "post-index-change"];

/** States in which `git commit --only` behaves differently (or refuses): left to git. */
const IN_PROGRESS = ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"];

/** A point of an in-process write, for tests that stop a write there as if the process died. */
export type WriteStep = "journal" | "files" | "objects" | "index-written" | "ref" | "index";

/** Why a write is left to git (the process-based path): returned, never thrown. */
export interface LeftToGit {
  readonly leftToGit: string;
}

function leftToGit(reason: string): LeftToGit {
  return { leftToGit: reason };
}

/** Whether a result is `LeftToGit` rather than what was asked for. */
export function isLeftToGit(value: unknown): value is LeftToGit {
  return typeof value === "object" && value !== null && "leftToGit" in value;
}

export interface InProcessCommit {
  readonly repository: string;
  /** Paths relative to the repository, with `/`; already checked by `assertWritable`. */
  readonly paths: readonly string[];
  /** The new text of each path (same order); undefined deletes it. */
  readonly texts: readonly (string | undefined)[];
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string };
  readonly git: GitRunner;
  /** Where the journal goes, once the layout is known (see `commitWrites`). */
  readonly journal: (layout: RepositoryLayout) => string;
  /** Puts paths back as HEAD has them (the process-based undo), after a failure half-way. */
  readonly restore: (paths: readonly string[], tracked: ReadonlySet<string>) => Promise<void>;
  /** Tests only: awaited at each step; a promise that never settles is a process that died there. */
  readonly interrupt?: ((step: WriteStep) => Promise<void>) | undefined;
}

interface RepositoryCache {
  readonly reader: ObjectReader;
  config: GitConfigSnapshot | undefined;
  /** Per path: whether git sees no attribute on it, and the state of the files that could give it one. */
  readonly attributes: Map<string, { readonly stamp: string; readonly plain: boolean }>;
  writes: number;
}

const repositories = new Map<string, RepositoryCache>();

function cacheFor(layout: RepositoryLayout): RepositoryCache {
  const key = `${layout.worktree}\0${layout.gitDir}`;
  let cache = repositories.get(key);
  if (cache === undefined) {
    cache = {
      reader: createObjectReader(join(layout.commonDir, "objects")),
      config: undefined,
      attributes: new Map(),
      writes: 0,
    };
  }
  repositories.delete(key);
  repositories.set(key, cache);
  for (const oldest of repositories.keys()) {
    if (repositories.size <= REPOSITORIES_KEPT) break;
    repositories.delete(oldest);
  }
  return cache;
}

/**
 * Commits a write without running git: the objects (blobs, the trees on the way to the paths, the commit) are
 * written as loose objects, the branch is moved with git's lock-file protocol (and its reflog and HEAD's appended
 * to), and the index is rewritten so that it matches the new HEAD for those paths, with the files' stat data, as
 * `git commit --only` leaves it. The index is locked (`index.lock`) from before the check for changes made
 * outside Pennant until it is replaced, so a git command run meanwhile cannot slip in between.
 *
 * The file operations are synchronous: about 50 small ones, which take well under a millisecond together, where
 * each asynchronous one would wait for a turn of the thread pool and the event loop (several milliseconds in all
 * on a busy machine); the write's YAML work already holds the event loop longer. The two renames over existing
 * files (the branch's and the index's lock files) are not: ext4 starts writing the file out on such a rename.
 *
 * Anything this does not do exactly as git would is left to git: a repository that is not plain (SHA-256, bare,
 * shallow, a split or sparse index, sparse checkout, a merge or rebase in progress, a detached or unborn HEAD),
 * configuration that changes what `git commit` writes (signing, message cleanup or encoding, fsync, shared
 * permissions, line-ending conversion), hooks that `git commit --no-verify` runs, attributes on the paths, a new
 * file that git's ignore rules keep out (git refuses to add it), an unusual author or message. Resolves with the new
 * commit, or `LeftToGit` before anything was changed.
 */
export async function commitInProcess(input: InProcessCommit): Promise<string | LeftToGit> {
  const { repository, paths, texts, git } = input;
  const layout = resolveLayout(repository);
  if (layout === undefined) return leftToGit("no .git directory or file");
  const cache = cacheFor(layout);

  const message = cleanMessage(input.message);
  if (message === "" || message.includes("\0"))
    return leftToGit("the message is empty once cleaned, or holds a NUL");
  if (!plainIdentity(input.author.name) || !plainIdentity(input.author.email)) {
    return leftToGit("git would clean up the author's name or e-mail");
  }
  if (!paths.every(plainPath)) return leftToGit("a path git would refuse or spell differently");
  for (const name of IN_PROGRESS) {
    if (existsSync(join(layout.gitDir, name))) return leftToGit(`${name} exists`);
  }
  if (existsSync(join(layout.commonDir, "shallow"))) return leftToGit("a shallow repository");

  const known = cache.config;
  const stale = known === undefined || Date.now() - known.readAt > CONFIG_RECHECK_MS || !known.unchanged();
  if (stale) cache.attributes.clear();
  // Paths to create: whether git may add them is for its ignore rules to say.
  const absent = paths.filter(
    (path, index) =>
      texts[index] !== undefined &&
      lstatSync(join(repository, path), { throwIfNoEntry: false }) === undefined,
  );
  // Asked at once: two git processes when the configuration is read again, none otherwise, and one more for a
  // new file.
  const [config, plain, ignored] = await Promise.all([
    stale ? readGitConfig(repository, git).catch(() => undefined) : known,
    attributesArePlain(cache, layout, paths, git).catch(() => undefined),
    ignoredPaths(repository, absent, git).catch(() => undefined),
  ]);
  // A configuration git cannot read: let git say so.
  if (config === undefined) return leftToGit("git could not list its configuration");
  cache.config = config;
  const unusual = unusualConfig(config);
  if (unusual !== undefined) return leftToGit(unusual);
  const hooks = config.get("core.hookspath");
  if (hooks?.startsWith("~")) return leftToGit("core.hooksPath names a home directory");
  const hooksDir =
    hooks === undefined
      ? join(layout.commonDir, "hooks")
      : isAbsolute(hooks)
        ? hooks
        : join(repository, hooks);
  for (const hook of COMMIT_HOOKS) {
    const info = statSync(join(hooksDir, hook), { throwIfNoEntry: false });
    if (info?.isFile() && (info.mode & 0o111) !== 0) return leftToGit(`the ${hook} hook`);
  }
  if (plain === undefined) return leftToGit("git could not list the paths' attributes");
  if (!plain) return leftToGit("attributes on a path");
  if (ignored === undefined) return leftToGit("git could not list which new paths it ignores");
  const ignoredPath = absent.find((path) => ignored.has(path));
  if (ignoredPath !== undefined) return leftToGit(`${ignoredPath} is new and ignored by git`);

  const indexPath = join(layout.gitDir, "index");
  const indexLock = `${indexPath}.lock`;
  const lock = lockIndex(indexLock);
  let lockOpen = true;
  let lockHeld = true;
  const release = () => {
    if (!lockHeld) return;
    lockHeld = false;
    if (lockOpen) closeSync(lock);
    lockOpen = false;
    rmSync(indexLock, { force: true });
  };

  // Read and check, holding the index lock; nothing is changed yet.
  let plan: Plan;
  try {
    const planned = planWrite(input, layout, cache, config, indexPath);
    if (isLeftToGit(planned)) {
      release();
      return planned;
    }
    plan = planned;
  } catch (error) {
    release();
    throw error;
  }

  const journal = input.journal(layout);
  const step = async (name: WriteStep) => {
    if (input.interrupt !== undefined) await input.interrupt(name);
  };
  let journaled = false;
  /** New files made so far: undone by removing them. */
  const created: string[] = [];
  let commitId: string | undefined;
  let branchMoved = false;
  try {
    writeJournal(journal, paths);
    journaled = true;
    await step("journal");
    const written: { path: string; text: string; stats: BigIntStats }[] = [];
    for (const [index, path] of paths.entries()) {
      const text = texts[index];
      if (text === undefined) {
        rmSync(join(repository, path), { force: true });
      } else if (plan.head.has(toBinary(path))) {
        written.push({ path, text, stats: writeWorkingFile(join(repository, path), text) });
      } else {
        const stats = createWorkingFile(join(repository, path), text);
        created.push(path);
        written.push({ path, text, stats });
      }
    }
    await step("files");

    const objects = join(layout.commonDir, "objects");
    const level = compressionLevel(config);
    const fileMode = config.flag("core.filemode", true);
    const changes = new Map<string, { mode: string; oid: string } | null>();
    const entries: IndexEntry[] = [];
    for (const path of paths) changes.set(toBinary(path), null);
    for (const { path, text, stats } of written) {
      const binary = toBinary(path);
      const oid = writeLooseObject(objects, "blob", Buffer.from(text, "utf8"), level);
      const executable = fileMode
        ? (Number(stats.mode) & 0o100) !== 0
        : plan.head.get(binary)?.mode === "100755";
      changes.set(binary, { mode: executable ? "100755" : "100644", oid });
      entries.push(entryFor(binary, stats, executable ? 0o100755 : 0o100644, oid));
    }
    const tree =
      writeTree(cache.reader, objects, level, plan.rootTree, changes) ??
      writeEmptyTree(cache.reader, objects, level);
    const identity: Signature = { name: input.author.name, email: input.author.email, ...signatureTime() };
    const commit = encodeCommit({
      tree,
      parents: [plan.commit],
      author: identity,
      committer: identity,
      message,
    });
    commitId = writeLooseObject(objects, "commit", commit, level);
    cache.reader.remember(commitId, { type: "commit", body: commit });
    await step("objects");

    const changed = new Set(changes.keys());
    const next: GitIndex = {
      version: plan.index.version,
      entries: [...plan.index.entries.filter((entry) => !changed.has(entry.path)), ...entries],
      extensions: plan.index.extensions.map((extension) =>
        extension.signature === "TREE"
          ? { signature: "TREE", data: invalidateCacheTree(extension.data, [...changed]) }
          : extension,
      ),
    };
    writeFileSync(lock, serializeIndex(next));
    closeSync(lock);
    lockOpen = false;
    await step("index-written");

    await updateBranch(layout, {
      ref: plan.ref,
      from: plan.commit,
      to: commitId,
      who: formatSignature(identity),
      message: reflogMessage(message),
      createLogs: logsRefUpdates(config),
    });
    branchMoved = true;
    await step("ref");
    // Asynchronous, as the branch's rename (see `updateBranch`).
    await rename(indexLock, indexPath);
    lockHeld = false;
    await step("index");
  } catch (error) {
    release();
    if (branchMoved && commitId !== undefined) {
      // The commit is made: bring the index in line with it, and the write stands.
      const synced = await git(repository, ["reset", "--quiet", "--", ...paths]).then(
        () => true,
        () => false,
      );
      if (synced) {
        rmSync(journal, { force: true });
        return commitId;
      }
    }
    if (journaled) {
      // Each path in HEAD is checked out again, and each new file made is removed.
      const tracked = new Set(paths.filter((path) => plan.head.has(toBinary(path))));
      await input.restore(
        paths.filter((path) => tracked.has(path) || created.includes(path)),
        tracked,
      );
      rmSync(journal, { force: true });
    }
    throw error;
  }
  rmSync(journal, { force: true });
  cache.writes++;
  if (cache.writes % MAINTENANCE_CHECK_WRITES === 0) await maintain(layout, config, git);
  return commitId;
}

/** Takes the index lock as git does (created exclusively); a lock held by someone else is Unavailable. */
function lockIndex(indexLock: string): number {
  try {
    return openSync(indexLock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UnavailableError(
        `the repository's index is locked (${indexLock} exists): another git process is running in it; retry`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** What the write starts from, read under the index lock. */
interface Plan {
  readonly ref: string;
  readonly commit: string;
  readonly rootTree: string;
  readonly index: GitIndex;
  /** HEAD's entries for the paths written (binary paths), for those it has. */
  readonly head: ReadonlyMap<string, { readonly mode: string; readonly oid: string }>;
}

function planWrite(
  input: InProcessCommit,
  layout: RepositoryLayout,
  cache: RepositoryCache,
  config: GitConfigSnapshot,
  indexPath: string,
): Plan | LeftToGit {
  const head = readSymbolicHead(layout);
  if (head === undefined) return leftToGit("HEAD is detached, unborn or unusual");
  let index: GitIndex;
  let indexSeconds = 0;
  try {
    const bytes = readFileSync(indexPath);
    indexSeconds = Math.floor(statSync(indexPath).mtimeMs / 1000);
    index = parseIndex(bytes);
  } catch (error) {
    if (error instanceof UnsupportedIndexError) return leftToGit(`the index: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    index = { version: 2, entries: [], extensions: [] };
  }
  const commit = cache.reader.read(head.oid);
  if (commit?.type !== "commit") return leftToGit("HEAD's commit is not readable here");
  const rootTree = parseCommit(commit.body).tree;

  const headEntries = new Map<string, { mode: string; oid: string }>();
  const fileMode = config.flag("core.filemode", true);
  const changed: string[] = [];
  for (const [position, path] of input.paths.entries()) {
    const binary = toBinary(path);
    const inHead = lookupPath(cache.reader, rootTree, binary);
    if (isLeftToGit(inHead)) return inHead;
    const atPath = index.entries.filter(
      (entry) => entry.path === binary || entry.path.startsWith(`${binary}/`),
    );
    if (atPath.some((entry) => entry.path !== binary))
      return leftToGit(`${path} is a directory in the index`);
    if (atPath.some((entry) => entry.flags & ASSUME_VALID || entry.extendedFlags !== 0)) {
      return leftToGit(`${path} is assumed unchanged, skipped or intended to add`);
    }
    if (inHead === undefined) {
      // A new file, which git does not ignore (see `ignoredPaths`), or a file made outside Pennant since. A
      // deleted file that HEAD lacks: odd.
      if (atPath.length === 0 && !existsSync(join(input.repository, path))) {
        if (input.texts[position] === undefined) return leftToGit(`${path} is not tracked`);
        continue;
      }
      changed.push(path);
      continue;
    }
    if (!/^100(644|755)$/.test(inHead.mode)) return leftToGit(`${path} is not a regular file in HEAD`);
    headEntries.set(binary, inHead);
    const staged = atPath.find((entry) => stageOf(entry) === 0);
    if (atPath.length !== 1 || staged === undefined) {
      changed.push(path);
      continue;
    }
    if (staged.oid !== inHead.oid || staged.mode !== Number.parseInt(inHead.mode, 8)) {
      changed.push(path);
      continue;
    }
    if (!unchangedOnDisk(input.repository, path, staged, indexSeconds, fileMode)) changed.push(path);
  }
  if (changed.length > 0) {
    throw new ConflictError(
      `${changed.join(", ")} ${changed.length === 1 ? "has" : "have"} changes made outside Pennant that are not committed; ` +
        "commit or discard them, then retry",
    );
  }
  return { ref: head.ref, commit: head.oid, rootTree, index, head: headEntries };
}

/** Whether a tracked file on disk is what its index entry says: by stat data when that can be trusted, else by hash. */
function unchangedOnDisk(
  repository: string,
  path: string,
  entry: IndexEntry,
  indexSeconds: number,
  fileMode: boolean,
): boolean {
  const stats = lstatSync(join(repository, path), { bigint: true, throwIfNoEntry: false });
  if (stats === undefined || !stats.isFile()) return false;
  if (entry.mode !== 0o100644 && entry.mode !== 0o100755) return false;
  if (fileMode && ((Number(stats.mode) & 0o100) !== 0) !== (entry.mode === 0o100755)) return false;
  // Racily clean (written in the second the index was): the stat data cannot tell, the content must.
  if (statMatches(entry, stats) && entry.mtimeSeconds < indexSeconds) return true;
  return objectId("blob", readFileSync(join(repository, path))) === entry.oid;
}

/** HEAD's entry at a path (binary), undefined if none; left to git when a directory on the way is not a tree. */
function lookupPath(
  reader: ObjectReader,
  rootTree: string,
  path: string,
): { mode: string; oid: string } | undefined | LeftToGit {
  const components = path.split("/");
  let tree = rootTree;
  for (const [position, component] of components.entries()) {
    const entries = readTree(reader, tree);
    if (isLeftToGit(entries)) return entries;
    const entry = entries.find((candidate) => candidate.name === component);
    if (entry === undefined) return undefined;
    const last = position === components.length - 1;
    if (isTreeMode(entry.mode) === last) return leftToGit(`${path} is a directory in HEAD, or under a file`);
    if (last) return { mode: entry.mode, oid: entry.oid };
    tree = entry.oid;
  }
  return undefined;
}

function readTree(reader: ObjectReader, oid: string): TreeEntry[] | LeftToGit {
  const object = reader.read(oid);
  if (object?.type !== "tree") return leftToGit(`tree ${oid} is not readable here`);
  return parseTree(object.body);
}

/**
 * Writes the trees from `tree` down to the changed paths (binary, relative to it; null deletes), and resolves with
 * the new tree's id, or undefined when it is left empty (git keeps no empty directory).
 */
function writeTree(
  reader: ObjectReader,
  objects: string,
  level: number,
  tree: string | undefined,
  changes: ReadonlyMap<string, { mode: string; oid: string } | null>,
): string | undefined {
  const current = tree === undefined ? [] : readTree(reader, tree);
  if (isLeftToGit(current)) throw new Error(current.leftToGit);
  const entries = new Map(current.map((entry) => [entry.name, entry]));
  const below = new Map<string, Map<string, { mode: string; oid: string } | null>>();
  for (const [path, change] of changes) {
    const slash = path.indexOf("/");
    if (slash < 0) {
      if (change === null) entries.delete(path);
      else entries.set(path, { mode: change.mode, name: path, oid: change.oid });
      continue;
    }
    const directory = path.slice(0, slash);
    let nested = below.get(directory);
    if (nested === undefined) {
      nested = new Map();
      below.set(directory, nested);
    }
    nested.set(path.slice(slash + 1), change);
  }
  for (const [directory, nested] of below) {
    const existing = entries.get(directory);
    const child = writeTree(reader, objects, level, existing?.oid, nested);
    if (child === undefined) entries.delete(directory);
    else entries.set(directory, { mode: "40000", name: directory, oid: child });
  }
  if (entries.size === 0) return undefined;
  const body = encodeTree([...entries.values()]);
  const oid = writeLooseObject(objects, "tree", body, level);
  reader.remember(oid, { type: "tree", body });
  return oid;
}

function writeEmptyTree(reader: ObjectReader, objects: string, level: number): string {
  const body = Buffer.alloc(0);
  const oid = writeLooseObject(objects, "tree", body, level);
  reader.remember(oid, { type: "tree", body });
  return oid;
}

/** Why the configuration makes `git commit` write something this does not; undefined when it does not. */
function unusualConfig(config: GitConfigSnapshot): string | undefined {
  const format = config.get("extensions.objectformat");
  if (format !== undefined && format.toLowerCase() !== "sha1") return `object format ${format}`;
  for (const key of config.keys()) {
    if (
      key.startsWith("extensions.") &&
      key !== "extensions.objectformat" &&
      key !== "extensions.worktreeconfig"
    ) {
      return `repository extension ${key}`;
    }
  }
  if (Number(config.get("core.repositoryformatversion") ?? "0") > 1) return "repository format version";
  if (config.flag("core.bare", false)) return "a bare repository";
  if (config.get("core.worktree") !== undefined) return "core.worktree";
  if (config.get("core.fsync") !== undefined || config.get("core.fsyncmethod") !== undefined)
    return "core.fsync";
  if (config.flag("core.fsyncobjectfiles", false)) return "core.fsyncObjectFiles";
  const shared = config.get("core.sharedrepository");
  if (shared !== undefined && !["false", "umask", "0", "no", "off", ""].includes(shared.toLowerCase())) {
    return "core.sharedRepository";
  }
  if (config.flag("commit.gpgsign", false)) return "commit.gpgSign";
  if (config.get("commit.cleanup") !== undefined) return "commit.cleanup";
  const encoding = config.get("i18n.commitencoding");
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) return "i18n.commitEncoding";
  if (config.flag("core.sparsecheckout", false)) return "sparse checkout";
  if (config.flag("core.splitindex", false)) return "a split index";
  if (config.flag("core.ignorecase", false)) return "core.ignoreCase";
  const autocrlf = config.get("core.autocrlf");
  if (autocrlf !== undefined && (autocrlf.toLowerCase() === "input" || config.flag("core.autocrlf", false))) {
    return "core.autocrlf";
  }
  return undefined;
}

function compressionLevel(config: GitConfigSnapshot): number {
  const level = Number(config.get("core.loosecompression") ?? config.get("core.compression") ?? "1");
  return Number.isInteger(level) && level >= -1 && level <= 9 ? level : 1;
}

/** `core.logAllRefUpdates`: true (and `always`) make a branch's reflog; it is the default in a repository with a working tree. */
function logsRefUpdates(config: GitConfigSnapshot): boolean {
  const value = config.get("core.logallrefupdates");
  return value?.toLowerCase() === "always" || config.flag("core.logallrefupdates", true);
}

/**
 * Whether git sees no attribute on any of the paths (no filter, no end-of-line conversion, no encoding): asked
 * with `git check-attr` and kept per path while the attribute files on the way (and the configuration) are
 * unchanged.
 */
async function attributesArePlain(
  cache: RepositoryCache,
  layout: RepositoryLayout,
  paths: readonly string[],
  git: GitRunner,
): Promise<boolean> {
  const unknown: { path: string; stamp: string }[] = [];
  for (const path of paths) {
    const stamp = attributeFilesStamp(layout, path);
    const known = cache.attributes.get(path);
    if (known?.stamp === stamp) {
      if (!known.plain) return false;
      continue;
    }
    unknown.push({ path, stamp });
  }
  if (unknown.length === 0) return true;
  const listed = await git(layout.worktree, [
    "check-attr",
    "-z",
    "--all",
    "--",
    ...unknown.map((item) => item.path),
  ]);
  const tokens = listed.stdout.split("\0");
  const withAttributes = new Set<string>();
  for (let index = 0; index + 2 < tokens.length; index += 3) withAttributes.add(tokens[index] as string);
  for (const { path, stamp } of unknown) {
    cache.attributes.set(path, { stamp, plain: !withAttributes.has(path) });
  }
  return unknown.every(({ path }) => !withAttributes.has(path));
}

/** The state of every `.gitattributes` that could apply to `path`, and of `info/attributes`. */
function attributeFilesStamp(layout: RepositoryLayout, path: string): string {
  const candidates = [join(layout.commonDir, "info", "attributes")];
  let directory = dirname(path);
  for (;;) {
    candidates.push(join(layout.worktree, directory === "." ? "" : directory, ".gitattributes"));
    if (directory === "." || directory === "/" || directory === "") break;
    directory = dirname(directory);
  }
  const stamps: string[] = [];
  for (const candidate of candidates) {
    const info = statSync(candidate, { bigint: true, throwIfNoEntry: false });
    stamps.push(info === undefined ? "-" : `${info.ino}:${info.size}:${info.mtimeNs}`);
  }
  return stamps.join(",");
}

/**
 * Runs git's automatic maintenance when the loose objects pass `gc.auto`, as `git commit` does after each commit
 * (counted as git estimates them: the objects in `objects/17`, times 256). A failure is no failure of the write.
 */
async function maintain(layout: RepositoryLayout, config: GitConfigSnapshot, git: GitRunner): Promise<void> {
  const limit = Number(config.get("gc.auto") ?? "6700");
  if (!Number.isFinite(limit) || limit <= 0) return;
  let names: string[];
  try {
    names = readdirSync(join(layout.commonDir, "objects", "17"));
  } catch {
    return;
  }
  const loose = names.filter((name) => /^[0-9a-f]{38}$/.test(name)).length;
  if (loose <= Math.ceil(limit / 256)) return;
  await git(layout.worktree, ["maintenance", "run", "--auto", "--quiet"]).catch(() => undefined);
}

/** What `git commit` would write as is: no character git cleans from an identity (`<`, `>`, control characters, or crud at either end). */
function plainIdentity(value: string): boolean {
  if (value === "" || hasControlCharacter(value) || value.includes("<") || value.includes(">")) return false;
  const crud = " .,:;\"\\'";
  return !crud.includes(value[0] as string) && !crud.includes(value[value.length - 1] as string);
}

/** A path git stores as given: no empty, `.`, `..` or `.git` component, no control character. */
function plainPath(path: string): boolean {
  if (path === "" || hasControlCharacter(path)) return false;
  return path
    .split("/")
    .every(
      (component) =>
        component !== "" && component !== "." && component !== ".." && component.toLowerCase() !== ".git",
    );
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Now, as git stamps a commit: whole seconds, and the local time zone's offset. */
function signatureTime(): { seconds: number; offsetMinutes: number } {
  const now = new Date();
  return { seconds: Math.floor(now.getTime() / 1000), offsetMinutes: -now.getTimezoneOffset() };
}

function writeJournal(journal: string, paths: readonly string[]): void {
  try {
    writeFileSync(`${journal}.tmp`, JSON.stringify({ paths }));
    renameSync(`${journal}.tmp`, journal);
  } catch (error) {
    rmSync(`${journal}.tmp`, { force: true });
    throw error;
  }
}

/**
 * The paths among `paths` that git's ignore rules (`.gitignore` files, `info/exclude`, `core.excludesFile`) keep
 * out, so that `git add` would refuse them: asked with `git check-ignore`, which exits 1 when it ignores none.
 */
async function ignoredPaths(
  repository: string,
  paths: readonly string[],
  git: GitRunner,
): Promise<ReadonlySet<string>> {
  if (paths.length === 0) return new Set();
  try {
    const listed = await git(repository, ["check-ignore", "-z", "--stdin"], {
      input: `${paths.join("\0")}\0`,
    });
    return new Set(listed.stdout.split("\0").filter((path) => path !== ""));
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return new Set();
    throw error;
  }
}

/**
 * Makes a new file of the working tree (and the directories on the way) with its text, never following a link
 * and never replacing a file that appeared meanwhile (`O_EXCL`: that is a write that fails, and is undone).
 * Returns the file's stat data for the index.
 */
function createWorkingFile(file: string, text: string): BigIntStats {
  mkdirSync(dirname(file), { recursive: true });
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const descriptor = openSync(file, flags, 0o644);
  try {
    writeFileSync(descriptor, Buffer.from(text, "utf8"));
    return fstatSync(descriptor, { bigint: true });
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Writes a tracked file of the working tree with its new text: in place, then cut to its new length, never
 * following a link (its path was checked by `assertWritable` just before, and it was found unchanged under the
 * index lock). Not truncated to nothing first: on ext4 that makes the close start writing the file out
 * (auto_da_alloc), milliseconds on a busy disk. A write killed half-way is undone by the journal either way.
 * Returns the file's stat data for the index.
 */
function writeWorkingFile(file: string, text: string): BigIntStats {
  const bytes = Buffer.from(text, "utf8");
  const descriptor = openSync(file, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    writeFileSync(descriptor, bytes);
    ftruncateSync(descriptor, bytes.length);
    return fstatSync(descriptor, { bigint: true });
  } finally {
    closeSync(descriptor);
  }
}
