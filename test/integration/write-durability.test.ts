import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseFeatures } from "../../src/format/parse-features.js";
import { createSeededRandom, seedFrom } from "../helpers/seeded-random.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";

/*
 * Durability of writes on local storage, which Pennant commits without running git (objects, branch and index
 * written in-process): a server process killed with SIGKILL right after acknowledging writes keeps every one of
 * them as a commit, and what a kill cut half-way is undone at the next start. 4 kills and restarts, 10-25 s.
 * PENNANT_DURABILITY_SEED=<seed> makes the same choices again (where a kill lands still depends on timing).
 */

const random = createSeededRandom(
  seedFrom(process.env, "PENNANT_DURABILITY_SEED", Date.now() % 1_000_000_007),
);

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args], {
    cwd,
    encoding: "utf8",
  }).trim();

interface Ack {
  readonly namespace: string;
  readonly key: string;
  readonly revision: string;
}

async function createFlag(server: PennantProcess, namespace: string, key: string) {
  const response = await fetch(
    `${server.httpUrl}/api/v2/environments/default/namespaces/${namespace}/resources`,
    {
      method: "POST",
      body: JSON.stringify({
        key,
        payload: { "@type": "flipt.core.Flag", key, name: key, type: "BOOLEAN_FLAG_TYPE", enabled: true },
      }),
    },
  );
  return {
    status: response.status,
    body: (await response.json()) as { revision?: string; message?: string },
  };
}

async function servedFlagKeys(server: PennantProcess, namespace: string): Promise<Set<string>> {
  const response = await fetch(
    `${server.httpUrl}/api/v2/environments/default/namespaces/${namespace}/resources/flipt.core.Flag`,
  );
  assert.equal(response.status, 200);
  const body = (await response.json()) as { resources: { key: string }[] };
  return new Set(body.resources.map((resource) => resource.key));
}

function committedFlagKeys(repository: string, namespace: string): Set<string> {
  const path = `${namespace}/features.yaml`;
  const parsed = parseFeatures(git(repository, "show", `HEAD:${path}`), path);
  return new Set(parsed.documents.flatMap((document) => document.flags.map((flag) => flag.key)));
}

describe("kill -9 right after writes are acknowledged, on local storage", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it("keeps every acknowledged write as a commit, undoes the rest, and git is happy", async (t) => {
    const directory = await mkdtemp(join(tmpdir(), "pennant-durability-"));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    t.diagnostic(`seed ${random.seed}`);
    const env = {
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: directory,
    };
    const namespaces = ["n0", "n1", "n2"];
    let server = await startPennantProcess(env);
    cleanup.push(() => server.killHard());
    for (const namespace of namespaces) {
      const response = await fetch(`${server.httpUrl}/api/v2/environments/default/namespaces`, {
        method: "POST",
        body: JSON.stringify({ key: namespace, name: namespace }),
      });
      assert.equal(response.status, 200, await response.text());
    }
    // git made the first commit when the directory became a repository (and left its message in
    // COMMIT_EDITMSG); Pennant commits the new namespaces' files and the flags itself: the file stays as it is.
    const gitsLastMessage = readFileSync(join(directory, ".git", "COMMIT_EDITMSG"), "utf8");
    assert.match(gitsLastMessage, /^initialise flag state repository/);
    assert.equal(git(directory, "log", "-1", "--format=%s"), "create namespace n2");

    const acks: Ack[] = [];
    for (let round = 0; round < 4; round++) {
      const running = server;
      const killAfter = random.int(1, 8);
      let acked = 0;
      let killed: Promise<void> | undefined;
      let cut = 0;
      // One writer per namespace, back to back; the kill comes right after the chosen acknowledgement, while
      // the other writers' requests are in flight.
      await Promise.all(
        namespaces.map(async (namespace) => {
          for (let index = 0; ; index++) {
            const key = `r${round}-${index}`;
            let result: Awaited<ReturnType<typeof createFlag>>;
            try {
              result = await createFlag(running, namespace, key);
            } catch {
              cut++;
              return;
            }
            assert.equal(result.status, 200, `${namespace}/${key}: ${result.body.message}`);
            acks.push({ namespace, key, revision: result.body.revision as string });
            if (++acked === killAfter) killed = running.killHard();
          }
        }),
      );
      await killed;
      t.diagnostic(`kill ${round + 1}: right after acknowledgement ${killAfter}; ${cut} requests cut`);

      server = await startPennantProcess(env);
      const fsck = spawnSync("git", ["fsck", "--full", "--strict", "--no-progress", "--no-dangling"], {
        cwd: directory,
        encoding: "utf8",
      });
      assert.equal(fsck.status, 0, fsck.stderr);
      assert.equal(`${fsck.stdout}${fsck.stderr}`.trim(), "", "git fsck finds nothing");
      assert.equal(git(directory, "status", "--porcelain"), "", "nothing half-written is left behind");
      const head = git(directory, "rev-parse", "HEAD");
      const subjects = new Set(git(directory, "log", "--format=%s").split("\n"));
      for (const ack of acks) {
        const ancestor = spawnSync("git", ["merge-base", "--is-ancestor", ack.revision, head], {
          cwd: directory,
        });
        assert.equal(
          ancestor.status,
          0,
          `acknowledged ${ack.namespace}/${ack.key} (${ack.revision}) is in main`,
        );
        assert.ok(subjects.has(`create flag ${ack.namespace}/${ack.key}`), `its commit is in git log`);
      }
      for (const namespace of namespaces) {
        const committed = committedFlagKeys(directory, namespace);
        const served = await servedFlagKeys(server, namespace);
        for (const ack of acks.filter((candidate) => candidate.namespace === namespace)) {
          assert.ok(committed.has(ack.key), `${namespace}/${ack.key} is at HEAD`);
          assert.ok(served.has(ack.key), `${namespace}/${ack.key} is served after the restart`);
        }
      }
    }
    assert.equal(
      readFileSync(join(directory, ".git", "COMMIT_EDITMSG"), "utf8"),
      gitsLastMessage,
      "the flags were committed without git",
    );

    // The user's own git carries on, and so does Pennant after it.
    writeFileSync(join(directory, "n0", "notes.txt"), "by hand\n");
    git(directory, "add", "n0/notes.txt");
    git(directory, "commit", "--quiet", "--message", "notes by hand");
    const after = await createFlag(server, "n1", "after-the-user");
    assert.equal(after.status, 200, after.body.message);
    assert.equal(git(directory, "log", "-2", "--format=%s"), "create flag n1/after-the-user\nnotes by hand");
    assert.equal(git(directory, "status", "--porcelain"), "");
    t.diagnostic(`${acks.length} acknowledged writes, all in main and served after 4 kills`);
  });
});
