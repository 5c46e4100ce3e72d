import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import { clearStaleLocks } from "./clear-stale-locks.js";

describe("clearStaleLocks", () => {
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.remove();
  });

  it("removes the lock files a killed git left, so git can write again", async () => {
    const repo = await createTempRepo({ "features.yaml": "flags: []\n" });
    repos.push(repo);
    for (const lock of ["index.lock", "HEAD.lock", "refs/heads/main.lock"]) {
      await writeFile(join(repo.path, ".git", lock), "");
    }
    assert.throws(() => repo.git("commit", "--allow-empty", "--quiet", "-m", "blocked"), /index\.lock/);
    assert.deepEqual((await clearStaleLocks(repo.path)).sort(), [
      ".git/HEAD.lock",
      ".git/index.lock",
      ".git/refs/heads/main.lock",
    ]);
    repo.git("commit", "--allow-empty", "--quiet", "-m", "unblocked");
    assert.equal(repo.git("log", "-1", "--format=%s"), "unblocked");
    assert.ok(existsSync(join(repo.path, ".git", "HEAD")), "only lock files go");
  });

  it("finds nothing in a clean repository, or where there is no repository", async () => {
    const repo = await createTempRepo();
    repos.push(repo);
    assert.deepEqual(await clearStaleLocks(repo.path), []);
    assert.deepEqual(await clearStaleLocks(join(repo.path, "missing")), []);
  });
});
