import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { createRemote, flagFile, type OutsideRemote } from "../../../test/helpers/outside-remote.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import type { FileWrite } from "../flag-source.js";
import { GitRemoteSource } from "./remote-source.js";
import { createGitRunner, type GitRunner } from "./run-git.js";

describe("GitRemoteSource", () => {
  const remotes: OutsideRemote[] = [];
  after(async () => {
    for (const remote of remotes) await remote.remove();
  });

  const open = (remote: OutsideRemote, git: GitRunner) =>
    GitRemoteSource.open({
      remote: remote.url,
      branch: "main",
      path: undefined,
      fetchPolicy: "strict",
      pollIntervalMs: 1_000,
      git,
      authEnv: async () => ({}),
      signature: { name: "test", email: "test@example.com" },
      logger: pino({ level: "silent" }),
    });
  const real = createGitRunner({ PATH: "/usr/local/bin:/usr/bin:/bin" });
  /** Writes one file at the root, recording in `planned` each revision the write is planned on. */
  const writeOne = (
    source: GitRemoteSource,
    planned: string[],
    baseRevision: string,
    file: FileWrite,
    message: string,
  ) =>
    source.write({
      directory: "",
      baseRevision,
      author: { name: "writer", email: "writer@example.com" },
      prepare: (state) => {
        planned.push(state.revision);
        return { writes: [file], message };
      },
    });

  it("plans a write on the remote's newest head, fetching first, and refuses a revision older than it", async () => {
    const remote = await createRemote({ "team/features.yaml": flagFile("team", "t1", false) });
    remotes.push(remote);
    const source = await open(remote, real);
    try {
      const served = (await source.read("")).revision;
      const outside = await remote.push({ "ops/features.yaml": flagFile("ops", "o1", false) });
      const planned: string[] = [];
      const write = (baseRevision: string) =>
        writeOne(
          source,
          planned,
          baseRevision,
          { path: "team/features.yaml", text: flagFile("team", "t1", true) },
          "enable t1",
        );
      await assert.rejects(write(served), {
        name: "ConflictError",
        message: `expected head revision "${served}" has changed (now "${outside}")`,
      });
      assert.deepEqual(planned, []);
      await write("");
      assert.deepEqual(planned, [outside], "planned once, on the remote's head");
      assert.deepEqual(remote.log().slice(0, 2), ["enable t1", "outside change"]);
    } finally {
      await source.close();
    }
  });

  it("replays a write whose push was refused as not a fast-forward onto the remote's new head", async () => {
    const remote = await createRemote({
      "team/features.yaml": flagFile("team", "t1", false),
      "ops/features.yaml": flagFile("ops", "o1", false),
    });
    remotes.push(remote);
    // Another writer's push lands after this write fetched, just before it pushes.
    let raced = false;
    const git: GitRunner = async (cwd, args, options) => {
      if (args[0] === "push" && !raced) {
        raced = true;
        await remote.push({ "team/features.yaml": flagFile("team", "t1", true) });
      }
      return real(cwd, args, options);
    };
    const source = await open(remote, git);
    const planned: string[] = [];
    try {
      const revision = await writeOne(
        source,
        planned,
        "",
        { path: "ops/features.yaml", text: flagFile("ops", "o1", true) },
        "enable o1",
      );
      assert.equal(planned.length, 2, "planned again on the new head");
      assert.deepEqual(remote.log().slice(0, 2), ["enable o1", "outside change"]);
      assert.equal(revision, (await real(remote.bare, ["rev-parse", "main"])).stdout.trim());
      assert.match(remote.show("team/features.yaml"), /enabled: true/);
      assert.match(remote.show("ops/features.yaml"), /enabled: true/);
    } finally {
      await source.close();
    }
  });

  it("polls once for every environment watching it, and tells each of them of a change", async (t) => {
    const remote = await createRemote({ "team/features.yaml": flagFile("team", "t1", false) });
    remotes.push(remote);
    let fetches = 0;
    const git: GitRunner = async (cwd, args, options) => {
      if (args[0] === "fetch") fetches++;
      return real(cwd, args, options);
    };
    const source = await open(remote, git);
    try {
      const told = { first: 0, second: 0 };
      const stop = new AbortController();
      await source.watch(() => told.first++, stop.signal);
      await source.watch(() => told.second++, stop.signal);
      await remote.push({ "ops/features.yaml": flagFile("ops", "o1", false) });
      // A webhook sync through one environment tells both.
      assert.equal(await source.sync(), true);
      assert.deepEqual(told, { first: 1, second: 1 });
      t.mock.timers.enable({ apis: ["setInterval"] });
      fetches = 0;
      await remote.push({ "ops/features.yaml": flagFile("ops", "o1", true) });
      t.mock.timers.tick(1_000);
      await waitFor(() => told.first === 2 && told.second === 2, {
        what: "both environments told of the poll's change",
      });
      assert.equal(fetches, 1, "one poll for both");
      stop.abort();
    } finally {
      await source.close();
    }
  });

  it("does not queue a poll behind one that is still running", async (t) => {
    const remote = await createRemote({ "features.yaml": "flags: []\n" });
    remotes.push(remote);
    // Once armed, every fetch is counted and hangs until released: a remote slower than the poll interval.
    let gate: Promise<void> | undefined;
    let release = () => {};
    let fetches = 0;
    const git: GitRunner = async (cwd, args, options) => {
      if (args[0] === "fetch" && gate !== undefined) {
        fetches++;
        await gate;
      }
      return real(cwd, args, options);
    };
    const source = await open(remote, git);
    gate = new Promise((resolve) => {
      release = resolve;
    });
    t.mock.timers.enable({ apis: ["setInterval"] });
    await source.watch(() => undefined, new AbortController().signal);
    t.mock.timers.tick(10_000); // ten polls fall due while the first one's fetch hangs
    release();
    await source.close(); // waits for every queued task on the storage's lock
    assert.equal(fetches, 1);
  });
});
