import { createHash } from "node:crypto";

/**
 * Git's object encoding (SHA-1 repositories): an object is `<type> <size>\0<body>`, named by the SHA-1 of those
 * bytes. Names in trees and index entries are held as binary strings (one char per byte, `latin1`), so that a name
 * that is not UTF-8 is written back byte for byte.
 */

export type ObjectType = "blob" | "tree" | "commit" | "tag";

/** The header and body of an object, as its id is computed and as it is stored (deflated) in a loose file. */
export function encodeObject(type: ObjectType, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${type} ${body.length}\0`, "latin1"), body]);
}

/** The id (hex SHA-1) of an object. */
export function objectId(type: ObjectType, body: Uint8Array): string {
  return createHash("sha1").update(`${type} ${body.length}\0`, "latin1").update(body).digest("hex");
}

/** A path or name as git stores it: its UTF-8 bytes, one char per byte. */
export function toBinary(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** One entry of a tree object. `mode` is kept as written (`100644`, `40000`, ...), `name` as bytes. */
export interface TreeEntry {
  readonly mode: string;
  readonly name: string;
  readonly oid: string;
}

/** Whether a tree entry's mode is a directory (a tree). */
export function isTreeMode(mode: string): boolean {
  return (Number.parseInt(mode, 8) & 0o170000) === 0o040000;
}

/** Parses a tree object's body; throws on a malformed one. */
export function parseTree(body: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    const nul = body.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > body.length) throw new Error("malformed tree object");
    entries.push({
      mode: body.toString("latin1", offset, space),
      name: body.toString("latin1", space + 1, nul),
      oid: body.toString("hex", nul + 1, nul + 21),
    });
    offset = nul + 21;
  }
  return entries;
}

/** Git's order of tree entries: by name bytes, a directory's name compared as if it ended in `/`. */
function sortKey(entry: TreeEntry): string {
  return isTreeMode(entry.mode) ? `${entry.name}/` : entry.name;
}

/** A tree object's body for `entries`, in git's order. */
export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => {
    const left = sortKey(a);
    const right = sortKey(b);
    return left < right ? -1 : left > right ? 1 : 0;
  });
  return Buffer.concat(
    sorted.flatMap((entry) => [
      Buffer.from(`${entry.mode} ${entry.name}\0`, "latin1"),
      Buffer.from(entry.oid, "hex"),
    ]),
  );
}

/** The tree and parents of a commit object's body. */
export function parseCommit(body: Buffer): { tree: string; parents: string[] } {
  const headerEnd = body.indexOf("\n\n");
  const lines = body.toString("latin1", 0, headerEnd < 0 ? body.length : headerEnd).split("\n");
  const tree = /^tree ([0-9a-f]{40})$/.exec(lines[0] ?? "")?.[1];
  if (tree === undefined) throw new Error("malformed commit object");
  const parents = lines.flatMap((line) => /^parent ([0-9a-f]{40})$/.exec(line)?.[1] ?? []);
  return { tree, parents };
}

/** Who made a commit, and when: `Name <email> <seconds> <+hhmm>`. */
export interface Signature {
  readonly name: string;
  readonly email: string;
  /** Seconds since the epoch. */
  readonly seconds: number;
  /** The offset from UTC in minutes (east positive), as the local time zone has it. */
  readonly offsetMinutes: number;
}

/** A signature as git writes it in commits and reflogs. */
export function formatSignature(signature: Signature): string {
  const sign = signature.offsetMinutes < 0 ? "-" : "+";
  const minutes = Math.abs(signature.offsetMinutes);
  const zone = `${sign}${String(Math.floor(minutes / 60)).padStart(2, "0")}${String(minutes % 60).padStart(2, "0")}`;
  return `${signature.name} <${signature.email}> ${signature.seconds} ${zone}`;
}

/** A commit object's body. `message` must end with a newline (see `cleanMessage`). */
export function encodeCommit(commit: {
  readonly tree: string;
  readonly parents: readonly string[];
  readonly author: Signature;
  readonly committer: Signature;
  readonly message: string;
}): Buffer {
  const header = [
    `tree ${commit.tree}`,
    ...commit.parents.map((parent) => `parent ${parent}`),
    `author ${formatSignature(commit.author)}`,
    `committer ${formatSignature(commit.committer)}`,
  ].join("\n");
  return Buffer.from(`${header}\n\n${commit.message}`, "utf8");
}

/**
 * A commit message as `git commit --message` leaves it with the default cleanup (`whitespace`): trailing white space
 * (git's: space, tab, CR, LF) removed from every line, runs of empty lines made one, leading and trailing empty lines dropped, and a final
 * newline. "" when nothing is left (git refuses such a commit).
 */
export function cleanMessage(message: string): string {
  const kept: string[] = [];
  let empties = 0;
  for (const raw of message.split("\n")) {
    const line = raw.replace(/[ \t\n\r]+$/, "");
    if (line === "") {
      empties++;
      continue;
    }
    if (empties > 0 && kept.length > 0) kept.push("");
    empties = 0;
    kept.push(line);
  }
  return kept.length === 0 ? "" : `${kept.join("\n")}\n`;
}

/** The reflog message git writes for a commit: `commit: <subject>`, white space squeezed as git does. */
export function reflogMessage(cleanedMessage: string): string {
  const subject = cleanedMessage.split("\n")[0] ?? "";
  return `commit: ${subject}`.replace(/[ \t\n\r]+/g, " ").replace(/^ | $/g, "");
}
