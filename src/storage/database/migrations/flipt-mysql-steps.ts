import { type MigrationStatement, type MigrationStep, numberSteps } from "./migration-step.js";
import { POSTGRES_CHANGES as change } from "./postgres-schema-changes.js";

/**
 * Flipt v1's MySQL schema history, steps 0–15 (`config/migrations/mysql`). The migration connection runs
 * without ANSI mode, as Flipt's does, so identifiers are quoted with backticks. MySQL commits each DDL
 * statement on its own: these steps are not transactional, and a failure leaves the version dirty.
 */

const STAMPS = `created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP NOT NULL`;
const STAMPS_6 = `created_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) NOT NULL,
  updated_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) NOT NULL`;

/**
 * Drops the foreign key of `table` on exactly `columns`, found in the catalog: MySQL names them
 * `<table>_ibfk_<n>` in creation order, which a database migrated by hand may not follow.
 */
function dropForeignKeyOn(table: string, columns: readonly string[]): MigrationStatement {
  return async (executor) => {
    const rows = await executor.query(
      `SELECT CONSTRAINT_NAME AS name, GROUP_CONCAT(COLUMN_NAME ORDER BY COLUMN_NAME SEPARATOR ',') AS columns
       FROM information_schema.KEY_COLUMN_USAGE
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
       GROUP BY CONSTRAINT_NAME`,
      [table],
    );
    const wanted = [...columns].sort().join(",");
    for (const row of rows) {
      if (String(row.columns) === wanted) {
        await executor.exec(`ALTER TABLE ${table} DROP FOREIGN KEY \`${String(row.name)}\``);
      }
    }
  };
}

const namespaceColumn = (table: string): string[] => [
  `ALTER TABLE ${table} ADD COLUMN namespace_key VARCHAR(255) NOT NULL DEFAULT 'default'`,
  `ALTER TABLE ${table} ADD FOREIGN KEY (namespace_key) REFERENCES namespaces (\`key\`) ON DELETE CASCADE`,
];

const restrictSegment = (table: string): MigrationStatement[] => [
  dropForeignKeyOn(table, ["namespace_key", "segment_key"]),
  `ALTER TABLE ${table} ADD CONSTRAINT \`${table}_ibfk_2\` FOREIGN KEY (namespace_key, segment_key)
     REFERENCES segments (namespace_key, \`key\`) ON DELETE RESTRICT`,
];

const microseconds = (table: string): string =>
  `ALTER TABLE ${table}
     MODIFY created_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) NOT NULL,
     MODIFY updated_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) NOT NULL`;

export const FLIPT_MYSQL_STEPS: readonly MigrationStep[] = numberSteps([
  [
    "initial",
    [
      `CREATE TABLE IF NOT EXISTS flags (
  \`key\` VARCHAR(255) UNIQUE NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  enabled BOOLEAN DEFAULT FALSE NOT NULL,
  ${STAMPS},
  PRIMARY KEY (\`key\`)
)`,
      `CREATE TABLE IF NOT EXISTS segments (
  \`key\` VARCHAR(255) UNIQUE NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  match_type INTEGER DEFAULT 0 NOT NULL,
  ${STAMPS},
  PRIMARY KEY (\`key\`)
)`,
      `CREATE TABLE IF NOT EXISTS variants (
  id VARCHAR(255) UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL,
  \`key\` VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  ${STAMPS},
  PRIMARY KEY (id),
  FOREIGN KEY (flag_key) REFERENCES flags (\`key\`) ON DELETE CASCADE,
  CONSTRAINT variants_flag_key_key UNIQUE (flag_key, \`key\`)
)`,
      `CREATE TABLE IF NOT EXISTS constraints (
  id VARCHAR(255) UNIQUE NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  type INTEGER DEFAULT 0 NOT NULL,
  property VARCHAR(255) NOT NULL,
  operator VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  ${STAMPS},
  PRIMARY KEY (id),
  FOREIGN KEY (segment_key) REFERENCES segments (\`key\`) ON DELETE CASCADE
)`,
      `CREATE TABLE IF NOT EXISTS rules (
  id VARCHAR(255) UNIQUE NOT NULL,
  flag_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  \`rank\` INTEGER DEFAULT 1 NOT NULL,
  ${STAMPS},
  PRIMARY KEY (id),
  FOREIGN KEY (flag_key) REFERENCES flags (\`key\`) ON DELETE CASCADE,
  FOREIGN KEY (segment_key) REFERENCES segments (\`key\`) ON DELETE CASCADE
)`,
      `CREATE TABLE IF NOT EXISTS distributions (
  id VARCHAR(255) UNIQUE NOT NULL,
  rule_id VARCHAR(255) NOT NULL,
  variant_id VARCHAR(255) NOT NULL,
  rollout float DEFAULT 0 NOT NULL,
  ${STAMPS},
  PRIMARY KEY (id),
  FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE,
  FOREIGN KEY (variant_id) REFERENCES variants (id) ON DELETE CASCADE
)`,
    ],
  ],
  ["variants_attachment", ["ALTER TABLE variants ADD COLUMN attachment JSON AFTER description"]],
  [
    "create_table_authentications",
    [
      `CREATE TABLE IF NOT EXISTS authentications (
  id VARCHAR(255) UNIQUE NOT NULL,
  hashed_client_token VARCHAR(255) UNIQUE NOT NULL,
  method INTEGER DEFAULT 0 NOT NULL,
  metadata TEXT,
  expires_at TIMESTAMP(6) NULL,
  ${STAMPS_6},
  PRIMARY KEY (id)
)`,
      "CREATE UNIQUE INDEX hashed_client_token_authentications_index ON authentications (hashed_client_token)",
    ],
  ],
  [
    "create_table_operation_lock",
    [
      `CREATE TABLE IF NOT EXISTS operation_lock (
  operation VARCHAR(255) UNIQUE NOT NULL,
  version INTEGER DEFAULT 0 NOT NULL,
  last_acquired_at TIMESTAMP(6) NULL DEFAULT CURRENT_TIMESTAMP(6),
  acquired_until TIMESTAMP(6) NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (operation)
)`,
    ],
  ],
  [
    "create_namespaces",
    [
      `CREATE TABLE IF NOT EXISTS namespaces (
  \`key\` VARCHAR(255) PRIMARY KEY UNIQUE NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  protected BOOLEAN DEFAULT FALSE NOT NULL,
  ${STAMPS_6}
)`,
      "INSERT INTO namespaces (`key`, name, description, protected) VALUES ('default', 'Default', 'Default namespace', TRUE)",
    ],
  ],
  [
    "namespaces_relationships",
    [
      // The foreign keys on the old single-column keys go first: MySQL will not drop an index one still uses.
      dropForeignKeyOn("constraints", ["segment_key"]),
      dropForeignKeyOn("rules", ["flag_key"]),
      dropForeignKeyOn("rules", ["segment_key"]),
      dropForeignKeyOn("variants", ["flag_key"]),
      "ALTER TABLE flags ADD COLUMN namespace_key VARCHAR(255) NOT NULL DEFAULT 'default'",
      "ALTER TABLE flags DROP INDEX `key`, ADD INDEX `key` (`key`)",
      "ALTER TABLE flags DROP PRIMARY KEY, ADD PRIMARY KEY (namespace_key, `key`)",
      "ALTER TABLE flags ADD FOREIGN KEY (namespace_key) REFERENCES namespaces (`key`) ON DELETE CASCADE",
      "ALTER TABLE variants ADD COLUMN namespace_key VARCHAR(255) NOT NULL DEFAULT 'default'",
      `ALTER TABLE variants DROP INDEX variants_flag_key_key,
         ADD UNIQUE INDEX variants_namespace_flag_key (namespace_key, flag_key, \`key\`)`,
      "ALTER TABLE variants ADD FOREIGN KEY (namespace_key) REFERENCES namespaces (`key`) ON DELETE CASCADE",
      `ALTER TABLE variants ADD FOREIGN KEY (namespace_key, flag_key)
         REFERENCES flags (namespace_key, \`key\`) ON DELETE CASCADE`,
      "ALTER TABLE segments DROP INDEX `key`, ADD INDEX `key` (`key`)",
      "ALTER TABLE segments ADD COLUMN namespace_key VARCHAR(255) NOT NULL DEFAULT 'default'",
      "ALTER TABLE segments DROP PRIMARY KEY, ADD PRIMARY KEY (namespace_key, `key`)",
      "ALTER TABLE segments ADD FOREIGN KEY (namespace_key) REFERENCES namespaces (`key`) ON DELETE CASCADE",
      ...namespaceColumn("constraints"),
      `ALTER TABLE constraints ADD FOREIGN KEY (namespace_key, segment_key)
         REFERENCES segments (namespace_key, \`key\`) ON DELETE CASCADE`,
      ...namespaceColumn("rules"),
      `ALTER TABLE rules ADD FOREIGN KEY (namespace_key, flag_key)
         REFERENCES flags (namespace_key, \`key\`) ON DELETE CASCADE`,
      `ALTER TABLE rules ADD FOREIGN KEY (namespace_key, segment_key)
         REFERENCES segments (namespace_key, \`key\`) ON DELETE CASCADE`,
    ],
  ],
  ["constraints_with_description", ["ALTER TABLE constraints ADD COLUMN description TEXT"]],
  ["flag_type", ["ALTER TABLE flags ADD COLUMN type INTEGER DEFAULT 0 NOT NULL"]],
  [
    "rollouts",
    [
      `CREATE TABLE IF NOT EXISTS rollouts (
  id VARCHAR(255) UNIQUE NOT NULL,
  namespace_key VARCHAR(255) NOT NULL,
  flag_key VARCHAR(255) NOT NULL,
  type INTEGER DEFAULT 0 NOT NULL,
  description TEXT NOT NULL,
  \`rank\` INTEGER DEFAULT 1 NOT NULL,
  ${STAMPS_6},
  PRIMARY KEY (id),
  FOREIGN KEY (namespace_key) REFERENCES namespaces (\`key\`) ON DELETE CASCADE,
  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, \`key\`) ON DELETE CASCADE
)`,
      `CREATE TABLE IF NOT EXISTS rollout_thresholds (
  id VARCHAR(255) UNIQUE NOT NULL,
  namespace_key VARCHAR(255) NOT NULL,
  rollout_id VARCHAR(255) UNIQUE NOT NULL,
  percentage float DEFAULT 0 NOT NULL,
  value BOOLEAN DEFAULT FALSE NOT NULL,
  PRIMARY KEY (id),
  FOREIGN KEY (namespace_key) REFERENCES namespaces (\`key\`) ON DELETE CASCADE,
  FOREIGN KEY (rollout_id) REFERENCES rollouts (id) ON DELETE CASCADE
)`,
      `CREATE TABLE IF NOT EXISTS rollout_segments (
  id VARCHAR(255) UNIQUE NOT NULL,
  namespace_key VARCHAR(255) NOT NULL,
  rollout_id VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  value BOOLEAN DEFAULT FALSE NOT NULL,
  PRIMARY KEY (id),
  FOREIGN KEY (namespace_key) REFERENCES namespaces (\`key\`) ON DELETE CASCADE,
  FOREIGN KEY (rollout_id) REFERENCES rollouts (id) ON DELETE CASCADE,
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, \`key\`) ON DELETE CASCADE
)`,
    ],
  ],
  [
    "segment_anding_tables",
    [
      `CREATE TABLE IF NOT EXISTS rule_segments (
  rule_id VARCHAR(255) NOT NULL,
  namespace_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  CONSTRAINT rule_id_namespace_segment UNIQUE (rule_id, namespace_key, segment_key),
  FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE,
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, \`key\`) ON DELETE CASCADE
)`,
      "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) SELECT id, namespace_key, segment_key FROM rules",
      `CREATE TABLE IF NOT EXISTS rollout_segment_references (
  rollout_segment_id VARCHAR(255) NOT NULL,
  namespace_key VARCHAR(255) NOT NULL,
  segment_key VARCHAR(255) NOT NULL,
  CONSTRAINT rollout_segment_id_namespace_segment UNIQUE (rollout_segment_id, namespace_key, segment_key),
  FOREIGN KEY (rollout_segment_id) REFERENCES rollout_segments (id) ON DELETE CASCADE,
  FOREIGN KEY (namespace_key, segment_key) REFERENCES segments (namespace_key, \`key\`) ON DELETE CASCADE
)`,
      `INSERT INTO rollout_segment_references (rollout_segment_id, namespace_key, segment_key)
         SELECT id, namespace_key, segment_key FROM rollout_segments`,
    ],
  ],
  ["alter_rules_rollout_segments", change.alterRulesRolloutSegments(dropForeignKeyOn)],
  [
    "change_timestamp_precision",
    ["flags", "segments", "variants", "constraints", "rules", "distributions"].map(microseconds),
  ],
  [
    "namespaces_add_state_modified_at",
    ["ALTER TABLE namespaces ADD COLUMN state_modified_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP"],
  ],
  [
    "default_variant",
    [
      `ALTER TABLE flags ADD COLUMN default_variant_id VARCHAR(255) NULL,
         ADD FOREIGN KEY (default_variant_id) REFERENCES variants (id) ON DELETE SET NULL`,
    ],
  ],
  ["flag_metadata", ["ALTER TABLE flags ADD COLUMN metadata JSON"]],
  [
    "segment_foreign_keys",
    [...restrictSegment("rule_segments"), ...restrictSegment("rollout_segment_references")],
  ],
]);
