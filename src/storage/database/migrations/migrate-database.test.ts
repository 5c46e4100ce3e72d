/**
 * Migrations on the real servers, each test on a database of its own: an empty database reaches Flipt's final
 * schema (spec v1-backends §2.4/§2.5, read back from the catalog) and Pennant's; a database left at an older
 * Flipt version keeps its rows; a dirty one is refused; a current one is left alone.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  TEST_DATABASE_KINDS,
  type TestDatabaseKind,
  withTestDatabase,
} from "../../../../test/helpers/test-databases.js";
import { PreconditionError } from "../../../domain/errors.js";
import { serializeFeatures } from "../../../format/serialize-features.js";
import { DatabaseSource } from "../database-source.js";
import { openDatabase } from "../open-database.js";
import type { SqlDatabase } from "../sql-database.js";
import { migrateDatabase } from "./migrate-database.js";
import { readMigrationStatus } from "./read-migration-status.js";

/** Flipt's final tables and columns, the same on every dialect. */
const COLUMNS: Readonly<Record<string, string>> = {
  namespaces: "created_at description key name protected state_modified_at updated_at",
  flags: "created_at default_variant_id description enabled key metadata name namespace_key type updated_at",
  variants: "attachment created_at description flag_key id key name namespace_key updated_at",
  segments: "created_at description key match_type name namespace_key updated_at",
  constraints: "created_at description id namespace_key operator property segment_key type updated_at value",
  rules: "created_at flag_key id namespace_key rank segment_operator updated_at",
  rule_segments: "namespace_key rule_id segment_key",
  distributions: "created_at id rollout rule_id updated_at variant_id",
  rollouts: "created_at description flag_key id namespace_key rank type updated_at",
  rollout_thresholds: "id namespace_key percentage rollout_id value",
  rollout_segments: "id rollout_id segment_operator value",
  rollout_segment_references: "namespace_key rollout_segment_id segment_key",
  authentications: "created_at expires_at hashed_client_token id metadata method updated_at",
  operation_lock: "acquired_until last_acquired_at operation version",
  schema_migrations: "dirty version",
  pennant_schema_migrations: "dirty version",
  pennant_state: "change_counter id",
};

/** Flipt's final foreign keys: `table: columns → target ACTION`, sorted. */
const FOREIGN_KEYS = [
  "constraints: namespace_key → namespaces CASCADE",
  "constraints: namespace_key,segment_key → segments CASCADE",
  "distributions: rule_id → rules CASCADE",
  "distributions: variant_id → variants CASCADE",
  "flags: default_variant_id → variants SET NULL",
  "flags: namespace_key → namespaces CASCADE",
  "rollout_segment_references: namespace_key,segment_key → segments RESTRICT",
  "rollout_segment_references: rollout_segment_id → rollout_segments CASCADE",
  "rollout_segments: rollout_id → rollouts CASCADE",
  "rollout_thresholds: namespace_key → namespaces CASCADE",
  "rollout_thresholds: rollout_id → rollouts CASCADE",
  "rollouts: namespace_key → namespaces CASCADE",
  "rollouts: flag_key,namespace_key → flags CASCADE",
  "rule_segments: namespace_key,segment_key → segments RESTRICT",
  "rule_segments: rule_id → rules CASCADE",
  "rules: namespace_key → namespaces CASCADE",
  "rules: flag_key,namespace_key → flags CASCADE",
  "segments: namespace_key → namespaces CASCADE",
  "variants: namespace_key → namespaces CASCADE",
  "variants: flag_key,namespace_key → flags CASCADE",
];

interface Schema {
  readonly columns: Record<string, string>;
  readonly foreignKeys: string[];
}

const ACTIONS: Record<string, string> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

async function describeSchema(database: SqlDatabase): Promise<Schema> {
  const columns: Record<string, string[]> = {};
  const foreignKeys: string[] = [];
  const add = (table: string, column: string) => {
    columns[table] = [...(columns[table] ?? []), column];
  };
  if (database.driver === "sqlite" || database.driver === "libsql") {
    const tables = await database.query("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const { name } of tables) {
      const table = String(name);
      for (const row of await database.query(`PRAGMA table_info(${table})`)) add(table, String(row.name));
      const byId = new Map<number, { target: string; from: string[]; action: string }>();
      for (const row of await database.query(`PRAGMA foreign_key_list(${table})`)) {
        const entry = byId.get(Number(row.id)) ?? {
          target: String(row.table),
          from: [],
          action: String(row.on_delete),
        };
        entry.from.push(String(row.from));
        byId.set(Number(row.id), entry);
      }
      for (const { target, from, action } of byId.values()) {
        foreignKeys.push(`${table}: ${from.sort().join(",")} → ${target} ${action}`);
      }
    }
  } else if (database.driver === "mysql") {
    for (const row of await database.query(
      "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    )) {
      add(String(row.t), String(row.c));
    }
    for (const row of await database.query(
      `SELECT k.TABLE_NAME AS t, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.COLUMN_NAME) AS cols,
              MAX(k.REFERENCED_TABLE_NAME) AS target, MAX(r.DELETE_RULE) AS action
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
       WHERE k.TABLE_SCHEMA = DATABASE() GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME`,
    )) {
      foreignKeys.push(`${row.t}: ${row.cols} → ${row.target} ${row.action}`);
    }
  } else {
    for (const row of await database.query(
      "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()",
    )) {
      add(String(row.t), String(row.c));
    }
    for (const row of await database.query(
      `SELECT t.relname AS t, f.relname AS target, c.confdeltype AS action,
              array_to_string(array_agg(a.attname ORDER BY a.attname), ',') AS cols
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
       WHERE c.contype = 'f' AND n.nspname = current_schema() GROUP BY t.relname, f.relname, c.confdeltype, c.conname`,
    )) {
      foreignKeys.push(`${row.t}: ${row.cols} → ${row.target} ${ACTIONS[String(row.action)]}`);
    }
  }
  return {
    columns: Object.fromEntries(
      Object.entries(columns).map(([table, names]) => [
        table,
        names
          .map((name) => name.toLowerCase())
          .sort()
          .join(" "),
      ]),
    ),
    foreignKeys: foreignKeys.sort(),
  };
}

/** The step after which Flipt's namespaces table exists but keys are not namespaced yet (`create_namespaces`). */
const BEFORE_NAMESPACES: Record<TestDatabaseKind, number> = {
  sqlite: 6,
  libsql: 6,
  postgres: 6,
  cockroachdb: 3,
  mysql: 4,
};

const EXPECTED_VERSION: Record<TestDatabaseKind, number> = {
  sqlite: 15,
  libsql: 15,
  postgres: 16,
  cockroachdb: 13,
  mysql: 15,
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(`migrations on ${kind}`, () => {
    it("an empty database gets Flipt's final schema, the default namespace and Pennant's tables", () =>
      withTestDatabase(kind, async ({ url }) => {
        const database = openDatabase(url);
        try {
          const before = await readMigrationStatus(database);
          assert.equal(before.empty, true);
          assert.equal(before.flipt.pending.length, EXPECTED_VERSION[kind] + 1);
          const report = await migrateDatabase(database);
          assert.equal(report.applied.length, EXPECTED_VERSION[kind] + 2);
          assert.deepEqual(report.applied.at(-1), { ...report.applied.at(-1), track: "pennant", version: 1 });
          assert.equal(report.status.upToDate, true);
          assert.equal(report.status.flipt.current, EXPECTED_VERSION[kind]);

          const schema = await describeSchema(database);
          for (const [table, columns] of Object.entries(COLUMNS)) {
            assert.equal(schema.columns[table], columns, `columns of ${table}`);
          }
          assert.deepEqual(schema.foreignKeys, [...FOREIGN_KEYS].sort());
          const [seed] = await database.query('SELECT "key", name, description, protected FROM namespaces');
          assert.deepEqual(
            { ...seed, protected: Boolean(Number(seed?.protected) || seed?.protected === true) },
            { key: "default", name: "Default", description: "Default namespace", protected: true },
          );
          const [recorded] = await database.query("SELECT version, dirty FROM schema_migrations");
          assert.equal(Number(recorded?.version), EXPECTED_VERSION[kind]);
          assert.equal(Boolean(Number(recorded?.dirty) || recorded?.dirty === true), false);

          // Already current: nothing to do.
          assert.deepEqual((await migrateDatabase(database)).applied, []);
        } finally {
          await database.close();
        }
      }));

    it("a database an older Flipt left behind keeps its rows", () =>
      withTestDatabase(kind, async ({ url }) => {
        const database = openDatabase(url);
        try {
          const target = BEFORE_NAMESPACES[kind];
          await migrateDatabase(database, { fliptTarget: target });
          const pending = await readMigrationStatus(database);
          assert.equal(pending.flipt.current, target);
          assert.deepEqual(
            pending.flipt.pending.map((step) => step.version),
            Array.from({ length: EXPECTED_VERSION[kind] - target }, (_, i) => target + 1 + i),
          );
          assert.equal(pending.pennant.pending.length, 1);
          assert.equal(pending.upToDate, false);

          // Rows as Flipt wrote them before namespaces: single-column keys, one segment per rule.
          const stamp = "2023-01-02 03:04:05";
          await database.exec(
            `INSERT INTO flags ("key", name, description, enabled, created_at, updated_at) VALUES ('color', 'Color', '', TRUE, '${stamp}', '${stamp}')`,
          );
          await database.exec(
            `INSERT INTO segments ("key", name, description, match_type, created_at, updated_at) VALUES ('beta', 'Beta', '', 1, '${stamp}', '${stamp}')`,
          );
          await database.exec(
            `INSERT INTO constraints (id, segment_key, "type", property, operator, "value", created_at, updated_at) VALUES ('c1', 'beta', 1, 'plan', 'eq', 'pro', '${stamp}', '${stamp}')`,
          );
          await database.exec(
            `INSERT INTO variants (id, flag_key, "key", name, description, attachment, created_at, updated_at) VALUES ('v1', 'color', 'blue', 'Blue', '', '{"hex":"#00f"}', '${stamp}', '${stamp}')`,
          );
          await database.exec(
            `INSERT INTO rules (id, flag_key, segment_key, "rank", created_at, updated_at) VALUES ('r1', 'color', 'beta', 1, '${stamp}', '${stamp}')`,
          );
          await database.exec(
            `INSERT INTO distributions (id, rule_id, variant_id, rollout, created_at, updated_at) VALUES ('d1', 'r1', 'v1', 100, '${stamp}', '${stamp}')`,
          );

          const report = await migrateDatabase(database);
          assert.equal(report.status.upToDate, true);
          const source = new DatabaseSource({ database, pollIntervalMs: 1_000 });
          const state = await source.read("");
          const text = serializeFeatures(
            state.files.find((file) => file.path === "default/features.yaml")?.documents ?? [],
          );
          for (const expected of [
            "key: color",
            "key: blue",
            "hex:",
            "keys:",
            "- beta",
            "rollout: 100",
            "value: pro",
          ]) {
            assert.ok(text.includes(expected), `${expected} in\n${text}`);
          }
        } finally {
          await database.close();
        }
      }));

    it("a dirty database is refused with what to do, and left as it is", () =>
      withTestDatabase(kind, async ({ url }) => {
        const database = openDatabase(url);
        try {
          await migrateDatabase(database, { fliptTarget: 8 });
          await database.exec(
            `UPDATE schema_migrations SET dirty = ${kind === "sqlite" || kind === "libsql" ? 1 : "TRUE"}`,
          );
          const status = await readMigrationStatus(database);
          assert.equal(status.flipt.dirty, true);
          assert.equal(status.upToDate, false);
          await assert.rejects(
            migrateDatabase(database),
            (error: unknown) =>
              error instanceof PreconditionError &&
              /dirty/.test(error.message) &&
              /UPDATE schema_migrations SET dirty = false/.test(error.message) &&
              /pennant migrate/.test(error.message),
          );
          assert.equal((await readMigrationStatus(database)).flipt.current, 8);
        } finally {
          await database.close();
        }
      }));
  });
}
