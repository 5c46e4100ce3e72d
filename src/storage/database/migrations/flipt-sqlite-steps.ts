import { type MigrationStatement, type MigrationStep, numberSteps } from "./migration-step.js";
import { POSTGRES_CHANGES as change } from "./postgres-schema-changes.js";

/**
 * Flipt v1's SQLite schema history, steps 0–15 (`config/migrations/sqlite3`), also used for libSQL. Each step
 * changes what Flipt's step of the same number changes; the final schema is spec v1-backends §2.4.
 *
 * SQLite cannot drop a constraint or change a key in place, so several steps rebuild a table: create the new
 * shape under a temporary name, copy the rows, drop the old table, rename. The runner does that with foreign
 * keys off (and checks them before committing): dropping a parent table with enforcement on would cascade-delete
 * its children's rows.
 */

const STAMPS = `created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL`;
const NAMESPACE = `namespace_key VARCHAR(255) NOT NULL DEFAULT 'default' REFERENCES namespaces ON DELETE CASCADE`;

/** Statements both dialects run as they are; SQLite's runner takes plain SQL only. */
function sql(statements: readonly MigrationStatement[]): string[] {
  return statements.map((statement) => {
    if (typeof statement !== "string") throw new Error("an SQLite step is plain SQL");
    return statement;
  });
}

/** Replaces `table` with `definition` (the body of a CREATE TABLE), copying `columns` across. */
function rebuild(table: string, definition: string, columns: string, from = columns): string[] {
  const temporary = `${table}_rebuilt`;
  return [
    `CREATE TABLE ${temporary} (\n  ${definition}\n)`,
    `INSERT INTO ${temporary} (${columns}) SELECT ${from} FROM ${table}`,
    `DROP TABLE ${table}`,
    `ALTER TABLE ${temporary} RENAME TO ${table}`,
  ];
}

export const FLIPT_SQLITE_STEPS: readonly MigrationStep[] = numberSteps([
  ["initial", sql(change.initialTables("unique-key"))],
  [
    "variants_unique_per_flag",
    rebuild(
      "variants",
      `id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL REFERENCES flags ON DELETE CASCADE,
  key VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  ${STAMPS},
  UNIQUE (flag_key, key)`,
      "id, flag_key, key, name, description, created_at, updated_at",
    ),
  ],
  ["segments_match_type", sql(change.segmentsMatchType)],
  ["variants_attachment", ["ALTER TABLE variants ADD COLUMN attachment TEXT"]],
  ["create_table_authentications", sql(change.authentications)],
  ["create_table_operation_lock", sql(change.operationLock)],
  ["create_namespaces", sql(change.namespaces)],
  [
    "namespaces_relationships",
    [
      // Existing rows all belong to `default`, the column's default.
      ...rebuild(
        "flags",
        `key VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  enabled BOOLEAN DEFAULT FALSE NOT NULL,
  ${STAMPS},
  ${NAMESPACE},
  PRIMARY KEY (namespace_key, key)`,
        "key, name, description, enabled, created_at, updated_at",
      ),
      ...rebuild(
        "variants",
        `id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL,
  key VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  attachment TEXT,
  ${STAMPS},
  ${NAMESPACE},
  UNIQUE (namespace_key, flag_key, key),
  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key) ON DELETE CASCADE`,
        "id, flag_key, key, name, description, attachment, created_at, updated_at",
      ),
      ...rebuild(
        "segments",
        `key VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  match_type INTEGER DEFAULT 0 NOT NULL,
  ${STAMPS},
  ${NAMESPACE},
  PRIMARY KEY (namespace_key, key)`,
        "key, name, description, match_type, created_at, updated_at",
      ),
      ...rebuild(
        "constraints",
        `id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  type INTEGER DEFAULT 0 NOT NULL,
  property VARCHAR(255) NOT NULL,
  operator VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  ${STAMPS},
  ${NAMESPACE},
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE CASCADE`,
        "id, segment_key, type, property, operator, value, created_at, updated_at",
      ),
      ...rebuild(
        "rules",
        `id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  rank INTEGER DEFAULT 1 NOT NULL,
  ${STAMPS},
  ${NAMESPACE},
  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key) ON DELETE CASCADE,
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE CASCADE`,
        "id, flag_key, segment_key, rank, created_at, updated_at",
      ),
    ],
  ],
  ["constraints_with_description", sql(change.constraintsDescription)],
  ["flag_type", sql(change.flagType)],
  ["rollouts", sql(change.rollouts)],
  [
    "segment_anding_tables",
    [
      // The join tables first, filled from the columns the rebuilds below remove.
      ...sql(change.segmentAndingTables),
      ...rebuild(
        "rules",
        `id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL,
  rank INTEGER DEFAULT 1 NOT NULL,
  segment_operator INTEGER DEFAULT 0 NOT NULL,
  ${STAMPS},
  ${NAMESPACE},
  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key) ON DELETE CASCADE`,
        "id, flag_key, rank, created_at, updated_at, namespace_key",
      ),
      ...rebuild(
        "rollout_segments",
        `id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  rollout_id VARCHAR(255) NOT NULL REFERENCES rollouts ON DELETE CASCADE,
  value BOOLEAN DEFAULT FALSE NOT NULL,
  segment_operator INTEGER DEFAULT 0 NOT NULL`,
        "id, rollout_id, value",
      ),
    ],
  ],
  ["namespaces_add_state_modified_at", sql(change.stateModifiedAt)],
  ["default_variant", sql(change.defaultVariant)],
  ["flag_metadata", sql(change.flagMetadata)],
  [
    "segment_foreign_keys",
    [
      ...rebuild(
        "rule_segments",
        `rule_id VARCHAR(255) NOT NULL REFERENCES rules ON DELETE CASCADE,
  namespace_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  UNIQUE (rule_id, namespace_key, segment_key),
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE RESTRICT`,
        "rule_id, namespace_key, segment_key",
      ),
      ...rebuild(
        "rollout_segment_references",
        `rollout_segment_id VARCHAR(255) NOT NULL REFERENCES rollout_segments ON DELETE CASCADE,
  namespace_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  UNIQUE (rollout_segment_id, namespace_key, segment_key),
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE RESTRICT`,
        "rollout_segment_id, namespace_key, segment_key",
      ),
    ],
  ],
]);
