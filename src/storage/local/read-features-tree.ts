import { constants } from "node:fs";
import { lstat, open, readlink, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import type { ValidationIssue } from "../../domain/errors.js";
import { FEATURES_INDEX_FILES } from "../../format/discovery.js";
import type { FeaturesLimits } from "../../format/limits.js";
import { tooLarge } from "../../format/parse-features.js";
import { REPOSITORY_SETTINGS_FILES } from "../../format/repository-settings.js";
import type { SourceFile } from "../flag-source.js";
import { selectFeaturePaths } from "../select-feature-paths.js";
import { type TreeEntry, walkFiles } from "./walk-files.js";

/** An environment directory's features files as read from disk, and the selected paths that were refused. */
export interface FeaturesTree {
  /** The selected regular files, in path order, with paths relative to the environment directory. */
  readonly files: SourceFile[];
  /** Selected paths that were not read, each with the reason (never with anything read from the path). */
  readonly refused: ValidationIssue[];
  /** Which rule selected a path; absent when nothing could be selected. */
  readonly ruleFor?: (path: string) => string | undefined;
  /** The repository settings file at the root (`flipt.yaml`, else `flipt.yml`), when there is one. */
  readonly settings?: SourceFile | undefined;
}

/** Why a path was refused: said in `/meta/status` and the log, and nothing of the target's content. */
const LINK =
  "is a symbolic link: Pennant reads only regular files inside the repository and never follows a link";
const NOT_A_FILE = "is not a regular file (a FIFO, socket or device): Pennant reads only regular files";
const OUTSIDE = "resolves to a file outside the repository: not read";

/**
 * Reads the features files of `directory` ("" for the root) inside `repository`, by discovery (the `.flipt.yml`
 * index, else the default globs). The rule, the same wherever Pennant reads flag state from disk: only regular
 * files inside the repository are read. A symbolic link is never followed (git stores a link as a blob holding a
 * path, and Flipt reads git objects: a link never stands for its target there either), so a link, a FIFO, a
 * socket or a device where a features file, the index or the environment directory would be is refused with its
 * reason, as is a file that turns out to be outside the repository when opened (a directory swapped for a link
 * mid-walk). Each file is opened without following links and without blocking, checked with fstat on the open
 * descriptor, and read to at most `limits.maxFileBytes` + 1 bytes, so a growing file cannot exhaust memory.
 * A malformed index is a ValidationError.
 */
export async function readFeaturesTree(
  repository: string,
  directory: string,
  limits: FeaturesLimits,
): Promise<FeaturesTree> {
  const boundary = await realpath(repository).catch(() => undefined);
  if (boundary === undefined) return { files: [], refused: [] };
  const linked = await linkedComponent(repository, directory);
  if (linked !== undefined) {
    return {
      files: [],
      refused: [{ path: "", message: `the environment directory ${linked} ${LINK}`, file: linked }],
    };
  }
  const root = join(repository, directory);
  const entries = await walkFiles(root);
  const kinds = new Map(entries.map((entry) => [entry.path, entry.kind]));
  const refused: ValidationIssue[] = [];
  const index = FEATURES_INDEX_FILES.find((name) => kinds.has(name));
  let indexText: string | undefined;
  if (index !== undefined) {
    const read = await readEntry(boundary, root, { path: index, kind: kinds.get(index) ?? "other" }, limits);
    if (read !== undefined && "refused" in read) return { files: [], refused: [read.refused] };
    indexText = read === undefined ? undefined : new TextDecoder().decode(read.bytes);
  }
  const { selected, matcher } = selectFeaturePaths(
    entries.map((entry) => entry.path),
    indexText,
  );
  const settingsPath = REPOSITORY_SETTINGS_FILES.find((name) => kinds.has(name));
  let settings: SourceFile | undefined;
  if (settingsPath !== undefined) {
    const read = await readEntry(
      boundary,
      root,
      { path: settingsPath, kind: kinds.get(settingsPath) ?? "other" },
      limits,
    );
    if (read !== undefined && "refused" in read) refused.push(read.refused);
    else settings = read;
  }
  const files: SourceFile[] = [];
  for (const read of await Promise.all(
    selected.map((path) => readEntry(boundary, root, { path, kind: kinds.get(path) ?? "other" }, limits)),
  )) {
    if (read === undefined) continue;
    if ("refused" in read) refused.push(read.refused);
    else files.push(read);
  }
  return { files, refused, ruleFor: matcher.ruleFor, settings };
}

/** The first component of `directory` under `repository` that is a symbolic link, if any. */
async function linkedComponent(repository: string, directory: string): Promise<string | undefined> {
  let path = "";
  for (const component of directory.split("/").filter((part) => part !== "" && part !== ".")) {
    path = path === "" ? component : `${path}/${component}`;
    const info = await lstat(join(repository, path)).catch(() => undefined);
    if (info === undefined) return undefined;
    if (info.isSymbolicLink()) return path;
  }
  return undefined;
}

type EntryRead = SourceFile | { readonly refused: ValidationIssue } | undefined;

/** Reads one listed entry under the rule above; undefined when it vanished since the walk. */
async function readEntry(
  boundary: string,
  root: string,
  entry: TreeEntry,
  limits: FeaturesLimits,
): Promise<EntryRead> {
  const refuse = (reason: string): EntryRead => ({
    refused: { path: "", message: `${entry.path} ${reason}`, file: entry.path },
  });
  if (entry.kind === "link") return refuse(LINK);
  if (entry.kind === "other") return refuse(NOT_A_FILE);
  const absolute = join(root, entry.path);
  let handle: import("node:fs/promises").FileHandle;
  try {
    handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP") return refuse(LINK);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return refuse(NOT_A_FILE);
    // What was opened, as the kernel resolved it: a directory on the way swapped for a link shows here.
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(absolute));
    if (!opened.startsWith(boundary + sep)) return refuse(OUTSIDE);
    const limit = limits.maxFileBytes;
    const refused = () => ({ refused: tooLarge(entry.path, limits).issues[0] as ValidationIssue });
    if (info.size > limit) return refused();
    const bytes = await readAtMost(handle, info.size, limit + 1);
    if (bytes.byteLength > limit) return refused();
    return { path: entry.path, bytes };
  } finally {
    await handle.close();
  }
}

/**
 * Reads from the start of the file until its end or `max` bytes, whichever comes first. `expected` (the size
 * fstat gave) sizes the first read; a file that grows meanwhile is read on, in chunks, up to `max`.
 */
async function readAtMost(
  handle: import("node:fs/promises").FileHandle,
  expected: number,
  max: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let size = Math.min(expected + 1, max);
  while (total < max) {
    const chunk = new Uint8Array(size);
    const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, total);
    if (bytesRead === 0) break;
    chunks.push(bytesRead === chunk.byteLength ? chunk : chunk.slice(0, bytesRead));
    total += bytesRead;
    size = Math.min(64 * 1024, max - total);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : new Uint8Array(Buffer.concat(chunks));
}
