/**
 * `GET /metrics`: Flipt's metric families and labels after real calls over REST, gRPC and the snapshot stream,
 * bounded labels (no entity ids, context values or unknown keys), process metrics, and `metrics.enabled: false`.
 */
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { createRemote, flagFile } from "../helpers/outside-remote.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { waitFor } from "../helpers/wait-for.js";

const FEATURES = `version: "1.6"
namespace: default
flags:
  - key: beta
    name: Beta
    type: BOOLEAN_FLAG_TYPE
    enabled: true
  - key: colour
    name: Colour
    type: VARIANT_FLAG_TYPE
    enabled: true
    variants:
      - key: blue
    rules:
      - segment: everyone
        distributions:
          - variant: blue
            rollout: 100
segments:
  - key: everyone
    name: Everyone
    match_type: ALL_MATCH_TYPE
`;

/** The value of the one sample of `name` whose labels include all of `labels`; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line) ?? /^([a-z_:]+) (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const body = match.length === 4 ? (match[2] as string) : "";
    const found = Object.fromEntries(
      [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match.at(-1));
  }
  return undefined;
}

describe("GET /metrics", () => {
  let repo: TempRepo;
  let server: TestServer;
  const scrape = async () => {
    const response = await fetch(`${server.httpUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  before(async () => {
    repo = await createTempRepo({
      "default/features.yaml": FEATURES,
      "team/features.yaml": flagFile("team", "delta", true),
    });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
    });
  });
  after(async () => {
    await server.stop();
    await repo.remove();
  });

  it("counts evaluations per flag and result, with Flipt's names and labels", async () => {
    const evaluate = (route: string, body: unknown) =>
      fetch(`${server.httpUrl}/evaluate/v1/${route}`, { method: "POST", body: JSON.stringify(body) });
    const secret = { entityId: "entity-7f3a9c", context: { email: "someone@example.com" } };
    for (let i = 0; i < 3; i++)
      await evaluate("boolean", { namespaceKey: "default", flagKey: "beta", ...secret });
    await evaluate("variant", { flagKey: "colour", ...secret });
    await evaluate("boolean", { flagKey: "no-such-flag-91d2", ...secret });
    const grpc = createClient(
      EvaluationService,
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
    );
    await grpc.boolean({ flagKey: "beta", ...secret });
    await evaluate("batch", {
      requests: [
        { namespaceKey: "team", flagKey: "delta", ...secret },
        { namespaceKey: "default", flagKey: "beta", ...secret },
      ],
    });
    await fetch(`${server.httpUrl}/ofrep/v1/evaluate/flags/beta`, {
      method: "POST",
      body: JSON.stringify({ context: { targetingKey: secret.entityId } }),
    });

    const text = await scrape();
    const beta = {
      flipt_environment: "default",
      flipt_namespace: "default",
      flipt_flag: "beta",
      flag: "beta",
    };
    assert.equal(sample(text, "flipt_evaluations_requests_total", beta), 6);
    assert.equal(
      sample(text, "flipt_evaluations_requests_total", { flipt_namespace: "team", flipt_flag: "delta" }),
      1,
      "a batch item is counted in its own namespace",
    );
    assert.equal(
      sample(text, "flipt_evaluations_results_total", {
        ...beta,
        flipt_flag_type: "BOOLEAN_FLAG_TYPE",
        flipt_match: "false",
        flipt_reason: "DEFAULT",
        flipt_value: "true",
      }),
      1,
      "OFREP's answer, with OFREP's reason",
    );
    assert.equal(
      sample(text, "flipt_evaluations_results_total", {
        ...beta,
        flipt_flag_type: "BOOLEAN_FLAG_TYPE",
        flipt_match: "true",
        flipt_reason: "DEFAULT_EVALUATION_REASON",
        flipt_value: "true",
      }),
      5,
    );
    assert.equal(
      sample(text, "flipt_evaluations_results_total", {
        flipt_flag: "colour",
        flipt_flag_type: "VARIANT_FLAG_TYPE",
        flipt_match: "true",
        flipt_reason: "MATCH_EVALUATION_REASON",
        flipt_segments: "everyone",
        flipt_value: "blue",
        segment: "everyone",
        value: "blue",
      }),
      1,
    );
    assert.equal(sample(text, "flipt_evaluations_latency_milliseconds_count", beta), 6);
    assert.equal(
      sample(text, "flipt_evaluations_errors_total", { flipt_environment: "default", flipt_flag: "" }),
      1,
    );
    assert.equal(
      sample(text, "grpc_server_handled_total", {
        grpc_type: "unary",
        grpc_service: "flipt.evaluation.EvaluationService",
        grpc_method: "Boolean",
        grpc_code: "OK",
      }),
      4,
    );
    assert.equal(
      sample(text, "grpc_server_handled_total", { grpc_method: "Boolean", grpc_code: "NotFound" }),
      1,
    );
    for (const leaked of ["entity-7f3a9c", "someone@example.com", "no-such-flag-91d2"]) {
      assert.equal(text.includes(leaked), false, `the metrics hold ${leaked}`);
    }
    assert.ok((sample(text, "process_cpu_user_seconds_total", {}) ?? -1) >= 0, "process metrics");
    assert.ok((sample(text, "nodejs_heap_size_used_bytes", {}) ?? 0) > 0, "runtime metrics");
  });

  it("counts snapshots, open streams and git reads and writes", async () => {
    await fetch(`${server.httpUrl}/client/v2/environments/default/namespaces/default/snapshot`);
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${server.httpUrl}/client/v2/environments/default/namespaces/default/stream`,
        { agent: false },
        resolve,
      );
      req.on("error", reject);
      req.end();
    });
    const labels = { flipt_environment: "default", flipt_namespace: "default" };
    await waitFor(
      async () =>
        sample(await scrape(), "flipt_evaluations_streams_in_progress", labels) === 1 ? true : undefined,
      {
        what: "the open stream to be counted",
      },
    );
    stream.destroy();
    const closed = await waitFor(
      async () => {
        const text = await scrape();
        return sample(text, "flipt_evaluations_streams_in_progress", labels) === 0 ? text : undefined;
      },
      { what: "the closed stream to be counted out" },
    );
    assert.equal(sample(closed, "flipt_evaluations_snapshot_requests_total", labels), 1);
    assert.equal(sample(closed, "flipt_evaluations_stream_requests_total", labels), 1);
    assert.ok((sample(closed, "flipt_evaluations_stream_messages_total", labels) ?? 0) >= 1);

    await fetch(`${server.httpUrl}/api/v2/environments/default/namespaces`);
    const write = await fetch(`${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`, {
      method: "POST",
      body: JSON.stringify({
        key: "gamma",
        payload: { "@type": "flipt.core.Flag", key: "gamma", name: "G" },
      }),
    });
    assert.equal(write.status, 200);
    const text = await scrape();
    assert.equal(sample(text, "flipt_git_views_total", { flipt_environment: "default" }), 1);
    assert.equal(sample(text, "flipt_git_updates_total", { flipt_environment: "default" }), 1);
    assert.equal(sample(text, "flipt_git_update_errors_total", { flipt_environment: "default" }) ?? 0, 0);
  });

  it("counts failed fetches from a remote", async () => {
    const remote = await createRemote({ "default/features.yaml": flagFile("default", "beta", true) });
    const token = "metrics-test-token";
    const withRemote = await startTestServer({
      FLIPT_STORAGE_DEFAULT_REMOTE: remote.url,
      FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1h",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL: token,
    });
    try {
      const sync = () =>
        fetch(`${withRemote.httpUrl}/api/v2/environments/default/sync`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
      assert.equal((await sync()).status, 200);
      await rename(remote.bare, `${remote.bare}.gone`);
      assert.equal((await sync()).status, 503);
      assert.equal((await sync()).status, 503);
      const text = await (await fetch(`${withRemote.httpUrl}/metrics`)).text();
      assert.equal(sample(text, "flipt_git_poll_errors_total", { flipt_environment: "default" }), 2);
    } finally {
      await withRemote.stop();
      await remote.remove();
    }
  });

  it("is not served with metrics.enabled: false", async () => {
    const quiet = await startTestServer({ FLIPT_METRICS_ENABLED: "false" });
    try {
      const response = await fetch(`${quiet.httpUrl}/metrics`);
      assert.equal(response.status, 404);
    } finally {
      await quiet.stop();
    }
  });
});
