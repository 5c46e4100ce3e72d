import type { DatabaseDriver } from "../parse-database-url.js";
import { FLIPT_COCKROACH_STEPS } from "./flipt-cockroach-steps.js";
import { FLIPT_MYSQL_STEPS } from "./flipt-mysql-steps.js";
import { FLIPT_POSTGRES_STEPS } from "./flipt-postgres-steps.js";
import { FLIPT_SQLITE_STEPS } from "./flipt-sqlite-steps.js";
import type { MigrationDialect, MigrationStep } from "./migration-step.js";
import { pennantSteps } from "./pennant-steps.js";

/** One sequence of steps with its own version table: Flipt's schema, or Pennant's beside it. */
export interface MigrationTrack {
  readonly name: "flipt" | "pennant";
  readonly table: string;
  readonly steps: readonly MigrationStep[];
}

/** What a database of a driver is migrated with: Flipt's track first, then Pennant's, which builds on it. */
export interface MigrationPlan {
  readonly dialect: MigrationDialect;
  readonly tracks: readonly [MigrationTrack, MigrationTrack];
}

const DIALECTS: Readonly<Record<DatabaseDriver, MigrationDialect>> = {
  sqlite: "sqlite3",
  libsql: "sqlite3",
  postgres: "postgres",
  cockroachdb: "cockroachdb",
  mysql: "mysql",
};

const FLIPT_STEPS: Readonly<Record<MigrationDialect, readonly MigrationStep[]>> = {
  sqlite3: FLIPT_SQLITE_STEPS,
  postgres: FLIPT_POSTGRES_STEPS,
  mysql: FLIPT_MYSQL_STEPS,
  cockroachdb: FLIPT_COCKROACH_STEPS,
};

/** The migration plan of `driver`. */
export function migrationPlan(driver: DatabaseDriver): MigrationPlan {
  const dialect = DIALECTS[driver];
  return {
    dialect,
    tracks: [
      { name: "flipt", table: "schema_migrations", steps: FLIPT_STEPS[dialect] },
      { name: "pennant", table: "pennant_schema_migrations", steps: pennantSteps(dialect) },
    ],
  };
}
