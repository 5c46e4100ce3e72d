/**
 * The `limits.*` keys, each at its limit and one past it, on a real server: evaluation contexts (REST, gRPC, OFREP
 * and batch items), server streams in all and per client address, and features files and YAML aliases.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { flagFile } from "../helpers/outside-remote.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { waitFor } from "../helpers/wait-for.js";

const FEATURES = flagFile("default", "beta", true);

const context = (entries: number, valueBytes = 1) =>
  Object.fromEntries(Array.from({ length: entries }, (_, i) => [`k${i}`, "v".repeat(valueBytes)]));

describe("limits", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "default/features.yaml": FEATURES });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_LIMITS_MAX_CONTEXT_ENTRIES: "5",
      FLIPT_LIMITS_MAX_CONTEXT_VALUE_BYTES: "10",
      FLIPT_LIMITS_MAX_STREAMS: "3",
      FLIPT_LIMITS_MAX_STREAMS_PER_CLIENT: "2",
      FLIPT_LIMITS_MAX_FEATURES_FILE_BYTES: "2048",
      FLIPT_LIMITS_MAX_YAML_ALIAS_NODES: "8",
    });
  });
  after(async () => {
    await server.stop();
    await repo.remove();
  });

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${server.httpUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const evaluate = (ctx: Record<string, string>) =>
    post("/evaluate/v1/boolean", { namespaceKey: "default", flagKey: "beta", entityId: "u", context: ctx });

  it("takes contexts at the entry and byte limits, and refuses one past them as InvalidArgument", async () => {
    assert.equal((await evaluate(context(5, 10))).status, 200);
    assert.equal((await evaluate({ ééééé: "ééééé" })).status, 200, "10 bytes of UTF-8 in key and value");
    const entries = await evaluate(context(6));
    assert.equal(entries.status, 400);
    assert.deepEqual(entries.body, {
      code: Code.InvalidArgument,
      message: "invalid field context: 6 entries, more than 5 (limits.max_context_entries)",
      details: [],
    });
    const long = await evaluate({ k: "v".repeat(11) });
    assert.equal(long.status, 400);
    assert.match(
      String(long.body.message),
      /the value of entry "k" is longer than 10 bytes \(limits\.max_context_value_bytes\)/,
    );
    assert.equal((await evaluate({ ééééé: "éééééx" })).status, 400, "11 bytes of UTF-8");
    assert.equal((await evaluate({ kkkkkkkkkkk: "v" })).status, 400, "an 11-byte key");

    const batch = await post("/evaluate/v1/batch", {
      requests: [
        { namespaceKey: "default", flagKey: "beta", entityId: "u", context: context(5) },
        { namespaceKey: "default", flagKey: "beta", entityId: "u", context: context(6) },
      ],
    });
    assert.equal(batch.status, 400);
    assert.match(String(batch.body.message), /^invalid field requests\[1\]\.context: 6 entries/);

    const ofrep = await post("/ofrep/v1/evaluate/flags/beta", {
      context: { targetingKey: "u", ...context(5) },
    });
    assert.equal(ofrep.status, 400);
    assert.equal(ofrep.body.errorCode, "INVALID_CONTEXT");

    const grpc = createClient(
      EvaluationService,
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
    );
    const error = await grpc
      .boolean({ namespaceKey: "default", flagKey: "beta", entityId: "u", context: context(6) })
      .catch((reason: unknown) => ConnectError.from(reason));
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.InvalidArgument);
  });

  /** Opens the namespace's snapshot stream over REST from a local address; resolves once its headers arrive. */
  const openStream = (localAddress: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${server.httpUrl}/client/v2/environments/default/namespaces/default/stream`,
        { localAddress, agent: false },
        resolve,
      );
      req.on("error", reject);
      req.end();
    });
  const drain = async (response: IncomingMessage) => {
    let text = "";
    for await (const chunk of response) text += String(chunk);
    return text;
  };

  it("refuses streams past the per-client and total limits with 429, and frees a slot when a stream ends", async () => {
    const first = await openStream("127.0.0.1");
    const second = await openStream("127.0.0.1");
    assert.equal(first.statusCode, 200);
    assert.equal(second.statusCode, 200);
    const third = await openStream("127.0.0.1");
    assert.equal(third.statusCode, 429);
    assert.match(await drain(third), /2 streams are open from this client.*limits\.max_streams_per_client/);

    // Another client address still has room, until the total is reached.
    const other = await openStream("127.0.0.2");
    assert.equal(other.statusCode, 200);
    const overTotal = await openStream("127.0.0.3");
    assert.equal(overTotal.statusCode, 429);
    assert.match(await drain(overTotal), /3 streams are open, the most allowed \(limits\.max_streams\)/);

    first.destroy();
    const reopened = await waitFor(
      async () => {
        const attempt = await openStream("127.0.0.1");
        if (attempt.statusCode === 200) return attempt;
        attempt.destroy();
        return undefined;
      },
      { deadlineMs: 5000, what: "the closed stream's slot to be given back" },
    );
    for (const stream of [second, other, reopened]) stream.destroy();
  });

  it("refuses features files over the size limit and alias bombs, keeping the last good state", async () => {
    const status = async () => {
      const response = await fetch(`${server.httpUrl}/meta/status`);
      const body = (await response.json()) as { environments: Array<{ lastError?: { message: string } }> };
      return body.environments[0]?.lastError?.message ?? "";
    };
    const padding = `# ${"x".repeat(2048)}\n`;
    await writeFile(join(repo.path, "default/features.yaml"), `${FEATURES}${padding}`);
    const big = await waitFor(async () => ((await status()) === "" ? undefined : status()), {
      deadlineMs: 10_000,
      what: "the oversized file to be reported",
    });
    assert.match(
      big,
      /larger than the 2048-byte limit for a features file \(limits\.max_features_file_bytes\)/,
    );

    const bomb = `${FEATURES}segments:\n  - &s {key: s, name: S, match_type: ANY_MATCH_TYPE}\n  - {key: t, name: T, match_type: ANY_MATCH_TYPE, description: x, x: [*s, *s, *s]}\n`;
    await writeFile(join(repo.path, "default/features.yaml"), bomb);
    const aliases = await waitFor(async () => ((await status()).includes("alias") ? status() : undefined), {
      deadlineMs: 10_000,
      what: "the alias expansion to be reported",
    });
    assert.match(aliases, /YAML aliases expand to more than 8 nodes \(limits\.max_yaml_alias_nodes\)/);
    assert.equal((await evaluate({})).status, 200, "the last good state still serves");
  });
});
