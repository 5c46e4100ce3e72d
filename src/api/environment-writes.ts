import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.js";
import type { Snapshot } from "../domain/snapshot.js";
import { type Change, validateChange } from "../format/apply-change.js";
import { quoteValue } from "../format/quote-value.js";
import { FlagSchema, SegmentSchema } from "../gen/flipt/core/core_pb.js";
import type { Environment } from "../storage/environment.js";
import { writeChanges, writeNothing } from "../storage/write-changes.js";
import { fromCoreFlag, fromCoreSegment } from "./convert-core.js";

/**
 * Runs one management-API change as one write (one commit) on the environment's storage. The change is checked on
 * its own first (keys, names), so a bad one is refused with a bounded message before any storage is touched.
 */
export function writeChange(environment: Environment, change: Change, baseRevision: string): Promise<string> {
  validateChange(change);
  return writeChanges(environment, [change], baseRevision);
}

type DeleteChange = Extract<Change, { kind: "delete-namespace" | "delete-flag" | "delete-segment" }>;

/**
 * Runs a delete. Deleting a namespace, flag or segment that does not exist succeeds in Flipt (api.md §3.4), which
 * commits an identical tree; here it succeeds without a commit, so no file that does not exist is handed to git
 * and no empty commit is made. It still goes through the storage's write path up to the point where files would
 * be written, so it is refused where any write is (read-only storage, a remote that follows tags), and the
 * request's revision is checked against the storage's current head as for any write (Aborted when stale); the
 * answer is that head. "Does not exist" is read from the served state, re-read once from storage before
 * answering, so a thing added to the files a moment ago is still deleted.
 */
export async function deleteChange(
  environment: Environment,
  change: DeleteChange,
  baseRevision: string,
): Promise<string> {
  validateChange(change);
  if (!holds(environment.snapshot, change)) {
    await environment.reload();
    if (!holds(environment.snapshot, change)) return writeNothing(environment, baseRevision);
  }
  return writeChanges(environment, [change], baseRevision);
}

/** Whether the snapshot holds what a delete names. */
function holds(snapshot: Snapshot, change: DeleteChange): boolean {
  if (change.kind === "delete-namespace") return snapshot.namespaces.has(change.key);
  const namespace = snapshot.namespaces.get(change.namespaceKey);
  if (namespace === undefined) return false;
  return (change.kind === "delete-flag" ? namespace.flags : namespace.segments).has(change.key);
}

/** The resource types writes accept, from the payload's type URL (a `type.googleapis.com/` prefix is allowed). */
export function resourceTypeOf(payload: Any | undefined): "flipt.core.Flag" | "flipt.core.Segment" {
  if (payload === undefined) throw new ValidationError("invalid field payload: must not be empty");
  const name = payload.typeUrl.replace(/^type\.googleapis\.com\//, "");
  if (name === "flipt.core.Flag" || name === "flipt.core.Segment") return name;
  throw new NotFoundError(`resource type ${quoteValue(name)} not found`);
}

/** The change a Create or Update of a resource makes. */
export function resourceChange(
  verb: "create" | "update",
  namespaceKey: string,
  key: string,
  payload: Any | undefined,
): Change {
  requireKey(key);
  requireKey(namespaceKey, "namespace_key");
  const type = resourceTypeOf(payload);
  const bytes = (payload as Any).value;
  return type === "flipt.core.Flag"
    ? { kind: `${verb}-flag`, namespaceKey, flag: fromCoreFlag(decodePayload(FlagSchema, bytes), key) }
    : {
        kind: `${verb}-segment`,
        namespaceKey,
        segment: fromCoreSegment(decodePayload(SegmentSchema, bytes), key),
      };
}

/** The payload's message; bytes that do not decode as it (or nest too deeply) are InvalidArgument. */
function decodePayload<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  try {
    return fromBinary(schema, bytes);
  } catch (reason) {
    const detail = reason instanceof Error ? reason.message : String(reason);
    throw new ValidationError(`invalid field payload: not a valid ${schema.typeName}: ${detail}`);
  }
}

/** Flipt prefixes a resource write's revision conflict with the resource type. */
export async function withResourceType<T>(type: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new ConflictError(`resource type ${quoteValue(type)}: ${error.message}`);
    }
    throw error;
  }
}

export function requireKey(key: string, field = "key"): void {
  if (key === "")
    throw new ValidationError(field === "key" ? "key must not be empty" : `${field} must not be empty`);
}
