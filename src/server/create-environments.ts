import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import type { Config, StorageConfig } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import { NotFoundError } from "../domain/errors.js";
import type { FeaturesLimits } from "../format/limits.js";
import { compileCommitTemplate, DEFAULT_COMMIT_TEMPLATE, TemplateError } from "../storage/commit-template.js";
import { Environment } from "../storage/environment.js";
import { Environments } from "../storage/environments.js";
import type { FlagSource } from "../storage/flag-source.js";
import { createGitAuth, normalizeSshRemote } from "../storage/git/credentials.js";
import { GitRemoteSource } from "../storage/git/remote-source.js";
import type { GitRunner } from "../storage/git/run-git.js";
import { LocalSource } from "../storage/local/local-source.js";
import { MemorySource } from "../storage/memory/memory-source.js";

export interface CreatedEnvironments {
  readonly environments: Environments;
  /** Stops every environment and closes every storage this opened (clones, credential files): call it once. */
  close(): Promise<void>;
}

/**
 * The composition root for storage: one source per `storage.<id>` that an environment uses, then one
 * environment per `environments.<key>`. The only place concrete backends are chosen. `recover` (the server's
 * default) undoes what a Pennant killed mid-write left in a repository; commands run beside a server pass false.
 */
export async function createEnvironments(
  config: Config,
  git: GitRunner,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = {},
  { recover = true, only }: { readonly recover?: boolean; readonly only?: string } = {},
): Promise<CreatedEnvironments> {
  const limits = featuresLimitsOf(config);
  // Everything that can fail without touching the disk comes first: nothing is opened that would need closing.
  const template = commitTemplate(config.templates.commitMessage);
  const chosen = Object.values(config.environments).filter(
    (environment) => only === undefined || environment.name === only,
  );
  if (chosen.length === 0) throw new NotFoundError(`environment "${only}" not found`);
  const sources = new Map<string, FlagSource>();
  const closeSources = () => Promise.all([...sources.values()].map((source) => source.close()));
  try {
    for (const environment of chosen) {
      if (sources.has(environment.storage)) continue;
      const storage = config.storage[environment.storage] as StorageConfig;
      sources.set(
        environment.storage,
        await openSource(environment.storage, storage, { config, git, env, logger, recover, limits }),
      );
    }
  } catch (error) {
    await closeSources();
    throw error;
  }
  const environments = chosen.map((environment) => {
    const storage = config.storage[environment.storage] as StorageConfig;
    return new Environment({
      key: environment.name,
      // One environment chosen alone is the default of what was opened.
      isDefault: only === undefined ? environment.default : true,
      storage: environment.storage,
      directory: environment.directory,
      ref: storage.branch,
      remote: storage.remote,
      readOnly: storage.readOnly,
      author: { name: storage.signature.name, email: storage.signature.email },
      commitTemplate: template,
      limits,
      webhookSecret: storage.webhookSecret,
      source: sources.get(environment.storage) as FlagSource,
      logger,
    });
  });
  const created = new Environments(environments);
  return {
    environments: created,
    async close() {
      await created.stop();
      await closeSources();
    },
  };
}

/** The config's limits on features files (`limits.*`), which every environment and local storage keeps to. */
export function featuresLimitsOf(config: Config): FeaturesLimits {
  return {
    maxFileBytes: config.limits.maxFeaturesFileBytes,
    maxAliasNodes: config.limits.maxYamlAliasNodes,
    maxExpandedBytes: config.limits.maxFeaturesExpandedBytes,
    maxSnapshotBytes: config.limits.maxSnapshotBytes,
  };
}

/**
 * git's TLS settings for a storage: `ca_cert_path` or `ca_cert_bytes` (written to a private temporary file) as
 * the CA bundle, `insecure_skip_tls` to skip verification. Given as environment variables, which beat both git
 * config and the CA bundle a machine may set in its own environment.
 */
async function tlsEnv(
  storage: StorageConfig,
): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const env: Record<string, string> = {};
  let directory: string | undefined;
  if (storage.caCertPath !== undefined) env.GIT_SSL_CAINFO = resolve(storage.caCertPath);
  if (storage.caCertBytes !== undefined) {
    directory = await mkdtemp(join(tmpdir(), "pennant-ca-"));
    const file = join(directory, "ca.pem");
    await writeFile(file, storage.caCertBytes, { mode: 0o600 });
    env.GIT_SSL_CAINFO = file;
  }
  if (storage.insecureSkipTls) env.GIT_SSL_NO_VERIFY = "true";
  return {
    env,
    close: async () => {
      if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Compiles `templates.commit_message`; a template Pennant cannot run is a configuration error. */
function commitTemplate(text: string | undefined) {
  try {
    return compileCommitTemplate(text ?? DEFAULT_COMMIT_TEMPLATE);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw new ConfigError([{ path: "templates.commit_message", message: error.message }], { cause: error });
  }
}

async function openSource(
  id: string,
  storage: StorageConfig,
  {
    config,
    git,
    env,
    logger,
    recover,
    limits,
  }: {
    readonly config: Config;
    readonly git: GitRunner;
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly logger: Logger;
    readonly recover: boolean;
    readonly limits: FeaturesLimits;
  },
): Promise<FlagSource> {
  if (storage.remote !== undefined) {
    const credential =
      storage.credentials === undefined ? undefined : config.credentials[storage.credentials];
    const auth = await createGitAuth(credential, { tmpDir: tmpdir(), env });
    const tls = await tlsEnv(storage);
    const remote =
      credential?.type === "ssh"
        ? normalizeSshRemote(storage.remote, credential.ssh?.user ?? "git")
        : storage.remote;
    // The clone is read with the default size cap (the remote source takes no limits yet); every build of its
    // state still keeps to `limits`, through the environment.
    return GitRemoteSource.open({
      remote,
      onClose: async () => {
        await auth.close();
        await tls.close();
      },
      branch: storage.branch,
      semver: storage.refType === "semver" ? storage.ref : undefined,
      path: storage.backend.type === "local" ? resolve(storage.backend.path ?? ".") : undefined,
      fetchPolicy: storage.fetchPolicy,
      pollIntervalMs: storage.pollInterval,
      git,
      authEnv: async () => ({ ...(await auth.env()), ...tls.env }),
      signature: storage.signature,
      logger: logger.child({ storage: id }),
      recover,
    });
  }
  switch (storage.backend.type) {
    case "memory":
      return new MemorySource();
    case "local":
      return LocalSource.open({
        path: resolve(storage.backend.path ?? "."),
        branch: storage.branch,
        git,
        signature: storage.signature,
        rescanIntervalMs: storage.pollInterval,
        logger: logger.child({ storage: id }),
        recover,
        limits,
      });
  }
}
