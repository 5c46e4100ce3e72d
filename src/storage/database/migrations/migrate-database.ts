import type { PreconditionError } from "../../../domain/errors.js";
import type { SqlDatabase, SqlExecutor, SqlSession } from "../sql-database.js";
import { type Bookkeeping, bookkeepingFor } from "./migration-bookkeeping.js";
import { type MigrationPlan, type MigrationTrack, migrationPlan } from "./migration-plan.js";
import type { MigrationDialect, MigrationStatement, MigrationStep } from "./migration-step.js";
import { type MigrationStatus, migrationStatusOn } from "./read-migration-status.js";
import { dirtySchemaError } from "./refuse-dirty.js";

/** One step applied. */
export interface AppliedStep {
  readonly track: MigrationTrack["name"];
  readonly version: number;
  readonly title: string;
  readonly ms: number;
}

/** What `migrateDatabase` did, and where the schema stands after it. */
export interface MigrationReport {
  readonly applied: readonly AppliedStep[];
  readonly status: MigrationStatus;
}

export interface MigrateOptions {
  /** Hears each step as it completes, for a CLI that reports progress. */
  readonly onStep?: ((step: AppliedStep) => void) | undefined;
  /** Stops after this Flipt version (tests build a database as an older Flipt left it); Pennant's track then waits. */
  readonly fliptTarget?: number | undefined;
}

/**
 * Applies every pending step, Flipt's track then Pennant's, under golang-migrate's lock and with its
 * bookkeeping: before a step the version row says `(N, dirty)`, after it `(N, clean)`. A step runs in one
 * transaction where the dialect allows (SQLite, PostgreSQL); MySQL commits each DDL statement, and CockroachDB
 * runs schema changes outside transactions, so there a failure leaves the version dirty. A dirty database is
 * refused with what to do: it is never "fixed" silently.
 */
export async function migrateDatabase(
  database: SqlDatabase,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const plan = migrationPlan(database.driver);
  const bookkeeping = bookkeepingFor(plan.dialect);
  return database.session(async (session) => {
    const unlock = await bookkeeping.lock(session, database.databaseName);
    try {
      const applied: AppliedStep[] = [];
      for (const track of plan.tracks) {
        if (track.name === "pennant" && options.fliptTarget !== undefined) break;
        const recorded = await bookkeeping.read(session, track.table);
        if (recorded?.dirty === true) throw dirty(track, recorded.version);
        await bookkeeping.ensure(session, track.table);
        const from = recorded?.version ?? -1;
        for (const step of track.steps) {
          if (step.version <= from) continue;
          if (
            track.name === "flipt" &&
            options.fliptTarget !== undefined &&
            step.version > options.fliptTarget
          ) {
            break;
          }
          const started = performance.now();
          await session.transaction((tx) => bookkeeping.write(tx, track.table, step.version, true));
          await runStep(plan.dialect, session, bookkeeping, track.table, step);
          const done = { track: track.name, version: step.version, title: step.title, ms: elapsed(started) };
          applied.push(done);
          options.onStep?.(done);
        }
      }
      return { applied, status: await migrationStatusOn(session, plan) };
    } finally {
      await unlock();
    }
  });
}

/** Runs one step and marks it clean, in one transaction where the dialect has transactional DDL. */
async function runStep(
  dialect: MigrationDialect,
  session: SqlSession,
  bookkeeping: Bookkeeping,
  table: string,
  step: MigrationStep,
): Promise<void> {
  switch (dialect) {
    case "sqlite3": {
      if (session.rebuild === undefined) throw new Error("an SQLite session rebuilds tables");
      const statements = step.statements.map((statement) => {
        if (typeof statement !== "string") throw new Error("SQLite steps are plain SQL");
        return statement;
      });
      // The bookkeeping rides in the step's transaction: the step and its clean mark commit together.
      await session.rebuild([
        ...statements,
        `DELETE FROM ${table}`,
        `INSERT INTO ${table} (version, dirty) VALUES (${step.version}, 0)`,
      ]);
      return;
    }
    case "postgres":
      await session.transaction(async (tx) => {
        for (const statement of step.statements) await run(tx, statement);
        await bookkeeping.write(tx, table, step.version, false);
      });
      return;
    case "mysql":
    case "cockroachdb":
      for (const statement of step.statements) await run(session, statement);
      await session.transaction((tx) => bookkeeping.write(tx, table, step.version, false));
      return;
  }
}

async function run(executor: SqlExecutor, statement: MigrationStatement): Promise<void> {
  if (typeof statement === "string") await executor.exec(statement);
  else await statement(executor);
}

function dirty(track: MigrationPlan["tracks"][number], version: number): PreconditionError {
  const step = track.steps.find((candidate) => candidate.version === version);
  return dirtySchemaError(track.table, step === undefined ? `${version}` : `${version} (${step.title})`);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
