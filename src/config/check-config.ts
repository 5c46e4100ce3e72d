import { parseGoBool } from "../go/parse-go-bool.js";
import type { Config } from "./config-schema.js";
import type { NodeContext } from "./schema.js";

type Environments = Config["environments"];

/**
 * The rules that span sections, run on the decoded configuration (`decodeConfig`'s `check`): references between
 * storages, environments and credentials, the default environment, TLS files, a cache with nothing to cache, and
 * folding `storage.read_only` (and semver refs) into each storage. The rules within one section are the schema's
 * own (`finalize`).
 */
export function checkConfig(config: Config, context: NodeContext): Config {
  checkAuthorization(config, context);
  checkServer(config, context);
  checkStorageReferences(config, context);
  checkEnvironmentReferences(config, context);
  checkDatabaseDirectories(config, context);
  checkSharedDirectories(config.environments, context);
  checkDuplicateNames(config.environments, context);
  checkCacheHasDatabase(config, context);
  return {
    ...config,
    storage: mapValues(config.storage, (storage) => ({
      ...storage,
      // A storage that follows tags cannot be written: a write could only move a tag or fork a branch.
      readOnly: config.storageReadOnly || storage.readOnly || storage.refType === "semver",
    })),
    environments: resolveDefaultEnvironment(config.environments, context),
  };
}

/** The message for `authorization.required: true`, which Pennant cannot honour. */
const AUTHORIZATION_REFUSED =
  "Pennant does not evaluate Flipt's authorization policies (Rego), so it cannot enforce them and will not start " +
  "as if it did. Remove authorization (or set required: false) and limit what each token may do with its " +
  "metadata.role instead: read (no writes) or write (see docs/configuration.md, Authentication)";

/**
 * `authorization.required: true` asks for Flipt's Rego policies to decide every call. Pennant has no policy engine,
 * and ignoring the key would let every authenticated caller write: refuse it, naming the key.
 */
function checkAuthorization({ authorization }: Config, context: NodeContext): void {
  const key = Object.keys(authorization).find((name) => name.toLowerCase() === "required");
  if (key === undefined) return;
  const required = authorization[key];
  const value = typeof required === "string" ? (required === "" ? false : parseGoBool(required)) : required;
  if (value === false || value === null || value === undefined) return;
  if (value !== true) {
    context.report(
      "authorization.required",
      `must be a boolean (true or false), got ${JSON.stringify(required)}`,
    );
    return;
  }
  context.report("authorization.required", AUTHORIZATION_REFUSED);
}

function checkServer({ server }: Config, context: NodeContext): void {
  if (server.protocol !== "https") return;
  for (const [key, file] of [
    ["cert_file", server.certFile],
    ["cert_key", server.certKey],
  ] as const) {
    if (file === undefined || file === "") {
      context.report(`server.${key}`, "is required when protocol is https");
    } else if (!context.fileExists(file)) {
      context.report(`server.${key}`, `file ${JSON.stringify(file)} does not exist`);
    }
  }
}

function checkStorageReferences(config: Config, context: NodeContext): void {
  for (const [id, storage] of Object.entries(config.storage)) {
    if (storage.credentials !== undefined && !Object.hasOwn(config.credentials, storage.credentials)) {
      context.report(
        `storage.${id}.credentials`,
        `storage "${id}" references undefined credentials "${storage.credentials}"`,
      );
    }
  }
}

function checkEnvironmentReferences(config: Config, context: NodeContext): void {
  for (const [key, environment] of Object.entries(config.environments)) {
    if (!Object.hasOwn(config.storage, environment.storage)) {
      context.report(
        `environments.${key}.storage`,
        `environment "${key}" references undefined storage "${environment.storage}"`,
      );
    }
    const scmCredentials = environment.scm?.credentials;
    if (scmCredentials !== undefined && !Object.hasOwn(config.credentials, scmCredentials)) {
      context.report(
        `environments.${key}.scm.credentials`,
        `environment "${key}" references undefined credentials "${scmCredentials}"`,
      );
    }
  }
}

/**
 * A database holds one environment's state, and an OCI bundle one set of layers, with no directories: an
 * environment on either names none.
 */
function checkDatabaseDirectories(config: Config, context: NodeContext): void {
  for (const [key, environment] of Object.entries(config.environments)) {
    const type = config.storage[environment.storage]?.backend.type;
    if ((type !== "database" && type !== "oci") || normalizeDirectory(environment.directory) === "") continue;
    const what = type === "database" ? "a database" : "an OCI bundle";
    context.report(
      `environments.${key}.directory`,
      `must be empty: storage "${environment.storage}" is ${what}, which has no directories (got ${JSON.stringify(environment.directory)})`,
    );
  }
}

/** The warning for `cache.enabled: true` when no storage is a database. */
export const CACHE_WITHOUT_DATABASE =
  "cache.enabled: the cache has no effect on git, local, memory or object storage: their flag state is already served from memory";

/**
 * The cache sits in front of a database storage. Git, local, memory and object storages hold their snapshots in
 * memory already: a cache enabled with none but those is accepted (Flipt v1 files have it), with a warning that it
 * does nothing there.
 */
function checkCacheHasDatabase({ cache, storage }: Config, context: NodeContext): void {
  if (!cache.enabled) return;
  if (Object.values(storage).some((entry) => entry.backend.type === "database")) return;
  context.warn("cache.enabled", CACHE_WITHOUT_DATABASE);
}

/** Environments sharing a storage must use distinct directories. */
function checkSharedDirectories(environments: Environments, context: NodeContext) {
  const byLocation = new Map<string, string[]>();
  for (const [key, environment] of Object.entries(environments)) {
    const location = JSON.stringify([environment.storage, normalizeDirectory(environment.directory)]);
    byLocation.set(location, [...(byLocation.get(location) ?? []), key]);
  }
  for (const [location, keys] of byLocation) {
    if (keys.length < 2) continue;
    const [storage, directory] = JSON.parse(location) as [string, string];
    context.report(
      "environments",
      `environments [${keys.join(", ")}] share the same storage "${storage}" and directory "${directory}"`,
    );
  }
}

function normalizeDirectory(directory: string): string {
  const trimmed = directory.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  return trimmed === "." ? "" : trimmed;
}

/** Two environments with the same `name` would be indistinguishable in the APIs. */
function checkDuplicateNames(environments: Environments, context: NodeContext) {
  const byName = new Map<string, string[]>();
  for (const [key, environment] of Object.entries(environments)) {
    byName.set(environment.name, [...(byName.get(environment.name) ?? []), key]);
  }
  for (const [name, keys] of byName) {
    if (keys.length > 1)
      context.report("environments", `environments [${keys.join(", ")}] have the same name "${name}"`);
  }
}

/**
 * The default environment is the one with `default: true`, else the one keyed `default`,
 * else the only one (api.md §4). The result has exactly one `default: true` when valid.
 */
function resolveDefaultEnvironment(environments: Environments, context: NodeContext): Environments {
  const keys = Object.keys(environments);
  const marked = keys.filter((key) => environments[key]?.default === true);
  if (marked.length > 1) {
    context.report("environments", `only one environment can be the default, found [${marked.join(", ")}]`);
    return environments;
  }
  if (marked.length === 1) return environments;
  const chosen = Object.hasOwn(environments, "default") ? "default" : keys.length === 1 ? keys[0] : undefined;
  if (chosen === undefined) {
    context.report(
      "environments",
      `explicit default environment required: set default: true on one of [${keys.join(", ")}]`,
    );
    return environments;
  }
  return mapValues(environments, (environment, key) =>
    key === chosen ? { ...environment, default: true } : environment,
  );
}

function mapValues<T>(
  record: Readonly<Record<string, T>>,
  change: (value: T, key: string) => T,
): Readonly<Record<string, T>> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, change(value, key)]));
}
