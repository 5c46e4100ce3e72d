import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTempRepo, type TempRepo } from "../../../test/helpers/temp-repo.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import { ConflictError, UnavailableError } from "../../domain/errors.js";
import { clearStaleLocks } from "../git/clear-stale-locks.js";
import { createGitRunner, type GitRunner } from "../git/run-git.js";
import { MAINTENANCE_CHECK_WRITES, type WriteStep } from "./commit-in-process.js";
import { commitWrites, undoInterruptedWrite } from "./commit-writes.js";

/** The system git, without the config of the machine it runs on. */
const baseGit = createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" });
const author = { name: "Pennant Test", email: "pennant@example.com" };
const TEAM = "namespace: team\nflags: []\n";

/** A git runner that records the commands it runs. */
function recording(): { git: GitRunner; commands: string[][] } {
  const commands: string[][] = [];
  return {
    commands,
    git: (cwd, args, options) => {
      commands.push([...args]);
      return baseGit(cwd, args, options);
    },
  };
}

interface Written {
  readonly commit: string;
  /** Why the write was left to git, if it was. */
  readonly leftToGit: string | undefined;
}

async function write(
  repository: string,
  writes: { path: string; text?: string }[],
  options: { git?: GitRunner; message?: string; interrupt?: (step: WriteStep) => Promise<void> } = {},
): Promise<Written> {
  let leftToGit: string | undefined;
  const commit = await commitWrites({
    repository,
    directory: "",
    writes,
    message: options.message ?? `write ${writes.map((item) => item.path).join(", ")}`,
    author,
    existing: new Set(
      writes.filter((item) => existsSync(join(repository, item.path))).map((item) => item.path),
    ),
    git: options.git ?? baseGit,
    interrupt: options.interrupt,
    onLeftToGit: (reason) => {
      leftToGit = reason;
    },
  });
  return { commit, leftToGit };
}

/** What git says of a repository after a write: everything Pennant's own writes must leave as it is. */
function assertClean(repo: { git(...args: string[]): string }, what: string) {
  assert.equal(repo.git("status", "--porcelain"), "", `${what}: git status is clean`);
  // Without refreshing the index: its stat data must match the files.
  assert.equal(repo.git("diff-files", "--name-only"), "", `${what}: the index's stat data is the files'`);
  assert.equal(repo.git("diff-index", "--cached", "--name-only", "HEAD"), "", `${what}: the index is HEAD`);
  assert.equal(repo.git("fsck", "--strict", "--no-progress", "--no-dangling"), "", `${what}: git fsck`);
}

describe("commits made without git", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const repo = async (
    files: Record<string, string> = { "team/features.yaml": TEAM, "README.md": "flags\n" },
  ) => {
    const created = await createTempRepo(files);
    cleanup.push(() => created.remove());
    created.git("status", "--porcelain"); // leaves a cache tree in the index, as a user's git would
    return created;
  };

  it("run no git process once the repository is known, and commit what git would", async () => {
    const created = await repo({
      "team/features.yaml": TEAM,
      "team/deep/features.yaml": "namespace: deep\n",
      "other/features.yaml": "namespace: other\n",
      "README.md": "flags\n",
    });
    const twin = await mkdtemp(join(tmpdir(), "pennant-twin-"));
    cleanup.push(() => rm(twin, { recursive: true, force: true }));
    execFileSync("git", ["clone", "--quiet", created.path, twin]);
    const head = created.git("rev-parse", "HEAD");
    const { git, commands } = recording();
    const texts = [
      "namespace: team\nflags:\n    - key: a\n",
      "namespace: deep\n# 2\n",
      "namespace: team\n# 3\n",
    ];
    const first = await write(
      created.path,
      [
        { path: "team/features.yaml", text: texts[0] as string },
        { path: "team/deep/features.yaml", text: "namespace: deep\n# 1\n" },
        { path: "other/features.yaml", text: "namespace: other\n# 1\n" },
      ],
      { git },
    );
    assert.equal(first.leftToGit, undefined);
    assert.deepEqual(
      commands.map((command) => command[0]),
      ["config", "check-attr"],
      "the first write asks git for its configuration and the paths' attributes, nothing else",
    );
    commands.length = 0;
    const second = await write(
      created.path,
      [{ path: "team/deep/features.yaml", text: texts[1] as string }],
      { git },
    );
    const third = await write(
      created.path,
      [{ path: "team/features.yaml", text: texts[2] as string }, { path: "other/features.yaml" }],
      { git, message: "create flag team/a\n\nand delete other" },
    );
    assert.deepEqual(commands, [], "no git process for the next writes to those paths");
    assert.equal(second.leftToGit ?? third.leftToGit, undefined);
    assert.equal(third.commit, created.git("rev-parse", "HEAD"));
    assert.deepEqual(created.git("rev-list", "HEAD", `^${head}`).split("\n"), [
      third.commit,
      second.commit,
      first.commit,
    ]);
    assertClean(created, "after the writes");

    // The same writes made by git in a twin give the same trees.
    const twinGit = (...args: string[]) =>
      execFileSync("git", ["-c", `user.name=${author.name}`, "-c", `user.email=${author.email}`, ...args], {
        cwd: twin,
        encoding: "utf8",
      }).trim();
    writeFileSync(join(twin, "team/features.yaml"), texts[0] as string);
    writeFileSync(join(twin, "team/deep/features.yaml"), "namespace: deep\n# 1\n");
    writeFileSync(join(twin, "other/features.yaml"), "namespace: other\n# 1\n");
    twinGit("commit", "--quiet", "--message", "1", "--all");
    writeFileSync(join(twin, "team/deep/features.yaml"), texts[1] as string);
    twinGit("commit", "--quiet", "--message", "2", "--only", "--", "team/deep/features.yaml");
    writeFileSync(join(twin, "team/features.yaml"), texts[2] as string);
    rmSync(join(twin, "other/features.yaml"));
    twinGit(
      "commit",
      "--quiet",
      "--message",
      "3",
      "--only",
      "--",
      "team/features.yaml",
      "other/features.yaml",
    );
    assert.deepEqual(
      created.git("log", "--format=%T", "-3").split("\n"),
      twinGit("log", "--format=%T", "-3").split("\n"),
      "the same trees as git's commits",
    );
    assert.equal(
      created.git("log", "-1", "--format=%an <%ae>|%cn <%ce>|%B"),
      `${author.name} <${author.email}>|${author.name} <${author.email}>|create flag team/a\n\nand delete other`,
    );
    assert.equal(
      created.git("reflog", "-1", "--format=%H %gs"),
      `${third.commit} commit: create flag team/a`,
    );
    assert.equal(created.git("reflog", "-1", "--format=%gs", "main"), "commit: create flag team/a");

    // The user's own git carries on.
    await created.write("team/features.yaml", "namespace: team\n# by hand\n");
    created.git("commit", "--quiet", "--all", "--message", "by hand");
    assertClean(created, "after the user's own commit");
    assert.equal(created.git("log", "-1", "--format=%s"), "by hand");
    assert.equal(created.git("show", "HEAD:team/deep/features.yaml"), "namespace: deep\n# 2");
  });

  it("refuses to overwrite any change made outside Pennant, and changes nothing", async () => {
    const kinds: [string, (created: TempRepo) => Promise<void>][] = [
      ["an edit", (created) => created.write("team/features.yaml", "namespace: team\n# edited\n")],
      [
        "a staged edit",
        async (created) => {
          await created.write("team/features.yaml", "namespace: team\n# staged\n");
          created.git("add", "team/features.yaml");
          await created.write("team/features.yaml", TEAM);
        },
      ],
      ["a deletion", async (created) => rmSync(join(created.path, "team/features.yaml"))],
      [
        "a staged deletion",
        async (created) => void created.git("rm", "--quiet", "--cached", "team/features.yaml"),
      ],
      [
        "an edit of the same size in the same second",
        async (created) => {
          // Same size: only the content (or racy-git's rule) can tell.
          await created.write("team/features.yaml", TEAM.replace("team", "tean"));
        },
      ],
    ];
    for (const [kind, change] of kinds) {
      const created = await repo();
      // Warm up: the repository is known, the index written by Pennant.
      await write(created.path, [{ path: "README.md", text: "flags!\n" }]);
      await change(created);
      const head = created.git("rev-parse", "HEAD");
      const status = created.git("status", "--porcelain");
      const before = existsSync(join(created.path, "team/features.yaml"))
        ? readFileSync(join(created.path, "team/features.yaml"), "utf8")
        : undefined;
      await assert.rejects(
        write(created.path, [{ path: "team/features.yaml", text: "namespace: team\n# pennant\n" }]),
        (error: unknown) =>
          error instanceof ConflictError &&
          error.message.startsWith("team/features.yaml has changes made outside Pennant"),
        kind,
      );
      assert.equal(created.git("rev-parse", "HEAD"), head, kind);
      assert.equal(created.git("status", "--porcelain"), status, kind);
      assert.equal(
        existsSync(join(created.path, "team/features.yaml"))
          ? readFileSync(join(created.path, "team/features.yaml"), "utf8")
          : undefined,
        before,
        kind,
      );
      assert.equal(
        existsSync(join(created.path, ".git", "index.lock")),
        false,
        `${kind}: the index is unlocked`,
      );
    }
  });

  it("make new files without git, as `git add` and `git commit` would, and leave to git those it ignores", async () => {
    const created = await repo({
      "team/features.yaml": TEAM,
      ".gitignore": "ignored/\n*.local.yaml\n!keep.local.yaml\n",
      "README.md": "flags\n",
    });
    const twin = await mkdtemp(join(tmpdir(), "pennant-twin-"));
    cleanup.push(() => rm(twin, { recursive: true, force: true }));
    execFileSync("git", ["clone", "--quiet", created.path, twin]);
    const { git, commands } = recording();
    const writes = [
      { path: "fresh/deep/features.yaml", text: "namespace: deep\n" },
      { path: "team/features.yaml", text: "namespace: team\n# 1\n" },
      { path: "team/keep.local.yaml", text: "namespace: kept\n" },
      { path: "top.yaml", text: "namespace: top\n" },
    ];
    const made = await write(created.path, writes, { git });
    assert.equal(made.leftToGit, undefined);
    assert.deepEqual(
      commands.map((command) => command[0]),
      ["config", "check-attr", "check-ignore"],
      "git is asked which new paths it ignores, and does no more",
    );
    assertClean(created, "after new files");
    for (const { path, text } of writes) {
      assert.equal(created.git("show", `HEAD:${path}`), text.trimEnd(), path);
    }
    // git itself, in a twin, makes the same tree.
    for (const { path, text } of writes) {
      execFileSync("mkdir", ["-p", join(twin, path, "..")]);
      writeFileSync(join(twin, path), text);
    }
    const inTwin = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd: twin,
        encoding: "utf8",
      }).trim();
    inTwin("add", "--", ...writes.map((item) => item.path));
    inTwin("commit", "--quiet", "--message", "twin");
    assert.equal(created.git("rev-parse", "HEAD^{tree}"), inTwin("rev-parse", "HEAD^{tree}"));

    // A path git ignores: git is asked to add it and refuses; nothing changes.
    const head = created.git("rev-parse", "HEAD");
    for (const path of ["ignored/features.yaml", "team/other.local.yaml"]) {
      let leftToGit: string | undefined;
      await assert.rejects(
        commitWrites({
          repository: created.path,
          directory: "",
          writes: [{ path, text: "namespace: hidden\n" }],
          message: "ignored",
          author,
          existing: new Set(),
          git: baseGit,
          onLeftToGit: (reason) => {
            leftToGit = reason;
          },
        }),
        /ignored/,
        path,
      );
      assert.match(leftToGit ?? "", /is new and ignored by git/, path);
      assert.equal(existsSync(join(created.path, path)), false, `${path} is not left behind`);
    }
    assert.equal(created.git("rev-parse", "HEAD"), head);
    assertClean(created, "after the refused writes");
  });

  it("leave to git what git would do differently, and git does it", async () => {
    const cases: {
      what: string;
      reason: RegExp;
      setUp?: (created: TempRepo) => Promise<void> | void;
      path?: string;
      check?: (created: TempRepo) => void;
      skipClean?: boolean;
    }[] = [
      {
        what: "a post-commit hook",
        reason: /post-commit hook/,
        setUp: (created) => {
          writeFileSync(join(created.path, ".git/hooks/post-commit"), "#!/bin/sh\ntouch .git/hook-ran\n");
          chmodSync(join(created.path, ".git/hooks/post-commit"), 0o755);
        },
        check: (created) => assert.ok(existsSync(join(created.path, ".git/hook-ran")), "git ran the hook"),
      },
      {
        what: "a commit encoding",
        reason: /commitEncoding/,
        setUp: (created) => void created.git("config", "i18n.commitEncoding", "ISO-8859-1"),
        check: (created) => assert.match(created.git("cat-file", "commit", "HEAD"), /^encoding ISO-8859-1$/m),
      },
      {
        what: "a clean filter in .gitattributes",
        reason: /attributes/,
        setUp: async (created) => {
          created.git("config", "filter.upper.clean", "tr a-z A-Z");
          await created.write(".gitattributes", "team/*.yaml filter=upper\n");
          created.git("add", "--renormalize", ".");
          created.git("add", ".gitattributes");
          created.git("commit", "--quiet", "--message", "attributes");
        },
        check: (created) =>
          assert.equal(created.git("show", "HEAD:team/features.yaml"), "NAMESPACE: TEAM\n# WRITTEN"),
        skipClean: true,
      },
      {
        what: "a split index",
        reason: /index/,
        setUp: (created) => void created.git("update-index", "--split-index"),
      },
      {
        what: "sparse checkout",
        reason: /sparse/,
        setUp: (created) => void created.git("sparse-checkout", "set", "team"),
      },
      {
        what: "a detached HEAD",
        reason: /detached/,
        setUp: (created) => void created.git("checkout", "--quiet", "--detach"),
      },
      {
        what: "core.autocrlf",
        reason: /autocrlf/,
        setUp: (created) => void created.git("config", "core.autocrlf", "input"),
      },
      {
        what: "an author git would clean up",
        reason: /author/,
      },
    ];
    for (const testCase of cases) {
      const created = await repo();
      await testCase.setUp?.(created);
      const path = testCase.path ?? "team/features.yaml";
      const text = path === "team/features.yaml" ? "namespace: team\n# written\n" : "namespace: fresh\n";
      let leftToGit: string | undefined;
      await commitWrites({
        repository: created.path,
        directory: "",
        writes: [{ path, text }],
        message: `written by git: ${testCase.what}`,
        author: testCase.what.startsWith("an author")
          ? { name: "  Odd <name> ", email: "odd@example.com." }
          : author,
        existing: new Set(existsSync(join(created.path, path)) ? [path] : []),
        git: baseGit,
        onLeftToGit: (reason) => {
          leftToGit = reason;
        },
      });
      assert.match(leftToGit ?? "(made without git)", testCase.reason, testCase.what);
      assert.equal(
        created.git("log", "-1", "--format=%s"),
        `written by git: ${testCase.what}`,
        testCase.what,
      );
      if (testCase.skipClean !== true) assert.equal(created.git("status", "--porcelain"), "", testCase.what);
      testCase.check?.(created);
    }
  });

  it("leave to git a configuration it cannot read, and fail as git fails, changing nothing", async () => {
    const created = await repo();
    await write(created.path, [{ path: "README.md", text: "warm\n" }]);
    const head = created.git("rev-parse", "HEAD");
    const config = join(created.path, ".git", "config");
    const before = readFileSync(config, "utf8");
    writeFileSync(config, `${before}[broken\n`);
    await assert.rejects(
      write(created.path, [{ path: "team/features.yaml", text: "namespace: team\n# no\n" }]),
      (error: unknown) => error instanceof UnavailableError && /bad config/.test(error.message),
    );
    writeFileSync(config, before);
    assert.equal(created.git("rev-parse", "HEAD"), head);
    assert.equal(readFileSync(join(created.path, "team/features.yaml"), "utf8"), TEAM);
    assertClean(created, "after the refused write");
  });

  it("leave to git a shallow clone and a SHA-256 repository", async () => {
    const created = await repo();
    const shallow = await mkdtemp(join(tmpdir(), "pennant-shallow-"));
    const sha256 = await mkdtemp(join(tmpdir(), "pennant-sha256-"));
    cleanup.push(() => rm(shallow, { recursive: true, force: true }));
    cleanup.push(() => rm(sha256, { recursive: true, force: true }));
    created.git("commit", "--quiet", "--allow-empty", "--message", "second");
    execFileSync("git", ["clone", "--quiet", "--depth", "1", `file://${created.path}`, shallow]);
    const git = (cwd: string, ...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd,
        encoding: "utf8",
      }).trim();
    git(sha256, "init", "--quiet", "--object-format=sha256", "--initial-branch", "main");
    writeFileSync(join(sha256, "features.yaml"), "namespace: default\n");
    git(sha256, "add", "features.yaml");
    git(sha256, "commit", "--quiet", "--message", "first");
    for (const [repository, path, reason] of [
      [shallow, "team/features.yaml", /shallow/],
      [sha256, "features.yaml", /object format sha256/],
    ] as const) {
      const written = await write(repository, [{ path, text: "namespace: x\n" }]);
      assert.match(written.leftToGit ?? "", reason);
      assert.equal(git(repository, "rev-parse", "HEAD"), written.commit);
      assert.equal(git(repository, "show", `HEAD:${path}`), "namespace: x");
      assert.equal(git(repository, "status", "--porcelain"), "");
    }
  });

  it("work where git packed the objects and refs, with index version 4, and in a linked worktree", async () => {
    const created = await repo();
    created.git("update-index", "--index-version", "4");
    created.git("gc", "--quiet");
    created.git("pack-refs", "--all", "--prune");
    const packed = await write(created.path, [
      { path: "team/features.yaml", text: "namespace: team\n# packed\n" },
    ]);
    assert.equal(packed.leftToGit, undefined);
    assertClean(created, "packed");
    assert.equal(readFileSync(join(created.path, ".git/index")).readUInt32BE(4), 4, "still version 4");

    const worktree = `${created.path}-side`;
    cleanup.push(() => rm(worktree, { recursive: true, force: true }));
    created.git("worktree", "add", "--quiet", "-b", "side", worktree);
    const main = created.git("rev-parse", "main");
    const side = await write(worktree, [{ path: "team/features.yaml", text: "namespace: team\n# side\n" }]);
    assert.equal(side.leftToGit, undefined);
    const inWorktree = {
      git: (...args: string[]) => execFileSync("git", args, { cwd: worktree, encoding: "utf8" }).trim(),
    };
    assertClean(inWorktree, "the worktree");
    assert.equal(created.git("rev-parse", "side"), side.commit);
    assert.equal(created.git("rev-parse", "main"), main, "the main branch did not move");
    assert.equal(inWorktree.git("reflog", "-1", "--format=%gs"), "commit: write team/features.yaml");
    assertClean(created, "the main working tree");
  });

  it("refuse while another git holds the index or the branch, and leave everything as it was", async () => {
    const created = await repo();
    await write(created.path, [{ path: "README.md", text: "warm\n" }]);
    const head = created.git("rev-parse", "HEAD");
    const lock = join(created.path, ".git/index.lock");
    writeFileSync(lock, "");
    await assert.rejects(
      write(created.path, [{ path: "team/features.yaml", text: "namespace: team\n# no\n" }]),
      (error: unknown) => error instanceof UnavailableError && /index is locked/.test(error.message),
    );
    assert.ok(existsSync(lock), "someone else's lock is left alone");
    rmSync(lock);
    assert.equal(readFileSync(join(created.path, "team/features.yaml"), "utf8"), TEAM);

    const branchLock = join(created.path, ".git/refs/heads/main.lock");
    writeFileSync(branchLock, "");
    await assert.rejects(
      write(created.path, [
        { path: "team/features.yaml", text: "namespace: team\n# no\n" },
        { path: "fresh/features.yaml", text: "namespace: fresh\n" },
      ]),
      (error: unknown) => error instanceof UnavailableError && /main is locked/.test(error.message),
    );
    rmSync(branchLock);
    assert.equal(existsSync(join(created.path, "fresh/features.yaml")), false, "the new file is removed");
    assert.equal(created.git("rev-parse", "HEAD"), head);
    assert.equal(
      readFileSync(join(created.path, "team/features.yaml"), "utf8"),
      TEAM,
      "the file is put back",
    );
    assert.equal(existsSync(join(created.path, ".git/pennant-write-in-progress")), false, "no journal left");
    assertClean(created, "after the refused writes");
    assert.equal(
      (await write(created.path, [{ path: "team/features.yaml", text: "namespace: team\n# yes\n" }]))
        .leftToGit,
      undefined,
    );
    assertClean(created, "after the next write");
  });

  it("undo at the next start a write killed at any step, or keep it whole once the branch moved", async () => {
    const steps: WriteStep[] = ["journal", "files", "objects", "index-written", "ref", "index"];
    for (const stop of steps) {
      const created = await repo();
      await write(created.path, [{ path: "README.md", text: "warm\n" }]);
      const head = created.git("rev-parse", "HEAD");
      let reached = false;
      const killed = [
        { path: "team/features.yaml", text: "namespace: team\n# killed\n" },
        { path: "fresh/features.yaml", text: "namespace: fresh\n" },
      ];
      void write(created.path, killed, {
        interrupt: (step) => {
          if (step !== stop) return Promise.resolve();
          reached = true;
          return new Promise<never>(() => {});
        },
      });
      await waitFor(() => reached, { what: `the write to reach ${stop}` });
      // What a restart does (LocalSource.open with recover).
      await clearStaleLocks(created.path);
      const undone = await undoInterruptedWrite(created.path, baseGit);
      assert.deepEqual(undone, ["team/features.yaml", "fresh/features.yaml"], stop);
      const kept = stop === "ref" || stop === "index";
      if (kept) {
        assert.equal(created.git("rev-parse", "HEAD^"), head, `${stop}: the commit stands`);
        assert.equal(created.git("show", "HEAD:team/features.yaml"), "namespace: team\n# killed", stop);
        assert.equal(created.git("show", "HEAD:fresh/features.yaml"), "namespace: fresh", stop);
      } else {
        assert.equal(created.git("rev-parse", "HEAD"), head, `${stop}: nothing was committed`);
      }
      assert.equal(
        readFileSync(join(created.path, "team/features.yaml"), "utf8"),
        kept ? "namespace: team\n# killed\n" : TEAM,
        stop,
      );
      assert.equal(existsSync(join(created.path, "fresh/features.yaml")), kept, `${stop}: the new file`);
      assertClean(created, stop);
      const next = await write(created.path, [
        { path: "team/features.yaml", text: "namespace: team\n# next\n" },
      ]);
      assert.equal(next.leftToGit, undefined, stop);
      assertClean(created, `${stop}, then a write`);
    }
  });

  it(`run git's automatic maintenance when loose objects pile up (counted every ${MAINTENANCE_CHECK_WRITES} writes)`, async () => {
    const created = await repo();
    created.git("config", "gc.auto", "1");
    created.git("config", "gc.autoDetach", "false");
    // Two loose objects in objects/17, the directory git samples.
    for (let found = 0, index = 0; found < 2; index++) {
      const text = `filler ${index}\n`;
      const oid = createHash("sha1").update(`blob ${text.length}\0${text}`).digest("hex");
      if (!oid.startsWith("17")) continue;
      execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: created.path, input: text });
      found++;
    }
    for (let index = 1; index < MAINTENANCE_CHECK_WRITES; index++) {
      await write(created.path, [{ path: "team/features.yaml", text: `namespace: team\n# ${index}\n` }]);
    }
    assert.deepEqual(readdirSync(join(created.path, ".git/objects/pack")), [], "not yet");
    await write(created.path, [{ path: "team/features.yaml", text: "namespace: team\n# last\n" }]);
    assert.ok(
      readdirSync(join(created.path, ".git/objects/pack")).some((name) => name.endsWith(".pack")),
      "git gc packed the objects",
    );
    assertClean(created, "after maintenance");
  });
});
