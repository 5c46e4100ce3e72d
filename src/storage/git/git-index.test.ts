import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import {
  entryFor,
  invalidateCacheTree,
  parseIndex,
  SKIP_WORKTREE,
  serializeIndex,
  statMatches,
  UnsupportedIndexError,
} from "./git-index.js";
import { objectId, toBinary } from "./git-objects.js";

const FILES = {
  "features.yaml": "namespace: default\n",
  "team/features.yaml": "namespace: team\n",
  "team/deep/features.yaml": "namespace: deep\n",
  "é/features.yaml": "namespace: e\n",
  "other/notes.txt": "notes\n",
};

describe("the git index", () => {
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.remove();
  });
  const repo = async () => {
    const created = await createTempRepo(FILES);
    repos.push(created);
    // A cache tree (TREE extension), as a commit leaves it.
    created.git("status", "--porcelain");
    return created;
  };
  const indexOf = (repo: TempRepo) => readFileSync(join(repo.path, ".git", "index"));

  for (const version of [2, 3, 4]) {
    it(`reads a version ${version} index and writes it back byte for byte`, async () => {
      const created = await repo();
      created.git("update-index", "--index-version", String(version));
      if (version === 3) created.git("update-index", "--skip-worktree", "other/notes.txt");
      const bytes = indexOf(created);
      const index = parseIndex(bytes);
      assert.equal(index.version, version);
      assert.deepEqual(
        index.entries.map((entry) => entry.path),
        [
          "features.yaml",
          "other/notes.txt",
          "team/deep/features.yaml",
          "team/features.yaml",
          toBinary("é/features.yaml"),
        ],
      );
      assert.equal(index.entries[0]?.oid, objectId("blob", Buffer.from(FILES["features.yaml"])));
      if (version === 3) assert.equal(index.entries[1]?.extendedFlags, SKIP_WORKTREE);
      assert.deepEqual(
        index.extensions.map((extension) => extension.signature),
        ["TREE"],
      );
      assert.ok(serializeIndex(index).equals(bytes), "the same bytes");
    });
  }

  it("keeps a path of 4095 bytes or more (its length no longer fits the flags)", async () => {
    const created = await repo();
    const blob = created.git("hash-object", "-w", "features.yaml");
    const long = `${"d/".repeat(2100)}f`;
    created.git("update-index", "--add", "--cacheinfo", `100644,${blob},${long}`);
    const bytes = indexOf(created);
    const index = parseIndex(bytes);
    assert.ok(index.entries.some((entry) => entry.path === long));
    assert.ok(serializeIndex(index).equals(bytes));
  });

  it("refuses a split index, and drops the untracked cache that git rebuilds", async () => {
    const created = await repo();
    created.git("-c", "core.untrackedCache=true", "update-index", "--untracked-cache");
    created.git("-c", "core.untrackedCache=true", "status", "--porcelain");
    assert.ok(indexOf(created).includes("UNTR"), "git wrote an untracked cache");
    const withCache = parseIndex(indexOf(created));
    assert.ok(!withCache.extensions.some((extension) => extension.signature === "UNTR"));
    created.git("update-index", "--split-index");
    assert.throws(() => parseIndex(indexOf(created)), UnsupportedIndexError);
  });

  it("refuses an index whose checksum is wrong", async () => {
    const created = await repo();
    const bytes = Buffer.from(indexOf(created));
    bytes[20] = (bytes[20] as number) ^ 1;
    assert.throws(() => parseIndex(bytes), UnsupportedIndexError);
  });

  it("writes an entry git takes as unchanged, and invalidates only the cache tree on the way to it", async () => {
    const created = await repo();
    const path = join(created.path, "team", "deep", "features.yaml");
    writeFileSync(path, "namespace: deep\n# changed\n");
    const oid = created.git("hash-object", "-w", "team/deep/features.yaml");
    const stats = statSync(path, { bigint: true });
    const index = parseIndex(indexOf(created));
    const entry = entryFor("team/deep/features.yaml", stats, 0o100644, oid);
    assert.ok(statMatches(entry, stats));
    const tree = index.extensions.find((extension) => extension.signature === "TREE");
    assert.ok(tree !== undefined);
    const next = serializeIndex({
      ...index,
      entries: [...index.entries.filter((candidate) => candidate.path !== entry.path), entry],
      extensions: [{ signature: "TREE", data: invalidateCacheTree(tree.data, [entry.path]) }],
    });
    writeFileSync(join(created.path, ".git", "index"), next);
    // No refresh: the stat data alone must say the file is what the index holds.
    assert.equal(created.git("diff-files", "--name-only"), "");
    assert.equal(created.git("diff-index", "--cached", "--name-only", "HEAD"), "team/deep/features.yaml");
    // Built from the cache tree where it is valid: a stale entry on the way would give the old file.
    const written = created.git("write-tree");
    assert.equal(created.git("rev-parse", `${written}:team/deep/features.yaml`), oid);
    assert.equal(
      created.git("rev-parse", `${written}:team/features.yaml`),
      created.git("rev-parse", "HEAD:team/features.yaml"),
    );
    created.git("commit", "--quiet", "--message", "by git, on top");
    assert.equal(created.git("status", "--porcelain"), "");
    assert.equal(created.git("fsck", "--strict", "--no-dangling"), "");
  });

  it("marks exactly the directories on the way to a path invalid in the cache tree", () => {
    const node = (name: string, entries: number, subtrees: number, oid = "ab".repeat(20)) =>
      Buffer.concat([
        Buffer.from(`${name}\0${entries} ${subtrees}\n`, "latin1"),
        ...(entries >= 0 ? [Buffer.from(oid, "hex")] : []),
      ]);
    const data = Buffer.concat([node("", 5, 2), node("a", 2, 1), node("b", 1, 0), node("c", 1, 0)]);
    const invalidated = invalidateCacheTree(data, ["a/b/file"]);
    assert.ok(
      invalidated.equals(
        Buffer.concat([node("", -1, 2), node("a", -1, 1), node("b", -1, 0), node("c", 1, 0)]),
      ),
    );
  });
});
