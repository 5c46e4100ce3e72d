/**
 * Loads configuration texts as `pennant` would, each from a file of its own in a temporary directory, with nothing
 * of this machine's: no default files, a user config dir of `/home/u/.config`, no file found by `fileExists` (so no
 * `/var/opt/flipt`). For the config unit tests.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { ConfigError } from "../../src/config/config-error.js";
import { type LoadConfigOptions, type LoadedConfig, loadConfig } from "../../src/config/load-config.js";

export interface ConfigTextLoader {
  /** Loads `text` as the `--config` file (no file with undefined), `env` and `options` over the defaults above. */
  load(
    text: string | undefined,
    env?: LoadConfigOptions["env"],
    options?: Partial<LoadConfigOptions>,
  ): Promise<LoadedConfig>;
  /** The file the last `load` with a text wrote it to. */
  lastPath(): string | undefined;
}

/**
 * A loader whose directory (named `<prefix>…`) is made before the file's tests and removed after them: call it at
 * the top level of a test file.
 */
export function useConfigTextLoader(prefix: string): ConfigTextLoader {
  let dir: string | undefined;
  let files = 0;
  let last: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return {
    async load(text, env = {}, options = {}) {
      let configPath: string | undefined;
      if (text !== undefined) {
        assert.ok(dir !== undefined, "load() runs inside a test");
        files += 1;
        configPath = join(dir, `config-${files}.yml`);
        await writeFile(configPath, text);
        last = configPath;
      }
      return loadConfig({
        env,
        defaultPaths: [],
        userConfigDir: "/home/u/.config",
        fileExists: () => false,
        ...(configPath === undefined ? {} : { configPath }),
        ...options,
      });
    },
    lastPath: () => last,
  };
}

/** The ConfigError a load that must fail throws. */
async function refusal(loading: Promise<LoadedConfig>): Promise<ConfigError> {
  try {
    await loading;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail("expected the configuration to be refused");
}

/** The problems of a load that must fail, as `path: message` (without where each value came from), sorted. */
export async function configProblems(loading: Promise<LoadedConfig>): Promise<string[]> {
  return (await refusal(loading)).issues.map((issue) => `${issue.path}: ${issue.message}`).sort();
}

/** The problems of a load that must fail as its message lists them, where each value came from included. */
export async function configProblemLines(loading: Promise<LoadedConfig>): Promise<string[]> {
  return (await refusal(loading)).message.split("\n").slice(1);
}
