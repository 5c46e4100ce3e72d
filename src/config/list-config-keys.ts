import { ENV_PREFIX } from "./env-overrides.js";
import { isScalarNode, type ObjectNode, type ScalarNode, type SchemaNode } from "./schema.js";

/** One settable key of the schema, as documented in docs/configuration.md. */
export interface ConfigKey {
  /** File key path; map entries appear as `<id>`, e.g. `storage.<id>.poll_interval`. */
  readonly key: string;
  /** The matching variable, e.g. `FLIPT_STORAGE_<ID>_POLL_INTERVAL`. */
  readonly env: string;
  /** `string`, `"http" \| "https"`, `integer 0..65535`, `duration ≥ 1s`, `list`, `mapping`, ... */
  readonly type: string;
  /** The default as docs show it, e.g. `8080`, `"main"`, `30s`; undefined when there is none. */
  readonly default: string | undefined;
  readonly doc: string;
}

/** Lists every leaf key of a schema (scalars, string maps and uninterpreted sections). */
export function listConfigKeys(schema: ObjectNode): ConfigKey[] {
  const keys: ConfigKey[] = [];
  visit(schema, "", keys);
  return keys;
}

function visit(node: SchemaNode, path: string, keys: ConfigKey[]): void {
  switch (node.kind) {
    case "object":
      for (const [key, child] of Object.entries(node.fields)) visit(child, join(path, key), keys);
      return;
    case "map":
      for (const [key, child] of Object.entries(node.reserved ?? {})) visit(child, join(path, key), keys);
      if (isScalarNode(node.entry)) {
        keys.push(entry(join(path, `<${node.entryName}>`), typeOf(node.entry), undefined, node.doc));
      } else {
        visit(node.entry, join(path, `<${node.entryName}>`), keys);
      }
      return;
    case "opaque":
      keys.push({
        ...entry(path, "mapping (not interpreted)", undefined, node.doc),
        env: `${envName(path)}_*`,
      });
      return;
    default:
      keys.push(entry(path, typeOf(node), formatDefault(node), node.doc));
  }
}

function entry(key: string, type: string, defaultText: string | undefined, doc: string): ConfigKey {
  return { key, env: envName(key), type, default: defaultText, doc };
}

function envName(key: string): string {
  return ENV_PREFIX + key.replaceAll(".", "_").toUpperCase();
}

function typeOf(node: SchemaNode): string {
  switch (node.kind) {
    case "string":
      return node.values === undefined ? "string" : node.values.map((value) => `"${value}"`).join(" \\| ");
    case "boolean":
      return "boolean";
    case "integer":
      if (node.min !== undefined && node.max !== undefined) return `integer ${node.min}..${node.max}`;
      return node.min === undefined ? "integer" : `integer ≥ ${node.min}`;
    case "duration":
      return node.min === undefined || node.min === "0s" ? "duration" : `duration ≥ ${node.min}`;
    case "list":
      return "list of strings";
    default:
      return "mapping";
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** How a default is shown in docs: `"main"`, `8080`, `30s`, `["*"]`, `"." when type is local`. */
function formatDefault(node: ScalarNode): string | undefined {
  if (node.defaultText !== undefined) return node.defaultText;
  const text = formatValue(node);
  const { defaultWhen } = node;
  return text === undefined || defaultWhen === undefined
    ? text
    : `${text} when ${defaultWhen.key} is ${defaultWhen.is}`;
}

function formatValue(node: ScalarNode): string | undefined {
  const value = node.default;
  if (value === undefined || typeof value === "function") return undefined;
  if (node.kind === "duration") return String(value);
  if (Array.isArray(value)) return `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
  return JSON.stringify(value);
}
