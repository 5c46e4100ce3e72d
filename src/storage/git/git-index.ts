import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";

/**
 * Git's index file (`.git/index`, versions 2, 3 and 4, SHA-1), read and written so that a commit made without git
 * leaves the index as `git commit` would. Paths are binary strings (one char per byte). Extensions: the cache tree
 * (`TREE`) is kept, with the directories of changed paths invalidated; resolve-undo (`REUC`) is kept; the
 * untracked cache, fsmonitor state and the entry offset tables (`UNTR`, `FSMN`, `EOIE`, `IEOT`) and any other
 * optional extension are dropped (git rebuilds them when it wants them); a split or sparse index (`link`, `sdir`)
 * or any other required extension is not handled: `parseIndex` then throws `UnsupportedIndexError`.
 */

/** One entry: a path at a stage, with the stat data git compares to know it is unchanged. */
export interface IndexEntry {
  readonly path: string;
  readonly ctimeSeconds: number;
  readonly ctimeNanoseconds: number;
  readonly mtimeSeconds: number;
  readonly mtimeNanoseconds: number;
  readonly dev: number;
  readonly ino: number;
  /** Git's mode: 0o100644, 0o100755, 0o120000 or 0o160000. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly oid: string;
  /** The 16 flag bits (assume-valid, extended, stage; the name length is recomputed when written). */
  readonly flags: number;
  /** Version 3 and up: skip-worktree and intent-to-add bits; 0 when the entry has none. */
  readonly extendedFlags: number;
}

export const ASSUME_VALID = 0x8000;
const EXTENDED = 0x4000;
export const SKIP_WORKTREE = 0x4000;
export const INTENT_TO_ADD = 0x2000;

export function stageOf(entry: IndexEntry): number {
  return (entry.flags >> 12) & 3;
}

export interface GitIndex {
  readonly version: number;
  /** In git's order: by path bytes, then stage. */
  readonly entries: readonly IndexEntry[];
  readonly extensions: readonly { readonly signature: string; readonly data: Buffer }[];
}

/** An index git writes and Pennant does not: the caller lets git do the work. */
export class UnsupportedIndexError extends Error {
  override readonly name = "UnsupportedIndexError";
}

const KEPT = new Set(["TREE", "REUC"]);

/** Parses an index file, checking its signature, version and checksum. */
export function parseIndex(bytes: Buffer): GitIndex {
  if (bytes.length < 32 || bytes.toString("latin1", 0, 4) !== "DIRC") {
    throw new UnsupportedIndexError("not an index file");
  }
  const version = bytes.readUInt32BE(4);
  if (version < 2 || version > 4) throw new UnsupportedIndexError(`index version ${version}`);
  const end = bytes.length - 20;
  const stored = bytes.subarray(end);
  if (
    !stored.equals(Buffer.alloc(20)) &&
    !createHash("sha1").update(bytes.subarray(0, end)).digest().equals(stored)
  ) {
    throw new UnsupportedIndexError("index checksum mismatch");
  }
  const count = bytes.readUInt32BE(8);
  const entries: IndexEntry[] = [];
  let offset = 12;
  let previous = "";
  for (let index = 0; index < count; index++) {
    const start = offset;
    if (offset + 62 > end) throw new UnsupportedIndexError("index truncated");
    const word = (at: number) => bytes.readUInt32BE(start + at * 4);
    const flags = bytes.readUInt16BE(offset + 60);
    offset += 62;
    let extendedFlags = 0;
    if (flags & EXTENDED) {
      if (version < 3) throw new UnsupportedIndexError("extended flags in a version 2 index");
      extendedFlags = bytes.readUInt16BE(offset);
      offset += 2;
    }
    let path: string;
    if (version === 4) {
      let byte = bytes[offset++] as number;
      let strip = byte & 0x7f;
      while (byte & 0x80) {
        byte = bytes[offset++] as number;
        strip = (strip + 1) * 128 + (byte & 0x7f);
      }
      const nul = bytes.indexOf(0, offset);
      if (nul < 0 || strip > previous.length) throw new UnsupportedIndexError("index entry malformed");
      path = previous.slice(0, previous.length - strip) + bytes.toString("latin1", offset, nul);
      offset = nul + 1;
    } else {
      const length = flags & 0xfff;
      const nul = length < 0xfff ? offset + length : bytes.indexOf(0, offset);
      if (nul < 0 || bytes[nul] !== 0) throw new UnsupportedIndexError("index entry malformed");
      path = bytes.toString("latin1", offset, nul);
      offset = start + ((nul - start + 8) & ~7);
    }
    entries.push({
      path,
      ctimeSeconds: word(0),
      ctimeNanoseconds: word(1),
      mtimeSeconds: word(2),
      mtimeNanoseconds: word(3),
      dev: word(4),
      ino: word(5),
      mode: word(6),
      uid: word(7),
      gid: word(8),
      size: word(9),
      oid: bytes.toString("hex", start + 40, start + 60),
      flags,
      extendedFlags,
    });
    previous = path;
  }
  const extensions: { signature: string; data: Buffer }[] = [];
  while (offset + 8 <= end) {
    const signature = bytes.toString("latin1", offset, offset + 4);
    const size = bytes.readUInt32BE(offset + 4);
    const data = bytes.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size;
    if (offset > end) throw new UnsupportedIndexError("index extension truncated");
    const first = signature.charCodeAt(0);
    const optional = first >= 0x41 && first <= 0x5a;
    if (!optional) throw new UnsupportedIndexError(`index extension "${signature}"`);
    if (KEPT.has(signature)) extensions.push({ signature, data });
  }
  return { version, entries, extensions };
}

/** Writes an index file: header, entries (sorted), kept extensions, checksum. */
export function serializeIndex(index: GitIndex): Buffer {
  const entries = [...index.entries].sort(compareEntries);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.write("DIRC", 0, "latin1");
  header.writeUInt32BE(index.version, 4);
  header.writeUInt32BE(entries.length, 8);
  parts.push(header);
  let previous = "";
  for (const entry of entries) {
    const name = Buffer.from(entry.path, "latin1");
    const extended = entry.extendedFlags !== 0;
    if (extended && index.version < 3) throw new UnsupportedIndexError("extended flags need version 3");
    const fixed = Buffer.alloc(extended ? 64 : 62);
    const words = [
      entry.ctimeSeconds,
      entry.ctimeNanoseconds,
      entry.mtimeSeconds,
      entry.mtimeNanoseconds,
      entry.dev,
      entry.ino,
      entry.mode,
      entry.uid,
      entry.gid,
      entry.size,
    ];
    for (const [at, value] of words.entries()) fixed.writeUInt32BE(value >>> 0, at * 4);
    fixed.write(entry.oid, 40, "hex");
    const flags = (entry.flags & 0xb000) | (extended ? EXTENDED : 0) | Math.min(name.length, 0xfff);
    fixed.writeUInt16BE(flags, 60);
    if (extended) fixed.writeUInt16BE(entry.extendedFlags, 62);
    parts.push(fixed);
    if (index.version === 4) {
      let common = 0;
      while (
        common < previous.length &&
        common < entry.path.length &&
        previous.charCodeAt(common) === entry.path.charCodeAt(common)
      ) {
        common++;
      }
      parts.push(
        encodeVarint(previous.length - common),
        Buffer.from(`${entry.path.slice(common)}\0`, "latin1"),
      );
      previous = entry.path;
    } else {
      const length = fixed.length + name.length;
      parts.push(name, Buffer.alloc(((length + 8) & ~7) - length));
    }
  }
  for (const extension of index.extensions) {
    const size = Buffer.alloc(8);
    size.write(extension.signature, 0, "latin1");
    size.writeUInt32BE(extension.data.length, 4);
    parts.push(size, extension.data);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash("sha1").update(body).digest()]);
}

function compareEntries(a: IndexEntry, b: IndexEntry): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return stageOf(a) - stageOf(b);
}

/** Git's offset varint (version 4 path prefixes). */
function encodeVarint(value: number): Buffer {
  const bytes = [value & 0x7f];
  let rest = Math.floor(value / 128);
  while (rest > 0) {
    rest -= 1;
    bytes.unshift(0x80 | (rest & 0x7f));
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}

/** An index entry at stage 0 for a file, from its stat (as lstat gave it) and its blob. */
export function entryFor(path: string, stats: BigIntStats, mode: number, oid: string): IndexEntry {
  const seconds = (nanoseconds: bigint) => Number((nanoseconds / 1_000_000_000n) & 0xffffffffn);
  const fraction = (nanoseconds: bigint) => Number(nanoseconds % 1_000_000_000n);
  return {
    path,
    ctimeSeconds: seconds(stats.ctimeNs),
    ctimeNanoseconds: fraction(stats.ctimeNs),
    mtimeSeconds: seconds(stats.mtimeNs),
    mtimeNanoseconds: fraction(stats.mtimeNs),
    dev: Number(stats.dev & 0xffffffffn),
    ino: Number(stats.ino & 0xffffffffn),
    mode,
    uid: Number(stats.uid & 0xffffffffn),
    gid: Number(stats.gid & 0xffffffffn),
    size: Number(stats.size & 0xffffffffn),
    oid,
    flags: 0,
    extendedFlags: 0,
  };
}

/** Whether an entry's stat data is the file's: then git takes the file as unchanged without reading it. */
export function statMatches(entry: IndexEntry, stats: BigIntStats): boolean {
  const now = entryFor(entry.path, stats, entry.mode, entry.oid);
  return (
    now.mtimeSeconds === entry.mtimeSeconds &&
    now.mtimeNanoseconds === entry.mtimeNanoseconds &&
    now.ctimeSeconds === entry.ctimeSeconds &&
    now.ctimeNanoseconds === entry.ctimeNanoseconds &&
    now.ino === entry.ino &&
    now.dev === entry.dev &&
    now.uid === entry.uid &&
    now.gid === entry.gid &&
    now.size === entry.size
  );
}

/**
 * The cache tree (`TREE` extension) with every directory on the way to `paths` marked invalid, as git does when
 * it changes those paths; the directories not on the way keep their tree ids.
 */
export function invalidateCacheTree(data: Buffer, paths: readonly string[]): Buffer {
  interface Node {
    name: string;
    entryCount: number;
    oid: Buffer | undefined;
    children: Node[];
  }
  let offset = 0;
  const readNode = (): Node => {
    const nul = data.indexOf(0, offset);
    const newline = data.indexOf(0x0a, nul);
    if (nul < 0 || newline < 0) throw new UnsupportedIndexError("cache tree malformed");
    const name = data.toString("latin1", offset, nul);
    const [entries, subtrees] = data.toString("latin1", nul + 1, newline).split(" ");
    const entryCount = Number(entries);
    const subtreeCount = Number(subtrees);
    if (!Number.isInteger(entryCount) || !Number.isInteger(subtreeCount) || subtreeCount < 0) {
      throw new UnsupportedIndexError("cache tree malformed");
    }
    offset = newline + 1;
    let oid: Buffer | undefined;
    if (entryCount >= 0) {
      oid = data.subarray(offset, offset + 20);
      offset += 20;
    }
    const children: Node[] = [];
    for (let index = 0; index < subtreeCount; index++) children.push(readNode());
    return { name, entryCount, oid, children };
  };
  const root = readNode();
  if (offset !== data.length) throw new UnsupportedIndexError("cache tree malformed");
  for (const path of paths) {
    let node: Node | undefined = root;
    const directories = path.split("/").slice(0, -1);
    node.entryCount = -1;
    node.oid = undefined;
    for (const directory of directories) {
      node = node.children.find((child) => child.name === directory);
      if (node === undefined) break;
      node.entryCount = -1;
      node.oid = undefined;
    }
  }
  const parts: Buffer[] = [];
  const writeNode = (node: Node) => {
    parts.push(Buffer.from(`${node.name}\0${node.entryCount} ${node.children.length}\n`, "latin1"));
    if (node.oid !== undefined) parts.push(node.oid);
    for (const child of node.children) writeNode(child);
  };
  writeNode(root);
  return Buffer.concat(parts);
}
