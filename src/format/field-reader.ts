import type { ValidationIssue } from "../domain/errors.js";
import type { JsonValue } from "../domain/flag-state.js";
import { type FeaturesVersion, versionAtLeast } from "./features-document.js";
import { MAX_VALUE_NESTING_DEPTH } from "./limits.js";
import { indexPath, keyPath } from "./paths.js";
import { quoteValue } from "./quote-value.js";
import { describeNode, type SourceEntry, type SourceNode } from "./source-node.js";

/**
 * Small typed readers over source nodes that report what is wrong as issues (path, line, message) and return
 * undefined for a missing or invalid value. The document validator is built from these.
 */

/** Where issues go, and what the document's version allows. */
export interface ReadContext {
  readonly file: string;
  readonly version: FeaturesVersion;
  readonly issues: ValidationIssue[];
}

/** The entries of a mapping by key, with the mapping's own path and line. */
export interface Fields {
  readonly path: string;
  readonly line: number;
  readonly entries: EntryLookup;
}

/** A mapping's allowed entries by key (the last one when a key repeats, as a map would keep it). */
export interface EntryLookup {
  get(key: string): SourceEntry | undefined;
  has(key: string): boolean;
}

/**
 * `EntryLookup` over a mapping's entries, searched in place: a mapping has a handful of keys, and a document one
 * mapping per flag, variant, rule and distribution, so a `Map` for each would cost more than it saves.
 */
class EntryList implements EntryLookup {
  readonly #entries: readonly SourceEntry[];

  constructor(entries: readonly SourceEntry[]) {
    this.#entries = entries;
  }

  get(key: string): SourceEntry | undefined {
    const entries = this.#entries;
    for (let index = entries.length - 1; index >= 0; index--) {
      const entry = entries[index] as SourceEntry;
      if (entry.key === key) return entry;
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
}

/** Records one issue. */
export function report(ctx: ReadContext, path: string, line: number, message: string): void {
  ctx.issues.push({ path, message, file: ctx.file, line });
}

/**
 * Reads a closed mapping: every key must be in `allowed` (Flipt's schema rejects unknown keys). Returns undefined,
 * after reporting, when the node is not a mapping.
 */
export function readFields(
  ctx: ReadContext,
  node: SourceNode,
  path: string,
  what: string,
  allowed: readonly string[],
): Fields | undefined {
  if (node.kind !== "map") {
    report(ctx, path, node.line, `${what} must be a mapping, got ${describeNode(node)}`);
    return undefined;
  }
  let entries: SourceEntry[] | undefined;
  node.entries.forEach((entry, index) => {
    if (allowed.includes(entry.key)) {
      entries?.push(entry);
      return;
    }
    report(
      ctx,
      keyPath(path, pathKey(entry.key)),
      entry.keyLine,
      `unknown key ${quoteValue(entry.key)} in ${what} (allowed: ${allowed.join(", ")})`,
    );
    // The allowed entries so far; the mapping's own list serves while every key is allowed.
    entries ??= node.entries.slice(0, index);
  });
  return { path, line: node.line, entries: new EntryList(entries ?? node.entries) };
}

/** The value node of `key`, if present. */
export function field(fields: Fields, key: string): SourceNode | undefined {
  return fields.entries.get(key)?.value;
}

/** Reports a key present before the version that introduced it; returns whether it may be read. */
export function allowedAt(ctx: ReadContext, fields: Fields, key: string, since: FeaturesVersion): boolean {
  const entry = fields.entries.get(key);
  if (entry === undefined) return false;
  if (versionAtLeast(ctx.version, since)) return true;
  report(
    ctx,
    keyPath(fields.path, key),
    entry.keyLine,
    `${key} is not allowed at version "${ctx.version}"; it needs version "${since}" or later`,
  );
  return false;
}

/** Options of a string field. */
export interface StringRule {
  readonly required?: boolean;
  /** Reject "" (Flipt's `=~"^.+$"`). */
  readonly nonEmpty?: boolean;
  readonly pattern?: RegExp;
  /** The allowed values, for enums. */
  readonly oneOf?: readonly string[];
}

/** Reads a string field; numbers, booleans and null are rejected (quote them). */
export function readString(
  ctx: ReadContext,
  fields: Fields,
  key: string,
  rule: StringRule = {},
): string | undefined {
  const node = field(fields, key);
  const path = keyPath(fields.path, key);
  if (node === undefined) {
    if (rule.required === true) report(ctx, path, fields.line, `${key} is required`);
    return undefined;
  }
  return checkString(ctx, node, path, key, rule);
}

/** Checks that a node is a string matching `rule`, reporting under `label`. */
export function checkString(
  ctx: ReadContext,
  node: SourceNode,
  path: string,
  label: string,
  rule: StringRule = {},
): string | undefined {
  if (node.kind !== "scalar" || node.value.type !== "string") {
    const hint = node.kind === "scalar" && node.value.type !== "null" ? " (quote it)" : "";
    report(ctx, path, node.line, `${label} must be a string, got ${describeNode(node)}${hint}`);
    return undefined;
  }
  const value = node.value.value;
  if (rule.nonEmpty === true && !/^.+$/.test(value)) {
    report(ctx, path, node.line, `${label} must be a non-empty single-line string`);
    return undefined;
  }
  if (rule.pattern !== undefined && !rule.pattern.test(value)) {
    report(ctx, path, node.line, `${label} ${quoteValue(value)} must match ${rule.pattern.source}`);
    return undefined;
  }
  if (rule.oneOf !== undefined) {
    const index = rule.oneOf.indexOf(value);
    if (index === -1) {
      report(
        ctx,
        path,
        node.line,
        `${label} must be one of ${rule.oneOf.join(", ")}, got ${quoteValue(value)}`,
      );
      return undefined;
    }
    // The constant itself: one string shared by every flag, rather than a slice of the file's text that keeps the
    // whole text alive.
    return rule.oneOf[index];
  }
  return value;
}

/** Reads an optional description: a string, or null (read as none). */
export function readDescription(ctx: ReadContext, fields: Fields, key = "description"): string | undefined {
  const node = field(fields, key);
  if (node === undefined || (node.kind === "scalar" && node.value.type === "null")) return undefined;
  return checkString(ctx, node, keyPath(fields.path, key), key);
}

/** Reads an optional enum that may also be null (Flipt's `"A" | "B" | *null`). */
export function readNullableEnum(
  ctx: ReadContext,
  fields: Fields,
  key: string,
  oneOf: readonly string[],
): string | undefined {
  const node = field(fields, key);
  if (node === undefined || (node.kind === "scalar" && node.value.type === "null")) return undefined;
  return checkString(ctx, node, keyPath(fields.path, key), key, { oneOf });
}

/** Reads an optional boolean. */
export function readBool(ctx: ReadContext, fields: Fields, key: string): boolean | undefined {
  const node = field(fields, key);
  if (node === undefined) return undefined;
  if (node.kind === "scalar" && node.value.type === "bool") return node.value.value;
  report(
    ctx,
    keyPath(fields.path, key),
    node.line,
    `${key} must be true or false, got ${describeNode(node)}`,
  );
  return undefined;
}

/** Reads a number (integer or float). */
export function readNumber(
  ctx: ReadContext,
  fields: Fields,
  key: string,
  options: { readonly required?: boolean; readonly integer?: boolean } = {},
): number | undefined {
  const node = field(fields, key);
  const path = keyPath(fields.path, key);
  if (node === undefined) {
    if (options.required === true) report(ctx, path, fields.line, `${key} is required`);
    return undefined;
  }
  if (node.kind === "scalar" && node.value.type === "int") return Number(node.value.value);
  if (node.kind === "scalar" && node.value.type === "float" && options.integer !== true) {
    if (Number.isFinite(node.value.value)) return node.value.value;
  }
  const wanted = options.integer === true ? "an integer" : "a finite number";
  report(ctx, path, node.line, `${key} must be ${wanted}, got ${describeNode(node)}`);
  return undefined;
}

/** Reads an optional list, calling `item` for each element; returns [] when absent. */
export function readList<T>(
  ctx: ReadContext,
  fields: Fields,
  key: string,
  item: (node: SourceNode, path: string, index: number) => T | undefined,
): T[] {
  const node = field(fields, key);
  if (node === undefined) return [];
  const path = keyPath(fields.path, key);
  if (node.kind !== "seq") {
    report(ctx, path, node.line, `${key} must be a list, got ${describeNode(node)}`);
    return [];
  }
  // Sized once (an array grown by push keeps room for more), and cut only when an item was left out.
  const out = node.items.map((child, index) => item(child, indexPath(path, index), index));
  return out.includes(undefined) ? (out.filter((value) => value !== undefined) as T[]) : (out as T[]);
}

/**
 * Converts a node to JSON (attachments, metadata). Reports numbers JSON cannot hold (`.inf`, `.nan`); plain
 * timestamps stay text.
 */
export function toJson(ctx: ReadContext, node: SourceNode, path: string): JsonValue | undefined {
  if (node.kind === "seq") {
    const items = node.items.map((item, index) => toJson(ctx, item, indexPath(path, index)));
    return items.every((item) => item !== undefined) ? items : undefined;
  }
  if (node.kind === "map") {
    const out: { [key: string]: JsonValue } = {};
    let ok = true;
    for (const entry of node.entries) {
      const value = toJson(ctx, entry.value, keyPath(path, pathKey(entry.key)));
      if (value === undefined) ok = false;
      // defineProperty, not assignment: a key named __proto__ must stay data.
      else
        Object.defineProperty(out, entry.key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return ok ? out : undefined;
  }
  const value = node.value;
  switch (value.type) {
    case "null":
      return null;
    case "bool":
      return value.value;
    case "int":
      return Number(value.value);
    case "string":
      return value.value;
    case "float":
      if (Number.isFinite(value.value)) return value.value;
      report(ctx, path, node.line, `${describeNode(node)} cannot be represented in JSON`);
      return undefined;
  }
}

/**
 * Checks that a free-form JSON value (metadata, an attachment) nests at most `MAX_VALUE_NESTING_DEPTH` mappings and
 * lists deep, counting the value itself, so every API answer can carry it (see the constant). Reports the first
 * node past the limit, at its line, under the value's path; returns whether the value is within the limit.
 */
export function checkNesting(ctx: ReadContext, node: SourceNode, path: string, label: string): boolean {
  const tooDeep = firstTooDeep(node, 1);
  if (tooDeep === undefined) return true;
  report(
    ctx,
    path,
    tooDeep.line,
    `${label} nests more than ${MAX_VALUE_NESTING_DEPTH} levels of mappings and lists, the most that every API answer can carry`,
  );
  return false;
}

/** The first mapping or list, in document order, at a depth past the limit (`node` being at `depth`). */
function firstTooDeep(node: SourceNode, depth: number): SourceNode | undefined {
  if (node.kind === "scalar") return undefined;
  if (depth > MAX_VALUE_NESTING_DEPTH) return node;
  const children = node.kind === "seq" ? node.items : node.entries.map((entry) => entry.value);
  for (const child of children) {
    const found = firstTooDeep(child, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A mapping key as a segment of an issue's path: as written, cut short when long (`quoteValue`). */
export function pathKey(key: string): string {
  return quoteValue(key, { quotes: false });
}

/**
 * A copy of `value` without the keys whose value is undefined, in the same order, so decoded objects have one shape
 * whatever the input omitted. A copy rather than `delete`: an object that loses a property in V8 turns into a
 * hash table, several times larger and slower to read, and a snapshot holds one per flag, variant and segment.
 */
export function definedOnly<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) out[key] = item;
  }
  return out as T;
}
