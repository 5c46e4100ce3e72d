import type { SqlExecutor } from "../sql-database.js";
import type { MigrationStatement } from "./migration-step.js";

/**
 * The changes of Flipt v1's PostgreSQL schema history, by what they do, for the two dialects that share it:
 * PostgreSQL (steps 0–16) and CockroachDB (steps 0–13, which start from a later initial schema and number the
 * same changes differently). The final schema is spec v1-backends §2.5; constraint names are those PostgreSQL
 * gives, which §2.5 lists. SQLite runs the plain-SQL ones that need no table rebuild as they are: both read
 * the same DDL.
 */

const STAMPS = `created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL`;

/** Whether the server is CockroachDB (its `version()` says so), which changes primary keys its own way. */
async function isCockroach(executor: SqlExecutor): Promise<boolean> {
  const [row] = await executor.query("SELECT version() AS version");
  return String(row?.version ?? "").includes("CockroachDB");
}

/**
 * Makes `(namespace_key, key)` the primary key of `table`. PostgreSQL drops the old key with the foreign keys
 * that hang on it (they are re-created on the new key right after); CockroachDB changes a primary key with
 * ALTER PRIMARY KEY, which keeps a unique index on the old column that is then dropped with its dependants.
 * Only the PostgreSQL path is tested here; CockroachDB does not run on the test machines.
 */
function namespacedPrimaryKey(table: string): MigrationStatement {
  return async (executor) => {
    if (await isCockroach(executor)) {
      await executor.exec(`ALTER TABLE ${table} ALTER PRIMARY KEY USING COLUMNS (namespace_key, key)`);
      await executor.exec(`DROP INDEX IF EXISTS ${table}_key_key CASCADE`);
      return;
    }
    await executor.exec(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_pkey CASCADE`);
    await executor.exec(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_pkey PRIMARY KEY (namespace_key, key)`);
  };
}

/**
 * Drops the foreign key of `table` on exactly `columns`, whatever it is called: PostgreSQL names it
 * `<table>_<columns>_fkey`, CockroachDB versions before 21.2 `fk_<column>_ref_<table>`.
 */
function dropForeignKeyOn(table: string, columns: readonly string[]): MigrationStatement {
  return async (executor) => {
    const rows = await executor.query(
      `SELECT c.conname AS name, array_to_string(array_agg(a.attname ORDER BY a.attname), ',') AS columns
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
       WHERE c.contype = 'f' AND t.relname = ? AND n.nspname = current_schema()
       GROUP BY c.conname`,
      [table],
    );
    const wanted = [...columns].sort().join(",");
    for (const row of rows) {
      if (row.columns === wanted) {
        await executor.exec(`ALTER TABLE ${table} DROP CONSTRAINT "${String(row.name).replace(/"/g, '""')}"`);
      }
    }
  };
}

const namespaceColumn = (table: string): string[] => [
  `ALTER TABLE ${table} ADD COLUMN namespace_key VARCHAR(255) NOT NULL DEFAULT 'default'`,
  `ALTER TABLE ${table} ADD FOREIGN KEY (namespace_key) REFERENCES namespaces (key) ON DELETE CASCADE`,
];

/** Re-points the segment join tables' foreign keys to segments, from CASCADE to RESTRICT. */
const restrictSegment = (table: string): MigrationStatement[] => [
  dropForeignKeyOn(table, ["namespace_key", "segment_key"]),
  `ALTER TABLE ${table} ADD CONSTRAINT ${table}_namespace_key_segment_key_fkey
     FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE RESTRICT`,
];

export const POSTGRES_CHANGES = {
  /** Flags, segments, variants (a key unique across flags), constraints, rules, distributions. */
  initialTables: (variants: "unique-key" | "unique-per-flag"): MigrationStatement[] => [
    `CREATE TABLE IF NOT EXISTS flags (
  key VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  enabled BOOLEAN DEFAULT FALSE NOT NULL,
  ${STAMPS}
)`,
    `CREATE TABLE IF NOT EXISTS segments (
  key VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,${variants === "unique-per-flag" ? "\n  match_type INTEGER DEFAULT 0 NOT NULL," : ""}
  ${STAMPS}
)`,
    `CREATE TABLE IF NOT EXISTS variants (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL REFERENCES flags ON DELETE CASCADE,
  key VARCHAR(255) ${variants === "unique-key" ? "UNIQUE " : ""}NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,${variants === "unique-per-flag" ? "\n  attachment JSONB," : ""}
  ${STAMPS}${variants === "unique-per-flag" ? ",\n  CONSTRAINT variants_flag_key_key UNIQUE (flag_key, key)" : ""}
)`,
    `CREATE TABLE IF NOT EXISTS constraints (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  segment_key VARCHAR(255) NOT NULL REFERENCES segments ON DELETE CASCADE,
  type INTEGER DEFAULT 0 NOT NULL,
  property VARCHAR(255) NOT NULL,
  operator VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  ${STAMPS}
)`,
    `CREATE TABLE IF NOT EXISTS rules (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL REFERENCES flags ON DELETE CASCADE,
  segment_key VARCHAR(255) NOT NULL REFERENCES segments ON DELETE CASCADE,
  rank INTEGER DEFAULT 1 NOT NULL,
  ${STAMPS}
)`,
    `CREATE TABLE IF NOT EXISTS distributions (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  rule_id VARCHAR(255) NOT NULL REFERENCES rules ON DELETE CASCADE,
  variant_id VARCHAR(255) NOT NULL REFERENCES variants ON DELETE CASCADE,
  rollout float DEFAULT 0 NOT NULL,
  ${STAMPS}
)`,
  ],
  variantsUniquePerFlag: [
    "ALTER TABLE variants DROP CONSTRAINT IF EXISTS variants_key_key",
    "ALTER TABLE variants ADD UNIQUE (flag_key, key)",
  ],
  segmentsMatchType: ["ALTER TABLE segments ADD COLUMN match_type INTEGER DEFAULT 0 NOT NULL"],
  variantsAttachment: ["ALTER TABLE variants ADD COLUMN attachment JSONB"],
  authentications: [
    `CREATE TABLE IF NOT EXISTS authentications (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  hashed_client_token VARCHAR(255) UNIQUE NOT NULL,
  method INTEGER DEFAULT 0 NOT NULL,
  metadata TEXT,
  expires_at TIMESTAMP,
  ${STAMPS}
)`,
    "CREATE UNIQUE INDEX IF NOT EXISTS hashed_client_token_authentications_index ON authentications (hashed_client_token)",
  ],
  operationLock: [
    `CREATE TABLE IF NOT EXISTS operation_lock (
  operation VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  version INTEGER DEFAULT 0 NOT NULL,
  last_acquired_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  acquired_until TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)`,
  ],
  namespaces: [
    `CREATE TABLE IF NOT EXISTS namespaces (
  key VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  protected BOOLEAN DEFAULT FALSE NOT NULL,
  ${STAMPS}
)`,
    "INSERT INTO namespaces (key, name, description, protected) VALUES ('default', 'Default', 'Default namespace', TRUE)",
  ],
  /** Every existing row joins `default`; keys become unique per namespace. */
  namespacesRelationships: (variantsUnique: string): MigrationStatement[] => [
    ...namespaceColumn("flags"),
    namespacedPrimaryKey("flags"),
    "ALTER TABLE variants ADD COLUMN namespace_key VARCHAR(255) NOT NULL DEFAULT 'default'",
    `ALTER TABLE variants DROP CONSTRAINT IF EXISTS ${variantsUnique} CASCADE`,
    "ALTER TABLE variants ADD CONSTRAINT variants_namespace_flag_key UNIQUE (namespace_key, flag_key, key)",
    "ALTER TABLE variants ADD FOREIGN KEY (namespace_key) REFERENCES namespaces (key) ON DELETE CASCADE",
    dropForeignKeyOn("variants", ["flag_key"]),
    `ALTER TABLE variants ADD FOREIGN KEY (namespace_key, flag_key)
       REFERENCES flags (namespace_key, key) ON DELETE CASCADE`,
    ...namespaceColumn("segments"),
    namespacedPrimaryKey("segments"),
    ...namespaceColumn("constraints"),
    dropForeignKeyOn("constraints", ["segment_key"]),
    `ALTER TABLE constraints ADD FOREIGN KEY (namespace_key, segment_key)
       REFERENCES segments (namespace_key, key) ON DELETE CASCADE`,
    ...namespaceColumn("rules"),
    dropForeignKeyOn("rules", ["flag_key"]),
    dropForeignKeyOn("rules", ["segment_key"]),
    "ALTER TABLE rules ADD FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key) ON DELETE CASCADE",
    `ALTER TABLE rules ADD FOREIGN KEY (namespace_key, segment_key)
       REFERENCES segments (namespace_key, key) ON DELETE CASCADE`,
  ],
  constraintsDescription: ["ALTER TABLE constraints ADD COLUMN description TEXT"],
  flagType: ["ALTER TABLE flags ADD COLUMN type INTEGER DEFAULT 0 NOT NULL"],
  rollouts: [
    `CREATE TABLE IF NOT EXISTS rollouts (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  namespace_key VARCHAR(255) NOT NULL REFERENCES namespaces ON DELETE CASCADE,
  flag_key VARCHAR(255) NOT NULL,
  type INTEGER DEFAULT 0 NOT NULL,
  description TEXT NOT NULL,
  rank INTEGER DEFAULT 1 NOT NULL,
  ${STAMPS},
  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key) ON DELETE CASCADE
)`,
    `CREATE TABLE IF NOT EXISTS rollout_thresholds (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  namespace_key VARCHAR(255) NOT NULL REFERENCES namespaces ON DELETE CASCADE,
  rollout_id VARCHAR(255) UNIQUE NOT NULL REFERENCES rollouts ON DELETE CASCADE,
  percentage float DEFAULT 0 NOT NULL,
  value BOOLEAN DEFAULT FALSE NOT NULL
)`,
    `CREATE TABLE IF NOT EXISTS rollout_segments (
  id VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  namespace_key VARCHAR(255) NOT NULL REFERENCES namespaces ON DELETE CASCADE,
  rollout_id VARCHAR(255) NOT NULL REFERENCES rollouts ON DELETE CASCADE,
  segment_key VARCHAR(255) NOT NULL,
  value BOOLEAN DEFAULT FALSE NOT NULL,
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE CASCADE
)`,
  ],
  /** The join tables, filled from the single segment columns they replace (dropped by the next change). */
  segmentAndingTables: [
    `CREATE TABLE IF NOT EXISTS rule_segments (
  rule_id VARCHAR(255) NOT NULL REFERENCES rules ON DELETE CASCADE,
  namespace_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  UNIQUE (rule_id, namespace_key, segment_key),
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE CASCADE
)`,
    "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) SELECT id, namespace_key, segment_key FROM rules",
    `CREATE TABLE IF NOT EXISTS rollout_segment_references (
  rollout_segment_id VARCHAR(255) NOT NULL REFERENCES rollout_segments ON DELETE CASCADE,
  namespace_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  UNIQUE (rollout_segment_id, namespace_key, segment_key),
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, key) ON DELETE CASCADE
)`,
    `INSERT INTO rollout_segment_references (rollout_segment_id, namespace_key, segment_key)
       SELECT id, namespace_key, segment_key FROM rollout_segments`,
  ],
  /** Drops the single segment columns; `dropForeignKeyOn` finds the dialect's foreign keys in its catalog. */
  alterRulesRolloutSegments: (
    drop: (table: string, columns: readonly string[]) => MigrationStatement = dropForeignKeyOn,
  ): MigrationStatement[] => [
    drop("rules", ["namespace_key", "segment_key"]),
    "ALTER TABLE rules DROP COLUMN segment_key",
    "ALTER TABLE rules ADD COLUMN segment_operator INTEGER NOT NULL DEFAULT 0",
    drop("rollout_segments", ["namespace_key"]),
    drop("rollout_segments", ["namespace_key", "segment_key"]),
    "ALTER TABLE rollout_segments DROP COLUMN segment_key",
    "ALTER TABLE rollout_segments DROP COLUMN namespace_key",
    "ALTER TABLE rollout_segments ADD COLUMN segment_operator INTEGER NOT NULL DEFAULT 0",
  ],
  stateModifiedAt: ["ALTER TABLE namespaces ADD COLUMN state_modified_at TIMESTAMP"],
  defaultVariant: [
    "ALTER TABLE flags ADD COLUMN default_variant_id VARCHAR(255) REFERENCES variants (id) ON DELETE SET NULL",
  ],
  flagMetadata: ["ALTER TABLE flags ADD COLUMN metadata JSON"],
  segmentForeignKeys: [...restrictSegment("rule_segments"), ...restrictSegment("rollout_segment_references")],
} as const;
