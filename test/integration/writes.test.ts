import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create, createRegistry, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { parseFeatures } from "../../src/format/parse-features.js";
import { EnvironmentsService } from "../../src/gen/environments/environments_pb.js";
import { ClientEvaluationService } from "../../src/gen/evaluation/evaluation_pb.js";
import {
  FlagSchema,
  FlagType,
  file_flipt_core_core,
  SegmentSchema,
} from "../../src/gen/flipt/core/core_pb.js";
import { flagFile as oneFlagFile } from "../helpers/outside-remote.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";

interface FliptError {
  code: number;
  message: string;
}

/** A features document with one disabled boolean flag. */
const flagFile = (namespace: string, key: string) => oneFlagFile(namespace, key, false);

/** A flag payload as REST clients send it. */
const flagJson = (key: string, extra: Record<string, unknown> = {}) => ({
  "@type": "flipt.core.Flag",
  key,
  name: key.toUpperCase(),
  type: "BOOLEAN_FLAG_TYPE",
  enabled: false,
  ...extra,
});

async function codeOf(promise: Promise<unknown>): Promise<Code | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("writes through the environments API on local storage", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "README.md": "flags\n" });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_STORAGE_DEFAULT_SIGNATURE_NAME: "Pennant Bot",
      FLIPT_STORAGE_DEFAULT_SIGNATURE_EMAIL: "bot@pennant.test",
    });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  const rest = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.httpUrl}/api/v2/environments/default${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const grpcClient = () =>
    createClient(
      EnvironmentsService,
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
    );
  // Connect's JSON carries the payload as `{"@type": "flipt.core.Flag", ...}`, which needs the type registry.
  const connectJsonClient = () =>
    createClient(
      EnvironmentsService,
      createConnectTransport({
        baseUrl: server.httpUrl,
        httpVersion: "1.1",
        useBinaryFormat: false,
        jsonOptions: { registry: createRegistry(file_flipt_core_core) },
      }),
    );

  it("creates, reads, updates and deletes over REST, one commit each, visible at once", async () => {
    const namespace = await rest("POST", "/namespaces", {
      key: "team",
      name: "Team",
      description: "The team",
    });
    assert.equal(namespace.status, 200, JSON.stringify(namespace.body));
    assert.equal(namespace.body.revision, repo.git("rev-parse", "HEAD"));

    const segment = await rest("POST", "/namespaces/team/resources", {
      key: "pro",
      payload: {
        "@type": "flipt.core.Segment",
        key: "pro",
        name: "Pro",
        matchType: "ALL_MATCH_TYPE",
        constraints: [{ type: "STRING_COMPARISON_TYPE", property: "plan", operator: "eq", value: "pro" }],
      },
    });
    assert.equal(segment.status, 200, JSON.stringify(segment.body));

    const created = await rest("POST", "/namespaces/team/resources", {
      key: "beta",
      revision: segment.body.revision,
      payload: flagJson("beta", {
        rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: ["pro"], value: true } }],
      }),
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));

    const evaluation = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({
        namespaceKey: "team",
        flagKey: "beta",
        entityId: "u1",
        context: { plan: "pro" },
      }),
    });
    assert.equal(
      ((await evaluation.json()) as { enabled: boolean }).enabled,
      true,
      "the write is evaluated at once",
    );

    const updated = await rest("PUT", "/namespaces/team/resources", {
      key: "beta",
      revision: created.body.revision,
      payload: flagJson("beta", { enabled: true, description: "now on" }),
    });
    assert.equal(updated.status, 200);
    const read = await rest("GET", "/namespaces/team/resources/flipt.core.Flag/beta");
    const payload = (read.body.resource as { payload: Record<string, unknown> }).payload;
    assert.equal(payload.enabled, true);
    assert.equal(payload.description, "now on");
    assert.equal(read.body.revision, updated.body.revision);

    const text = await readFile(join(repo.path, "team", "features.yaml"), "utf8");
    const parsed = parseFeatures(text, "team/features.yaml");
    assert.deepEqual(parsed.issues, []);
    const stored = parsed.documents[0]?.flags.find((flag) => flag.key === "beta");
    assert.equal(stored?.enabled, true);
    assert.equal(stored?.description, "now on");
    assert.equal(parsed.documents[0]?.namespace.description, "The team");

    const deleted = await rest("DELETE", "/namespaces/team/resources/flipt.core.Flag/beta");
    assert.equal(deleted.status, 200);
    assert.equal((await rest("GET", "/namespaces/team/resources/flipt.core.Flag/beta")).status, 404);

    assert.deepEqual(repo.git("log", "--format=%an <%ae>|%cn|%s", "-5").split("\n"), [
      "Pennant Bot <bot@pennant.test>|Pennant Bot|delete flag team/beta",
      "Pennant Bot <bot@pennant.test>|Pennant Bot|update flag team/beta",
      "Pennant Bot <bot@pennant.test>|Pennant Bot|create flag team/beta",
      "Pennant Bot <bot@pennant.test>|Pennant Bot|create segment team/pro",
      "Pennant Bot <bot@pennant.test>|Pennant Bot|create namespace team",
    ]);
    assert.equal(repo.git("status", "--porcelain"), "", "nothing left uncommitted");
    assert.equal(repo.git("fsck", "--no-progress"), "");
  });

  it("updates and deletes a namespace, keeping its flags on update", async () => {
    const client = grpcClient();
    await client.createNamespace({ environmentKey: "default", key: "ops", name: "Ops" });
    await rest("POST", "/namespaces/ops/resources", { key: "o1", payload: flagJson("o1") });
    const updated = await client.updateNamespace({
      environmentKey: "default",
      key: "ops",
      name: "Operations",
      description: "runbooks",
    });
    assert.deepEqual(
      {
        key: updated.namespace?.key,
        name: updated.namespace?.name,
        description: updated.namespace?.description,
      },
      { key: "ops", name: "Operations", description: "runbooks" },
    );
    assert.equal((await rest("GET", "/namespaces/ops/resources/flipt.core.Flag/o1")).status, 200);
    assert.equal(
      await codeOf(client.updateNamespace({ environmentKey: "default", key: "nope", name: "N" })),
      Code.NotFound,
    );
    const deleted = await client.deleteNamespace({ environmentKey: "default", key: "ops" });
    assert.equal(deleted.revision, repo.git("rev-parse", "HEAD"));
    assert.equal((await rest("GET", "/namespaces/ops")).status, 404);
    assert.equal(repo.git("log", "-1", "--format=%s"), "delete namespace ops");
  });

  for (const [protocol, makeClient] of [
    ["gRPC", grpcClient],
    ["Connect JSON", connectJsonClient],
  ] as const) {
    it(`creates, updates and deletes over ${protocol}`, async () => {
      const client = makeClient();
      const flag = create(FlagSchema, {
        key: "grpc-flag",
        name: "gRPC",
        type: FlagType.BOOLEAN_FLAG_TYPE,
        enabled: true,
      });
      const created = await client.createResource({
        environmentKey: "default",
        namespaceKey: "default",
        key: "grpc-flag",
        payload: anyPack(FlagSchema, flag),
      });
      assert.equal(created.revision, repo.git("rev-parse", "HEAD"));
      const fetched = await client.getResource({
        environmentKey: "default",
        namespaceKey: "default",
        typeUrl: "flipt.core.Flag",
        key: "grpc-flag",
      });
      assert.deepEqual(fetched.resource?.payload?.value, toBinary(FlagSchema, flag));
      const removed = await client.deleteResource({
        environmentKey: "default",
        namespaceKey: "default",
        typeUrl: "flipt.core.Flag",
        key: "grpc-flag",
      });
      assert.equal(removed.revision, repo.git("rev-parse", "HEAD"));
      assert.equal(repo.git("log", "-1", "--format=%s"), "delete flag default/grpc-flag");
    });
  }

  it("refuses a stale revision with Aborted and changes nothing", async () => {
    const head = repo.git("rev-parse", "HEAD");
    const { status, body } = await rest("POST", "/namespaces/default/resources", {
      key: "late",
      revision: "0".repeat(40),
      payload: flagJson("late"),
    });
    assert.equal(status, 409);
    assert.equal(
      (body as unknown as FliptError).message,
      `resource type "flipt.core.Flag": expected head revision "${"0".repeat(40)}" has changed (now "${head}")`,
    );
    assert.equal(repo.git("rev-parse", "HEAD"), head);
  });

  it("answers AlreadyExists, NotFound and InvalidArgument with nothing changed", async () => {
    const head = repo.git("rev-parse", "HEAD");
    assert.equal((await rest("POST", "/namespaces", { key: "default", name: "Default" })).status, 409);
    assert.equal(
      (await rest("PUT", "/namespaces/default/resources", { key: "ghost", payload: flagJson("ghost") }))
        .status,
      404,
    );
    const invalid = await rest("POST", "/namespaces/default/resources", {
      key: "bad",
      payload: flagJson("bad", {
        rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: ["nope"] } }],
      }),
    });
    assert.equal(invalid.status, 400);
    assert.match((invalid.body as unknown as FliptError).message, /unknown segment "nope"/);
    const protectedDefault = await rest("DELETE", "/namespaces/default");
    assert.equal(
      (protectedDefault.body as unknown as FliptError).message,
      'namespace "default" is protected',
    );
    assert.equal(repo.git("rev-parse", "HEAD"), head);
  });

  it("refuses to delete a segment still in use, naming the flag", async () => {
    const client = grpcClient();
    await client.createResource({
      environmentKey: "default",
      namespaceKey: "default",
      key: "staff",
      payload: anyPack(SegmentSchema, create(SegmentSchema, { key: "staff", name: "Staff" })),
    });
    await rest("POST", "/namespaces/default/resources", {
      key: "uses-staff",
      payload: flagJson("uses-staff", {
        rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: ["staff"] } }],
      }),
    });
    const head = repo.git("rev-parse", "HEAD");
    const refused = await rest("DELETE", "/namespaces/default/resources/flipt.core.Segment/staff");
    assert.equal(refused.status, 400);
    assert.equal((refused.body as unknown as FliptError).code, Code.FailedPrecondition);
    assert.match(
      (refused.body as unknown as FliptError).message,
      /segment "staff" is in use by flag "uses-staff"/,
    );
    assert.equal(repo.git("rev-parse", "HEAD"), head);
  });

  it("refuses to overwrite an edit made outside Pennant, and writes once it is committed", async () => {
    const path = join(repo.path, "default", "features.yaml");
    const outside = `${await readFile(path, "utf8")}# edited by hand\n`;
    await repo.write("default/features.yaml", outside);
    const head = repo.git("rev-parse", "HEAD");
    const refused = await rest("POST", "/namespaces/default/resources", {
      key: "after-edit",
      payload: flagJson("after-edit"),
    });
    assert.equal(refused.status, 409);
    assert.match(
      (refused.body as unknown as FliptError).message,
      /default\/features\.yaml has changes made outside Pennant/,
    );
    assert.equal(await readFile(path, "utf8"), outside, "the outside edit is untouched");
    assert.equal(repo.git("rev-parse", "HEAD"), head);

    repo.git("commit", "--quiet", "--all", "--message", "hand edit");
    const accepted = await rest("POST", "/namespaces/default/resources", {
      key: "after-edit",
      payload: flagJson("after-edit"),
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  });

  it("shows a write on the client snapshot stream", async () => {
    const client = createClient(
      ClientEvaluationService,
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
    );
    const abort = new AbortController();
    const stream = client
      .evaluationSnapshotNamespaceStream(
        { key: "default", environmentKey: "default" },
        { signal: abort.signal },
      )
      [Symbol.asyncIterator]();
    try {
      await stream.next();
      await rest("POST", "/namespaces/default/resources", { key: "streamed", payload: flagJson("streamed") });
      const next = await stream.next();
      assert.ok(!next.done && next.value.flags.some((flag) => flag.key === "streamed"));
    } finally {
      abort.abort();
    }
  });

  it("keeps every acknowledged write of 8 concurrent writers in history", async () => {
    const writers = 8;
    const writesEach = 50;
    const acknowledged = new Map<string, boolean>();
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let index = 0; index < writesEach; index++) {
          // Each writer creates its flags, and every fifth write flips the one before.
          const key = `w${writer}-${index % 5 === 4 ? index - 1 : index}`;
          const update = index % 5 === 4;
          const enabled = update;
          const { status } = await rest(update ? "PUT" : "POST", "/namespaces/default/resources", {
            key,
            payload: flagJson(key, { enabled }),
          });
          assert.equal(status, 200);
          acknowledged.set(key, enabled);
        }
      }),
    );
    const log = repo.git("log", "--format=%s").split("\n");
    for (const key of acknowledged.keys()) {
      assert.ok(log.includes(`create flag default/${key}`), `create of ${key} is in history`);
    }
    assert.equal(
      log.filter((line) => /^(create|update) flag default\/w\d+-\d+$/.test(line)).length,
      writers * writesEach,
    );
    const list = await rest("GET", "/namespaces/default/resources/flipt.core.Flag");
    const state = new Map(
      (list.body.resources as { key: string; payload: { enabled: boolean } }[]).map((resource) => [
        resource.key,
        resource.payload.enabled,
      ]),
    );
    for (const [key, enabled] of acknowledged) assert.equal(state.get(key), enabled, key);
    assert.equal(repo.git("fsck", "--no-progress"), "");
  });
});

describe("writes where discovery found the namespace, and keys that look like options", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({
      // `default` and `team` live in one root file, `ops` in a file named after it: none in <ns>/features.yaml.
      "features.yaml": `${flagFile("default", "root-flag")}---\n${flagFile("team", "team-flag")}`,
      "config/ops.features.yml": flagFile("ops", "ops-flag"),
    });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
    });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.httpUrl}/api/v2/environments/default${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, text: await response.text() };
  };
  const flagKeys = (path: string, namespace: string) =>
    parseFeatures(repo.git("show", `HEAD:${path}`), path)
      .documents.filter((document) => document.namespace.key === namespace)
      .flatMap((document) => document.flags.map((flag) => flag.key));

  it("updates, creates and deletes flags in the files that hold their namespaces", async () => {
    const update = await call("PUT", "/namespaces/team/resources", {
      key: "team-flag",
      payload: flagJson("team-flag", { enabled: true }),
    });
    assert.equal(update.status, 200, update.text);
    const create = await call("POST", "/namespaces/ops/resources", {
      key: "ops-2",
      payload: flagJson("ops-2"),
    });
    assert.equal(create.status, 200, create.text);
    const remove = await call("DELETE", "/namespaces/default/resources/flipt.core.Flag/root-flag");
    assert.equal(remove.status, 200, remove.text);

    assert.deepEqual(flagKeys("features.yaml", "team"), ["team-flag"]);
    assert.deepEqual(flagKeys("features.yaml", "default"), []);
    assert.deepEqual(flagKeys("config/ops.features.yml", "ops"), ["ops-flag", "ops-2"]);
    assert.equal(repo.git("ls-files", "team", "ops", "default"), "", "no <ns>/features.yaml was made");
    const served = await call("GET", "/namespaces/team/resources/flipt.core.Flag/team-flag");
    assert.match(served.text, /"enabled":\s*true/);
  });

  it("deletes a namespace from the file it shares, keeping the others' documents", async () => {
    const removed = await call("DELETE", "/namespaces/team");
    assert.equal(removed.status, 200, removed.text);
    assert.equal((await call("GET", "/namespaces/team")).status, 404);
    assert.deepEqual(
      parseFeatures(repo.git("show", "HEAD:features.yaml"), "features.yaml").documents.map(
        (document) => document.namespace.key,
      ),
      ["default"],
    );
  });

  it("writes keys such as -rf and --help as plain names: no git command reads them as options", async () => {
    for (const key of ["-rf", "--help", "-C", "--all"]) {
      const namespace = await call("POST", "/namespaces", { key, name: key });
      assert.equal(namespace.status, 200, `${key}: ${namespace.text}`);
      const flag = await call("POST", `/namespaces/${key}/resources`, { key, payload: flagJson(key) });
      assert.equal(flag.status, 200, `${key}: ${flag.text}`);
      assert.deepEqual(flagKeys(`${key}/features.yaml`, key), [key]);
      const removed = await call("DELETE", `/namespaces/${key}/resources/flipt.core.Flag/${key}`);
      assert.equal(removed.status, 200, `${key}: ${removed.text}`);
      assert.deepEqual(flagKeys(`${key}/features.yaml`, key), []);
      assert.equal((await call("DELETE", `/namespaces/${key}`)).status, 200);
      assert.equal(repo.git("ls-files", "--", key), "");
    }
    assert.equal(repo.git("status", "--porcelain"), "");
    assert.equal(repo.git("fsck", "--no-progress"), "");
  });
});

describe("read-only storage", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ FLIPT_STORAGE_READ_ONLY: "true" });
  });
  after(() => server.stop());

  it("refuses every write RPC with FailedPrecondition and says so in /meta/info", async () => {
    const client = createClient(
      EnvironmentsService,
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
    );
    const payload = anyPack(FlagSchema, create(FlagSchema, { key: "f", name: "F" }));
    const calls = [
      client.createNamespace({ environmentKey: "default", key: "team", name: "Team" }),
      client.updateNamespace({ environmentKey: "default", key: "default", name: "Default" }),
      client.deleteNamespace({ environmentKey: "default", key: "team" }),
      client.createResource({ environmentKey: "default", namespaceKey: "default", key: "f", payload }),
      client.updateResource({ environmentKey: "default", namespaceKey: "default", key: "f", payload }),
      client.deleteResource({
        environmentKey: "default",
        namespaceKey: "default",
        typeUrl: "flipt.core.Flag",
        key: "f",
      }),
    ];
    for (const call of calls) assert.equal(await codeOf(call), Code.FailedPrecondition);
    const error = await client
      .createNamespace({ environmentKey: "default", key: "x", name: "X" })
      .catch((reason: unknown) => reason);
    assert.equal(ConnectError.from(error).rawMessage, "storage default is read-only");
    const info = (await (await fetch(`${server.httpUrl}/meta/info`)).json()) as { readOnly: boolean };
    assert.equal(info.readOnly, true);
    const status = (await (await fetch(`${server.httpUrl}/meta/status`)).json()) as {
      environments: { key: string; readOnly?: boolean }[];
    };
    assert.deepEqual(
      status.environments.map(({ key, readOnly }) => ({ key, readOnly })),
      [{ key: "default", readOnly: true }],
    );
  });
});

describe("writes on memory storage", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it("applies writes with a new revision each time; a delete of nothing answers the current one", async () => {
    const post = async (path: string, body: unknown, method = "POST") => {
      const response = await fetch(`${server.httpUrl}/api/v2/environments/default${path}`, {
        method,
        body: JSON.stringify(body),
      });
      return (await response.json()) as { revision: string };
    };
    const first = await post("/namespaces/default/resources", { key: "m", payload: flagJson("m") });
    const second = await post(
      "/namespaces/default/resources",
      { key: "m", payload: flagJson("m", { enabled: true }) },
      "PUT",
    );
    const third = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag/nope`,
      {
        method: "DELETE",
      },
    );
    const revisions = [
      first.revision,
      second.revision,
      ((await third.json()) as { revision: string }).revision,
    ];
    assert.equal(new Set(revisions).size, 2);
    assert.equal(revisions[2], revisions[1], "nothing to delete: no new revision");
    const status = (await (await fetch(`${server.httpUrl}/meta/status`)).json()) as {
      environments: { readOnly?: boolean }[];
    };
    assert.equal(status.environments[0]?.readOnly, false);
    const list = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag`,
    );
    const body = (await list.json()) as { revision: string; resources: { payload: { enabled: boolean } }[] };
    assert.equal(body.revision, revisions[2]);
    assert.equal(body.resources[0]?.payload.enabled, true);
  });
});

describe("templates.commit_message", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "README.md": "x\n" });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_TEMPLATES_COMMIT_MESSAGE: "{{ index .Changes 0 }} in {{ .Environment.Key }} [skip ci]",
    });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  it("renders each commit message from the Go template", async () => {
    const response = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`,
      {
        method: "POST",
        body: JSON.stringify({ key: "t", payload: flagJson("t") }),
      },
    );
    assert.equal(response.status, 200);
    assert.equal(repo.git("log", "-1", "--format=%s"), "create flag default/t in default [skip ci]");
  });
});
