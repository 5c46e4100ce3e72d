import type { Change } from "../format/apply-change.js";

/** A change, or "create this, and if it exists, update it" (for imports). */
export type ChangeRequest =
  | Change
  | { readonly kind: "put"; readonly create: Change; readonly update: Change };

/**
 * A write as one process hands it to another (a worker to the process that owns storage, `server.workers`):
 * changes to run as one write on the request's base revision, or `nothing`, a write taken through the storage's
 * checks and stopped before anything is written (a delete of what does not exist).
 */
export type ForwardedWrite =
  | { readonly kind: "changes"; readonly changes: readonly ChangeRequest[]; readonly baseRevision: string }
  | { readonly kind: "nothing"; readonly baseRevision: string };
