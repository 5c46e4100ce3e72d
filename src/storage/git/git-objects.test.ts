import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import {
  cleanMessage,
  encodeCommit,
  encodeTree,
  objectId,
  parseCommit,
  parseTree,
  reflogMessage,
  toBinary,
} from "./git-objects.js";

/** Runs git in `cwd` with bytes on stdin, returning its trimmed output. */
function gitWithInput(cwd: string, args: string[], input: string | Buffer): string {
  return execFileSync("git", args, { cwd, input, encoding: "utf8" }).trim();
}

describe("git objects", () => {
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.remove();
  });
  const repo = async () => {
    const created = await createTempRepo();
    repos.push(created);
    return created;
  };

  it("names a blob as git hash-object does", async () => {
    const { path } = await repo();
    for (const text of ["", "namespace: default\n", "é ✓ \u0000 binary"]) {
      const body = Buffer.from(text, "utf8");
      assert.equal(objectId("blob", body), gitWithInput(path, ["hash-object", "--stdin"], body));
    }
  });

  it("writes trees in git's order (a directory sorts as if it ended in /) as git mktree does", async () => {
    const { path } = await repo();
    const blob = gitWithInput(path, ["hash-object", "-w", "--stdin"], "x\n");
    const subtree = gitWithInput(path, ["mktree"], `100644 blob ${blob}\tinner\n`);
    const entries = [
      { mode: "40000", name: "a", oid: subtree },
      { mode: "100644", name: "a-b", oid: blob },
      { mode: "100755", name: "a.b", oid: blob },
      { mode: "100644", name: "a0", oid: blob },
      { mode: "100644", name: toBinary("é"), oid: blob },
      { mode: "40000", name: "Z", oid: subtree },
    ];
    const listing = entries
      .map(
        (entry) =>
          `${entry.mode === "40000" ? "040000 tree" : `${entry.mode} blob`} ${entry.oid}\t${Buffer.from(entry.name, "latin1").toString("utf8")}`,
      )
      .join("\n");
    const expected = gitWithInput(path, ["mktree"], `${listing}\n`);
    const body = encodeTree([...entries].reverse());
    assert.equal(objectId("tree", body), expected);
    assert.deepEqual(
      parseTree(body).map((entry) => entry.name),
      ["Z", "a-b", "a.b", "a", "a0", toBinary("é")],
    );
  });

  it("writes a commit git reads back, and reads its tree and parent", async () => {
    const { path, git } = await repo();
    const head = git("rev-parse", "HEAD");
    const tree = git("rev-parse", "HEAD^{tree}");
    const who = { name: "Ann Example", email: "ann@example.com", seconds: 1_700_000_000, offsetMinutes: 330 };
    const body = encodeCommit({
      tree,
      parents: [head],
      author: who,
      committer: { ...who, offsetMinutes: -480 },
      message: "create flag default/a\n",
    });
    const written = gitWithInput(path, ["hash-object", "-t", "commit", "-w", "--stdin"], body);
    assert.equal(objectId("commit", body), written);
    assert.equal(
      git("log", "-1", "--format=%an <%ae> %ad|%cd|%s", "--date=raw", written),
      "Ann Example <ann@example.com> 1700000000 +0530|1700000000 -0800|create flag default/a",
    );
    assert.deepEqual(parseCommit(body), { tree, parents: [head] });
    assert.equal(git("fsck", "--strict", "--no-dangling"), "");
  });

  it("cleans a message and names its reflog entry exactly as git commit --message does", async () => {
    const { path, git } = await repo();
    const messages = [
      "create flag default/a",
      "create flag default/a\n",
      "\n\n  subject with lead  \t\n\n\n\nbody line   \n\n# not a comment here\n\n\n",
      "subject\r\nsecond\r\n",
      "a  b\tc",
    ];
    for (const message of messages) {
      execFileSync(
        "git",
        [
          "-c",
          "user.name=t",
          "-c",
          "user.email=t@example.com",
          "commit",
          "--quiet",
          "--allow-empty",
          "--message",
          message,
        ],
        { cwd: path },
      );
      const raw = execFileSync("git", ["cat-file", "commit", "HEAD"], { cwd: path, encoding: "utf8" });
      const committed = raw.slice(raw.indexOf("\n\n") + 2);
      assert.equal(cleanMessage(message), committed, JSON.stringify(message));
      assert.equal(
        reflogMessage(cleanMessage(message)),
        git("reflog", "-1", "--format=%gs"),
        JSON.stringify(message),
      );
    }
    assert.equal(cleanMessage(" \n\t\n"), "", "nothing left: git refuses such a commit");
  });
});
