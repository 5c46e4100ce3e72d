import type { SqlDatabase, SqlExecutor } from "../sql-database.js";
import { bookkeepingFor } from "./migration-bookkeeping.js";
import { type MigrationPlan, type MigrationTrack, migrationPlan } from "./migration-plan.js";
import type { MigrationDialect } from "./migration-step.js";

/** Where one track stands. */
export interface TrackStatus {
  readonly track: MigrationTrack["name"];
  /** The version table, `schema_migrations` (Flipt's) or `pennant_schema_migrations`. */
  readonly table: string;
  /** The recorded version; undefined for a database this track never ran on. */
  readonly current: number | undefined;
  /** A step stopped part way: nothing runs until someone repairs the database and clears the flag. */
  readonly dirty: boolean;
  /** The last step this Pennant knows. */
  readonly expected: number;
  /** The steps after `current`, in order. */
  readonly pending: readonly { readonly version: number; readonly title: string }[];
}

/** Where a database's schema stands, both tracks. */
export interface MigrationStatus {
  readonly dialect: MigrationDialect;
  readonly flipt: TrackStatus;
  readonly pennant: TrackStatus;
  /** Nothing pending and nothing dirty: the database can be served. */
  readonly upToDate: boolean;
  /** Nothing of Flipt's schema yet: a first start migrates without asking, as Flipt v1 does. */
  readonly empty: boolean;
}

/** Reads both tracks' versions without changing anything. */
export async function readMigrationStatus(database: SqlDatabase): Promise<MigrationStatus> {
  return migrationStatusOn(database, migrationPlan(database.driver));
}

/** The status as seen on `executor` (the migration session, while it holds the lock). */
export async function migrationStatusOn(
  executor: SqlExecutor,
  plan: MigrationPlan,
): Promise<MigrationStatus> {
  const bookkeeping = bookkeepingFor(plan.dialect);
  const [flipt, pennant] = await Promise.all(
    plan.tracks.map(async (track): Promise<TrackStatus> => {
      const recorded = await bookkeeping.read(executor, track.table);
      const current = recorded?.version;
      const last = track.steps[track.steps.length - 1];
      return {
        track: track.name,
        table: track.table,
        current,
        dirty: recorded?.dirty ?? false,
        expected: last?.version ?? -1,
        pending: track.steps
          .filter((step) => current === undefined || step.version > current)
          .map(({ version, title }) => ({ version, title })),
      };
    }),
  );
  if (flipt === undefined || pennant === undefined) throw new Error("a migration plan has two tracks");
  return {
    dialect: plan.dialect,
    flipt,
    pennant,
    upToDate: !flipt.dirty && !pennant.dirty && flipt.pending.length === 0 && pennant.pending.length === 0,
    empty: flipt.current === undefined,
  };
}
