import type { JsonObject, JsonValue, SegmentOperator } from "../../domain/flag-state.js";
import type { SqlExecutor, SqlRow } from "./sql-database.js";
import { readBool, readNumber, readOptionalText, readText, readTimestamp } from "./sql-values.js";
import {
  byCreation,
  compare,
  orderedByCreation,
  type StoredConstraint,
  type StoredDistribution,
  type StoredFlag,
  type StoredNamespace,
  type StoredRollout,
  type StoredRule,
  type StoredSegment,
  type StoredVariant,
} from "./stored-state.js";

/** Every namespace's rows, and the change counter they were read at. */
export interface DatabaseState {
  readonly counter: number;
  readonly namespaces: ReadonlyMap<string, StoredNamespace>;
}

/** Reads Pennant's change counter (one row, one column: what a poll costs). */
export async function readChangeCounter(executor: SqlExecutor, forUpdate = false): Promise<number> {
  const rows = await executor.query(
    `SELECT change_counter FROM pennant_state WHERE id = 1${forUpdate ? " FOR UPDATE" : ""}`,
  );
  return readNumber(rows[0]?.change_counter);
}

/**
 * Reads the flag state: one query per table, whatever the number of flags, folded in memory (Flipt v1 runs
 * several queries per flag evaluated). With `only`, the namespaces of those keys alone (a namespace not there is
 * left out). Run it in a `read` transaction, so that the rows and the counter are one consistent snapshot.
 */
export async function readDatabaseState(
  executor: SqlExecutor,
  only?: readonly string[],
): Promise<DatabaseState> {
  const counter = await readChangeCounter(executor);
  if (only !== undefined && only.length === 0) return { counter, namespaces: new Map() };
  const among = only === undefined ? "" : `IN (${only.map(() => "?").join(", ")})`;
  const params = only ?? [];
  /** `sql`, limited to the namespaces asked for by `column`, or by `column` among the ids `ids` selects. */
  const q = (sql: string, column?: string, ids?: string) => {
    if (only === undefined || column === undefined) return executor.query(sql);
    const filter = ids === undefined ? `${column} ${among}` : `${column} IN (${ids} ${among})`;
    return executor.query(`${sql} WHERE ${filter}`, params);
  };
  const ruleIds = "SELECT id FROM rules WHERE namespace_key";
  const rolloutIds = "SELECT id FROM rollouts WHERE namespace_key";
  const namespaceRows = await q('SELECT "key", name, description FROM namespaces', '"key"');
  const flagRows = await q(
    'SELECT namespace_key, "key", name, description, enabled, "type", metadata, default_variant_id, created_at FROM flags',
    "namespace_key",
  );
  const variantRows = await q(
    'SELECT id, namespace_key, flag_key, "key", name, description, attachment, created_at FROM variants',
    "namespace_key",
  );
  const segmentRows = await q(
    'SELECT namespace_key, "key", name, description, match_type, created_at FROM segments',
    "namespace_key",
  );
  const constraintRows = await q(
    'SELECT id, namespace_key, segment_key, "type", property, operator, "value", description, created_at FROM constraints',
    "namespace_key",
  );
  const ruleRows = await q(
    'SELECT id, namespace_key, flag_key, "rank", segment_operator FROM rules',
    "namespace_key",
  );
  const ruleSegmentRows = await q("SELECT rule_id, segment_key FROM rule_segments", "rule_id", ruleIds);
  const distributionRows = await q(
    "SELECT id, rule_id, variant_id, rollout, created_at FROM distributions",
    "rule_id",
    ruleIds,
  );
  const rolloutRows = await q(
    'SELECT id, namespace_key, flag_key, "type", description, "rank" FROM rollouts',
    "namespace_key",
  );
  const thresholdRows = await q(
    'SELECT id, rollout_id, percentage, "value" FROM rollout_thresholds',
    "rollout_id",
    rolloutIds,
  );
  const rolloutSegmentRows = await q(
    'SELECT id, rollout_id, "value", segment_operator FROM rollout_segments',
    "rollout_id",
    rolloutIds,
  );
  const referenceRows = await q(
    "SELECT rollout_segment_id, segment_key FROM rollout_segment_references",
    "namespace_key",
  );

  const ruleSegments = groupBy(ruleSegmentRows, "rule_id", (row) => readText(row.segment_key));
  const distributions = groupBy(
    distributionRows,
    "rule_id",
    (row): StoredDistribution => ({
      id: readText(row.id),
      variantId: readText(row.variant_id),
      rollout: readNumber(row.rollout),
      createdAt: readTimestamp(row.created_at),
    }),
  );
  const thresholds = new Map(
    thresholdRows.map((row) => [
      readText(row.rollout_id),
      { id: readText(row.id), percentage: readNumber(row.percentage), value: readBool(row.value) },
    ]),
  );
  const references = groupBy(referenceRows, "rollout_segment_id", (row) => readText(row.segment_key));
  const rolloutSegments = new Map(
    rolloutSegmentRows.map((row) => {
      const id = readText(row.id);
      return [
        readText(row.rollout_id),
        {
          id,
          value: readBool(row.value),
          operator: segmentOperator(row.segment_operator),
          keys: [...(references.get(id) ?? [])].sort(compare),
        },
      ];
    }),
  );
  const variants = groupBy(
    variantRows,
    flagKeyOf,
    (row): StoredVariant => ({
      id: readText(row.id),
      key: readText(row.key),
      name: readText(row.name),
      description: readText(row.description),
      attachment: parseJson(row.attachment),
      createdAt: readTimestamp(row.created_at),
    }),
  );
  const rules = groupBy(ruleRows, flagKeyOf, (row): StoredRule => {
    const id = readText(row.id);
    return {
      id,
      rank: readNumber(row.rank),
      segmentKeys: [...(ruleSegments.get(id) ?? [])].sort(compare),
      operator: segmentOperator(row.segment_operator),
      distributions: [...(distributions.get(id) ?? [])].sort(byCreation((item) => item.id)),
    };
  });
  const rollouts = groupBy(rolloutRows, flagKeyOf, (row): StoredRollout => {
    const id = readText(row.id);
    const segment = rolloutSegments.get(id);
    return {
      id,
      rank: readNumber(row.rank),
      type: readNumber(row.type),
      description: readText(row.description),
      threshold: thresholds.get(id),
      segment,
    };
  });
  const flags = groupBy(flagRows, "namespace_key", (row): StoredFlag => {
    const id = `${readText(row.namespace_key)}\0${readText(row.key)}`;
    const metadata = parseJson(row.metadata);
    return {
      key: readText(row.key),
      name: readText(row.name),
      description: readText(row.description),
      enabled: readBool(row.enabled),
      type: readNumber(row.type),
      metadata: isObject(metadata) && Object.keys(metadata).length > 0 ? metadata : undefined,
      defaultVariantId: readOptionalText(row.default_variant_id),
      createdAt: readTimestamp(row.created_at),
      variants: [...(variants.get(id) ?? [])].sort(byCreation((item) => item.key)),
      rules: [...(rules.get(id) ?? [])].sort(byRank),
      rollouts: [...(rollouts.get(id) ?? [])].sort(byRank),
    };
  });
  const constraints = groupBy(
    constraintRows,
    segmentKeyOf,
    (row): StoredConstraint => ({
      id: readText(row.id),
      type: readNumber(row.type),
      property: readText(row.property),
      operator: readText(row.operator),
      value: readText(row.value),
      description: readOptionalText(row.description),
      createdAt: readTimestamp(row.created_at),
    }),
  );
  const segments = groupBy(
    segmentRows,
    "namespace_key",
    (row): StoredSegment => ({
      key: readText(row.key),
      name: readText(row.name),
      description: readText(row.description),
      matchType: readNumber(row.match_type),
      createdAt: readTimestamp(row.created_at),
      constraints: [...(constraints.get(`${readText(row.namespace_key)}\0${readText(row.key)}`) ?? [])].sort(
        byCreation((item) => item.id),
      ),
    }),
  );

  const namespaces = new Map<string, StoredNamespace>();
  for (const row of [...namespaceRows].sort((a, b) => compare(readText(a.key), readText(b.key)))) {
    const key = readText(row.key);
    namespaces.set(key, {
      key,
      name: readText(row.name),
      description: readText(row.description),
      flags: orderedByCreation(flags.get(key) ?? []),
      segments: orderedByCreation(segments.get(key) ?? []),
    });
  }
  return { counter, namespaces };
}

function flagKeyOf(row: SqlRow): string {
  return `${readText(row.namespace_key)}\0${readText(row.flag_key)}`;
}

function segmentKeyOf(row: SqlRow): string {
  return `${readText(row.namespace_key)}\0${readText(row.segment_key)}`;
}

/** Rank order, as Flipt sorts rules and rollouts; equal ranks (only hand-written rows have them) by id. */
function byRank(a: { rank: number; id: string }, b: { rank: number; id: string }): number {
  return a.rank - b.rank || compare(a.id, b.id);
}

function groupBy<T>(
  rows: readonly SqlRow[],
  key: string | ((row: SqlRow) => string),
  map: (row: SqlRow) => T,
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = typeof key === "string" ? readText(row[key]) : key(row);
    let list = groups.get(group);
    if (list === undefined) {
      list = [];
      groups.set(group, list);
    }
    list.push(map(row));
  }
  return groups;
}

function segmentOperator(value: unknown): SegmentOperator {
  return readNumber(value) === 1 ? "AND_SEGMENT_OPERATOR" : "OR_SEGMENT_OPERATOR";
}

/**
 * A JSON column (attachment, metadata): undefined for NULL, an empty string, or text that is not JSON (Flipt
 * compacts what it writes, so only a hand-written row can hold that).
 */
function parseJson(value: unknown): JsonValue | undefined {
  const text = readOptionalText(value);
  if (text === undefined || text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
