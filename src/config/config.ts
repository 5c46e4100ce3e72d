import { checkConfig } from "./check-config.js";
import { ConfigError } from "./config-error.js";
import { CONFIG_SCHEMA, type Config } from "./config-schema.js";
import { decodeConfig } from "./decode-config.js";

// The names the rest of Pennant uses for parts of the configuration (only those it uses). Every one is derived from `Config`, which is
// derived from `CONFIG_SCHEMA`: a key's type, default and doc are written there once, as its schema entry.

export type { Config };

export type LogLevel = Config["log"]["level"];
export type StorageConfig = Config["storage"][string];
export type EnvironmentConfig = Config["environments"][string];
export type CredentialConfig = Config["credentials"][string];
export type SshCredentialConfig = NonNullable<CredentialConfig["ssh"]>;
export type TokenMethodConfig = Config["authentication"]["methods"]["token"];
export type JwtMethodConfig = Config["authentication"]["methods"]["jwt"];

/** The configuration with nothing configured (no file, no `FLIPT_*` variables). Deeply frozen. */
export const DEFAULT_CONFIG: Config = defaultConfig();

function defaultConfig(): Config {
  const { config, issues } = decodeConfig(CONFIG_SCHEMA, {}, { check: checkConfig });
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
