import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.js";
import type { Change } from "../format/apply-change.js";
import { FlagSchema, SegmentSchema } from "../gen/flipt/core/core_pb.js";
import type { Environment } from "../storage/environment.js";
import { writeChanges } from "../storage/write-changes.js";
import { fromCoreFlag, fromCoreSegment } from "./convert-core.js";

/** Runs one management-API change as one write (one commit) on the environment's storage. */
export function writeChange(environment: Environment, change: Change, baseRevision: string): Promise<string> {
  return writeChanges(environment, [change], baseRevision);
}

/** The resource types writes accept, from the payload's type URL (a `type.googleapis.com/` prefix is allowed). */
export function resourceTypeOf(payload: Any | undefined): "flipt.core.Flag" | "flipt.core.Segment" {
  if (payload === undefined) throw new ValidationError("invalid field payload: must not be empty");
  const name = payload.typeUrl.replace(/^type\.googleapis\.com\//, "");
  if (name === "flipt.core.Flag" || name === "flipt.core.Segment") return name;
  throw new NotFoundError(`resource type "${name}" not found`);
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
    if (error instanceof ConflictError) throw new ConflictError(`resource type "${type}": ${error.message}`);
    throw error;
  }
}

export function requireKey(key: string, field = "key"): void {
  if (key === "")
    throw new ValidationError(field === "key" ? "key must not be empty" : `${field} must not be empty`);
}
