import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_FEATURES_LIMITS } from "../../format/limits.js";
import { readFeaturesTree } from "./read-features-tree.js";

const FLAG = 'version: "1.6"\nflags:\n  - key: a\n    name: a\n    type: BOOLEAN_FLAG_TYPE\n';

describe("readFeaturesTree()", () => {
  let root: string;
  let repository: string;
  let outside: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-tree-"));
    repository = join(root, "repo");
    outside = join(root, "outside");
    await mkdir(join(repository, "prod"), { recursive: true });
    await mkdir(join(outside, "dir"), { recursive: true });
    await writeFile(join(outside, "secret.yaml"), "secret: value\n");
    await writeFile(join(outside, "dir", "features.yaml"), FLAG);
    await writeFile(join(repository, "features.yaml"), FLAG);
    await writeFile(join(repository, "notes.txt"), "not selected\n");
    await symlink(join(outside, "secret.yaml"), join(repository, "a.features.yaml"));
    await symlink("features.yaml", join(repository, "inside.features.yaml"));
    await symlink("/dev/zero", join(repository, "zero.features.yaml"));
    await symlink(join(outside, "dir"), join(repository, "linked"));
    execFileSync("mkfifo", [join(repository, "pipe.features.yaml")]);
    await writeFile(join(repository, "big.features.yaml"), "");
    await truncate(join(repository, "big.features.yaml"), 9 * 1024 * 1024);
    await symlink(join(outside, "dir"), join(repository, "staging"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("reads regular files only, and refuses links (inside or out), devices, FIFOs and large files with reasons", async () => {
    const tree = await readFeaturesTree(repository, "", DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(
      tree.files.map((file) => file.path),
      ["features.yaml"],
    );
    const reasons = Object.fromEntries(tree.refused.map((issue) => [issue.file, issue.message]));
    assert.deepEqual(Object.keys(reasons).sort(), [
      "a.features.yaml",
      "big.features.yaml",
      "inside.features.yaml",
      "pipe.features.yaml",
      "zero.features.yaml",
    ]);
    assert.match(reasons["a.features.yaml"] ?? "", /^a\.features\.yaml is a symbolic link/);
    assert.match(reasons["inside.features.yaml"] ?? "", /symbolic link/);
    assert.match(reasons["zero.features.yaml"] ?? "", /symbolic link/);
    assert.match(reasons["pipe.features.yaml"] ?? "", /not a regular file/);
    assert.match(reasons["big.features.yaml"] ?? "", /limits\.max_features_file_bytes/);
    assert.ok(!JSON.stringify(tree.refused).includes("secret"), "no target content or path");
    assert.ok(
      !tree.files.some((file) => file.path.startsWith("linked/")),
      "a linked directory is not entered",
    );
  });

  it("refuses an environment directory that is a link, and reads one that is not", async () => {
    const linked = await readFeaturesTree(repository, "staging", DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(linked.files, []);
    assert.match(linked.refused[0]?.message ?? "", /the environment directory staging is a symbolic link/);
    const plain = await readFeaturesTree(repository, "prod", DEFAULT_FEATURES_LIMITS);
    assert.deepEqual([plain.files, plain.refused, plain.settings], [[], [], undefined]);
  });

  it("refuses a .flipt.yml index that is a link, reading nothing else", async () => {
    const index = join(root, "indexed");
    await mkdir(index);
    await writeFile(join(index, "features.yaml"), FLAG);
    await symlink(join(outside, "secret.yaml"), join(index, ".flipt.yml"));
    const tree = await readFeaturesTree(index, "", DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(tree.files, []);
    assert.equal(tree.refused[0]?.file, ".flipt.yml");
  });

  it("keeps to the limits it is given: a file the defaults take is refused under a smaller size limit", async () => {
    const small = await readFeaturesTree(repository, "", { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 10 });
    assert.deepEqual(small.files, []);
    const refused = small.refused.find((issue) => issue.file === "features.yaml");
    assert.match(refused?.message ?? "", /larger than the 10-byte limit .*limits\.max_features_file_bytes/);
    const defaults = await readFeaturesTree(repository, "", DEFAULT_FEATURES_LIMITS);
    assert.deepEqual(
      defaults.files.map((file) => file.path),
      ["features.yaml"],
    );
  });
});
