import type { Flag, Rollout, Rule, SegmentOperator } from "../../domain/flag-state.js";
import { FLAG_TYPES, flagOf } from "./namespace-document.js";
import { sameValue } from "./same-value.js";
import type {
  StoredDistribution,
  StoredFlag,
  StoredRollout,
  StoredRule,
  StoredVariant,
} from "./stored-state.js";
import { byCreation, compare } from "./stored-state.js";
import { change, column, jsonColumn, newId, type WriteContext } from "./write-context.js";

/**
 * Brings one flag's rows to `desired` and returns the flag as now stored. Nothing is written for a flag that
 * did not change. Variants are matched by key and keep their ids (distributions and the default variant point
 * at them); rules and rollouts are matched by position and keep their ids, their rank rewritten to
 * position + 1; a rule's distributions, when they changed, are written again in the document's order with
 * increasing `created_at`, which is the order reads return them in and bucketing walks.
 */
export async function writeFlag(
  context: WriteContext,
  namespaceKey: string,
  stored: StoredFlag | undefined,
  desired: Flag,
): Promise<StoredFlag> {
  if (stored !== undefined && sameValue(flagOf(stored), desired)) return stored;
  const now = context.now();
  const type = Math.max(0, FLAG_TYPES.indexOf(desired.type));
  const metadata =
    desired.metadata !== undefined && Object.keys(desired.metadata).length > 0 ? desired.metadata : undefined;
  const fields = {
    name: desired.name,
    description: desired.description ?? "",
    enabled: desired.enabled,
    type,
    metadata,
  };
  const createdAt = stored?.createdAt ?? now;
  if (stored === undefined) {
    await change(
      context,
      `INSERT INTO flags (namespace_key, "key", name, description, enabled, "type", metadata, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        namespaceKey,
        desired.key,
        fields.name,
        fields.description,
        fields.enabled,
        type,
        jsonColumn(metadata),
        column(context, createdAt),
        column(context, now),
      ],
    );
  } else if (
    !sameValue(fields, {
      name: stored.name,
      description: stored.description,
      enabled: stored.enabled,
      type: stored.type,
      metadata: stored.metadata,
    })
  ) {
    await change(
      context,
      `UPDATE flags SET name = ?, description = ?, enabled = ?, "type" = ?, metadata = ?, updated_at = ?
       WHERE namespace_key = ? AND "key" = ?`,
      [
        fields.name,
        fields.description,
        fields.enabled,
        type,
        jsonColumn(metadata),
        column(context, now),
        namespaceKey,
        desired.key,
      ],
    );
  }
  const where = { namespaceKey, flagKey: desired.key, now };
  const variants = await writeVariants(context, where, stored?.variants ?? [], desired);
  const variantIds = new Map(variants.map((variant) => [variant.key, variant.id]));
  const defaultVariantId =
    desired.defaultVariant === undefined ? undefined : variantIds.get(desired.defaultVariant);
  // A deleted variant took the default with it (ON DELETE SET NULL).
  const currentDefault = variants.some((variant) => variant.id === stored?.defaultVariantId)
    ? stored?.defaultVariantId
    : undefined;
  if (defaultVariantId !== currentDefault) {
    await change(context, 'UPDATE flags SET default_variant_id = ? WHERE namespace_key = ? AND "key" = ?', [
      defaultVariantId ?? null,
      namespaceKey,
      desired.key,
    ]);
  }
  const liveVariants = new Set(variants.map((variant) => variant.id));
  const rules = await writeRules(
    context,
    where,
    stored?.rules ?? [],
    desired.rules,
    variantIds,
    liveVariants,
  );
  const rollouts = await writeRollouts(context, where, stored?.rollouts ?? [], desired.rollouts);
  return {
    key: desired.key,
    ...fields,
    defaultVariantId,
    createdAt,
    variants,
    rules,
    rollouts,
  };
}

interface FlagWhere {
  readonly namespaceKey: string;
  readonly flagKey: string;
  /** The write's time, for `updated_at`. */
  readonly now: string;
}

async function writeVariants(
  context: WriteContext,
  where: FlagWhere,
  stored: readonly StoredVariant[],
  desired: Flag,
): Promise<StoredVariant[]> {
  const wanted = new Set(desired.variants.map((variant) => variant.key));
  for (const variant of stored) {
    if (!wanted.has(variant.key)) await change(context, "DELETE FROM variants WHERE id = ?", [variant.id]);
  }
  const byKey = new Map(stored.map((variant) => [variant.key, variant]));
  const result: StoredVariant[] = [];
  for (const variant of desired.variants) {
    const fields = {
      name: variant.name ?? "",
      description: variant.description ?? "",
      attachment: variant.attachment,
    };
    const existing = byKey.get(variant.key);
    if (existing === undefined) {
      const next: StoredVariant = { id: newId(), key: variant.key, ...fields, createdAt: context.now() };
      await change(
        context,
        `INSERT INTO variants (id, namespace_key, flag_key, "key", name, description, attachment, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          next.id,
          where.namespaceKey,
          where.flagKey,
          next.key,
          next.name,
          next.description,
          jsonColumn(next.attachment),
          column(context, next.createdAt),
          column(context, where.now),
        ],
      );
      result.push(next);
      continue;
    }
    const before = {
      name: existing.name,
      description: existing.description,
      attachment: existing.attachment,
    };
    if (!sameValue(before, fields)) {
      await change(
        context,
        "UPDATE variants SET name = ?, description = ?, attachment = ?, updated_at = ? WHERE id = ?",
        [
          fields.name,
          fields.description,
          jsonColumn(fields.attachment),
          column(context, where.now),
          existing.id,
        ],
      );
    }
    result.push({ ...existing, ...fields });
  }
  return result.sort(byCreation((variant) => variant.key));
}

async function writeRules(
  context: WriteContext,
  where: FlagWhere,
  stored: readonly StoredRule[],
  desired: readonly Rule[],
  variantIds: ReadonlyMap<string, string>,
  liveVariants: ReadonlySet<string>,
): Promise<StoredRule[]> {
  const result: StoredRule[] = [];
  for (const [index, rule] of desired.entries()) {
    const rank = index + 1;
    const keys = [...rule.segment.keys].sort(compare);
    const operator = rule.segment.operator;
    const existing = stored[index];
    const id = existing?.id ?? newId();
    if (existing === undefined) {
      await change(
        context,
        `INSERT INTO rules (id, namespace_key, flag_key, "rank", segment_operator, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          where.namespaceKey,
          where.flagKey,
          rank,
          operatorNumber(operator),
          column(context, where.now),
          column(context, where.now),
        ],
      );
    } else if (existing.rank !== rank || existing.operator !== operator) {
      await change(
        context,
        'UPDATE rules SET "rank" = ?, segment_operator = ?, updated_at = ? WHERE id = ?',
        [rank, operatorNumber(operator), column(context, where.now), id],
      );
    }
    if (existing === undefined || !sameValue(existing.segmentKeys, keys)) {
      if (existing !== undefined) await change(context, "DELETE FROM rule_segments WHERE rule_id = ?", [id]);
      for (const key of keys) {
        await change(
          context,
          "INSERT INTO rule_segments (rule_id, namespace_key, segment_key) VALUES (?, ?, ?)",
          [id, where.namespaceKey, key],
        );
      }
    }
    const kept = (existing?.distributions ?? []).filter((distribution) =>
      liveVariants.has(distribution.variantId),
    );
    const wanted = rule.distributions.map((distribution) => ({
      variantId: variantIds.get(distribution.variant) ?? "",
      rollout: distribution.rollout,
    }));
    let distributions: readonly StoredDistribution[] = kept;
    const current = kept.map(({ variantId, rollout }) => ({ variantId, rollout }));
    if (
      existing === undefined ||
      existing.distributions.length !== kept.length ||
      !sameValue(current, wanted)
    ) {
      if (existing !== undefined) await change(context, "DELETE FROM distributions WHERE rule_id = ?", [id]);
      distributions = [];
      for (const { variantId, rollout } of wanted) {
        const next = { id: newId(), variantId, rollout, createdAt: context.now() };
        await change(
          context,
          `INSERT INTO distributions (id, rule_id, variant_id, rollout, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
          [next.id, id, variantId, rollout, column(context, next.createdAt), column(context, where.now)],
        );
        distributions = [...distributions, next];
      }
    }
    result.push({ id, rank, segmentKeys: keys, operator, distributions });
  }
  for (const rule of stored.slice(desired.length)) {
    await change(context, "DELETE FROM rules WHERE id = ?", [rule.id]);
  }
  return result;
}

async function writeRollouts(
  context: WriteContext,
  where: FlagWhere,
  stored: readonly StoredRollout[],
  desired: readonly Rollout[],
): Promise<StoredRollout[]> {
  const result: StoredRollout[] = [];
  for (const [index, rollout] of desired.entries()) {
    const rank = index + 1;
    const type = rollout.threshold !== undefined ? 2 : rollout.segment !== undefined ? 1 : 0;
    const description = rollout.description ?? "";
    const existing = stored[index];
    const id = existing?.id ?? newId();
    if (existing === undefined) {
      await change(
        context,
        `INSERT INTO rollouts (id, namespace_key, flag_key, "type", description, "rank", created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          where.namespaceKey,
          where.flagKey,
          type,
          description,
          rank,
          column(context, where.now),
          column(context, where.now),
        ],
      );
    } else if (existing.rank !== rank || existing.type !== type || existing.description !== description) {
      await change(
        context,
        'UPDATE rollouts SET "type" = ?, description = ?, "rank" = ?, updated_at = ? WHERE id = ?',
        [type, description, rank, column(context, where.now), id],
      );
    }
    result.push({
      id,
      rank,
      type,
      description,
      threshold: await writeThreshold(context, where, id, existing, rollout),
      segment: await writeRolloutSegment(context, where, id, existing, rollout),
    });
  }
  for (const rollout of stored.slice(desired.length)) {
    await change(context, "DELETE FROM rollouts WHERE id = ?", [rollout.id]);
  }
  return result;
}

async function writeThreshold(
  context: WriteContext,
  where: FlagWhere,
  rolloutId: string,
  existing: StoredRollout | undefined,
  rollout: Rollout,
): Promise<StoredRollout["threshold"]> {
  const before = existing?.threshold;
  const wanted = rollout.threshold;
  if (wanted === undefined) {
    if (before !== undefined)
      await change(context, "DELETE FROM rollout_thresholds WHERE id = ?", [before.id]);
    return undefined;
  }
  if (before === undefined) {
    const id = newId();
    await change(
      context,
      'INSERT INTO rollout_thresholds (id, namespace_key, rollout_id, percentage, "value") VALUES (?, ?, ?, ?, ?)',
      [id, where.namespaceKey, rolloutId, wanted.percentage, wanted.value],
    );
    return { id, percentage: wanted.percentage, value: wanted.value };
  }
  if (before.percentage !== wanted.percentage || before.value !== wanted.value) {
    await change(context, 'UPDATE rollout_thresholds SET percentage = ?, "value" = ? WHERE id = ?', [
      wanted.percentage,
      wanted.value,
      before.id,
    ]);
  }
  return { id: before.id, percentage: wanted.percentage, value: wanted.value };
}

async function writeRolloutSegment(
  context: WriteContext,
  where: FlagWhere,
  rolloutId: string,
  existing: StoredRollout | undefined,
  rollout: Rollout,
): Promise<StoredRollout["segment"]> {
  const before = existing?.segment;
  // A threshold wins when a hand-written row has both, as Flipt reads it; the document has only one.
  const wanted = rollout.threshold === undefined ? rollout.segment : undefined;
  if (wanted === undefined) {
    if (before !== undefined) await change(context, "DELETE FROM rollout_segments WHERE id = ?", [before.id]);
    return undefined;
  }
  const keys = [...wanted.keys].sort(compare);
  const id = before?.id ?? newId();
  if (before === undefined) {
    await change(
      context,
      'INSERT INTO rollout_segments (id, rollout_id, "value", segment_operator) VALUES (?, ?, ?, ?)',
      [id, rolloutId, wanted.value, operatorNumber(wanted.operator)],
    );
  } else if (before.value !== wanted.value || before.operator !== wanted.operator) {
    await change(context, 'UPDATE rollout_segments SET "value" = ?, segment_operator = ? WHERE id = ?', [
      wanted.value,
      operatorNumber(wanted.operator),
      id,
    ]);
  }
  if (before === undefined || !sameValue(before.keys, keys)) {
    if (before !== undefined) {
      await change(context, "DELETE FROM rollout_segment_references WHERE rollout_segment_id = ?", [id]);
    }
    for (const key of keys) {
      await change(
        context,
        "INSERT INTO rollout_segment_references (rollout_segment_id, namespace_key, segment_key) VALUES (?, ?, ?)",
        [id, where.namespaceKey, key],
      );
    }
  }
  return { id, value: wanted.value, operator: wanted.operator, keys };
}

function operatorNumber(operator: SegmentOperator): number {
  return operator === "AND_SEGMENT_OPERATOR" ? 1 : 0;
}
