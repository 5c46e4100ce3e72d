import { DEFAULT_NAMESPACE, type Flag, type Namespace, type Segment } from "../../domain/flag-state.js";
import { COMPARISON_TYPES, MATCH_TYPES, segmentOf } from "./namespace-document.js";
import { sameValue } from "./same-value.js";
import {
  byCreation,
  orderedByCreation,
  type StoredConstraint,
  type StoredFlag,
  type StoredNamespace,
  type StoredSegment,
} from "./stored-state.js";
import { change, column, newId, type WriteContext } from "./write-context.js";
import { writeFlag } from "./write-flag.js";

/** A namespace as the documents of its file describe it, merged (a later flag or segment replaces an earlier one). */
export interface DesiredNamespace {
  readonly namespace: Namespace;
  readonly flags: ReadonlyMap<string, Flag>;
  readonly segments: ReadonlyMap<string, Segment>;
}

/**
 * Brings one namespace's rows to `desired` (undefined: its file was deleted, so its flags and segments go, and
 * the namespace too unless it is `default`) and returns the namespace as now stored. Segments are written
 * before flags (rules refer to them) and deleted after (rules held them with ON DELETE RESTRICT). When anything
 * changed, `state_modified_at` moves, as Flipt v1 bumps it after every write.
 */
export async function writeNamespace(
  context: WriteContext,
  key: string,
  stored: StoredNamespace | undefined,
  desired: DesiredNamespace | undefined,
): Promise<StoredNamespace | undefined> {
  context.changed = false;
  const now = context.now();
  if (desired === undefined) {
    if (stored === undefined) return undefined;
    await change(context, "DELETE FROM flags WHERE namespace_key = ?", [key]);
    await change(context, "DELETE FROM segments WHERE namespace_key = ?", [key]);
    if (key !== DEFAULT_NAMESPACE) {
      await change(context, 'DELETE FROM namespaces WHERE "key" = ?', [key]);
      return undefined;
    }
    await bump(context, key, now);
    return { ...stored, flags: new Map(), segments: new Map() };
  }
  const name = desired.namespace.name ?? "";
  const description = desired.namespace.description ?? "";
  if (stored === undefined) {
    await change(
      context,
      'INSERT INTO namespaces ("key", name, description, protected, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      [key, name, description, false, column(context, now), column(context, now)],
    );
  } else if (stored.name !== name || stored.description !== description) {
    await change(context, 'UPDATE namespaces SET name = ?, description = ?, updated_at = ? WHERE "key" = ?', [
      name,
      description,
      column(context, now),
      key,
    ]);
  }
  const segments: StoredSegment[] = [];
  for (const segment of desired.segments.values()) {
    segments.push(await writeSegment(context, key, stored?.segments.get(segment.key), segment, now));
  }
  const flags: StoredFlag[] = [];
  for (const flag of desired.flags.values()) {
    flags.push(await writeFlag(context, key, stored?.flags.get(flag.key), flag));
  }
  for (const flagKey of stored?.flags.keys() ?? []) {
    if (!desired.flags.has(flagKey)) {
      await change(context, 'DELETE FROM flags WHERE namespace_key = ? AND "key" = ?', [key, flagKey]);
    }
  }
  for (const segmentKey of stored?.segments.keys() ?? []) {
    if (!desired.segments.has(segmentKey)) {
      await change(context, 'DELETE FROM segments WHERE namespace_key = ? AND "key" = ?', [key, segmentKey]);
    }
  }
  if (context.changed) await bump(context, key, now);
  return {
    key,
    name,
    description,
    flags: orderedByCreation(flags),
    segments: orderedByCreation(segments),
  };
}

async function writeSegment(
  context: WriteContext,
  namespaceKey: string,
  stored: StoredSegment | undefined,
  desired: Segment,
  now: string,
): Promise<StoredSegment> {
  if (stored !== undefined && sameValue(segmentOf(stored), desired)) return stored;
  const fields = {
    name: desired.name,
    description: desired.description ?? "",
    matchType: Math.max(0, MATCH_TYPES.indexOf(desired.matchType)),
  };
  const createdAt = stored?.createdAt ?? context.now();
  if (stored === undefined) {
    await change(
      context,
      `INSERT INTO segments (namespace_key, "key", name, description, match_type, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        namespaceKey,
        desired.key,
        fields.name,
        fields.description,
        fields.matchType,
        column(context, createdAt),
        column(context, now),
      ],
    );
  } else if (
    !sameValue(fields, { name: stored.name, description: stored.description, matchType: stored.matchType })
  ) {
    await change(
      context,
      'UPDATE segments SET name = ?, description = ?, match_type = ?, updated_at = ? WHERE namespace_key = ? AND "key" = ?',
      [fields.name, fields.description, fields.matchType, column(context, now), namespaceKey, desired.key],
    );
  }
  // Constraints are matched by position: an edit keeps the row (and its place in the creation order).
  const before = stored?.constraints ?? [];
  const constraints: StoredConstraint[] = [];
  for (const [index, constraint] of desired.constraints.entries()) {
    const next = {
      type: Math.max(0, COMPARISON_TYPES.indexOf(constraint.type)),
      property: constraint.property,
      operator: constraint.operator,
      value: constraint.value,
      description: constraint.description === "" ? undefined : constraint.description,
    };
    const existing = before[index];
    if (existing === undefined) {
      const inserted = { id: newId(), ...next, createdAt: context.now() };
      await change(
        context,
        `INSERT INTO constraints (id, namespace_key, segment_key, "type", property, operator, "value", description, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          inserted.id,
          namespaceKey,
          desired.key,
          next.type,
          next.property,
          next.operator,
          next.value,
          next.description ?? null,
          column(context, inserted.createdAt),
          column(context, now),
        ],
      );
      constraints.push(inserted);
      continue;
    }
    const current = {
      type: existing.type,
      property: existing.property,
      operator: existing.operator,
      value: existing.value,
      description: existing.description === "" ? undefined : existing.description,
    };
    if (!sameValue(current, next)) {
      await change(
        context,
        `UPDATE constraints SET "type" = ?, property = ?, operator = ?, "value" = ?, description = ?, updated_at = ?
         WHERE id = ?`,
        [
          next.type,
          next.property,
          next.operator,
          next.value,
          next.description ?? null,
          column(context, now),
          existing.id,
        ],
      );
    }
    constraints.push({ ...existing, ...next });
  }
  for (const constraint of before.slice(desired.constraints.length)) {
    await change(context, "DELETE FROM constraints WHERE id = ?", [constraint.id]);
  }
  return {
    key: desired.key,
    ...fields,
    createdAt,
    constraints: constraints.sort(byCreation((item) => item.id)),
  };
}

async function bump(context: WriteContext, key: string, now: string): Promise<void> {
  await context.tx.exec('UPDATE namespaces SET state_modified_at = ? WHERE "key" = ?', [
    column(context, now),
    key,
  ]);
}
