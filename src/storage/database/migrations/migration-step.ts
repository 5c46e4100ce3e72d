import type { SqlExecutor } from "../sql-database.js";

/** Flipt's migration directories (libSQL uses `sqlite3`), which fix the numbering of the steps. */
export type MigrationDialect = "sqlite3" | "postgres" | "mysql" | "cockroachdb";

/**
 * A statement of a step: SQL text, or a function for what plain SQL cannot say portably (finding a constraint
 * by its columns in the catalog before dropping it, whatever name an older server gave it).
 */
export type MigrationStatement = string | ((executor: SqlExecutor) => Promise<void>);

/**
 * One numbered migration. The numbers and what each one changes are Flipt v1's (spec v1-backends §2.3), so a
 * database Flipt left at any version continues from there; the SQL is Pennant's own.
 */
export interface MigrationStep {
  readonly version: number;
  /** Flipt's file title, such as `namespaces_relationships`. */
  readonly title: string;
  readonly statements: readonly MigrationStatement[];
}

/** Builds a track's steps from titles and statements, numbered from 0 in order. */
export function numberSteps(
  steps: readonly (readonly [string, readonly MigrationStatement[]])[],
  first = 0,
): MigrationStep[] {
  return steps.map(([title, statements], index) => ({ version: first + index, title, statements }));
}
