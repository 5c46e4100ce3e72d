import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import { UnavailableError } from "../../domain/errors.js";
import { readRef, readSymbolicHead, resolveLayout, updateBranch } from "./git-refs.js";

describe("git refs", () => {
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.remove();
  });
  const repo = async () => {
    const created = await createTempRepo({ "features.yaml": "namespace: default\n" });
    repos.push(created);
    created.git("commit", "--quiet", "--allow-empty", "--message", "second");
    return created;
  };
  const who = "Pennant <pennant@example.com> 1700000000 +0000";

  it("reads the branch HEAD names, loose or packed", async () => {
    const created = await repo();
    const layout = resolveLayout(created.path);
    assert.ok(layout !== undefined);
    const head = created.git("rev-parse", "HEAD");
    assert.deepEqual(readSymbolicHead(layout), { ref: "refs/heads/main", oid: head });
    created.git("pack-refs", "--all", "--prune");
    assert.equal(existsSync(join(created.path, ".git", "refs", "heads", "main")), false);
    assert.deepEqual(readSymbolicHead(layout), { ref: "refs/heads/main", oid: head });
    created.git("checkout", "--quiet", "--detach");
    assert.equal(readSymbolicHead(layout), undefined, "a detached HEAD is left to git");
  });

  it("moves a branch with a reflog line in its log and HEAD's, as git does, packed or not", async () => {
    for (const packed of [false, true]) {
      const created = await repo();
      const layout = resolveLayout(created.path);
      assert.ok(layout !== undefined);
      if (packed) created.git("pack-refs", "--all", "--prune");
      const [to, from] = created.git("rev-list", "-2", "HEAD").split("\n") as [string, string];
      created.git("update-ref", "refs/heads/main", from);
      await updateBranch(layout, {
        ref: "refs/heads/main",
        from,
        to,
        who,
        message: "commit: again",
        createLogs: true,
      });
      assert.equal(created.git("rev-parse", "main"), to);
      assert.equal(readRef(layout, "refs/heads/main"), to);
      assert.equal(created.git("reflog", "-1", "--format=%H %gs", "main"), `${to} commit: again`);
      assert.equal(created.git("reflog", "-1", "--format=%H %gs", "HEAD"), `${to} commit: again`);
      assert.equal(existsSync(join(created.path, ".git", "refs", "heads", "main.lock")), false);
      assert.equal(created.git("fsck", "--no-dangling"), "");
    }
  });

  it("refuses a branch that is locked or has moved, changing nothing", async () => {
    const created = await repo();
    const layout = resolveLayout(created.path);
    assert.ok(layout !== undefined);
    const [head, parent] = created.git("rev-list", "-2", "HEAD").split("\n") as [string, string];
    const lock = join(created.path, ".git", "refs", "heads", "main.lock");
    writeFileSync(lock, "");
    await assert.rejects(
      () =>
        updateBranch(layout, {
          ref: "refs/heads/main",
          from: head,
          to: parent,
          who,
          message: "m",
          createLogs: true,
        }),
      (error: unknown) => error instanceof UnavailableError && /is locked/.test(error.message),
    );
    assert.equal(existsSync(lock), true, "someone else's lock is left alone");
    assert.equal(created.git("rev-parse", "main"), head);
    rmSync(lock);
    await assert.rejects(
      () =>
        updateBranch(layout, {
          ref: "refs/heads/main",
          from: parent,
          to: head,
          who,
          message: "m",
          createLogs: true,
        }),
      (error: unknown) => error instanceof UnavailableError && /moved/.test(error.message),
    );
    assert.equal(created.git("rev-parse", "main"), head);
    assert.equal(existsSync(lock), false, "its own lock is removed");
  });

  it("finds a linked worktree's own and common git directories", async () => {
    const created = await repo();
    const worktree = `${created.path}-worktree`;
    created.git("worktree", "add", "--quiet", "-b", "side", worktree);
    try {
      const layout = resolveLayout(worktree);
      assert.deepEqual(layout, {
        worktree,
        gitDir: join(created.path, ".git", "worktrees", worktree.split("/").pop() as string),
        commonDir: join(created.path, ".git"),
      });
      assert.deepEqual(readSymbolicHead(layout), {
        ref: "refs/heads/side",
        oid: created.git("rev-parse", "HEAD"),
      });
    } finally {
      created.git("worktree", "remove", "--force", worktree);
    }
  });
});
