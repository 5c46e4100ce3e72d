import type { MigrationDialect, MigrationStep } from "./migration-step.js";

/**
 * Pennant's own schema, beside Flipt's and tracked apart (`pennant_schema_migrations`), so Flipt v1 still opens
 * the database: nothing of Flipt's is altered. `pennant_state` holds one row whose `change_counter` moves on
 * every change to flag state, whoever makes it (Pennant, Flipt v1 running beside it, a SQL UPDATE by hand),
 * kept by triggers on every flag-state table. Replicas poll that one row, and read the flag state again only
 * when it moved; on PostgreSQL the trigger also NOTIFYs them.
 */

/** The PostgreSQL channel the change trigger notifies, with the new counter as the payload. */
export const PENNANT_CHANGE_CHANNEL = "pennant_state_changed";

/** Every table that holds flag state: a change to any of them is a change to what is served. */
const FLAG_STATE_TABLES = [
  "namespaces",
  "flags",
  "variants",
  "segments",
  "constraints",
  "rules",
  "rule_segments",
  "distributions",
  "rollouts",
  "rollout_thresholds",
  "rollout_segments",
  "rollout_segment_references",
] as const;

const EVENTS = ["insert", "update", "delete"] as const;

const COUNT = "UPDATE pennant_state SET change_counter = change_counter + 1 WHERE id = 1";

/** SQLite and MySQL: a row trigger per table and event (neither has statement triggers). */
function rowTriggers(body: (table: string, event: string) => string): string[] {
  return FLAG_STATE_TABLES.flatMap((table) => EVENTS.map((event) => body(table, event)));
}

/**
 * PostgreSQL: one statement-level trigger per table (a statement touching 10 000 rows counts once), TRUNCATE
 * included, which notifies listening replicas when the change commits.
 */
const POSTGRES: readonly string[] = [
  "CREATE TABLE pennant_state (id INTEGER PRIMARY KEY, change_counter BIGINT NOT NULL DEFAULT 0)",
  "INSERT INTO pennant_state (id, change_counter) VALUES (1, 0)",
  `CREATE FUNCTION pennant_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  counter BIGINT;
BEGIN
  ${COUNT} RETURNING change_counter INTO counter;
  PERFORM pg_notify('${PENNANT_CHANGE_CHANNEL}', counter::text);
  RETURN NULL;
END
$$`,
  ...FLAG_STATE_TABLES.map(
    (table) => `CREATE TRIGGER pennant_count_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION pennant_count_change()`,
  ),
];

/**
 * CockroachDB has no LISTEN/NOTIFY and, since 24.3, only row-level triggers: the counter without the
 * notification, so replicas find changes by polling. Written to run on PostgreSQL too, where it is tested
 * (under a `cockroachdb://` URL); it has not run on CockroachDB itself, which does not run on the test machines.
 */
const COCKROACH: readonly string[] = [
  "CREATE TABLE pennant_state (id INTEGER PRIMARY KEY, change_counter BIGINT NOT NULL DEFAULT 0)",
  "INSERT INTO pennant_state (id, change_counter) VALUES (1, 0)",
  `CREATE FUNCTION pennant_count_change() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  ${COUNT};
  RETURN NULL;
END
$$`,
  ...FLAG_STATE_TABLES.map(
    (table) => `CREATE TRIGGER pennant_count_change AFTER INSERT OR UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION pennant_count_change()`,
  ),
];

const SQLITE: readonly string[] = [
  "CREATE TABLE pennant_state (id INTEGER PRIMARY KEY NOT NULL, change_counter INTEGER NOT NULL DEFAULT 0)",
  "INSERT INTO pennant_state (id, change_counter) VALUES (1, 0)",
  ...rowTriggers(
    (table, event) =>
      `CREATE TRIGGER pennant_count_${table}_${event} AFTER ${event.toUpperCase()} ON ${table}
BEGIN
  ${COUNT};
END`,
  ),
];

const MYSQL: readonly string[] = [
  "CREATE TABLE pennant_state (id INTEGER NOT NULL PRIMARY KEY, change_counter BIGINT NOT NULL DEFAULT 0)",
  "INSERT INTO pennant_state (id, change_counter) VALUES (1, 0)",
  ...rowTriggers(
    (table, event) =>
      `CREATE TRIGGER pennant_count_${table}_${event} AFTER ${event.toUpperCase()} ON ${table}
  FOR EACH ROW ${COUNT}`,
  ),
];

const BY_DIALECT: Readonly<Record<MigrationDialect, readonly string[]>> = {
  sqlite3: SQLITE,
  postgres: POSTGRES,
  cockroachdb: COCKROACH,
  mysql: MYSQL,
};

/** Pennant's steps for a dialect, numbered from 1 (0 would read as "nothing applied" to a casual look). */
export function pennantSteps(dialect: MigrationDialect): readonly MigrationStep[] {
  return [{ version: 1, title: "change_counter", statements: BY_DIALECT[dialect] }];
}
