import { crc32Int, utf8Length } from "./crc32.js";

/**
 * Whom an evaluation is for: the entity id and the context, with what the engine works out about them once and
 * reuses across the flags evaluated for them (a batch's items for one entity in one context share one Subject):
 *
 * - `stamp` numbers the pair, and segments remember their answers under it (`EvalSegment.memo`), so a segment
 *   listed by several rules or flags is evaluated once; `NO_STAMP` remembers nothing (explanations, which trace
 *   every segment a rule lists);
 * - the entity id's CRC-32 and UTF-8 length, computed on first use, so that a bucket's checksum joins it with the
 *   flag key's (see `crc32ConcatInt`) instead of hashing both strings again.
 *
 * A Subject stands for the context's values as they are while it is used: evaluation is synchronous, and a caller
 * that lets a context change starts a new Subject (or renews its own).
 */
export interface Subject {
  entityId: string;
  context: Readonly<Record<string, string>>;
  stamp: number;
  /** Whether `entityCrc32` is computed (see `entityCrc32`). */
  hashed: boolean;
  /** crc32(entityId) as a signed 32-bit integer (`crc32Int`), once `hashed`. */
  entityCrc32: number;
  /** The entity id's length in UTF-8 bytes, or -1 until it is needed (see `entityBytes`). */
  entityBytes: number;
}

/** The stamp of an evaluation that remembers nothing; no memo ever holds it. */
export const NO_STAMP = -1;
/**
 * Stamps start at 1 (a fresh memo holds 0) and never repeat, so a memo never answers for another Subject: a double
 * counts exactly to 2^53, centuries of evaluations at millions a second.
 */
let lastStamp = 0;

/** A new number for an entity id and context (see `Subject.stamp`). */
export function newStamp(): number {
  lastStamp += 1;
  return lastStamp;
}

/** A Subject for `entityId` and `context`, with a new stamp unless `remember` is false. */
export function newSubject(
  entityId: string,
  context: Readonly<Record<string, string>>,
  remember = true,
): Subject {
  const stamp = remember ? newStamp() : NO_STAMP;
  return { entityId, context, stamp, hashed: false, entityCrc32: 0, entityBytes: -1 };
}

/** Points a Subject at another entity id and context, with a new stamp, so that a caller can reuse it. */
export function renewSubject(
  subject: Subject,
  entityId: string,
  context: Readonly<Record<string, string>>,
): void {
  subject.entityId = entityId;
  subject.context = context;
  subject.stamp = newStamp();
  subject.hashed = false;
  subject.entityBytes = -1;
}

/** crc32(entityId) as a signed 32-bit integer (`crc32Int`), computed once per Subject. */
export function entityCrc32(subject: Subject): number {
  if (!subject.hashed) {
    subject.entityCrc32 = crc32Int(subject.entityId, 0);
    subject.hashed = true;
  }
  return subject.entityCrc32;
}

/** The entity id's length in UTF-8 bytes, computed once per Subject. */
export function entityBytes(subject: Subject): number {
  if (subject.entityBytes < 0) subject.entityBytes = utf8Length(subject.entityId);
  return subject.entityBytes;
}
