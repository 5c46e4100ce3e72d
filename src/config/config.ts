import { checkConfig } from "./check-config.js";
import { ConfigError } from "./config-error.js";
import { CONFIG_SCHEMA, type Config } from "./config-schema.js";
import { decodeConfig } from "./decode-config.js";
import type { OpaqueValue } from "./schema.js";

// The names the rest of Pennant uses for parts of the configuration. Every one is derived from `Config`, which is
// derived from `CONFIG_SCHEMA`: a key's type, default and doc are written there once, as its schema entry.

export type { Config };

export type LogConfig = Config["log"];
/** Flipt's (zap's) levels, lowest first. */
export type LogLevel = LogConfig["level"];
export type LogEncoding = LogConfig["encoding"];
export type LogKeysConfig = LogConfig["keys"];

export type ServerConfig = Config["server"];
export type ServerProtocol = ServerConfig["protocol"];
export type CorsConfig = Config["cors"];

export type StorageConfig = Config["storage"][string];
export type StorageBackendConfig = StorageConfig["backend"];
export type StorageBackendType = StorageBackendConfig["type"];
export type RefType = StorageConfig["refType"];
export type FetchPolicy = StorageConfig["fetchPolicy"];
export type SignatureConfig = StorageConfig["signature"];
export type SignatureKeyRefConfig = NonNullable<SignatureConfig["keyRef"]>;

export type EnvironmentConfig = Config["environments"][string];
export type ScmConfig = NonNullable<EnvironmentConfig["scm"]>;
export type ScmType = ScmConfig["type"];

export type CredentialConfig = Config["credentials"][string];
export type CredentialType = CredentialConfig["type"];
export type BasicCredentialConfig = NonNullable<CredentialConfig["basic"]>;
export type SshCredentialConfig = NonNullable<CredentialConfig["ssh"]>;
export type GithubAppCredentialConfig = NonNullable<CredentialConfig["githubApp"]>;

export type AuthenticationConfig = Config["authentication"];
export type AuthenticationExcludeConfig = AuthenticationConfig["exclude"];
export type AuthenticationSessionConfig = AuthenticationConfig["session"];
export type AuthenticationCsrfConfig = AuthenticationSessionConfig["csrf"];
export type AuthenticationMethodsConfig = AuthenticationConfig["methods"];
export type TokenMethodConfig = AuthenticationMethodsConfig["token"];
export type TokenStorageConfig = TokenMethodConfig["storage"];
export type StaticTokenConfig = TokenStorageConfig["tokens"][string];
export type JwtMethodConfig = AuthenticationMethodsConfig["jwt"];
export type JwtClaimsConfig = JwtMethodConfig["validateClaims"];

export type TemplatesConfig = Config["templates"];
export type EvaluationConfig = Config["evaluation"];
export type LimitsConfig = Config["limits"];
export type MetricsConfig = Config["metrics"];
export type MetricsExporter = MetricsConfig["exporter"];
export type TracingConfig = Config["tracing"];
export type UiConfig = Config["ui"];
export type MetaConfig = Config["meta"];
export type SecretsConfig = Config["secrets"];
/** A section Pennant accepts but does not interpret, as parsed from the file. */
export type OpaqueConfig = OpaqueValue;

/** The configuration with nothing configured (no file, no `FLIPT_*` variables). Deeply frozen. */
export const DEFAULT_CONFIG: Config = defaultConfig();

function defaultConfig(): Config {
  const { config, issues } = decodeConfig(CONFIG_SCHEMA, {}, { check: checkConfig });
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
