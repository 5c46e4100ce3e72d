import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { encodeObject, type ObjectType, objectId } from "./git-objects.js";

/** An object read from a repository. */
export interface StoredObject {
  readonly type: ObjectType;
  readonly body: Buffer;
}

/** How much of the objects read are kept in memory, per repository (they never change: ids are content). */
export const OBJECT_CACHE_BYTES = 8 * 1024 * 1024;

/** How deep a chain of deltas in a pack may go before it is taken as corrupt (git itself writes at most 50). */
const MAX_DELTA_DEPTH = 10_000;

const TYPES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const OFS_DELTA = 6;
const REF_DELTA = 7;

/** A pack's index, as far as lookups need it. */
interface PackIndex {
  readonly pack: string;
  readonly key: string;
  readonly count: number;
  readonly fanout: Uint32Array;
  readonly names: Buffer;
  readonly offsets: readonly number[];
  /** Every object's offset, ascending, then the end of the last object: where each object's bytes end. */
  readonly bounds: Float64Array;
}

/** Reads the objects of one repository's object directory; see `createObjectReader`. */
export interface ObjectReader {
  /** The object, or undefined when this directory does not hold it (loose or packed). */
  read(oid: string): StoredObject | undefined;
  /** Keeps an object just written, so the next write on top of it reads nothing. */
  remember(oid: string, object: StoredObject): void;
}

/**
 * Reads objects of one repository's object directory: loose ones, and those in packs (`.idx` version 2; deltas
 * resolved), keeping recently read ones in memory (up to `OBJECT_CACHE_BYTES`; ids are content, so they never go
 * stale). Objects it cannot find (an alternate's, a promisor's) read as undefined: the caller then lets git do the
 * work. Reads are synchronous: a few small files, read in less time than the thread pool round trips of
 * asynchronous reads would take.
 */
export function createObjectReader(objectsDirectory: string): ObjectReader {
  const cache = new Map<string, StoredObject>();
  let cached = 0;
  let packs: PackIndex[] = [];

  const remember = (oid: string, object: StoredObject) => {
    if (cache.has(oid)) return;
    cache.set(oid, object);
    cached += object.body.length;
    for (const [key, value] of cache) {
      if (cached <= OBJECT_CACHE_BYTES) break;
      cache.delete(key);
      cached -= value.body.length;
    }
  };

  const readLoose = (oid: string): StoredObject | undefined => {
    let deflated: Buffer;
    try {
      deflated = readFileSync(join(objectsDirectory, oid.slice(0, 2), oid.slice(2)));
    } catch {
      return undefined;
    }
    const raw = inflateSync(deflated);
    const nul = raw.indexOf(0);
    const [type, size] = raw.toString("latin1", 0, nul).split(" ");
    const body = raw.subarray(nul + 1);
    if (!isType(type) || Number(size) !== body.length || objectId(type, body) !== oid) {
      throw new Error(`loose object ${oid} is corrupt`);
    }
    return { type, body };
  };

  /** (Re)reads the list of packs, keeping the indexes already loaded. */
  const loadPacks = () => {
    const directory = join(objectsDirectory, "pack");
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      names = [];
    }
    const loaded: PackIndex[] = [];
    for (const name of names.filter((candidate) => candidate.endsWith(".idx")).sort()) {
      const idx = join(directory, name);
      const pack = `${idx.slice(0, -4)}.pack`;
      const info = statSync(idx, { throwIfNoEntry: false });
      const packInfo = statSync(pack, { throwIfNoEntry: false });
      if (info === undefined || packInfo === undefined) continue;
      const key = `${info.size}:${info.mtimeMs}:${packInfo.size}`;
      const known = packs.find((candidate) => candidate.pack === pack && candidate.key === key);
      loaded.push(known ?? parsePackIndex(readFileSync(idx), pack, key, packInfo.size));
    }
    packs = loaded;
  };

  const readAt = (pack: PackIndex, offset: number, depth: number): StoredObject => {
    if (depth > MAX_DELTA_DEPTH) throw new Error(`delta chain too deep in ${pack.pack}`);
    const end = nextBound(pack, offset);
    const descriptor = openSync(pack.pack, "r");
    const bytes = Buffer.alloc(end - offset);
    try {
      if (readSync(descriptor, bytes, 0, bytes.length, offset) !== bytes.length) {
        throw new Error(`${pack.pack} is truncated`);
      }
    } finally {
      closeSync(descriptor);
    }
    let position = 0;
    let byte = bytes[position++] as number;
    const kind = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 4;
    while (byte & 0x80) {
      byte = bytes[position++] as number;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let base: StoredObject | undefined;
    if (kind === OFS_DELTA) {
      byte = bytes[position++] as number;
      let distance = byte & 0x7f;
      while (byte & 0x80) {
        byte = bytes[position++] as number;
        distance = (distance + 1) * 128 + (byte & 0x7f);
      }
      base = readAt(pack, offset - distance, depth + 1);
    } else if (kind === REF_DELTA) {
      const baseId = bytes.toString("hex", position, position + 20);
      position += 20;
      base = read(baseId);
      if (base === undefined) throw new Error(`delta base ${baseId} is missing`);
    }
    const data = inflateSync(bytes.subarray(position));
    if (data.length !== size) throw new Error(`object at ${offset} in ${pack.pack} is corrupt`);
    if (base === undefined) {
      const type = TYPES[kind];
      if (type === undefined) throw new Error(`unknown object type ${kind} in ${pack.pack}`);
      return { type, body: data };
    }
    return { type: base.type, body: applyDelta(base.body, data) };
  };

  const readPacked = (oid: string): StoredObject | undefined => {
    for (const refreshed of [false, true]) {
      if (refreshed) loadPacks();
      for (const pack of packs) {
        const offset = lookup(pack, oid);
        if (offset === undefined) continue;
        const object = readAt(pack, offset, 0);
        if (objectId(object.type, object.body) !== oid) throw new Error(`packed object ${oid} is corrupt`);
        return object;
      }
    }
    return undefined;
  };

  const read = (oid: string): StoredObject | undefined => {
    const hit = cache.get(oid);
    if (hit !== undefined) {
      // Most recently used last.
      cache.delete(oid);
      cache.set(oid, hit);
      return hit;
    }
    const found = readLoose(oid) ?? readPacked(oid);
    if (found !== undefined) remember(oid, found);
    return found;
  };

  return { read, remember };
}

function isType(type: string | undefined): type is ObjectType {
  return type === "blob" || type === "tree" || type === "commit" || type === "tag";
}

function parsePackIndex(idx: Buffer, pack: string, key: string, packSize: number): PackIndex {
  if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) {
    throw new Error(`${pack}: only pack index version 2 is read`);
  }
  const fanout = new Uint32Array(256);
  for (let index = 0; index < 256; index++) fanout[index] = idx.readUInt32BE(8 + index * 4);
  const count = fanout[255] as number;
  const namesAt = 8 + 256 * 4;
  const offsetsAt = namesAt + count * 20 + count * 4;
  const largeAt = offsetsAt + count * 4;
  const offsets: number[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const small = idx.readUInt32BE(offsetsAt + index * 4);
    offsets[index] =
      small & 0x80000000 ? Number(idx.readBigUInt64BE(largeAt + (small & 0x7fffffff) * 8)) : small;
  }
  const bounds = new Float64Array(count + 1);
  bounds.set(offsets);
  bounds[count] = packSize - 20;
  bounds.sort();
  return { pack, key, count, fanout, names: idx.subarray(namesAt, namesAt + count * 20), offsets, bounds };
}

function lookup(pack: PackIndex, oid: string): number | undefined {
  const wanted = Buffer.from(oid, "hex");
  const first = wanted[0] as number;
  let low = first === 0 ? 0 : (pack.fanout[first - 1] as number);
  let high = pack.fanout[first] as number;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = pack.names.compare(wanted, 0, 20, middle * 20, middle * 20 + 20);
    if (order === 0) return pack.offsets[middle];
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return undefined;
}

/** Where the object at `offset` ends: the next object's offset, or the pack's checksum. */
function nextBound(pack: PackIndex, offset: number): number {
  let low = 0;
  let high = pack.bounds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((pack.bounds[middle] as number) <= offset) low = middle + 1;
    else high = middle;
  }
  const end = pack.bounds[low];
  if (end === undefined) throw new Error(`offset ${offset} is past the end of ${pack.pack}`);
  return end;
}

/** Applies a pack delta (copy and insert instructions) to its base. */
function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let position = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[position++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  if (varint() !== base.length) throw new Error("delta does not apply to its base");
  const result = Buffer.alloc(varint());
  let written = 0;
  while (position < delta.length) {
    const op = delta[position++] as number;
    if (op & 0x80) {
      let from = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++) {
        if (op & (1 << bit)) from += (delta[position++] as number) * 2 ** (8 * bit);
      }
      for (let bit = 0; bit < 3; bit++) {
        if (op & (0x10 << bit)) size += (delta[position++] as number) * 2 ** (8 * bit);
      }
      if (size === 0) size = 0x10000;
      if (from + size > base.length || written + size > result.length) throw new Error("corrupt delta");
      base.copy(result, written, from, from + size);
      written += size;
    } else if (op !== 0) {
      if (written + op > result.length || position + op > delta.length) throw new Error("corrupt delta");
      delta.copy(result, written, position, position + op);
      written += op;
      position += op;
    } else {
      throw new Error("corrupt delta");
    }
  }
  if (written !== result.length) throw new Error("corrupt delta");
  return result;
}

/**
 * Writes a loose object as git does: deflated, to a temporary file in its fan-out directory, renamed into place
 * (so it appears whole or not at all), read-only. An object that is already loose is only touched, as git freshens
 * it, so that a gc does not prune it as old. Returns its id. Nothing is synced to disk: git does not sync loose
 * objects either unless `core.fsync` asks (and then Pennant lets git write). Synchronous, as the reads are.
 */
export function writeLooseObject(
  objectsDirectory: string,
  type: ObjectType,
  body: Buffer,
  level: number,
): string {
  const oid = objectId(type, body);
  const directory = join(objectsDirectory, oid.slice(0, 2));
  const path = join(directory, oid.slice(2));
  if (existsSync(path)) {
    const now = new Date();
    try {
      utimesSync(path, now, now);
      return oid;
    } catch {
      // not ours to touch: write it again below
    }
  }
  const temporary = join(directory, `tmp_obj_${randomBytes(6).toString("hex")}`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  let descriptor: number;
  try {
    descriptor = openSync(temporary, flags, 0o444);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(directory, { recursive: true });
    descriptor = openSync(temporary, flags, 0o444);
  }
  try {
    try {
      writeFileSync(descriptor, deflateSync(encodeObject(type, body), { level }));
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return oid;
}
