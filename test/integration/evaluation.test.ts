import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { FliptClient as RestSdk } from "@flipt-io/flipt";
import { FliptClient as ClientSdk } from "@flipt-io/flipt-client-js";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  ClientEvaluationService,
  type EvaluationNamespaceSnapshot,
  EvaluationNamespaceSnapshotSchema,
} from "../../src/gen/evaluation/evaluation_pb.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Expected results below follow from the definitions by Flipt's rules (spec/evaluation.md): a 100% distribution
 * always picks its variant; a segment with `plan eq pro` matches exactly that context; threshold 100 always
 * matches and 0 never does; a disabled variant flag answers FLAG_DISABLED with its default variant.
 */
const features = (color: string) => `version: "1.6"
flags:
  - key: color
    name: Color
    enabled: true
    variants:
      - key: gray
        default: true
      - key: ${color}
        attachment:
          hex: "#abc"
    rules:
      - segment: pro
        distributions:
          - variant: ${color}
            rollout: 100
  - key: off-variant
    name: Off
    enabled: false
    variants:
      - key: fallback
        default: true
  - key: beta
    name: Beta
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts:
      - segment:
          key: pro
          value: true
      - threshold:
          percentage: 0
          value: true
  - key: everyone
    name: Everyone
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts:
      - threshold:
          percentage: 100
          value: true
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

const STAGING = `version: "1.6"
flags:
  - key: everyone
    name: Everyone
    type: BOOLEAN_FLAG_TYPE
    enabled: false
`;

interface FliptError {
  code: number;
  message: string;
}

describe("evaluation", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "prod/features.yaml": features("blue"), "staging/features.yaml": STAGING });
    server = await startTestServer({
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "local",
      FLIPT_STORAGE_FLAGS_BACKEND_PATH: repo.path,
      FLIPT_ENVIRONMENTS_PROD_STORAGE: "flags",
      FLIPT_ENVIRONMENTS_PROD_DIRECTORY: "prod",
      FLIPT_ENVIRONMENTS_PROD_DEFAULT: "true",
      FLIPT_ENVIRONMENTS_STAGING_STORAGE: "flags",
      FLIPT_ENVIRONMENTS_STAGING_DIRECTORY: "staging",
      FLIPT_EVALUATION_MAX_BATCH_SIZE: "3",
    });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.httpUrl}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  describe("with Flipt's REST SDK (@flipt-io/flipt)", () => {
    it("evaluates variant, boolean and batch requests", async () => {
      const sdk = new RestSdk({ url: server.httpUrl });
      const variant = await sdk.evaluation.variant({
        namespaceKey: "default",
        flagKey: "color",
        entityId: "u1",
        context: { plan: "pro" },
      });
      assert.equal(variant.match, true);
      assert.equal(variant.variantKey, "blue");
      assert.equal(variant.reason, "MATCH_EVALUATION_REASON");
      assert.deepEqual(JSON.parse(variant.variantAttachment), { hex: "#abc" });
      assert.deepEqual(variant.segmentKeys, ["pro"]);

      const boolean = await sdk.evaluation.boolean({
        namespaceKey: "default",
        flagKey: "beta",
        entityId: "u1",
        context: {},
      });
      assert.equal(boolean.enabled, false);
      assert.equal(boolean.reason, "DEFAULT_EVALUATION_REASON");

      const batch = await sdk.evaluation.batch({
        requests: [
          { namespaceKey: "default", flagKey: "everyone", entityId: "u1", context: {} },
          { namespaceKey: "default", flagKey: "nope", entityId: "u1", context: {} },
        ],
      });
      assert.equal(batch.responses[0]?.booleanResponse?.enabled, true);
      assert.equal(batch.responses[1]?.type, "ERROR_EVALUATION_RESPONSE_TYPE");
      assert.equal(batch.responses[1]?.errorResponse?.reason, "NOT_FOUND_ERROR_EVALUATION_REASON");
    });
  });

  describe("response envelope", () => {
    it("creates a request id when none is sent, echoes one that is, and stamps time and duration", async () => {
      const fresh = await post("/evaluate/v1/boolean", { flagKey: "everyone", entityId: "u1" });
      assert.match(
        String(fresh.body.requestId),
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.ok(Math.abs(Date.parse(String(fresh.body.timestamp)) - Date.now()) < 60_000);
      assert.equal(typeof fresh.body.requestDurationMillis, "number");
      const echoed = await post("/evaluate/v1/variant", {
        requestId: "r-1",
        flagKey: "off-variant",
        entityId: "u1",
      });
      assert.equal(echoed.body.requestId, "r-1");
      assert.equal(echoed.body.reason, "FLAG_DISABLED_EVALUATION_REASON");
      assert.equal(echoed.body.variantKey, "fallback");
      assert.equal(echoed.body.variantAttachment, "null");
      assert.equal(echoed.body.match, false);
    });
  });

  describe("environment selection", () => {
    it("uses the header's environment, and the body's key over it", async () => {
      const staging = await post(
        "/evaluate/v1/boolean",
        { flagKey: "everyone", entityId: "u1" },
        { "x-flipt-environment": "staging" },
      );
      assert.equal(staging.body.enabled, false, "staging's flag has no rollouts");
      const body = await post(
        "/evaluate/v1/boolean",
        { flagKey: "everyone", entityId: "u1", environmentKey: "prod" },
        { "x-flipt-environment": "staging" },
      );
      assert.equal(body.body.enabled, true);
    });

    it("falls back to the default for an unknown key in the body, but not in the header", async () => {
      const fallback = await post("/evaluate/v1/boolean", {
        flagKey: "everyone",
        entityId: "u1",
        environmentKey: "nope",
      });
      assert.equal(fallback.body.enabled, true);
      const header = await post(
        "/evaluate/v1/boolean",
        { flagKey: "everyone", entityId: "u1" },
        { "x-flipt-environment": "nope" },
      );
      assert.equal(header.status, 404);
      assert.match((header.body as unknown as FliptError).message, /environment: "nope" not found/);
    });
  });

  describe("bad input", () => {
    it("names a context value that is not a string", async () => {
      const { status, body } = await post("/evaluate/v1/boolean", { flagKey: "beta", context: { plan: 3 } });
      assert.equal(status, 400);
      assert.match((body as unknown as FliptError).message, /"plan"/);
    });

    it("rejects an empty flag key", async () => {
      const { status, body } = await post("/evaluate/v1/variant", { flagKey: "" });
      assert.equal(status, 400);
      assert.equal((body as unknown as FliptError).message, "invalid field flag_key: must not be empty");
    });

    it("answers NotFound for an unknown namespace and flag", async () => {
      const namespace = await post("/evaluate/v1/boolean", { namespaceKey: "nope", flagKey: "beta" });
      assert.equal(namespace.status, 404);
      assert.equal((namespace.body as unknown as FliptError).message, 'namespace "nope" not found');
      const flag = await post("/evaluate/v1/boolean", { flagKey: "nope" });
      assert.equal((flag.body as unknown as FliptError).message, 'flag "default/nope" not found');
    });

    it("rejects a flag of the other type, naming its type", async () => {
      const { status, body } = await post("/evaluate/v1/boolean", { flagKey: "color" });
      assert.equal(status, 400);
      assert.equal((body as unknown as FliptError).message, "flag type VARIANT_FLAG_TYPE invalid");
    });

    it("rejects a batch over evaluation.max_batch_size, naming the limit", async () => {
      const request = { flagKey: "beta", entityId: "u1" };
      const { status, body } = await post("/evaluate/v1/batch", {
        requests: [request, request, request, request],
      });
      assert.equal(status, 400);
      assert.match(
        (body as unknown as FliptError).message,
        /at most 3 requests \(evaluation\.max_batch_size\)/,
      );
      const atLimit = await post("/evaluate/v1/batch", { requests: [request, request, request] });
      assert.equal(atLimit.status, 200);
    });
  });

  describe("over gRPC with @grpc/grpc-js and our protos", () => {
    it("evaluates a boolean flag", async () => {
      const definition = protoLoader.loadSync(["flipt/evaluation/evaluation.proto"], {
        includeDirs: ["proto", "proto-vendor"],
        enums: String,
        defaults: true,
      });
      const packages = grpc.loadPackageDefinition(definition) as unknown as {
        flipt: { evaluation: { EvaluationService: grpc.ServiceClientConstructor } };
      };
      const client = new packages.flipt.evaluation.EvaluationService(
        server.grpcAddress,
        grpc.credentials.createInsecure(),
      );
      try {
        const response = await new Promise<{ enabled: boolean; reason: string; flagKey: string }>(
          (resolve, reject) => {
            (
              client as unknown as Record<
                string,
                (r: object, m: grpc.Metadata, cb: (e: Error | null, v: never) => void) => void
              >
            ).Boolean?.call(
              client,
              { flagKey: "everyone", entityId: "u1" },
              new grpc.Metadata(),
              (error, value) => (error ? reject(error) : resolve(value)),
            );
          },
        );
        assert.equal(response.enabled, true);
        assert.equal(response.reason, "MATCH_EVALUATION_REASON");
        assert.equal(response.flagKey, "everyone");
      } finally {
        client.close();
      }
    });
  });

  describe("client-SDK snapshots", () => {
    const snapshotUrl = () => `${server.httpUrl}/internal/v1/evaluation/snapshot/namespace/default`;

    it("serves the namespace with its digest as ETag, and 304 repeating it on a match", async () => {
      const first = await fetch(snapshotUrl());
      assert.equal(first.status, 200);
      const etag = first.headers.get("etag");
      const body = (await first.json()) as {
        digest: string;
        namespace: { key: string };
        flags: { key: string; name: string }[];
      };
      assert.match(etag ?? "", /^[0-9a-f]{40}$/);
      assert.equal(body.digest, etag);
      assert.deepEqual(body.namespace, { key: "default" });
      assert.deepEqual(
        body.flags.map((flag) => flag.key),
        ["color", "off-variant", "beta", "everyone"],
      );
      const again = await fetch(snapshotUrl(), { headers: { "if-none-match": etag ?? "" } });
      assert.equal(again.status, 304);
      assert.equal(again.headers.get("etag"), etag);
      assert.equal(await again.text(), "");
    });

    it("answers NotFound for a namespace without flag state", async () => {
      const response = await fetch(`${server.httpUrl}/internal/v1/evaluation/snapshot/namespace/nope`);
      assert.equal(response.status, 404);
      assert.equal(
        ((await response.json()) as FliptError).message,
        'evaluation snapshot for namespace "nope" not found',
      );
    });

    it("feeds Flipt's client engine (@flipt-io/flipt-client-js), which refreshes after a file change", async () => {
      const client = await ClientSdk.init({ url: server.httpUrl, namespace: "default", environment: "prod" });
      try {
        const variant = client.evaluateVariant({
          flagKey: "color",
          entityId: "u1",
          context: { plan: "pro" },
        });
        assert.equal(variant.variantKey, "blue");
        assert.equal(
          client.evaluateBoolean({ flagKey: "everyone", entityId: "u1", context: {} }).enabled,
          true,
        );
        assert.equal(await client.refresh(), false, "unchanged state: 304");

        await repo.write("prod/features.yaml", features("green"));
        await waitFor(async () => ((await client.refresh()) ? true : undefined), {
          what: "a changed snapshot",
        });
        assert.equal(
          client.evaluateVariant({ flagKey: "color", entityId: "u1", context: { plan: "pro" } }).variantKey,
          "green",
        );
      } finally {
        client.close();
      }
    });

    it("streams the snapshot at once and again after a file changes", async () => {
      const client = createClient(
        ClientEvaluationService,
        createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
      );
      const abort = new AbortController();
      const stream = client
        .evaluationSnapshotNamespaceStream(
          { key: "default", environmentKey: "prod" },
          { signal: abort.signal },
        )
        [Symbol.asyncIterator]();
      try {
        const first = await stream.next();
        const firstDigest = first.value?.digest;
        assert.match(firstDigest ?? "", /^[0-9a-f]{40}$/);
        await repo.write("prod/features.yaml", features("purple"));
        const second = await stream.next();
        const snapshot: EvaluationNamespaceSnapshot | undefined = second.done ? undefined : second.value;
        assert.notEqual(snapshot?.digest, firstDigest);
        const color = snapshot?.flags.find((flag) => flag.key === "color");
        assert.equal(color?.rules[0]?.distributions[0]?.variantKey, "purple");
      } finally {
        abort.abort();
      }
    });

    it("sends on every stream format exactly the snapshot the unary call gives", async () => {
      const request = { key: "default", environmentKey: "prod" };
      const grpcTransport = createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 });
      const unary = toJson(
        EvaluationNamespaceSnapshotSchema,
        await createClient(ClientEvaluationService, grpcTransport).evaluationSnapshotNamespace(request),
      );
      const transports = {
        gRPC: grpcTransport,
        "Connect binary": createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
        "Connect JSON": createConnectTransport({
          baseUrl: server.httpUrl,
          httpVersion: "1.1",
          useBinaryFormat: false,
        }),
        "gRPC-Web": createGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
      };
      for (const [name, transport] of Object.entries(transports)) {
        const abort = new AbortController();
        const stream = createClient(ClientEvaluationService, transport)
          .evaluationSnapshotNamespaceStream(request, { signal: abort.signal })
          [Symbol.asyncIterator]();
        const first = await stream.next();
        abort.abort();
        assert.ok(!first.done, name);
        assert.deepEqual(toJson(EvaluationNamespaceSnapshotSchema, first.value), unary, name);
      }
      const abort = new AbortController();
      const lines = await fetch(`${server.httpUrl}/client/v2/environments/prod/namespaces/default/stream`, {
        signal: abort.signal,
      });
      const chunk = new TextDecoder().decode((await lines.body?.getReader().read())?.value);
      abort.abort();
      const line = JSON.parse(chunk.split("\n")[0] ?? "") as { result: JsonValue };
      assert.deepEqual(
        toJson(EvaluationNamespaceSnapshotSchema, fromJson(EvaluationNamespaceSnapshotSchema, line.result)),
        unary,
      );
    });

    it("streams over REST as JSON lines and as server-sent events on the OFREP alias", async () => {
      const abort = new AbortController();
      const lines = await fetch(`${server.httpUrl}/client/v2/environments/prod/namespaces/default/stream`, {
        signal: abort.signal,
      });
      assert.equal(lines.status, 200);
      const reader = lines.body?.getReader();
      const chunk = new TextDecoder().decode((await reader?.read())?.value);
      const first = JSON.parse(chunk.split("\n")[0] ?? "") as { result: { digest: string } };
      assert.match(first.result.digest, /^[0-9a-f]{40}$/);
      abort.abort();

      const notSse = await fetch(`${server.httpUrl}/ofrep/v1/_stream/prod/default/events`);
      assert.equal(notSse.status, 406);
      const sseAbort = new AbortController();
      const sse = await fetch(`${server.httpUrl}/ofrep/v1/_stream/prod/default/events`, {
        headers: { accept: "text/event-stream" },
        signal: sseAbort.signal,
      });
      assert.equal(sse.headers.get("content-type"), "text/event-stream");
      const event = new TextDecoder().decode((await sse.body?.getReader().read())?.value);
      assert.match(event, /^id: [0-9a-f]{9}\ndata: \{"etag":"[0-9a-f]{40}","type":"refetchEvaluation"\}\n\n/);
      sseAbort.abort();
    });
  });
});
