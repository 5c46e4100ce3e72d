import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../config/load-config.js";
import { createGitRunner } from "../storage/git/run-git.js";
import { createEnvironments } from "./create-environments.js";

describe("createEnvironments()", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-create-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const configFor = async (env: Record<string, string>) =>
    (await loadConfig({ env, defaultPaths: [] })).config;

  it("opens nothing when the commit template is broken: no directory, no repository", async () => {
    const path = join(root, "never");
    const config = await configFor({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: path,
    });
    const broken = { ...config, templates: { ...config.templates, commitMessage: "{{ .Changes" } };
    await assert.rejects(
      createEnvironments(
        broken,
        createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" }),
        pino({ level: "silent" }),
      ),
    );
    assert.equal(existsSync(path), false);
  });

  it("opens only the storage of the one environment asked for, as its default, and closes it", async () => {
    const config = await configFor({
      FLIPT_STORAGE_A_BACKEND_TYPE: "local",
      FLIPT_STORAGE_A_BACKEND_PATH: join(root, "a"),
      FLIPT_STORAGE_B_BACKEND_TYPE: "local",
      FLIPT_STORAGE_B_BACKEND_PATH: join(root, "b"),
      FLIPT_ENVIRONMENTS_ONE_STORAGE: "a",
      FLIPT_ENVIRONMENTS_ONE_DEFAULT: "true",
      FLIPT_ENVIRONMENTS_TWO_STORAGE: "b",
    });
    const created = await createEnvironments(
      config,
      createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" }),
      pino({ level: "silent" }),
      {},
      {
        recover: false,
        only: "two",
      },
    );
    assert.deepEqual(
      created.environments.list().map((environment) => [environment.key, environment.isDefault]),
      [["two", true]],
    );
    assert.equal(existsSync(join(root, "a")), false, "the other storage was not opened");
    assert.equal(existsSync(join(root, "b", ".git")), true);
    await created.close();
    await assert.rejects(
      createEnvironments(
        config,
        createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" }),
        pino({ level: "silent" }),
        {},
        { only: "three" },
      ),
      { name: "NotFoundError" },
    );
  });

  it("gives each set of environments its own config's limits, side by side in one process", async () => {
    const path = join(root, "limits");
    await mkdir(path);
    await writeFile(join(path, "features.yaml"), "flags:\n  - key: a\n    name: A\n");
    const config = await configFor({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: path,
    });
    const strict = { ...config, limits: { ...config.limits, maxFeaturesFileBytes: 20 } };
    const git = createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" });
    const logger = pino({ level: "silent" });
    const small = await createEnvironments(strict, git, logger, {}, { recover: false });
    const roomy = await createEnvironments(config, git, logger, {}, { recover: false });
    try {
      await Promise.all([small.environments.default.reload(), roomy.environments.default.reload()]);
      assert.match(
        small.environments.default.status.lastError?.message ?? "",
        /larger than the 20-byte limit for a features file/,
      );
      assert.equal(roomy.environments.default.status.lastError, undefined);
      assert.ok(roomy.environments.default.snapshot.namespaces.get("default")?.flags.has("a"));
    } finally {
      await small.close();
      await roomy.close();
    }
  });
});
