import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { ClientEvaluationService } from "../../src/gen/evaluation/evaluation_pb.js";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { freshRequest, type WorkerAnswer } from "../helpers/fresh-request.js";
import { createRemote, flagFile, type OutsideRemote } from "../helpers/outside-remote.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-databases.js";
import { waitFor, within } from "../helpers/wait-for.js";

const WORKERS = 2;
/** Fresh connections per check: with cluster's round-robin, enough to reach every worker several times. */
const CONNECTIONS = 4 * WORKERS;
const SECRET = "workers-webhook-secret";

/** One request on a connection of its own (see `freshRequest`). */
function fresh(
  server: PennantProcess,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<WorkerAnswer> {
  return freshRequest(server.httpUrl, method, path, body, headers);
}

/** The same request on `CONNECTIONS` fresh connections, one after another. */
async function everywhere(server: PennantProcess, method: string, path: string, body?: unknown) {
  const answers: WorkerAnswer[] = [];
  for (let index = 0; index < CONNECTIONS; index++) answers.push(await fresh(server, method, path, body));
  return answers;
}

const flagResource = (key: string, enabled: boolean) => ({
  key,
  payload: { "@type": "flipt.core.Flag", key, name: key, type: "BOOLEAN_FLAG_TYPE", enabled },
});

interface Status {
  readonly environments: { key: string; revision: string }[];
  readonly workers: { pid: number; current: boolean; revisions: Record<string, string> }[];
}

async function status(server: PennantProcess): Promise<Status> {
  return JSON.parse((await fresh(server, "GET", "/meta/status")).body) as Status;
}

/** `grpc_server_handled_total` of Boolean with code OK, as the whole server's /metrics reports it. */
async function booleanCalls(server: PennantProcess): Promise<number> {
  const text = (await fresh(server, "GET", "/metrics")).body;
  const line = text
    .split("\n")
    .find(
      (candidate) =>
        candidate.startsWith("grpc_server_handled_total{") &&
        candidate.includes('grpc_method="Boolean"') &&
        candidate.includes('grpc_code="OK"'),
    );
  assert.ok(line, "the Boolean series is in /metrics");
  return Number(line.split(" ").at(-1));
}

describe(`server.workers: ${WORKERS}`, () => {
  let repo: TempRepo;
  let remote: OutsideRemote;
  let server: PennantProcess;

  before(async () => {
    repo = await createTempRepo({ "features.yaml": flagFile("default", "base", true) });
    remote = await createRemote({ "features.yaml": flagFile("default", "upstream", true) });
    server = await startPennantProcess(
      {
        FLIPT_SERVER_WORKERS: String(WORKERS),
        FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "local",
        FLIPT_STORAGE_FLAGS_BACKEND_PATH: repo.path,
        FLIPT_STORAGE_UPSTREAM_REMOTE: remote.url,
        FLIPT_STORAGE_UPSTREAM_POLL_INTERVAL: "10m",
        FLIPT_STORAGE_UPSTREAM_WEBHOOK_SECRET: SECRET,
        FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "flags",
        FLIPT_ENVIRONMENTS_DEFAULT_DEFAULT: "true",
        FLIPT_ENVIRONMENTS_PRODUCTION_STORAGE: "upstream",
      },
      { deadlineMs: 60_000 },
    );
  });

  after(async () => {
    server?.signal("SIGTERM");
    const exit = await server?.exited;
    await repo?.remove();
    await remote?.remove();
    assert.equal(exit?.code, 0, "the owner stops its workers and exits cleanly");
  });

  it("logs one 'pennant is serving' with the shared ports, and serves from every worker", async () => {
    const serving = await server.logLine((line) => line.M === "pennant is serving");
    assert.equal(serving.workers, WORKERS);
    assert.equal(serving.httpPort, server.httpPort);
    const answers = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "base",
      entityId: "e",
    });
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.equal((JSON.parse(answer.body) as { enabled: boolean }).enabled, true);
    }
    const workers = new Set(answers.map((answer) => answer.worker));
    assert.equal(workers.size, WORKERS, `answers came from ${[...workers].join(", ")}`);
    const reported = (await status(server)).workers.map((worker) => String(worker.pid)).sort();
    assert.deepEqual([...workers].sort(), reported, "/meta/status lists the workers that answer");
  });

  describe("answers the same over every protocol", () => {
    const transports: Record<string, () => Transport> = {
      "gRPC on the gRPC port": () => createGrpcTransport({ baseUrl: server.grpcUrl }),
      "gRPC over h2c on the HTTP port": () => createGrpcTransport({ baseUrl: server.httpUrl }),
      "Connect over HTTP/1.1": () => createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
      "Connect over HTTP/2": () => createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "2" }),
      "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
      "gRPC-Web over HTTP/2": () => createGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: "2" }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      it(name, async () => {
        // A new transport per call: a new connection, so that the calls spread over the workers.
        for (let index = 0; index < CONNECTIONS; index++) {
          const client = createClient(EvaluationService, transport());
          const answer = await client.boolean({ flagKey: "base", entityId: "e", namespaceKey: "default" });
          assert.equal(answer.enabled, true);
          assert.equal(answer.flagKey, "base");
        }
      });
    }

    it("OFREP and the client-SDK snapshot", async () => {
      for (const answer of await everywhere(server, "POST", "/ofrep/v1/evaluate/flags/base", {
        context: { targetingKey: "e" },
      })) {
        assert.equal(answer.status, 200);
        assert.equal((JSON.parse(answer.body) as { value: boolean }).value, true);
      }
      for (const answer of await everywhere(
        server,
        "GET",
        "/internal/v1/evaluation/snapshot/namespace/default",
      )) {
        assert.equal(answer.status, 200);
        const snapshot = JSON.parse(answer.body) as { flags: { key: string }[] };
        assert.ok(snapshot.flags.some((flag) => flag.key === "base"));
      }
    });
  });

  it("a write through one worker is read on every worker as soon as it is acknowledged", async () => {
    const started = performance.now();
    const written = await fresh(
      server,
      "POST",
      "/api/v2/environments/default/namespaces/default/resources",
      flagResource("written", true),
    );
    const acknowledged = performance.now() - started;
    assert.equal(written.status, 200, written.body);
    const revision = (JSON.parse(written.body) as { revision: string }).revision;
    assert.equal(repo.git("rev-parse", "HEAD"), revision, "the owner committed the write");
    const reads = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "written",
      entityId: "e",
    });
    for (const read of reads) assert.equal(read.status, 200, `worker ${read.worker}: ${read.body}`);
    const readers = new Set(reads.map((read) => read.worker));
    assert.equal(readers.size, WORKERS);
    assert.ok(
      reads.some((read) => read.worker !== written.worker),
      "another worker than the writer's read it",
    );
    const { workers } = await status(server);
    for (const worker of workers) assert.equal(worker.revisions.default, revision);
    console.log(`write acknowledged (every worker serving it) in ${acknowledged.toFixed(1)} ms`);
  });

  it("a change made on disk reaches every worker", async () => {
    await repo.write("team/features.yaml", flagFile("team", "edited", true));
    repo.git("add", "--all");
    repo.git("commit", "--quiet", "--message", "outside edit");
    const started = performance.now();
    await waitFor(
      async () => {
        const reads = await everywhere(server, "POST", "/evaluate/v1/boolean", {
          flagKey: "edited",
          namespaceKey: "team",
          entityId: "e",
        });
        return reads.every((read) => read.status === 200);
      },
      { what: "every worker serving the new file" },
    );
    console.log(`on-disk edit served by every worker within ${(performance.now() - started).toFixed(0)} ms`);
  });

  it("a snapshot stream on one worker gets a write made through another", async () => {
    let streamWorker = "";
    const abort = new AbortController();
    const client = createClient(
      ClientEvaluationService,
      createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
    );
    const stream = client
      .evaluationSnapshotNamespaceStream(
        { key: "default", environmentKey: "default" },
        {
          signal: abort.signal,
          onHeader: (headers) => {
            streamWorker = headers.get("pennant-worker") ?? "";
          },
        },
      )
      [Symbol.asyncIterator]();
    try {
      await within(stream.next(), 10_000, "the stream's first snapshot");
      assert.notEqual(streamWorker, "");
      let writer = "";
      for (let attempt = 0; writer === "" || writer === streamWorker; attempt++) {
        assert.ok(attempt < CONNECTIONS, "a write landed on another worker than the stream's");
        const key = `streamed-${attempt}`;
        const written = await fresh(
          server,
          "POST",
          "/api/v2/environments/default/namespaces/default/resources",
          flagResource(key, true),
        );
        assert.equal(written.status, 200, written.body);
        writer = written.worker;
        const next = await within(stream.next(), 10_000, `the stream's snapshot with ${key}`);
        assert.ok(!next.done && next.value.flags.some((flag) => flag.key === key));
      }
    } finally {
      abort.abort();
    }
  });

  it("a webhook sync through a worker fetches in the owner, and every worker serves the push", async () => {
    const head = await remote.push({ "features.yaml": flagFile("default", "pushed", true) });
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
    const synced = await fresh(server, "POST", "/api/v2/environments/production/sync", body, {
      "x-hub-signature-256": signature,
    });
    assert.equal(synced.status, 200, synced.body);
    assert.equal((JSON.parse(synced.body) as { revision: string }).revision, head);
    const reads = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "pushed",
      entityId: "e",
      environmentKey: "production",
    });
    for (const read of reads) assert.equal(read.status, 200, `worker ${read.worker}: ${read.body}`);
  });

  it("a branch environment made through one worker is served by every worker", async () => {
    const created = await fresh(server, "POST", "/api/v2/environments/default/branches", { key: "feature" });
    assert.equal(created.status, 200, created.body);
    const reads = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "written",
      entityId: "e",
      environmentKey: "feature",
    });
    for (const read of reads) assert.equal(read.status, 200, `worker ${read.worker}: ${read.body}`);
    const deleted = await fresh(server, "DELETE", "/api/v2/environments/default/branches/feature");
    assert.equal(deleted.status, 200, deleted.body);
    for (const read of await everywhere(server, "GET", "/api/v2/environments")) {
      const { environments } = JSON.parse(read.body) as { environments: { key: string }[] };
      assert.ok(!environments.some((environment) => environment.key === "feature"), `worker ${read.worker}`);
    }
  });

  it("/metrics adds up every worker's requests, whichever worker is scraped", async () => {
    const before = await booleanCalls(server);
    const answers = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "base",
      entityId: "e",
    });
    assert.equal(new Set(answers.map((answer) => answer.worker)).size, WORKERS);
    for (let scrape = 0; scrape < WORKERS; scrape++) {
      assert.equal(await booleanCalls(server), before + CONNECTIONS);
    }
  });

  it("a killed worker is replaced, and nothing acknowledged is lost", async () => {
    const [victim] = (await status(server)).workers;
    assert.ok(victim);
    process.kill(victim.pid, "SIGKILL");
    const replaced = await waitFor(
      async () => {
        const { workers } = await status(server);
        return (
          workers.length === WORKERS &&
          workers.every((worker) => worker.pid !== victim.pid && worker.current) &&
          workers
        );
      },
      { deadlineMs: 30_000, what: "a replacement worker serving" },
    );
    const reads = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "written",
      entityId: "e",
    });
    for (const read of reads) assert.equal(read.status, 200, `worker ${read.worker}: ${read.body}`);
    assert.deepEqual(
      [...new Set(reads.map((read) => read.worker))].sort(),
      replaced.map((worker) => String(worker.pid)).sort(),
    );
    const log = await server.logLine((line) => line.M === "worker exited; starting another");
    assert.equal(log.pid, victim.pid);
  });
});

describe(`server.workers: ${WORKERS}, on a database storage (SQLite, read through the owner)`, () => {
  let database: TestDatabase;
  let server: PennantProcess;

  before(async () => {
    database = await createTestDatabase("sqlite");
    server = await startPennantProcess(
      {
        FLIPT_SERVER_WORKERS: String(WORKERS),
        FLIPT_STORAGE_DB_BACKEND_TYPE: "database",
        FLIPT_STORAGE_DB_BACKEND_URL: database.url,
        FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "db",
      },
      { deadlineMs: 60_000 },
    );
  });

  after(async () => {
    await server?.killHard();
    await database?.drop();
  });

  it("a flag written through one worker is evaluated and listed on every worker", async () => {
    const written = await fresh(
      server,
      "POST",
      "/api/v2/environments/default/namespaces/default/resources",
      flagResource("stored", true),
    );
    assert.equal(written.status, 200, written.body);
    const reads = await everywhere(server, "POST", "/evaluate/v1/boolean", {
      flagKey: "stored",
      entityId: "e",
    });
    for (const read of reads) {
      assert.equal(read.status, 200, `worker ${read.worker}: ${read.body}`);
      assert.equal((JSON.parse(read.body) as { enabled: boolean }).enabled, true);
    }
    assert.equal(new Set(reads.map((read) => read.worker)).size, WORKERS);
    for (const listed of await everywhere(server, "GET", "/api/v1/namespaces/default/flags")) {
      const { flags } = JSON.parse(listed.body) as { flags: { key: string }[] };
      assert.ok(
        flags.some((flag) => flag.key === "stored"),
        `worker ${listed.worker}: ${listed.body}`,
      );
    }
  });
});
