/**
 * `GET /metrics` against Flipt v2's code: for each call, exactly the series Flipt records, with exactly Flipt's
 * label names and label values (internal/server/evaluation/evaluation.go and ofrep_bridge.go, the client
 * evaluation server, internal/storage/git/metrics.go and repository.go, the gRPC error interceptor, and
 * OpenTelemetry's Prometheus export of them), then the family types, the gRPC families as go-grpc-prometheus
 * registers them, and `/metrics` without Flipt's own families.
 */
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { createMetrics } from "../../src/api/metrics.js";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { Environment } from "../../src/storage/environment.js";
import { Environments } from "../../src/storage/environments.js";
import { MemorySource } from "../../src/storage/memory/memory-source.js";
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
  - key: pair
    name: Pair
    type: VARIANT_FLAG_TYPE
    enabled: true
    variants:
      - key: both
    rules:
      - segment:
          keys: [everyone, staff]
          operator: AND_SEGMENT_OPERATOR
        distributions:
          - variant: both
            rollout: 100
  - key: off
    name: Off
    type: VARIANT_FLAG_TYPE
    enabled: false
    variants:
      - key: blue
segments:
  - key: everyone
    name: Everyone
    match_type: ALL_MATCH_TYPE
  - key: staff
    name: Staff
    match_type: ANY_MATCH_TYPE
`;

/** The instrumentation scope OpenTelemetry's Prometheus export puts on every series of Flipt's meter. */
const SCOPE = { otel_scope_name: "go.flipt.io/flipt/v2", otel_scope_schema_url: "", otel_scope_version: "" };
/** Values no label may ever hold: entity ids, context values and keys that resolve to nothing. */
const SECRET = { entityId: "entity-7f3a9c", context: { email: "someone@example.com" } };
const LEAKS = [SECRET.entityId, SECRET.context.email, "no-such-flag-91d2", "nowhere-5c1e"];

type Labels = Record<string, string>;
interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** The samples of a Prometheus text exposition, by series name, and the type of each family. */
function parse(text: string): { samples: Map<string, Sample[]>; types: Map<string, string> } {
  const samples = new Map<string, Sample[]>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) types.set(type[1] as string, type[2] as string);
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1] as string,
        (m[2] as string).replace(/\\"/g, '"').replace(/\\\\/g, "\\"),
      ]),
    );
    const name = match[1] as string;
    samples.set(name, [...(samples.get(name) ?? []), { labels, value: Number(match[3]) }]);
  }
  return { samples, types };
}

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

/** The series of `name` that moved between two scrapes, with how much: the labels are the series' whole set. */
function moved(before: string, after: string, name: string): Array<[Labels, number]> {
  const was = new Map((parse(before).samples.get(name) ?? []).map((s) => [key(s.labels), s.value]));
  return (parse(after).samples.get(name) ?? [])
    .map((s): [Labels, number] => [s.labels, s.value - (was.get(key(s.labels)) ?? 0)])
    .filter(([, delta]) => delta !== 0);
}

/** The one sample of `name` with exactly `labels`, or undefined. */
function value(text: string, name: string, labels: Labels): number | undefined {
  return parse(text)
    .samples.get(name)
    ?.find((s) => key(s.labels) === key(labels))?.value;
}

const sorted = (series: Array<[Labels, number]>) =>
  [...series]
    .map(([labels, delta]) => [key(labels), delta])
    .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));

/** Flipt's evaluation labels for a found flag. */
const flag = (flipt_flag: string, flipt_namespace = "default"): Labels => ({
  flipt_environment: "default",
  flipt_namespace,
  flipt_flag,
  ...SCOPE,
});
const boolean = (name: string, enabled: boolean, reason: string, namespace = "default"): Labels => ({
  ...flag(name, namespace),
  flipt_value: String(enabled),
  flipt_reason: reason,
  flipt_flag_type: "boolean",
});
const variant = (name: string, match: boolean, segments: string, reason: string, value: string): Labels => ({
  ...flag(name),
  flipt_match: String(match),
  flipt_segments: segments,
  flipt_reason: reason,
  flipt_value: value,
  flipt_flag_type: "variant",
});
const rpc = (service: string, method: string, code: string, type = "unary"): Labels => ({
  grpc_type: type,
  grpc_service: service,
  grpc_method: method,
  grpc_code: code,
});
const ns = (flipt_namespace: string, flipt_environment = "default"): Labels => ({
  flipt_environment,
  flipt_namespace,
  ...SCOPE,
});
const EVAL = "flipt.evaluation.EvaluationService";
const OFREP = "flipt.ofrep.OFREPService";
const CLIENT = "evaluation.ClientEvaluationService";
const ENVS = "environments.EnvironmentsService";

/** The families each case watches: any of them that moves and is not in the case's expectation fails it. */
const WATCHED = [
  "flipt_evaluations_requests_total",
  "flipt_evaluations_errors_total",
  "flipt_evaluations_results_total",
  "flipt_evaluations_latency_milliseconds_count",
  "flipt_evaluations_snapshot_requests_total",
  "flipt_evaluations_snapshot_errors_total",
  "flipt_evaluations_snapshot_latency_milliseconds_count",
  "flipt_git_views_total",
  "flipt_git_view_errors_total",
  "flipt_git_view_latency_milliseconds_count",
  "flipt_git_updates_total",
  "flipt_git_update_errors_total",
  "flipt_git_update_latency_milliseconds_count",
  "flipt_git_branches_total",
  "flipt_git_branches_errors_total",
  "flipt_server_errors_total",
  "grpc_server_handled_total",
] as const;
type Family = (typeof WATCHED)[number];
type Expectation = Partial<Record<Family, Array<[Labels, number]>>>;

describe("GET /metrics", () => {
  let repo: TempRepo;
  let server: TestServer;
  const scrape = async () => {
    const response = await fetch(`${server.httpUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.httpUrl}${path}`, { method: "POST", body: JSON.stringify(body), headers });
  const evaluate = (route: string, body: object) => post(`/evaluate/v1/${route}`, { ...SECRET, ...body });
  const ofrep = (path: string, context: Record<string, string> = {}) =>
    post(`/ofrep/v1/evaluate/flags${path}`, { context: { targetingKey: SECRET.entityId, ...context } });
  /** Runs `call` between two scrapes and checks every watched family moved exactly as `expected` says. */
  const check = async (call: () => Promise<unknown>, expected: (result: unknown) => Expectation) => {
    const before = await scrape();
    const result = await call();
    const after = await scrape();
    const expectation = expected(result);
    for (const family of WATCHED) {
      assert.deepEqual(sorted(moved(before, after, family)), sorted(expectation[family] ?? []), family);
    }
    for (const leaked of LEAKS) assert.equal(after.includes(leaked), false, `the metrics hold ${leaked}`);
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

  describe("evaluations, as Flipt's evaluation server and OFREP bridge record them", () => {
    const cases: Array<{
      name: string;
      call: () => Promise<unknown>;
      expect: (result: unknown) => Expectation;
    }> = [
      {
        name: "a boolean flag over REST: value and reason, type `boolean`, no match or segments",
        call: () => evaluate("boolean", { namespaceKey: "default", flagKey: "beta" }),
        expect: () => ({
          flipt_evaluations_requests_total: [[flag("beta"), 1]],
          flipt_evaluations_latency_milliseconds_count: [[flag("beta"), 1]],
          flipt_evaluations_results_total: [[boolean("beta", true, "DEFAULT_EVALUATION_REASON"), 1]],
          grpc_server_handled_total: [[rpc(EVAL, "Boolean", "OK"), 1]],
        }),
      },
      {
        name: "a boolean flag over gRPC, in the default namespace: the same series",
        call: () =>
          createClient(
            EvaluationService,
            createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
          ).boolean({ flagKey: "beta", ...SECRET }),
        expect: () => ({
          flipt_evaluations_requests_total: [[flag("beta"), 1]],
          flipt_evaluations_latency_milliseconds_count: [[flag("beta"), 1]],
          flipt_evaluations_results_total: [[boolean("beta", true, "DEFAULT_EVALUATION_REASON"), 1]],
          grpc_server_handled_total: [[rpc(EVAL, "Boolean", "OK"), 1]],
        }),
      },
      {
        name: "a variant flag: match, segments as a JSON array, reason, variant key, type `variant`",
        call: () => evaluate("variant", { flagKey: "colour" }),
        expect: () => ({
          flipt_evaluations_requests_total: [[flag("colour"), 1]],
          flipt_evaluations_latency_milliseconds_count: [[flag("colour"), 1]],
          flipt_evaluations_results_total: [
            [variant("colour", true, '["everyone"]', "MATCH_EVALUATION_REASON", "blue"), 1],
          ],
          grpc_server_handled_total: [[rpc(EVAL, "Variant", "OK"), 1]],
        }),
      },
      {
        name: "a variant flag matched by two segments: both, in the response's order",
        call: async () => (await evaluate("variant", { flagKey: "pair" })).json(),
        expect: (body) => {
          const segments = (body as { segmentKeys: string[] }).segmentKeys;
          assert.deepEqual([...segments].sort(), ["everyone", "staff"]);
          return {
            flipt_evaluations_requests_total: [[flag("pair"), 1]],
            flipt_evaluations_latency_milliseconds_count: [[flag("pair"), 1]],
            flipt_evaluations_results_total: [
              [variant("pair", true, JSON.stringify(segments), "MATCH_EVALUATION_REASON", "both"), 1],
            ],
            grpc_server_handled_total: [[rpc(EVAL, "Variant", "OK"), 1]],
          };
        },
      },
      {
        name: "a disabled variant flag: no match, no segments (`[]`), an empty variant key",
        call: () => evaluate("variant", { flagKey: "off" }),
        expect: () => ({
          flipt_evaluations_requests_total: [[flag("off"), 1]],
          flipt_evaluations_latency_milliseconds_count: [[flag("off"), 1]],
          flipt_evaluations_results_total: [
            [variant("off", false, "[]", "FLAG_DISABLED_EVALUATION_REASON", ""), 1],
          ],
          grpc_server_handled_total: [[rpc(EVAL, "Variant", "OK"), 1]],
        }),
      },
      {
        name: "a flag that does not exist: no evaluation series at all, one server error",
        call: () => evaluate("boolean", { flagKey: "no-such-flag-91d2" }),
        expect: () => ({
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(EVAL, "Boolean", "NotFound"), 1]],
        }),
      },
      {
        name: "a flag of the other type: no evaluation series, one server error",
        call: () => evaluate("boolean", { flagKey: "colour" }),
        expect: () => ({
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(EVAL, "Boolean", "InvalidArgument"), 1]],
        }),
      },
      {
        name: "a batch: each found flag in its own namespace, the missing one not at all",
        call: () =>
          evaluate("batch", {
            requests: [
              { namespaceKey: "team", flagKey: "delta", ...SECRET },
              { namespaceKey: "default", flagKey: "beta", ...SECRET },
              { namespaceKey: "default", flagKey: "no-such-flag-91d2", ...SECRET },
            ],
          }),
        expect: () => ({
          flipt_evaluations_requests_total: [
            [flag("delta", "team"), 1],
            [flag("beta"), 1],
          ],
          flipt_evaluations_latency_milliseconds_count: [
            [flag("delta", "team"), 1],
            [flag("beta"), 1],
          ],
          flipt_evaluations_results_total: [
            [boolean("delta", true, "DEFAULT_EVALUATION_REASON", "team"), 1],
            [boolean("beta", true, "DEFAULT_EVALUATION_REASON"), 1],
          ],
          grpc_server_handled_total: [[rpc(EVAL, "Batch", "OK"), 1]],
        }),
      },
      {
        name: "OFREP, a variant flag: the evaluation API's reason and the real segments",
        call: () => ofrep("/colour"),
        expect: () => ({
          flipt_evaluations_requests_total: [[flag("colour"), 1]],
          flipt_evaluations_latency_milliseconds_count: [[flag("colour"), 1]],
          flipt_evaluations_results_total: [
            [variant("colour", true, '["everyone"]', "MATCH_EVALUATION_REASON", "blue"), 1],
          ],
          grpc_server_handled_total: [[rpc(OFREP, "EvaluateFlag", "OK"), 1]],
        }),
      },
      {
        name: "OFREP, a boolean flag",
        call: () => ofrep("/beta"),
        expect: () => ({
          flipt_evaluations_requests_total: [[flag("beta"), 1]],
          flipt_evaluations_latency_milliseconds_count: [[flag("beta"), 1]],
          flipt_evaluations_results_total: [[boolean("beta", true, "DEFAULT_EVALUATION_REASON"), 1]],
          grpc_server_handled_total: [[rpc(OFREP, "EvaluateFlag", "OK"), 1]],
        }),
      },
      {
        name: "OFREP bulk: each flag",
        call: () => ofrep("", { flags: "pair,off" }),
        expect: () => ({
          flipt_evaluations_requests_total: [
            [flag("pair"), 1],
            [flag("off"), 1],
          ],
          flipt_evaluations_latency_milliseconds_count: [
            [flag("pair"), 1],
            [flag("off"), 1],
          ],
          flipt_evaluations_results_total: [
            [variant("pair", true, '["everyone","staff"]', "MATCH_EVALUATION_REASON", "both"), 1],
            [variant("off", false, "[]", "FLAG_DISABLED_EVALUATION_REASON", ""), 1],
          ],
          grpc_server_handled_total: [[rpc(OFREP, "EvaluateBulk", "OK"), 1]],
        }),
      },
      {
        name: "OFREP, a flag that does not exist: one server error only",
        call: () => ofrep("/no-such-flag-91d2"),
        expect: () => ({
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(OFREP, "EvaluateFlag", "NotFound"), 1]],
        }),
      },
    ];
    for (const { name, call, expect } of cases) it(name, () => check(call, expect));
  });

  describe("client snapshots and environments API reads and writes", () => {
    const snapshotPath = (environment: string, namespace: string) =>
      `${server.httpUrl}/client/v2/environments/${environment}/namespaces/${namespace}/snapshot`;
    const namespaces = () => `${server.httpUrl}/api/v2/environments/default/namespaces`;
    const gamma = (revision: string) =>
      post("/api/v2/environments/default/namespaces/default/resources", {
        key: "gamma",
        payload: { "@type": "flipt.core.Flag", key: "gamma", name: "G" },
        revision,
      });
    const main = { branch: "main", ...SCOPE };
    const cases: Array<{
      name: string;
      call: () => Promise<unknown>;
      expect: (result: unknown) => Expectation;
    }> = [
      {
        name: "a snapshot",
        call: () => fetch(snapshotPath("default", "default")),
        expect: () => ({
          flipt_evaluations_snapshot_requests_total: [[ns("default"), 1]],
          flipt_evaluations_snapshot_latency_milliseconds_count: [[ns("default"), 1]],
          grpc_server_handled_total: [[rpc(CLIENT, "EvaluationSnapshotNamespace", "OK"), 1]],
        }),
      },
      {
        name: "a snapshot answered 304: Flipt counts its not-modified error as a server error",
        call: async () => {
          const etag = (await fetch(snapshotPath("default", "default"))).headers.get("etag") ?? "";
          const response = await fetch(snapshotPath("default", "default"), {
            headers: { "if-none-match": etag },
          });
          assert.equal(response.status, 304);
        },
        expect: () => ({
          flipt_evaluations_snapshot_requests_total: [[ns("default"), 2]],
          flipt_evaluations_snapshot_latency_milliseconds_count: [[ns("default"), 2]],
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(CLIENT, "EvaluationSnapshotNamespace", "OK"), 2]],
        }),
      },
      {
        name: "a snapshot of a namespace that does not exist: counted failed, the namespace label empty",
        call: () => fetch(snapshotPath("default", "nowhere-5c1e")),
        expect: () => ({
          flipt_evaluations_snapshot_requests_total: [[ns(""), 1]],
          flipt_evaluations_snapshot_errors_total: [[ns(""), 1]],
          flipt_evaluations_snapshot_latency_milliseconds_count: [[ns(""), 1]],
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(CLIENT, "EvaluationSnapshotNamespace", "NotFound"), 1]],
        }),
      },
      {
        name: "a snapshot naming an environment that does not exist: the default serves it, and is counted",
        call: () => fetch(snapshotPath("nowhere-5c1e", "default")),
        expect: () => ({
          flipt_evaluations_snapshot_requests_total: [[ns("default"), 1]],
          flipt_evaluations_snapshot_latency_milliseconds_count: [[ns("default"), 1]],
          grpc_server_handled_total: [[rpc(CLIENT, "EvaluationSnapshotNamespace", "OK"), 1]],
        }),
      },
      {
        name: "a snapshot whose environment header names none that exists: no snapshot series",
        call: async () => {
          const response = await fetch(
            `${server.httpUrl}/internal/v1/evaluation/snapshot/namespace/default`,
            {
              headers: { "x-flipt-environment": "nowhere-5c1e" },
            },
          );
          assert.equal(response.status, 404);
        },
        expect: () => ({
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(CLIENT, "EvaluationSnapshotNamespace", "NotFound"), 1]],
        }),
      },
      {
        name: "a read: one repository view, labelled with the branch (no remote here)",
        call: () => fetch(namespaces()),
        expect: () => ({
          flipt_git_views_total: [[main, 1]],
          flipt_git_view_latency_milliseconds_count: [[main, 1]],
          grpc_server_handled_total: [[rpc(ENVS, "ListNamespaces", "OK"), 1]],
        }),
      },
      {
        name: "a read that fails: a view and a view error",
        call: () => fetch(`${namespaces()}/nowhere-5c1e`),
        expect: () => ({
          flipt_git_views_total: [[main, 1]],
          flipt_git_view_errors_total: [[main, 1]],
          flipt_git_view_latency_milliseconds_count: [[main, 1]],
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(ENVS, "GetNamespace", "NotFound"), 1]],
        }),
      },
      {
        name: "a write: one update (and, where builds are reported, the view that rebuilds the snapshot)",
        call: async () => assert.equal((await gamma("")).status, 200),
        expect: () => ({
          flipt_git_updates_total: [[main, 1]],
          flipt_git_update_latency_milliseconds_count: [[main, 1]],
          // The write's snapshot build, which Flipt counts as a repository read.
          flipt_git_views_total: [[main, 1]],
          flipt_git_view_latency_milliseconds_count: [[main, 1]],
          grpc_server_handled_total: [[rpc(ENVS, "CreateResource", "OK"), 1]],
        }),
      },
      {
        name: "a write on a stale revision: an update and an update error",
        call: async () => assert.equal((await gamma("0".repeat(40))).status, 409),
        expect: () => ({
          flipt_git_updates_total: [[main, 1]],
          flipt_git_update_errors_total: [[main, 1]],
          flipt_git_update_latency_milliseconds_count: [[main, 1]],
          flipt_server_errors_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(ENVS, "CreateResource", "Aborted"), 1]],
        }),
      },
      {
        name: "a branch environment: the branch gauge up one",
        call: async () =>
          assert.equal(
            (await post("/api/v2/environments/default/branches", { key: "metrics-b" })).status,
            200,
          ),
        expect: () => ({
          flipt_git_branches_total: [[SCOPE, 1]],
          grpc_server_handled_total: [[rpc(ENVS, "BranchEnvironment", "OK"), 1]],
        }),
      },
      {
        name: "a read of the branch environment: labelled with its branch",
        call: () => fetch(`${server.httpUrl}/api/v2/environments/metrics-b/namespaces`),
        expect: () => {
          const branch = { branch: "flipt/default/metrics-b", ...SCOPE };
          return {
            flipt_git_views_total: [[branch, 1]],
            flipt_git_view_latency_milliseconds_count: [[branch, 1]],
            grpc_server_handled_total: [[rpc(ENVS, "ListNamespaces", "OK"), 1]],
          };
        },
      },
      {
        name: "deleting it: the branch gauge down one",
        call: async () =>
          assert.equal(
            (
              await fetch(`${server.httpUrl}/api/v2/environments/default/branches/metrics-b`, {
                method: "DELETE",
              })
            ).status,
            200,
          ),
        expect: () => ({
          flipt_git_branches_total: [[SCOPE, -1]],
          grpc_server_handled_total: [[rpc(ENVS, "DeleteBranchEnvironment", "OK"), 1]],
        }),
      },
      {
        name: "listing environments reads no repository",
        call: () => fetch(`${server.httpUrl}/api/v2/environments`),
        expect: () => ({ grpc_server_handled_total: [[rpc(ENVS, "ListEnvironments", "OK"), 1]] }),
      },
    ];
    for (const { name, call, expect } of cases) it(name, () => check(call, expect));
  });

  it("counts a snapshot stream: opened, in progress, each snapshot, set up at its first, and closed", async () => {
    /** A stream's request; its response arrives with the first snapshot, so never for a namespace without one. */
    const open = (namespace: string) => {
      const req = httpRequest(
        `${server.httpUrl}/client/v2/environments/default/namespaces/${namespace}/stream`,
        { agent: false },
        (response: IncomingMessage) => response.resume(),
      );
      req.on("error", () => undefined);
      req.end();
      return req;
    };
    const before = await scrape();
    const stream = open("default");
    const nowhere = open("nowhere-5c1e");
    const labels = ns("default");
    const during = await waitFor(
      async () => {
        const text = await scrape();
        return value(text, "flipt_evaluations_stream_latency_milliseconds_count", labels) === 1 &&
          value(text, "flipt_evaluations_streams_in_progress", ns("")) === 1
          ? text
          : undefined;
      },
      { what: "both streams to be open, the first set up" },
    );
    assert.equal(value(during, "flipt_evaluations_streams_in_progress", labels), 1);
    assert.equal(value(during, "flipt_evaluations_stream_messages_total", labels), 1, "counted as sent");
    stream.destroy();
    nowhere.destroy();
    const closed = await waitFor(
      async () => {
        const text = await scrape();
        return value(text, "flipt_evaluations_streams_in_progress", labels) === 0 &&
          value(text, "flipt_evaluations_streams_in_progress", ns("")) === 0
          ? text
          : undefined;
      },
      { what: "the closed streams to be counted out" },
    );
    assert.deepEqual(moved(before, closed, "flipt_evaluations_stream_requests_total"), [
      [labels, 1],
      [ns(""), 1],
    ]);
    assert.deepEqual(
      moved(before, closed, "flipt_evaluations_stream_errors_total"),
      [],
      "a client leaving is no error",
    );
    assert.deepEqual(moved(before, closed, "flipt_server_errors_total"), []);
    assert.deepEqual(moved(before, closed, "grpc_server_handled_total"), [
      [rpc(CLIENT, "EvaluationSnapshotNamespaceStream", "OK", "server_stream"), 2],
    ]);
    assert.equal(closed.includes("nowhere-5c1e"), false);
  });

  it("gives each family Flipt's type", async () => {
    const { types } = parse(await scrape());
    const expected: Record<string, string> = {
      flipt_server_errors_total: "counter",
      flipt_evaluations_requests_total: "counter",
      flipt_evaluations_errors_total: "counter",
      flipt_evaluations_results_total: "counter",
      flipt_evaluations_latency_milliseconds: "histogram",
      flipt_evaluations_snapshot_requests_total: "counter",
      flipt_evaluations_snapshot_errors_total: "counter",
      flipt_evaluations_snapshot_latency_milliseconds: "histogram",
      flipt_evaluations_stream_requests_total: "counter",
      flipt_evaluations_stream_errors_total: "counter",
      flipt_evaluations_stream_messages_total: "counter",
      flipt_evaluations_stream_latency_milliseconds: "histogram",
      flipt_evaluations_streams_in_progress: "gauge",
      flipt_git_views_total: "counter",
      flipt_git_view_errors_total: "counter",
      flipt_git_view_latency_milliseconds: "histogram",
      flipt_git_updates_total: "counter",
      flipt_git_update_errors_total: "counter",
      flipt_git_update_latency_milliseconds: "histogram",
      flipt_git_poll_errors_total: "counter",
      flipt_git_update_subscribers_errors_total: "counter",
      flipt_git_branches_total: "gauge",
      flipt_git_branches_errors_total: "counter",
      grpc_server_started_total: "counter",
      grpc_server_handled_total: "counter",
      grpc_server_msg_received_total: "counter",
      grpc_server_msg_sent_total: "counter",
      grpc_server_handling_seconds: "histogram",
      promhttp_metric_handler_requests_total: "counter",
      promhttp_metric_handler_requests_in_flight: "gauge",
    };
    for (const [family, type] of Object.entries(expected)) assert.equal(types.get(family), type, family);
    const text = await scrape();
    assert.ok((value(text, "process_cpu_user_seconds_total", {}) ?? -1) >= 0, "process metrics");
    assert.ok((value(text, "nodejs_heap_size_used_bytes", {}) ?? 0) > 0, "runtime metrics");
    const buckets = (parse(text).samples.get("flipt_evaluations_latency_milliseconds_bucket") ?? [])
      .filter((s) => s.labels.flipt_flag === "beta")
      .map((s) => s.labels.le);
    assert.deepEqual(buckets, [
      ...["0", "5", "10", "25", "50", "75", "100", "250", "500", "750"],
      ...["1000", "2500", "5000", "7500", "10000", "+Inf"],
    ]);
  });

  it("labels a repository with a remote by its remote and branch, and counts its failed polls", async () => {
    const remote = await createRemote({ "default/features.yaml": flagFile("default", "beta", true) });
    const withRemote = await startTestServer({
      FLIPT_STORAGE_DEFAULT_REMOTE: remote.url,
      FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1s",
    });
    try {
      await fetch(`${withRemote.httpUrl}/api/v2/environments/default/namespaces`);
      const read = await (await fetch(`${withRemote.httpUrl}/metrics`)).text();
      const repository = { remote: remote.url, branch: "main", ...SCOPE };
      assert.ok(
        (value(read, "flipt_git_views_total", repository) ?? 0) >= 1,
        "a view of the remote's branch",
      );
      await rename(remote.bare, `${remote.bare}.gone`);
      await waitFor(
        async () => {
          const text = await (await fetch(`${withRemote.httpUrl}/metrics`)).text();
          return (value(text, "flipt_git_poll_errors_total", { remote: remote.url, ...SCOPE }) ?? 0) >= 1
            ? true
            : undefined;
        },
        { what: "a failed poll to be counted, labelled with the remote only" },
      );
    } finally {
      await withRemote.stop();
      await remote.remove();
    }
  });

  it("is served with metrics.enabled: false, without Flipt's own families", async () => {
    const quiet = await startTestServer({ FLIPT_METRICS_ENABLED: "false" });
    try {
      await fetch(`${quiet.httpUrl}/health`);
      const response = await fetch(`${quiet.httpUrl}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.equal(/^flipt_/m.test(text), false);
      assert.ok(text.includes("grpc_server_handled_total"));
    } finally {
      await quiet.stop();
    }
  });
});

describe("createMetrics", () => {
  const environments = () =>
    new Environments([
      new Environment({
        key: "default",
        isDefault: true,
        storage: "default",
        directory: "",
        ref: "main",
        source: new MemorySource(),
        logger: pino({ level: "silent" }),
      }),
    ]);

  it("starts every method's gRPC series at zero, for every code, as go-grpc-prometheus does", async () => {
    const text = await createMetrics(environments(), { services: [EvaluationService] }).scrape();
    const codes = (parse(text).samples.get("grpc_server_handled_total") ?? [])
      .filter((s) => s.labels.grpc_method === "Boolean")
      .map((s) => [s.labels.grpc_code, s.value]);
    assert.deepEqual(codes, [
      ...[
        ["OK", 0],
        ["Canceled", 0],
        ["Unknown", 0],
        ["InvalidArgument", 0],
        ["DeadlineExceeded", 0],
      ],
      ...[
        ["NotFound", 0],
        ["AlreadyExists", 0],
        ["PermissionDenied", 0],
        ["ResourceExhausted", 0],
      ],
      ...[
        ["FailedPrecondition", 0],
        ["Aborted", 0],
        ["OutOfRange", 0],
        ["Unimplemented", 0],
        ["Internal", 0],
      ],
      ...[
        ["Unavailable", 0],
        ["DataLoss", 0],
        ["Unauthenticated", 0],
      ],
    ]);
    const labels = { grpc_type: "unary", grpc_service: EVAL, grpc_method: "Batch" };
    for (const name of [
      "grpc_server_started_total",
      "grpc_server_msg_received_total",
      "grpc_server_msg_sent_total",
    ]) {
      assert.equal(value(text, name, labels), 0, name);
    }
    assert.equal(value(text, "grpc_server_handling_seconds_count", labels), 0);
  });

  it("counts scrapes as promhttp does: the one in flight shows, and is counted once served", async () => {
    const metrics = createMetrics(environments());
    const first = await metrics.scrape();
    assert.equal(value(first, "promhttp_metric_handler_requests_in_flight", {}), 1);
    assert.equal(value(first, "promhttp_metric_handler_requests_total", { code: "200" }), 0);
    assert.equal(value(first, "promhttp_metric_handler_requests_total", { code: "503" }), 0);
    const second = await metrics.scrape();
    assert.equal(value(second, "promhttp_metric_handler_requests_total", { code: "200" }), 1);
  });

  it("leaves Flipt's own families out with flipt: false", async () => {
    const text = await createMetrics(environments(), { flipt: false }).scrape();
    assert.equal(/^(# TYPE )?flipt_/m.test(text), false);
    assert.ok(text.includes("# TYPE grpc_server_handled_total counter"));
    assert.ok(text.includes("process_cpu_user_seconds_total"));
  });
});
