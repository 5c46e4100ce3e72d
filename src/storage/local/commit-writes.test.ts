import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import { createGitRunner, type GitRunner } from "../git/run-git.js";
import { commitWrites, undoInterruptedWrite } from "./commit-writes.js";

/** A minimal environment: the system git, and no config of the machine it runs on. */
const git = createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" });
const author = { name: "test", email: "test@example.com" };

/** A git runner that runs every command for real, but never answers once `stopAt` has run: a process that died. */
function dyingRunner(stopAt: (args: readonly string[]) => boolean): GitRunner {
  return async (cwd, args, options) => {
    const result = await git(cwd, args, options);
    if (stopAt(args)) return new Promise<never>(() => {});
    return result;
  };
}

/** Starts commitWrites with `runner` and lets it get as far as the runner allows. */
async function interruptedWrite(repo: TempRepo, runner: GitRunner, ranUntilStop: () => boolean) {
  void commitWrites({
    repository: repo.path,
    directory: "",
    writes: [
      { path: "team/features.yaml", text: "namespace: team\nflags: []\n# changed\n" },
      { path: "new/features.yaml", text: "namespace: new\n" },
    ],
    message: "a write",
    author,
    existing: new Set(["team/features.yaml"]),
    git: runner,
  });
  await waitFor(() => (ranUntilStop() ? true : undefined), {
    what: "the write to reach the point it dies at",
  });
}

describe("undoInterruptedWrite", () => {
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.remove();
  });
  /** A repository whose post-commit hook leaves every write to git (the runner below sees each step). */
  const repoWithTeam = async () => {
    const repo = await createTempRepo({ "team/features.yaml": "namespace: team\nflags: []\n" });
    repos.push(repo);
    await writeFile(join(repo.path, ".git", "hooks", "post-commit"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    return repo;
  };

  it("does nothing when no write was interrupted", async () => {
    const repo = await repoWithTeam();
    await writeFile(join(repo.path, "team", "features.yaml"), "edited by hand\n");
    assert.deepEqual(await undoInterruptedWrite(repo.path, git), []);
    assert.equal(repo.git("status", "--porcelain"), "M team/features.yaml", "a hand edit is left alone");
  });

  it("puts back the files of a write that died before its commit", async () => {
    const repo = await repoWithTeam();
    const head = repo.git("rev-parse", "HEAD");
    let added = false;
    await interruptedWrite(
      repo,
      dyingRunner((args) => (added ||= args[0] === "add")),
      () => added,
    );
    assert.notEqual(repo.git("status", "--porcelain"), "", "the write left its files behind");
    assert.deepEqual((await undoInterruptedWrite(repo.path, git)).sort(), [
      "new/features.yaml",
      "team/features.yaml",
    ]);
    assert.equal(repo.git("status", "--porcelain"), "");
    assert.equal(repo.git("rev-parse", "HEAD"), head);
    assert.equal(
      await readFile(join(repo.path, "team", "features.yaml"), "utf8"),
      "namespace: team\nflags: []\n",
    );
    assert.deepEqual(await undoInterruptedWrite(repo.path, git), [], "once undone, the journal is gone");
  });

  it("keeps a write that died after its commit", async () => {
    const repo = await repoWithTeam();
    let committed = false;
    await interruptedWrite(
      repo,
      dyingRunner((args) => (committed ||= args.includes("commit"))),
      () => committed,
    );
    assert.equal(repo.git("log", "-1", "--format=%s"), "a write");
    assert.equal((await undoInterruptedWrite(repo.path, git)).length, 2);
    assert.equal(repo.git("status", "--porcelain"), "");
    assert.equal(await readFile(join(repo.path, "new", "features.yaml"), "utf8"), "namespace: new\n");
  });
});
