import { stat } from "node:fs/promises";
import { join } from "node:path";
import { checkConfig } from "./check-config.js";
import { ConfigError, type ConfigIssue, formatConfigIssue } from "./config-error.js";
import { CONFIG_SCHEMA, type Config } from "./config-schema.js";
import { type ConfigShape, configShape } from "./config-shape.js";
import { decodeConfig } from "./decode-config.js";
import { applyEnvOverrides, collectEnvOverrides } from "./env-overrides.js";
import { fromV1Config } from "./from-v1-config.js";
import { type InterpolationWarning, interpolateEnv } from "./interpolate-env.js";
import { type ConfigFile, readConfigFile } from "./read-config-file.js";
import { resolveSecrets } from "./resolve-secrets.js";
import type { ObjectNode } from "./schema.js";
import { userConfigDirectory } from "./user-config-directory.js";
import { V1_CONFIG_SCHEMA } from "./v1-config-schema.js";

export interface LoadConfigOptions {
  /** `--config`: this file must exist. Without it the default locations are tried. */
  readonly configPath?: string | undefined;
  /** The environment: `FLIPT_*` overrides and `${env:VAR}` values. The CLI passes `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base of `<dir>/flipt/config.yml`. @default `$XDG_CONFIG_HOME`, else `$HOME/.config` (from `env`) */
  readonly userConfigDir?: string | undefined;
  /**
   * Files tried in order when `configPath` is not given; the first that exists is used.
   * @default [`<userConfigDir>/flipt/config.yml`, `/etc/flipt/config/default.yml` (Linux only)]
   */
  readonly defaultPaths?: readonly string[];
  /** Whether a file exists, for `server.cert_file` and similar checks. @default an `fs.statSync` check */
  readonly fileExists?: (path: string) => boolean;
  /** Reads a file of the `file` secret provider. @default `fs.readFile` as UTF-8 */
  readonly readSecretFile?: (path: string) => Promise<string>;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, or undefined when the built-in defaults were used. */
  readonly path: string | undefined;
  /** Whether the configuration was written for Flipt v1 (one storage, `db`) or v2, and what said so. */
  readonly shape: ConfigShape;
  /**
   * Non-fatal findings: unknown keys and `FLIPT_*` variables, unset `${env:VAR}` references, `${secret:…}` values
   * left in keys Pennant does not act on, bare-number durations, unknown log levels and token roles.
   */
  readonly warnings: readonly string[];
}

/**
 * Loads the configuration: built-in defaults < config file < `FLIPT_*` variables. `${env:VAR}` in the file is
 * replaced first; `${secret:…}` values (file, or variables) are resolved last, as Flipt resolves them. A Flipt v1
 * configuration (`configShape`) is read with v1's keys and becomes one storage and one environment `default`.
 * Throws one `ConfigError` listing every problem found.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const { env } = options;
  const path = await chooseConfigFile(options);
  const file: ConfigFile =
    path === undefined ? { tree: {}, locations: new Map() } : await readConfigFile(path);

  const interpolationWarnings: InterpolationWarning[] = [];
  const interpolated = interpolateEnv(file.tree, env, interpolationWarnings) as Record<string, unknown>;
  const shape = configShape(interpolated, env);
  const schema: ObjectNode = shape.version === "v1" ? V1_CONFIG_SCHEMA : CONFIG_SCHEMA;
  const { overrides, warnings: envWarnings } = collectEnvOverrides(schema, env, interpolated);
  const merged = applyEnvOverrides(interpolated, overrides);
  const { sources } = merged;
  const sourceOf = (keyPath: string) =>
    sources.get(keyPath) ?? file.locations.get(keyPath) ?? onlyVariableUnder(sources, keyPath);
  const { tree, unresolved } = await resolveSecrets(
    merged.tree,
    options.readSecretFile === undefined ? {} : { readFile: options.readSecretFile },
  );

  const decodeOptions = {
    sourceOf,
    unresolvedSecrets: unresolved,
    userConfigDir: options.userConfigDir ?? userConfigDirectory(env, process.platform),
    ...(options.fileExists === undefined ? {} : { fileExists: options.fileExists }),
  };
  const decoded =
    shape.version === "v1"
      ? decodeConfig(V1_CONFIG_SCHEMA, tree, { ...decodeOptions, check: fromV1Config })
      : decodeConfig(CONFIG_SCHEMA, tree, { ...decodeOptions, check: checkConfig });
  if (decoded.issues.length > 0) throw new ConfigError(decoded.issues);
  const referenceWarnings = interpolationWarnings.map((warning) =>
    formatConfigIssue(withSource(warning, sourceOf)),
  );
  return {
    config: decoded.config,
    path,
    shape,
    warnings: [...referenceWarnings, ...decoded.warnings, ...envWarnings],
  };
}

/** The variable that set something under `keyPath`, when exactly one did. */
function onlyVariableUnder(sources: ReadonlyMap<string, string>, keyPath: string): string | undefined {
  const under = [...sources].filter(([path]) => keyPath === "" || path.startsWith(`${keyPath}.`));
  return under.length === 1 ? under[0]?.[1] : undefined;
}

function withSource(issue: ConfigIssue, sourceOf: (path: string) => string | undefined): ConfigIssue {
  const source = sourceOf(issue.path);
  return source === undefined ? issue : { ...issue, source };
}

async function chooseConfigFile(options: LoadConfigOptions): Promise<string | undefined> {
  const { configPath } = options;
  if (configPath !== undefined && configPath !== "") {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(configPath)) {
      throw new ConfigError([
        {
          path: "",
          message: `config file ${JSON.stringify(configPath)}: remote config URLs are not supported`,
        },
      ]);
    }
    if (!(await exists(configPath))) {
      throw new ConfigError([
        { path: "", message: `config file ${JSON.stringify(configPath)} does not exist` },
      ]);
    }
    return configPath;
  }
  for (const candidate of options.defaultPaths ?? defaultConfigPaths(options.env, options.userConfigDir)) {
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

/** Flipt's default config locations: the user config dir, then (on Linux) /etc/flipt/config/default.yml. */
export function defaultConfigPaths(
  env: Readonly<Record<string, string | undefined>>,
  userConfigDir?: string,
  platform: NodeJS.Platform = process.platform,
): string[] {
  const base = userConfigDir ?? userConfigDirectory(env, platform);
  const paths = base === undefined ? [] : [join(base, "flipt", "config.yml")];
  if (platform === "linux") paths.push("/etc/flipt/config/default.yml");
  return paths;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
