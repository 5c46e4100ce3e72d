import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import { createObjectReader, type ObjectReader, writeLooseObject } from "./object-store.js";

describe("the object store", () => {
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.remove();
  });

  /** A repository with history: one file rewritten many times, so that a repack stores deltas. */
  const repoWithHistory = async () => {
    const repo = await createTempRepo({ "team/features.yaml": "namespace: team\nflags:\n" });
    repos.push(repo);
    let text = "namespace: team\nflags:\n";
    for (let index = 0; index < 30; index++) {
      text += `  - key: flag-${index}\n    name: Flag ${index}\n    enabled: ${index % 2 === 0}\n`;
      await repo.write("team/features.yaml", text);
      await repo.write(`other/file-${index % 3}.txt`, `${index}\n`.repeat(index + 1));
      repo.git("add", "--all");
      repo.git("commit", "--quiet", "--message", `change ${index}`);
    }
    return repo;
  };

  const everyObject = (repo: TempRepo) =>
    repo
      .git("rev-list", "--objects", "--all")
      .split("\n")
      .map((line) => line.slice(0, 40));

  const expectSameAsGit = (repo: TempRepo, reader: ObjectReader, oids: readonly string[]) => {
    for (const oid of oids) {
      const object = reader.read(oid);
      assert.ok(object !== undefined, `${oid} is read`);
      assert.equal(object.type, repo.git("cat-file", "-t", oid));
      const expected = execFileSync("git", ["cat-file", object.type, oid], { cwd: repo.path });
      assert.ok(object.body.equals(expected), `${oid} reads as git reads it`);
    }
  };

  it("reads loose objects as git does", async () => {
    const repo = await repoWithHistory();
    const oids = everyObject(repo);
    assert.ok(oids.length > 90);
    expectSameAsGit(repo, createObjectReader(join(repo.path, ".git", "objects")), oids);
  });

  it("reads packed objects, deltas resolved, as git does", async () => {
    const repo = await repoWithHistory();
    repo.git("repack", "-a", "-d", "-f", "--depth=50", "--window=50", "--quiet");
    repo.git("prune-packed");
    const packs = readdirSync(join(repo.path, ".git", "objects", "pack"));
    assert.ok(packs.some((name) => name.endsWith(".idx")));
    const verified = repo.git(
      "verify-pack",
      "-v",
      ...packs.filter((name) => name.endsWith(".idx")).map((name) => join(".git", "objects", "pack", name)),
    );
    assert.match(verified, /chain length = [2-9]/, "the pack holds chains of deltas");
    expectSameAsGit(repo, createObjectReader(join(repo.path, ".git", "objects")), everyObject(repo));
  });

  it("reads a pack that appears after the first lookup, and nothing it does not hold", async () => {
    const repo = await repoWithHistory();
    const reader = createObjectReader(join(repo.path, ".git", "objects"));
    assert.equal(reader.read("0".repeat(40)), undefined);
    repo.git("gc", "--quiet");
    expectSameAsGit(repo, reader, everyObject(repo).slice(0, 20));
    assert.equal(reader.read("1".repeat(40)), undefined);
  });

  it("writes a loose object git reads and fsck accepts, and only touches one that exists", async () => {
    const repo = await createTempRepo();
    repos.push(repo);
    const objects = join(repo.path, ".git", "objects");
    const oid = writeLooseObject(objects, "blob", Buffer.from("namespace: default\n"), 1);
    assert.equal(repo.git("cat-file", "-p", oid), "namespace: default");
    const file = join(objects, oid.slice(0, 2), oid.slice(2));
    assert.equal(statSync(file).mode & 0o777, 0o444, "read-only, as git writes objects");
    const before = statSync(file).ino;
    assert.equal(writeLooseObject(objects, "blob", Buffer.from("namespace: default\n"), 1), oid);
    assert.equal(statSync(file).ino, before, "not written again");
    assert.deepEqual(
      readdirSync(join(objects, oid.slice(0, 2))).filter((name) => name.startsWith("tmp_")),
      [],
    );
    assert.equal(repo.git("fsck", "--strict", "--no-dangling"), "");
  });
});
