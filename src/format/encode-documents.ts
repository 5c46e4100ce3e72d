import { Buffer } from "node:buffer";
import type { Flag, Segment } from "../domain/flag-state.js";
import type { FeaturesDocument } from "./features-document.js";

/**
 * Each flag's and segment's JSON, and each list of documents', by object: documents are immutable, so an item is
 * encoded once however often its file is, and a file once however many times it is asked for (by the write that
 * made it, then by the build that checks it).
 */
const encodedItems = new WeakMap<Flag | Segment, Uint8Array>();
const encodedFiles = new WeakMap<readonly FeaturesDocument[], Uint8Array>();

/** UTF-8, in Node's pooled buffers: thousands of small items do not each take an allocation of their own. */
const bytesOf = (text: string): Uint8Array => Buffer.from(text, "utf8");
const OPEN = bytesOf("[");
const COMMA = bytesOf(",");
const SEGMENTS = bytesOf('],"segments":[');
const CLOSE_DOCUMENT = bytesOf("]}");
const CLOSE = bytesOf("]");

/**
 * The canonical encoding of a file's documents, for storages that hold documents rather than text (a database):
 * the UTF-8 of compact JSON holding everything a document says (version, namespace, flags, segments; not the lines,
 * which documents built in code do not have). It is never parsed back. Content hashes, namespace digests and size
 * limits are computed from it, so equal documents built the same way (two replicas reading the same rows) give the
 * same bytes. Each flag and segment object is encoded once and its bytes kept while it lives, so encoding a file
 * again after a write that changed one flag costs a copy of the bytes, not a JSON encoding of every flag.
 */
export function encodeDocuments(documents: readonly FeaturesDocument[]): Uint8Array {
  let bytes = encodedFiles.get(documents);
  if (bytes !== undefined) return bytes;
  const parts: Uint8Array[] = [OPEN];
  documents.forEach((document, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(bytesOf(headOf(document)));
    pushItems(parts, document.flags);
    parts.push(SEGMENTS);
    pushItems(parts, document.segments);
    parts.push(CLOSE_DOCUMENT);
  });
  parts.push(CLOSE);
  bytes = Buffer.concat(parts);
  encodedFiles.set(documents, bytes);
  return bytes;
}

/**
 * Whether two lists of documents have the same canonical encoding, item by item: the same flag or segment object
 * at once, another one by its bytes. Costs O(items) lookups and the encoding of the items that are not the same.
 */
export function encodeEqually(a: readonly FeaturesDocument[], b: readonly FeaturesDocument[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((document, index) => {
    const other = b[index] as FeaturesDocument;
    return (
      headOf(document) === headOf(other) &&
      sameItems(document.flags, other.flags) &&
      sameItems(document.segments, other.segments)
    );
  });
}

/** A document's JSON up to its flags. */
function headOf(document: FeaturesDocument): string {
  const head = JSON.stringify({
    version: document.version,
    versionDeclared: document.versionDeclared !== false,
    namespace: document.namespace,
    namespaceForm: document.namespaceForm,
  });
  return `${head.slice(0, -1)},"flags":[`;
}

function sameItems(a: readonly (Flag | Segment)[], b: readonly (Flag | Segment)[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((item, index) => {
    const other = b[index] as Flag | Segment;
    return item === other || Buffer.compare(encodeItem(item), encodeItem(other)) === 0;
  });
}

function encodeItem(item: Flag | Segment): Uint8Array {
  let encoded = encodedItems.get(item);
  if (encoded === undefined) {
    encoded = bytesOf(JSON.stringify(item));
    encodedItems.set(item, encoded);
  }
  return encoded;
}

function pushItems(parts: Uint8Array[], items: readonly (Flag | Segment)[]): void {
  items.forEach((item, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(encodeItem(item));
  });
}
