import { ConfigError } from "./config-error.js";
import { ENV_PREFIX } from "./env-overrides.js";

/** Which of Flipt's configuration formats a configuration is written in, and what said so. */
export interface ConfigShape {
  readonly version: "v1" | "v2";
  /** The key or variable that decided, e.g. `db`, `storage.type`, `FLIPT_DB_URL`; undefined for the v2 default. */
  readonly reason: string | undefined;
}

/**
 * Tells a Flipt v1 configuration from a v2 one. The file decides when it says:
 * - v1: a top-level `db` key, a `storage.type` that is not a mapping (in v2, `storage.<id>` is always one),
 *   or `version: "1.0"`;
 * - v2: `version: "2.0"`, or an `environments` key.
 * A file with marks of both is an error naming them. When the file says neither (or there is no file), a
 * `FLIPT_STORAGE_TYPE` or `FLIPT_DB_*` variable makes it v1 (Flipt v1 deployments are often configured by
 * variables alone); otherwise it is v2, so that no file and no variables give the built-in v2 defaults.
 */
export function configShape(
  tree: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): ConfigShape {
  const v1 = v1Marks(tree);
  const v2 = v2Marks(tree);
  if (v1.length > 0 && v2.length > 0) {
    throw new ConfigError([
      {
        path: "",
        message: `the file mixes Flipt v1 configuration (${v1.join(", ")}) with v2 configuration (${v2.join(", ")}): write it in one of the two (see docs/configuration.md, "Flipt v1 configuration files")`,
      },
    ]);
  }
  if (v1.length > 0) return { version: "v1", reason: v1[0] };
  if (v2.length > 0) return { version: "v2", reason: v2[0] };
  const variable = Object.keys(env)
    .sort()
    .find(
      (name) =>
        (name === `${ENV_PREFIX}STORAGE_TYPE` || name.startsWith(`${ENV_PREFIX}DB_`)) &&
        env[name] !== undefined &&
        env[name] !== "",
    );
  return variable === undefined ? { version: "v2", reason: undefined } : { version: "v1", reason: variable };
}

function v1Marks(tree: Readonly<Record<string, unknown>>): string[] {
  const marks: string[] = [];
  if (childOf(tree, "db") !== undefined) marks.push("db");
  const type = childOf(childOf(tree, "storage"), "type");
  if (type !== undefined && type !== null && (typeof type !== "object" || Array.isArray(type))) {
    marks.push("storage.type");
  }
  if (versionOf(tree) === "1.0") marks.push('version "1.0"');
  return marks;
}

function v2Marks(tree: Readonly<Record<string, unknown>>): string[] {
  const marks: string[] = [];
  if (versionOf(tree) === "2.0") marks.push('version "2.0"');
  if (childOf(tree, "environments") !== undefined) marks.push("environments");
  return marks;
}

function versionOf(tree: Readonly<Record<string, unknown>>): string | undefined {
  const version = childOf(tree, "version");
  if (typeof version !== "string" && typeof version !== "number") return undefined;
  const text = String(version).trim();
  return /^\d$/.test(text) ? `${text}.0` : text;
}

/** The value under `key`, matched case-insensitively as Flipt's loader matches keys. */
function childOf(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  for (const [candidate, child] of Object.entries(value)) {
    if (candidate.toLowerCase() === key) return child;
  }
  return undefined;
}
