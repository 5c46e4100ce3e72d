import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { parseFeatures } from "../../src/format/parse-features.js";
import { EnvironmentsService } from "../../src/gen/environments/environments_pb.js";
import { FlagSchema, FlagType } from "../../src/gen/flipt/core/core_pb.js";
import { createBareRepo, type GitHttpServer, startGitHttpServer } from "../helpers/git-http-server.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { waitFor } from "../helpers/wait-for.js";

/*
 * Three Pennant processes, each with its own clone, over ONE bare repository served by `git http-backend`:
 * the replica topology of docs/deployment.md. 30 writes in all: 24 concurrent creates and updates of different
 * flags in one namespace file (8 through each replica, which race each other for the remote), then 3 rounds of
 * 2 updates of one flag at one revision, over Connect. Every push round trip goes through git http-backend, and
 * lost races are replayed, so the cost is mostly git: about 80 s on 2 busy cores (a single write took 0.7 s
 * there), less on an idle machine. The diagnostics say how many races were lost and how fast replicas converged.
 */

const REPLICAS = 3;
const POLL_INTERVAL_MS = 1_000;
/**
 * How long the replicas may take to serve the remote's head before the test fails. The design's bound is one poll
 * plus the fetch and rebuild (about 2 s here); it is measured in `bench/remote-bench.ts`, not asserted here, where
 * a loaded machine may stretch it: this deadline only catches replicas that never converge.
 */
const CONVERGENCE_DEADLINE_MS = 30_000;
/** Flags each replica creates, all in the `default` namespace (one file), and how many of them it then updates. */
const CREATES_PER_REPLICA = 6;
const UPDATES_PER_REPLICA = 2;
const CONFLICT_ROUNDS = 3;

const SEED = `version: "1.6"
namespace: default
flags:
  - key: contested
    name: Contested
    type: BOOLEAN_FLAG_TYPE
    enabled: false
  - key: colour
    name: Colour
    type: VARIANT_FLAG_TYPE
    enabled: true
    variants:
      - key: red
      - key: blue
    rules:
      - segment: pro
        distributions:
          - variant: red
            rollout: 50
          - variant: blue
            rollout: 50
segments:
  - key: pro
    name: Pro
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: eq
        value: pro
`;

interface Replica {
  readonly name: string;
  readonly process: PennantProcess;
  readonly httpUrl: string;
}

/** Starts `pennant server` from source with its own clone of `remote` in `cloneDir`. */
async function startReplica(name: string, remote: string, cloneDir: string): Promise<Replica> {
  const child = await startPennantProcess({
    FLIPT_SERVER_SHUTDOWN_GRACE_PERIOD: "2s",
    FLIPT_STORAGE_DEFAULT_REMOTE: remote,
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
    FLIPT_STORAGE_DEFAULT_BACKEND_PATH: cloneDir,
    FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: `${POLL_INTERVAL_MS / 1000}s`,
    FLIPT_STORAGE_DEFAULT_SIGNATURE_NAME: name,
    FLIPT_STORAGE_DEFAULT_SIGNATURE_EMAIL: `${name}@pennant.test`,
  });
  return { name, process: child, httpUrl: child.httpUrl };
}

async function stopReplica(replica: Replica): Promise<void> {
  replica.process.signal("SIGTERM");
  await replica.process.exited;
}

/** The revision a replica serves, read from the environments API (no git involved). */
async function servedRevision(replica: Replica): Promise<string> {
  const response = await fetch(`${replica.httpUrl}/api/v2/environments/default/namespaces`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { revision: string }).revision;
}

const flagPayload = (key: string, enabled: boolean, extra: Record<string, unknown> = {}) => ({
  "@type": "flipt.core.Flag",
  key,
  name: key,
  type: "BOOLEAN_FLAG_TYPE",
  enabled,
  ...extra,
});

/** The flag with its state after the writes: what every replica and the remote must hold. */
interface Expected {
  readonly enabled: boolean;
  readonly description: string;
}

describe("three replicas over one git remote served by git http-backend", () => {
  let root: string;
  let bare: string;
  let http: GitHttpServer;
  const replicas: Replica[] = [];
  /** Every write that was acknowledged: the revision it answered with, and its commit message. */
  const acknowledged: { revision: string; message: string }[] = [];
  /** The state every acknowledged write leaves, per flag key. */
  const expected = new Map<string, Expected>([["contested", { enabled: false, description: "" }]]);

  const remoteGit = (...args: string[]) => execFileSync("git", args, { cwd: bare, encoding: "utf8" }).trim();
  const remoteHead = () => remoteGit("rev-parse", "main");

  /**
   * Waits until every replica serves the remote's head. Resolves with the common revision and how long that took
   * from `since` (the moment the last write was acknowledged), which the test reports.
   */
  const converged = async (since: number, what: string) => {
    const head = remoteHead();
    const revisions = await waitFor(
      async () => {
        const served = await Promise.all(replicas.map(servedRevision));
        return served.every((revision) => revision === head) ? served : undefined;
      },
      {
        deadlineMs: CONVERGENCE_DEADLINE_MS,
        intervalMs: 25,
        what: `all ${REPLICAS} replicas serving ${head} after ${what}`,
      },
    );
    return { revision: revisions[0] as string, ms: Date.now() - since };
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-replicas-"));
    bare = await createBareRepo(root, "flags.git", { files: { "default/features.yaml": SEED } });
    http = await startGitHttpServer({ root });
    // One at a time: three cold `tsx` start-ups at once on two shared cores only slow each other down.
    for (let index = 0; index < REPLICAS; index++) {
      replicas.push(
        await startReplica(`replica-${index}`, http.url("flags.git"), join(root, `clone-${index}`)),
      );
    }
  });
  after(async () => {
    await Promise.all(replicas.map(stopReplica));
    await http?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("accepts concurrent writes to different flags through every replica, losing none", async (t) => {
    const write = async (replica: Replica, method: "POST" | "PUT", payload: Record<string, unknown>) => {
      const response = await fetch(
        `${replica.httpUrl}/api/v2/environments/default/namespaces/default/resources`,
        { method, body: JSON.stringify({ key: payload.key, payload }) },
      );
      const text = await response.text();
      assert.equal(response.status, 200, `${replica.name} ${method} ${String(payload.key)}: ${text}`);
      return (JSON.parse(text) as { revision: string }).revision;
    };
    const started = Date.now();
    let lastAck = 0;
    // Each replica writes its own flags one after another; the three replicas race each other for the remote.
    await Promise.all(
      replicas.map(async (replica, index) => {
        for (let n = 0; n < CREATES_PER_REPLICA; n++) {
          const key = `r${index}-f${n}`;
          const revision = await write(replica, "POST", flagPayload(key, false));
          acknowledged.push({ revision, message: `create flag default/${key}` });
          expected.set(key, { enabled: false, description: "" });
          lastAck = Date.now();
        }
        for (let n = 0; n < UPDATES_PER_REPLICA; n++) {
          const key = `r${index}-f${n}`;
          const description = `updated through ${replica.name}`;
          const rollouts = [{ type: "THRESHOLD_ROLLOUT_TYPE", threshold: { percentage: 40, value: false } }];
          const revision = await write(replica, "PUT", flagPayload(key, true, { description, rollouts }));
          acknowledged.push({ revision, message: `update flag default/${key}` });
          expected.set(key, { enabled: true, description });
          lastAck = Date.now();
        }
      }),
    );
    assert.equal(acknowledged.length, REPLICAS * (CREATES_PER_REPLICA + UPDATES_PER_REPLICA));
    const { revision, ms } = await converged(lastAck, "the last concurrent write");
    assert.ok(
      acknowledged.some((ack) => ack.revision === revision),
      "they serve an acknowledged commit",
    );
    // How often a push lost a race and was replayed (each replica logs the attempt that lost), for the record.
    const lost = replicas.map((replica) =>
      [...replica.process.output().matchAll(/"attempt":(\d+)/g)].map((match) => Number(match[1])),
    );
    t.diagnostic(
      `${acknowledged.length} concurrent writes in ${lastAck - started} ms; lost push races replayed, per replica: ${lost.map((attempts) => attempts.length).join("/")} (one write lost at most ${Math.max(0, ...lost.flat())}); converged ${ms} ms after the last write`,
    );
  });

  it("answers Aborted to the loser of two updates of one flag at the same revision, over Connect", async (t) => {
    const clients = replicas.map((replica) =>
      createClient(
        EnvironmentsService,
        createConnectTransport({ baseUrl: replica.httpUrl, httpVersion: "1.1" }),
      ),
    );
    for (let round = 0; round < CONFLICT_ROUNDS; round++) {
      const pair = [round % REPLICAS, (round + 1) % REPLICAS] as const;
      // Both replicas serve the same head: the revision both writers read.
      const start = await converged(Date.now(), `round ${round}'s start`);
      const attempts = await Promise.allSettled(
        pair.map((index) => {
          const flag = create(FlagSchema, {
            key: "contested",
            name: "Contested",
            type: FlagType.BOOLEAN_FLAG_TYPE,
            enabled: round % 2 === 0,
            description: `round ${round} by replica-${index}`,
          });
          return (clients[index] as (typeof clients)[number]).updateResource({
            environmentKey: "default",
            namespaceKey: "default",
            key: "contested",
            revision: start.revision,
            payload: anyPack(FlagSchema, flag),
          });
        }),
      );
      const lastAck = Date.now();
      const won = attempts.flatMap((attempt, slot) => (attempt.status === "fulfilled" ? [slot] : []));
      assert.equal(won.length, 1, `exactly one of the two writes wins: ${JSON.stringify(attempts)}`);
      const winner = won[0] as 0 | 1;
      const loser = attempts[1 - winner];
      assert.equal(loser?.status, "rejected");
      const error = ConnectError.from((loser as PromiseRejectedResult).reason);
      assert.equal(error.code, Code.Aborted, error.message);
      const winning = attempts[winner] as PromiseFulfilledResult<{ revision: string }>;
      acknowledged.push({ revision: winning.value.revision, message: "update flag default/contested" });
      expected.set("contested", {
        enabled: round % 2 === 0,
        description: `round ${round} by replica-${pair[winner]}`,
      });
      assert.equal(remoteHead(), winning.value.revision, "the winner's commit is the remote's head");
      const { ms } = await converged(lastAck, `round ${round}'s winning write`);
      const how = /expected head revision/.test(error.rawMessage)
        ? "its revision was stale"
        : "it lost the push race";
      t.diagnostic(
        `round ${round}: replica-${pair[winner]} won, the other was refused (${how}); converged ${ms} ms later`,
      );
    }
  });

  it("holds every acknowledged write on the remote and serves it from every replica", async () => {
    assert.equal(remoteGit("fsck", "--no-progress", "--no-dangling"), "");
    const head = remoteHead();
    for (const ack of acknowledged) {
      // Throws (failing the test) unless the acknowledged commit is in the remote branch's history.
      remoteGit("merge-base", "--is-ancestor", ack.revision, head);
      assert.equal(remoteGit("log", "-1", "--format=%s", ack.revision), ack.message);
    }
    assert.equal(
      new Set(acknowledged.map((ack) => ack.revision)).size,
      acknowledged.length,
      "one commit per acknowledged write",
    );
    // The seed commit, then exactly the acknowledged writes: the losers of the races left nothing behind.
    assert.equal(Number(remoteGit("rev-list", "--count", head)), acknowledged.length + 1);

    const parsed = parseFeatures(remoteGit("show", `${head}:default/features.yaml`), "default/features.yaml");
    assert.deepEqual(parsed.issues, []);
    const onRemote = new Map(parsed.documents[0]?.flags.map((flag) => [flag.key, flag]));
    for (const [key, state] of expected) {
      assert.equal(onRemote.get(key)?.enabled, state.enabled, `${key} on the remote`);
      assert.equal(onRemote.get(key)?.description ?? "", state.description, `${key} on the remote`);
    }

    for (const replica of replicas) {
      const response = await fetch(
        `${replica.httpUrl}/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag`,
      );
      const body = (await response.json()) as {
        revision: string;
        resources: { key: string; payload: { enabled?: boolean; description?: string } }[];
      };
      assert.equal(body.revision, head, replica.name);
      const served = new Map(body.resources.map((resource) => [resource.key, resource.payload]));
      assert.equal(served.size, expected.size + 1, `${replica.name} serves the seed's and the written flags`);
      for (const [key, state] of expected) {
        assert.equal(served.get(key)?.enabled ?? false, state.enabled, `${key} on ${replica.name}`);
        assert.equal(served.get(key)?.description ?? "", state.description, `${key} on ${replica.name}`);
      }
    }
  });

  it("evaluates identically on every replica once converged", async () => {
    const flagKeys = ["colour", ...expected.keys()];
    const contexts = Array.from({ length: 8 }, (_, n) => ({
      entityId: `user-${n}`,
      context: { plan: n % 2 === 0 ? "pro" : "free" },
    }));
    const evaluateAll = async (replica: Replica) => {
      const requests = contexts.flatMap(({ entityId, context }) =>
        flagKeys.map((flagKey) => ({ flagKey, entityId, context })),
      );
      const response = await fetch(`${replica.httpUrl}/evaluate/v1/batch`, {
        method: "POST",
        body: JSON.stringify({ requests }),
      });
      const text = await response.text();
      assert.equal(response.status, 200, `${replica.name}: ${text}`);
      const { responses } = JSON.parse(text) as { responses: Record<string, Record<string, unknown>>[] };
      // What the state decides; request ids, timestamps and durations differ from call to call.
      return responses.map((item) => {
        const result = item.booleanResponse ?? item.variantResponse ?? item.errorResponse ?? item;
        const { requestId, timestamp, requestDurationMillis, ...decided } = result;
        return decided;
      });
    };
    const [first, ...others] = await Promise.all(replicas.map(evaluateAll));
    assert.ok(first);
    assert.equal(first.length, contexts.length * flagKeys.length);
    assert.ok(
      first.every((result) => result.reason !== undefined && result.errorCode === undefined),
      JSON.stringify(first.filter((result) => result.reason === undefined)),
    );
    // The state is not trivial: the updated flags' 40 % rollout splits the entities, the variant rule the plans.
    assert.ok(new Set(first.map((result) => JSON.stringify([result.enabled, result.variantKey]))).size >= 3);
    for (const [index, results] of others.entries()) {
      assert.deepEqual(results, first, `replica-${index + 1} evaluates as replica-0`);
    }
  });
});
