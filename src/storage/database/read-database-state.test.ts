/**
 * Rows written the way Flipt v1 writes them (UUID-like ids, ranks, explicit UTC timestamps in each driver's
 * form, JSON as text, AND segments, threshold and segment rollouts, a default variant) read into the document
 * Flipt's export would give, with the orders evaluation depends on, and valid against the features schema.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TEST_DATABASE_KINDS, withTestDatabase } from "../../../test/helpers/test-databases.js";
import type { Flag, Segment } from "../../domain/flag-state.js";
import { parseFeatures } from "../../format/parse-features.js";
import { serializeFeatures } from "../../format/serialize-features.js";
import { buildSnapshot } from "../build-snapshot.js";
import { DatabaseSource } from "./database-source.js";
import { migrateDatabase } from "./migrations/migrate-database.js";
import { openDatabase } from "./open-database.js";
import { readDatabaseState } from "./read-database-state.js";

/** Timestamps as each driver holds Flipt's: SQLite text in both forms, UTC wall time elsewhere. */
function stamp(sqlite: boolean, seconds: number, fraction: string): string {
  const base = `2024-01-02 03:04:${String(seconds).padStart(2, "0")}`;
  if (!sqlite) return `${base}${fraction === "" ? "" : `.${fraction}`}`;
  return fraction === "" ? base : `${base}.${fraction}+00:00`;
}

function v1Rows(sqlite: boolean): string[] {
  const t = (seconds: number, fraction = "") => `'${stamp(sqlite, seconds, fraction)}'`;
  return [
    `INSERT INTO namespaces ("key", name, description, protected, created_at, updated_at) VALUES ('team', 'Team', 'The team', FALSE, ${t(1)}, ${t(1)})`,
    `INSERT INTO segments (namespace_key, "key", name, description, match_type, created_at, updated_at) VALUES ('team', 'paid', 'Paid', '', 0, ${t(3)}, ${t(3)})`,
    `INSERT INTO segments (namespace_key, "key", name, description, match_type, created_at, updated_at) VALUES ('team', 'beta', 'Beta', 'Early users', 1, ${t(2, "5")}, ${t(2, "5")})`,
    `INSERT INTO constraints (id, namespace_key, segment_key, "type", property, operator, "value", description, created_at, updated_at) VALUES ('0d6a4d4e-2f59-4f0e-9b7e-000000000002', 'team', 'beta', 2, 'age', 'gt', '18', NULL, ${t(4, "25")}, ${t(4, "25")})`,
    `INSERT INTO constraints (id, namespace_key, segment_key, "type", property, operator, "value", description, created_at, updated_at) VALUES ('ffffffff-2f59-4f0e-9b7e-000000000001', 'team', 'beta', 1, 'plan', 'eq', 'pro', 'Pro plan', ${t(4, "125")}, ${t(4, "125")})`,
    `INSERT INTO constraints (id, namespace_key, segment_key, "type", property, operator, "value", description, created_at, updated_at) VALUES ('5', 'team', 'paid', 3, 'paying', 'true', '', NULL, ${t(4)}, ${t(4)})`,
    `INSERT INTO flags (namespace_key, "key", name, description, enabled, "type", metadata, created_at, updated_at) VALUES ('team', 'color', 'Color', 'Button color', TRUE, 0, '{"owner":"web","tier":2}', ${t(5)}, ${t(5)})`,
    `INSERT INTO flags (namespace_key, "key", name, description, enabled, "type", metadata, created_at, updated_at) VALUES ('team', 'dark', 'Dark', '', TRUE, 1, NULL, ${t(5, "000001")}, ${t(5, "000001")})`,
    `INSERT INTO variants (id, namespace_key, flag_key, "key", name, description, attachment, created_at, updated_at) VALUES ('a1', 'team', 'color', 'red', 'Red', '', NULL, ${t(7)}, ${t(7)})`,
    `INSERT INTO variants (id, namespace_key, flag_key, "key", name, description, attachment, created_at, updated_at) VALUES ('b2', 'team', 'color', 'blue', 'Blue', 'Cool', '{"hex":"#00f","tags":["a","b"]}', ${t(6)}, ${t(6)})`,
    `UPDATE flags SET default_variant_id = 'b2' WHERE "key" = 'color'`,
    `INSERT INTO rules (id, namespace_key, flag_key, "rank", segment_operator, created_at, updated_at) VALUES ('r-a', 'team', 'color', 2, 0, ${t(8)}, ${t(8)})`,
    `INSERT INTO rules (id, namespace_key, flag_key, "rank", segment_operator, created_at, updated_at) VALUES ('r-b', 'team', 'color', 1, 1, ${t(9)}, ${t(9)})`,
    "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) VALUES ('r-a', 'team', 'paid')",
    "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) VALUES ('r-b', 'team', 'paid')",
    "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) VALUES ('r-b', 'team', 'beta')",
    // Created in the order red, blue although their ids sort the other way: created_at decides.
    `INSERT INTO distributions (id, rule_id, variant_id, rollout, created_at, updated_at) VALUES ('z', 'r-b', 'a1', 30, ${t(10, "1")}, ${t(10, "1")})`,
    `INSERT INTO distributions (id, rule_id, variant_id, rollout, created_at, updated_at) VALUES ('a', 'r-b', 'b2', 70, ${t(10, "2")}, ${t(10, "2")})`,
    `INSERT INTO rollouts (id, namespace_key, flag_key, "type", description, "rank", created_at, updated_at) VALUES ('ro-2', 'team', 'dark', 2, 'Quarter', 2, ${t(11)}, ${t(11)})`,
    `INSERT INTO rollouts (id, namespace_key, flag_key, "type", description, "rank", created_at, updated_at) VALUES ('ro-1', 'team', 'dark', 1, '', 1, ${t(12)}, ${t(12)})`,
    `INSERT INTO rollout_thresholds (id, namespace_key, rollout_id, percentage, "value") VALUES ('th', 'team', 'ro-2', 25.5, TRUE)`,
    `INSERT INTO rollout_segments (id, rollout_id, "value", segment_operator) VALUES ('rs', 'ro-1', FALSE, 1)`,
    "INSERT INTO rollout_segment_references (rollout_segment_id, namespace_key, segment_key) VALUES ('rs', 'team', 'paid')",
    "INSERT INTO rollout_segment_references (rollout_segment_id, namespace_key, segment_key) VALUES ('rs', 'team', 'beta')",
  ];
}

const EXPECTED_FLAGS: Flag[] = [
  {
    key: "color",
    name: "Color",
    type: "VARIANT_FLAG_TYPE",
    description: "Button color",
    enabled: true,
    metadata: { owner: "web", tier: 2 },
    variants: [
      { key: "blue", name: "Blue", description: "Cool", attachment: { hex: "#00f", tags: ["a", "b"] } },
      { key: "red", name: "Red" },
    ],
    defaultVariant: "blue",
    rules: [
      {
        segment: { keys: ["beta", "paid"], operator: "AND_SEGMENT_OPERATOR" },
        distributions: [
          { variant: "red", rollout: 30 },
          { variant: "blue", rollout: 70 },
        ],
      },
      { segment: { keys: ["paid"], operator: "OR_SEGMENT_OPERATOR" }, distributions: [] },
    ],
    rollouts: [],
  },
  {
    key: "dark",
    name: "Dark",
    type: "BOOLEAN_FLAG_TYPE",
    enabled: true,
    variants: [],
    rules: [],
    rollouts: [
      { segment: { keys: ["beta", "paid"], operator: "AND_SEGMENT_OPERATOR", value: false } },
      { description: "Quarter", threshold: { percentage: 25.5, value: true } },
    ],
  },
];

const EXPECTED_SEGMENTS: Segment[] = [
  {
    key: "beta",
    name: "Beta",
    description: "Early users",
    matchType: "ANY_MATCH_TYPE",
    constraints: [
      // By created_at (…04.125 before …04.25), not by id.
      {
        type: "STRING_COMPARISON_TYPE",
        property: "plan",
        operator: "eq",
        value: "pro",
        description: "Pro plan",
      },
      { type: "NUMBER_COMPARISON_TYPE", property: "age", operator: "gt", value: "18" },
    ],
  },
  {
    key: "paid",
    name: "Paid",
    matchType: "ALL_MATCH_TYPE",
    constraints: [{ type: "BOOLEAN_COMPARISON_TYPE", property: "paying", operator: "true", value: "" }],
  },
];

/** Drops keys holding undefined, which parsed documents carry and literals do not. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`reading Flipt v1 rows on ${kind}`, () => {
    it("gives the document Flipt's rows describe", () =>
      withTestDatabase(kind, async ({ url }) => {
        const database = openDatabase(url);
        const source = new DatabaseSource({ database, pollIntervalMs: 1_000 });
        try {
          await migrateDatabase(database);
          for (const statement of v1Rows(kind === "sqlite" || kind === "libsql"))
            await database.exec(statement);
          const state = await source.read("");
          assert.deepEqual(
            state.files.map((file) => file.path),
            ["default/features.yaml", "team/features.yaml"],
          );
          const team = state.files[1];
          assert.equal(team?.documents?.length, 1);
          const [document] = team?.documents ?? [];
          // Valid as the contract of `SourceFile.documents` asks: written out as YAML, they parse cleanly, and
          // to the same thing.
          const yaml = parseFeatures(serializeFeatures(team?.documents ?? []), "team/features.yaml");
          assert.deepEqual(yaml.issues, []);
          assert.deepEqual(plain(yaml.documents[0]?.flags), plain(document?.flags));
          assert.deepEqual(plain(yaml.documents[0]?.segments), plain(document?.segments));
          assert.deepEqual(plain(document?.namespace), {
            key: "team",
            name: "Team",
            description: "The team",
          });
          assert.deepEqual(plain(document?.flags), EXPECTED_FLAGS);
          assert.deepEqual(plain(document?.segments), EXPECTED_SEGMENTS);
          const build = buildSnapshot(state, new Date());
          assert.ok(build.ok);
          assert.ok(build.snapshot.namespaces.get("team")?.evaluation.has("color"));
        } finally {
          await source.close();
        }
      }));

    it("reads the namespaces asked for alone, with the rows of every table that belong to them", () =>
      withTestDatabase(kind, async ({ url }) => {
        const database = openDatabase(url);
        try {
          await migrateDatabase(database);
          for (const statement of v1Rows(kind === "sqlite" || kind === "libsql"))
            await database.exec(statement);
          // Another namespace with the same flag and segment keys, and a row in every table: none may leak.
          const t = `'${stamp(kind === "sqlite" || kind === "libsql", 1, "")}'`;
          for (const statement of [
            `INSERT INTO namespaces ("key", name, description, protected, created_at, updated_at) VALUES ('other', 'Other', '', FALSE, ${t}, ${t})`,
            `INSERT INTO segments (namespace_key, "key", name, description, match_type, created_at, updated_at) VALUES ('other', 'paid', 'Paid', '', 0, ${t}, ${t})`,
            `INSERT INTO constraints (id, namespace_key, segment_key, "type", property, operator, "value", description, created_at, updated_at) VALUES ('o-c', 'other', 'paid', 1, 'plan', 'eq', 'x', NULL, ${t}, ${t})`,
            `INSERT INTO flags (namespace_key, "key", name, description, enabled, "type", metadata, created_at, updated_at) VALUES ('other', 'color', 'Color', '', TRUE, 0, NULL, ${t}, ${t})`,
            `INSERT INTO flags (namespace_key, "key", name, description, enabled, "type", metadata, created_at, updated_at) VALUES ('other', 'dark', 'Dark', '', TRUE, 1, NULL, ${t}, ${t})`,
            `INSERT INTO variants (id, namespace_key, flag_key, "key", name, description, attachment, created_at, updated_at) VALUES ('o-v', 'other', 'color', 'red', 'Red', '', NULL, ${t}, ${t})`,
            `INSERT INTO rules (id, namespace_key, flag_key, "rank", segment_operator, created_at, updated_at) VALUES ('o-r', 'other', 'color', 1, 0, ${t}, ${t})`,
            "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) VALUES ('o-r', 'other', 'paid')",
            `INSERT INTO distributions (id, rule_id, variant_id, rollout, created_at, updated_at) VALUES ('o-d', 'o-r', 'o-v', 100, ${t}, ${t})`,
            `INSERT INTO rollouts (id, namespace_key, flag_key, "type", description, "rank", created_at, updated_at) VALUES ('o-t', 'other', 'dark', 2, '', 1, ${t}, ${t})`,
            `INSERT INTO rollout_thresholds (id, namespace_key, rollout_id, percentage, "value") VALUES ('o-th', 'other', 'o-t', 5, TRUE)`,
            `INSERT INTO rollouts (id, namespace_key, flag_key, "type", description, "rank", created_at, updated_at) VALUES ('o-s', 'other', 'dark', 1, '', 2, ${t}, ${t})`,
            "INSERT INTO rollout_segments (id, rollout_id, \"value\", segment_operator) VALUES ('o-rs', 'o-s', TRUE, 0)",
            "INSERT INTO rollout_segment_references (rollout_segment_id, namespace_key, segment_key) VALUES ('o-rs', 'other', 'paid')",
          ]) {
            await database.exec(statement);
          }
          const all = await database.transaction((tx) => readDatabaseState(tx), "read");
          assert.deepEqual([...all.namespaces.keys()], ["default", "other", "team"]);
          const team = await database.transaction((tx) => readDatabaseState(tx, ["team", "absent"]), "read");
          assert.deepEqual([...team.namespaces.keys()], ["team"]);
          assert.equal(team.counter, all.counter);
          assert.deepEqual(plain(team.namespaces.get("team")), plain(all.namespaces.get("team")));
          const none = await database.transaction((tx) => readDatabaseState(tx, []), "read");
          assert.equal(none.namespaces.size, 0);
        } finally {
          await database.close();
        }
      }));
  });
}
