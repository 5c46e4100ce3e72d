import { PreconditionError } from "../../../domain/errors.js";
import type { MigrationStatus, TrackStatus } from "./read-migration-status.js";

/**
 * The error for a schema a migration stopped part way through: it is never served, nor migrated further, until
 * someone repairs it. `step` names the stopped migration, with its title where known; `database` the redacted URL.
 */
export function dirtySchemaError(table: string, step: string, database?: string): PreconditionError {
  const where = database === undefined ? "the database" : `database ${database}`;
  return new PreconditionError(
    `${where} is dirty: migration ${step} of ${table} stopped part way. Restore the backup taken before ` +
      "migrating, or finish or undo that migration by hand and clear the flag " +
      `(\`UPDATE ${table} SET dirty = false\`), then run \`pennant migrate\` (see docs/database-storage.md)`,
  );
}

/** Throws `dirtySchemaError` when either track of `status` is dirty. */
export function refuseDirty(status: MigrationStatus, database: string): void {
  const track = [status.flipt, status.pennant].find((candidate) => candidate.dirty);
  if (track !== undefined) throw dirtySchemaError(track.table, `${track.current}`, database);
}

/** `Flipt schema at 10 of 16, Pennant schema at none of 2`. */
export function describeTracks(status: MigrationStatus): string {
  const describe = (name: string, track: TrackStatus) =>
    `${name} schema at ${track.current ?? "none"} of ${track.expected}`;
  return `${describe("Flipt", status.flipt)}, ${describe("Pennant", status.pennant)}`;
}
