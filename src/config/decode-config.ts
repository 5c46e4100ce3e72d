import { statSync } from "node:fs";
import { formatGoDuration, parseGoDuration } from "../go/go-duration.js";
import type { ConfigIssue } from "./config-error.js";
import { decodeScalar, describe } from "./decode-scalar.js";
import { SECRET_REFERENCE } from "./resolve-secrets.js";
import {
  camelCase,
  type Infer,
  type MapNode,
  type NodeContext,
  type ObjectNode,
  type OpaqueNode,
  type ScalarNode,
  type SchemaNode,
} from "./schema.js";

export interface DecodeOptions<T, R = T> {
  /** Where the value at a dotted path came from (`FLIPT_X`, `file:line:col`), for messages. */
  readonly sourceOf?: (path: string) => string | undefined;
  /** @default a `fs.statSync` check */
  readonly fileExists?: (path: string) => boolean;
  /** Go's `os.UserConfigDir`, for defaults under it (`NodeContext.userConfigDir`). */
  readonly userConfigDir?: string | undefined;
  /** Why each `${secret:…}` value still in the tree was not resolved, by dotted key path (`resolveSecrets`). */
  readonly unresolvedSecrets?: ReadonlyMap<string, string>;
  /**
   * Rules across the whole decoded value, run last, whatever was found before (paths are from the root); returns
   * the value, possibly with derived fields, or another shape of it (a Flipt v1 file becomes the v2 shape).
   */
  readonly check?: (value: T, context: NodeContext) => R;
}

export interface DecodeResult<T> {
  readonly config: T;
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly string[];
}

/**
 * Turns a raw tree (the merged file and env values, snake_case keys) into the value any schema describes
 * (`Infer<typeof schema>`, deeply frozen) by walking it: type checks, defaults, unknown-key warnings, each node's
 * `finalize`, then `check`. Every problem is collected; the value is only meaningful when `issues` is empty.
 */
export function decodeConfig<S extends ObjectNode, R = Infer<S>>(
  schema: S,
  raw: unknown,
  options: DecodeOptions<Infer<S>, R> = {},
): DecodeResult<R> {
  const decoder = new Decoder(options);
  const decoded = decoder.object(schema, raw, "", undefined) as Infer<S>;
  const config =
    options.check === undefined
      ? (decoded as unknown as R)
      : options.check(decoded, decoder.context("", undefined));
  return { config: deepFreeze(config), issues: decoder.issues, warnings: decoder.warnings };
}

class Decoder {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  readonly #sourceOf: (path: string) => string | undefined;
  readonly #fileExists: (path: string) => boolean;
  readonly #unresolvedSecrets: ReadonlyMap<string, string>;
  readonly #userConfigDir: string | undefined;

  constructor(options: Omit<DecodeOptions<unknown>, "check">) {
    this.#sourceOf = options.sourceOf ?? (() => undefined);
    this.#fileExists = options.fileExists ?? fileExists;
    this.#unresolvedSecrets = options.unresolvedSecrets ?? new Map();
    this.#userConfigDir = options.userConfigDir;
  }

  /** Why the `${secret:…}` value at `path` was not resolved. */
  secretProblem(path: string, reference: string): string {
    return (
      this.#unresolvedSecrets.get(path) ?? `${reference} is not resolved (no secret provider resolved it)`
    );
  }

  /**
   * A `${secret:…}` value left unresolved (or a list holding one): in a key Pennant uses, an error, since the
   * reference text is no substitute for the secret; in a key it accepts but does not act on, a warning.
   * Returns whether the value was such a reference.
   */
  unresolvedSecret(node: ScalarNode, raw: unknown, path: string): boolean {
    const items = Array.isArray(raw)
      ? raw.map((item, index) => [item, `${path}[${index}]`] as const)
      : [[raw, path] as const];
    let found = false;
    for (const [item, itemPath] of items) {
      if (typeof item !== "string" || !SECRET_REFERENCE.test(item)) continue;
      found = true;
      const problem = this.secretProblem(itemPath, item);
      if (node.kind === "string" && node.ignored === true) {
        this.warn(itemPath, `${itemPath}: ${problem}; Pennant does not act on this key, so the text is kept`);
      } else {
        this.report(path, `${problem}; Pennant needs this value: give it directly or with \${env:VAR}`);
      }
    }
    return found;
  }

  /** Records an error; a second error at the same path (a consequence of the first) is dropped. */
  report(path: string, message: string): void {
    if (this.issues.some((issue) => issue.path === path)) return;
    const source = this.#sourceOf(path);
    this.issues.push(source === undefined ? { path, message } : { path, message, source });
  }

  warn(path: string, message: string): void {
    const source = this.#sourceOf(path);
    this.warnings.push(source === undefined ? message : `${message} (from ${source})`);
  }

  node(
    node: SchemaNode,
    raw: unknown,
    path: string,
    entryKey: string | undefined,
    siblings: object,
  ): unknown {
    switch (node.kind) {
      case "object":
        return this.object(node, raw, path, entryKey);
      case "map":
        return this.map(node, raw, path).entries;
      case "opaque":
        return this.opaque(node, raw, path);
      default:
        return this.scalar(node, raw, path, entryKey, siblings);
    }
  }

  scalar(
    node: ScalarNode,
    raw: unknown,
    path: string,
    entryKey: string | undefined,
    siblings: object,
  ): unknown {
    if (raw !== undefined && raw !== null) {
      // A string keeps the reference text, so that checks of its siblings do not report a consequence of the
      // error already reported (or warned about) here.
      if (this.unresolvedSecret(node, raw, path) && node.kind !== "string") return undefined;
      const result = decodeScalar(node, raw);
      if (!result.ok) {
        this.report(path, result.error);
        return undefined;
      }
      if (node.kind === "duration" && typeof raw === "number" && raw !== 0) {
        // Under a millisecond, the number was most likely meant as seconds.
        const hint = Math.abs(raw) < 1e6 ? ` (write "${raw}s" if you meant seconds)` : "";
        this.warn(
          path,
          `${path}: ${raw} is read as ${formatGoDuration(result.value as number)}: a bare number is nanoseconds, as in Flipt${hint}`,
        );
      }
      return result.value;
    }
    const fallback = this.fallback(node, siblings as Record<string, unknown>, entryKey);
    if (fallback === undefined) {
      if (node.required === true) this.report(path, "is required");
      return undefined;
    }
    return node.kind === "duration" ? parseGoDuration(String(fallback)) : fallback;
  }

  /** The default of a scalar: computed, or only when its sibling has a given value (`defaultWhen`). */
  fallback(node: ScalarNode, siblings: Record<string, unknown>, entryKey: string | undefined): unknown {
    const { defaultWhen } = node;
    if (defaultWhen !== undefined && siblings[camelCase(defaultWhen.key)] !== defaultWhen.is)
      return undefined;
    return typeof node.default === "function" ? node.default(siblings, entryKey ?? "") : node.default;
  }

  object(node: ObjectNode, raw: unknown, path: string, entryKey: string | undefined): unknown {
    if ((raw === undefined || raw === null) && node.optional === true) return undefined;
    const input = this.mapping(raw, path);
    if (input === undefined && node.optional === true) return undefined;
    const given = this.lowerKeys(input ?? {}, path);
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node.fields)) {
      const childPath = join(path, key);
      const value = given.get(key);
      if (child.kind === "map") {
        const { entries, reserved } = this.map(child, value, childPath);
        out[camelCase(key)] = entries;
        for (const [reservedKey, reservedValue] of Object.entries(reserved)) {
          out[camelCase(`${key}_${reservedKey}`)] = reservedValue;
        }
        continue;
      }
      const decoded = this.node(child, value, childPath, entryKey, out);
      if (decoded !== undefined) out[camelCase(key)] = decoded;
    }
    if (node.open !== true) {
      for (const key of given.keys()) {
        if (!Object.hasOwn(node.fields, key)) this.warn(join(path, key), `unknown key "${join(path, key)}"`);
      }
    }
    return node.finalize === undefined ? out : node.finalize(out, this.context(path, entryKey));
  }

  map(node: MapNode, raw: unknown, path: string): { entries: unknown; reserved: Record<string, unknown> } {
    const input = this.mapping(raw, path) ?? {};
    const lowerIds = node.entry.kind === "object";
    const given = lowerIds ? this.lowerKeys(input, path) : new Map(Object.entries(input));
    const reserved: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node.reserved ?? {})) {
      const value = this.node(child, given.get(key), join(path, key), undefined, reserved);
      if (value !== undefined) reserved[key] = value;
      given.delete(key);
    }
    const rawEntries =
      given.size === 0 && node.whenEmpty !== undefined ? new Map(Object.entries(node.whenEmpty)) : given;
    const entries: Record<string, unknown> = {};
    for (const [id, value] of rawEntries) {
      const decoded = this.node(node.entry, value, join(path, id), id, entries);
      if (decoded !== undefined) defineEntry(entries, id, decoded);
    }
    return { entries, reserved };
  }

  opaque(_node: OpaqueNode, raw: unknown, path: string): unknown {
    const input = this.mapping(raw, path) ?? {};
    forEachString(input, path, (stringPath, text) => {
      if (SECRET_REFERENCE.test(text)) {
        this.warn(
          stringPath,
          `${stringPath}: ${this.secretProblem(stringPath.toLowerCase(), text)}; Pennant does not act on this section, so the text is kept`,
        );
      }
    });
    return input;
  }

  /** A mapping as a record; anything else is reported and treated as absent. */
  mapping(raw: unknown, path: string): Record<string, unknown> | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw === "object" && !Array.isArray(raw)) return raw as Record<string, unknown>;
    this.report(path, `must be a mapping, got ${describe(raw)}`);
    return undefined;
  }

  /** Keys are case-insensitive, as in Flipt (viper lower-cases them). */
  lowerKeys(input: Record<string, unknown>, path: string): Map<string, unknown> {
    const keys = new Map<string, unknown>();
    for (const [key, value] of Object.entries(input)) {
      const lower = key.toLowerCase();
      if (keys.has(lower))
        this.report(join(path, lower), "is given more than once (keys are case-insensitive)");
      keys.set(lower, value);
    }
    return keys;
  }

  context(path: string, entryKey: string | undefined): NodeContext {
    return {
      path,
      entryKey,
      report: (relative, message) => this.report(join(path, relative), message),
      warn: (relative, message) => this.warn(join(path, relative), message),
      fileExists: this.#fileExists,
      userConfigDir: this.#userConfigDir,
    };
  }
}

function join(path: string, key: string): string {
  if (key === "") return path;
  return path === "" ? key : `${path}.${key}`;
}

/** Sets an own property even for ids like `__proto__`. */
function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function forEachString(value: unknown, path: string, visit: (path: string, text: string) => void): void {
  if (typeof value === "string") {
    visit(path, value);
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) forEachString(item, `${path}[${index}]`, visit);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) forEachString(item, join(path, key), visit);
  }
}

function fileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
