/**
 * `pennant.explain.v1.ExplainService` on a real server over a temporary git repository: REST (`POST
 * /pennant/v1/explain`), Connect and gRPC answer the same explanation, whose `result` is what `/evaluate/v1/batch`
 * answers for the same request and whose `revision` is the one `/meta/status` reports; errors, limits, metrics and
 * authentication are those of an evaluation, except that an explanation is never counted as one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ExplainResponseSchema, ExplainService } from "../../src/gen/pennant/explain/v1/explain_pb.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Buckets (crc32 of the UTF-8 bytes, as spec/evaluation.md §11.1 computes them): `checkout` + `u-1` is variant
 * bucket 448 (one-page's range, 400-1000), `checkout` + `u-2` 58 (classic's, 0-400); `u-1` + `beta` is boolean
 * bucket 91 and `u-3` + `beta` 51, both outside a 50 % threshold.
 */
const FEATURES = `version: "1.6"
flags:
  - key: checkout
    name: Checkout
    enabled: true
    variants:
      - key: classic
        default: true
      - key: one-page
        attachment:
          steps: 1
      - key: wizard
    rules:
      - segment: staff
        distributions:
          - variant: wizard
            rollout: 100
      - segment:
          keys: [pro, europe]
          operator: AND_SEGMENT_OPERATOR
        distributions:
          - variant: classic
            rollout: 40
          - variant: one-page
            rollout: 60
  - key: beta
    name: Beta
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts:
      - segment:
          key: pro
          value: true
      - threshold:
          percentage: 50
          value: true
  - key: semver-gate
    name: Semver gate
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts:
      - segment:
          key: new-app
          value: true
segments:
  - key: staff
    name: Staff
    match_type: ANY_MATCH_TYPE
    constraints:
      - type: ENTITY_ID_COMPARISON_TYPE
        property: entity
        operator: prefix
        value: staff-
      - type: STRING_COMPARISON_TYPE
        property: email
        operator: suffix
        value: "@example.com"
  - key: pro
    name: Pro
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: eq
        value: pro
      - type: NUMBER_COMPARISON_TYPE
        property: seats
        operator: gte
        value: "5"
  - key: europe
    name: Europe
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: country
        operator: isoneof
        value: [DE, FR, NL]
  - key: new-app
    name: New app
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: SEMVER_COMPARISON_TYPE
        property: version
        operator: gte
        value: "2.0.0"
`;

const STAGING = `version: "1.6"
flags:
  - key: beta
    name: Beta
    type: BOOLEAN_FLAG_TYPE
    enabled: true
`;

/** Requests explained and evaluated alike: every path through the flags above. */
const REQUESTS: readonly Record<string, unknown>[] = [
  { requestId: "r-1", flagKey: "checkout", entityId: "staff-7", context: {} },
  { flagKey: "checkout", entityId: "u-1", context: { plan: "pro", seats: "12", country: "DE" } },
  { flagKey: "checkout", entityId: "u-2", context: { plan: "pro", seats: "12", country: "DE" } },
  { flagKey: "checkout", entityId: "u-1", context: { plan: "pro", seats: "two", country: "DE" } },
  { namespaceKey: "default", flagKey: "beta", entityId: "u-1", context: { plan: "pro", seats: "5" } },
  { flagKey: "beta", entityId: "u-1", context: { plan: "free" } },
  { flagKey: "beta", entityId: "u-3", context: {} },
  { requestId: "r-8", flagKey: "semver-gate", entityId: "u-1", context: { version: "2.1.0" } },
];

type Json = Record<string, unknown>;

/** A batch item or explain result without what differs from call to call (the time and the duration). */
function stable(item: unknown): Json {
  const copy = structuredClone(item) as Record<string, Json | undefined>;
  for (const key of ["booleanResponse", "variantResponse"]) {
    const response = copy[key];
    if (response === undefined) continue;
    assert.equal(typeof response.requestDurationMillis, "number");
    assert.match(String(response.timestamp), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    delete response.requestDurationMillis;
    delete response.timestamp;
  }
  return copy;
}

describe("ExplainService", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "prod/features.yaml": FEATURES, "staging/features.yaml": STAGING });
    server = await startTestServer({
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "local",
      FLIPT_STORAGE_FLAGS_BACKEND_PATH: repo.path,
      FLIPT_ENVIRONMENTS_PROD_STORAGE: "flags",
      FLIPT_ENVIRONMENTS_PROD_DIRECTORY: "prod",
      FLIPT_ENVIRONMENTS_PROD_DEFAULT: "true",
      FLIPT_ENVIRONMENTS_STAGING_STORAGE: "flags",
      FLIPT_ENVIRONMENTS_STAGING_DIRECTORY: "staging",
      FLIPT_LIMITS_MAX_CONTEXT_ENTRIES: "4",
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
    return { status: response.status, body: (await response.json()) as Json };
  };
  const revisionOf = async (environment: string) => {
    const status = (await (await fetch(`${server.httpUrl}/meta/status`)).json()) as {
      environments: { key: string; revision: string }[];
    };
    const revision = status.environments.find((item) => item.key === environment)?.revision;
    assert.ok(revision !== undefined && revision !== "", `a revision for ${environment}`);
    return revision;
  };
  const transports: Record<string, () => Transport> = {
    "Connect (JSON)": () => createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
    "Connect (binary)": () =>
      createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1", useBinaryFormat: true }),
    "gRPC on the gRPC port": () =>
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
  };

  it("answers over REST with the batch's result for the same request, the trace and the served revision", async () => {
    const revision = await revisionOf("prod");
    const batch = await post("/evaluate/v1/batch", { requests: REQUESTS });
    assert.equal(batch.status, 200);
    const items = batch.body.responses as Json[];
    assert.equal(items.length, REQUESTS.length);
    for (const [index, request] of REQUESTS.entries()) {
      const explained = await post("/pennant/v1/explain", request);
      assert.equal(explained.status, 200, JSON.stringify(explained.body));
      const body = explained.body;
      assert.deepEqual(stable(body.result), stable(items[index]), `request ${index}: the batch's answer`);
      assert.equal(body.revision, revision, `request ${index}: the revision /meta/status reports`);
      assert.equal(body.environmentKey, "prod");
      assert.equal(body.namespaceKey, "default");
      assert.equal(body.flagKey, request.flagKey);
      assert.ok((body.steps as unknown[]).length > 0, `request ${index}: steps`);
      assert.equal(typeof body.summary, "string");
    }
  });

  it("traces each rule with its segments, constraints and bucket", async () => {
    const { body } = await post("/pennant/v1/explain", REQUESTS[1]);
    assert.equal(body.flagKind, "FLAG_KIND_VARIANT");
    assert.equal(body.flagEnabled, true);
    const [first, second, ...rest] = body.steps as { rule?: Json }[];
    assert.equal(rest.length, 0, "rule 2 decided: nothing after it");
    assert.deepEqual(first?.rule, {
      rank: 1,
      segmentOperator: "OR_SEGMENT_OPERATOR",
      segments: [
        {
          key: "staff",
          matchType: "ANY_MATCH_TYPE",
          evaluated: true,
          matched: false,
          constraints: [
            {
              type: "ENTITY_ID_COMPARISON_TYPE",
              property: "",
              operator: "prefix",
              value: "staff-",
              contextValue: "u-1",
              contextPresent: true,
              evaluated: true,
              matched: false,
            },
            {
              type: "STRING_COMPARISON_TYPE",
              property: "email",
              operator: "suffix",
              value: "@example.com",
              contextValue: "",
              contextPresent: false,
              evaluated: true,
              matched: false,
            },
          ],
        },
      ],
      matched: false,
    });
    const rule = second?.rule as {
      segmentOperator: string;
      matched: boolean;
      bucket: Json;
      segments: Json[];
    };
    assert.equal(rule.segmentOperator, "AND_SEGMENT_OPERATOR");
    assert.equal(rule.matched, true);
    assert.deepEqual(
      rule.segments.map((segment) => [segment.key, segment.matched]),
      [
        ["pro", true],
        ["europe", true],
      ],
    );
    const bucket = rule.bucket as {
      bucket: number;
      distributions: { variantKey: string; bucketStart: number; bucketEnd: number }[];
      selectedVariantKey: string;
    };
    assert.deepEqual(
      bucket.distributions.map(({ variantKey, bucketStart, bucketEnd }) => [
        variantKey,
        bucketStart,
        bucketEnd,
      ]),
      [
        ["classic", 0, 400],
        ["one-page", 400, 1000],
      ],
    );
    assert.equal(bucket.bucket, 448);
    assert.equal(bucket.selectedVariantKey, "one-page");
    const result = body.result as { variantResponse: { variantKey: string } };
    assert.equal(result.variantResponse.variantKey, "one-page");
    assert.equal(
      body.summary,
      'rule 2 matched (segments "pro", "europe"); bucket 448 fell in variant "one-page"\'s range 400-1000 of 0-1000',
    );
  });

  it("marks constraints after an ALL segment's first non-match as not evaluated", async () => {
    const { body } = await post("/pennant/v1/explain", {
      flagKey: "beta",
      entityId: "u-1",
      context: { plan: "free", seats: "9" },
    });
    assert.equal(body.flagKind, "FLAG_KIND_BOOLEAN");
    assert.equal(body.flagEnabled, false);
    const [segmentRollout, threshold, fallback] = body.steps as {
      rollout?: { segment?: { segments: { constraints: Json[] }[] } };
      fallback?: Json;
    }[];
    const segment = segmentRollout?.rollout?.segment?.segments[0];
    assert.deepEqual(
      segment?.constraints.map((constraint) => [
        constraint.property,
        constraint.evaluated,
        constraint.contextValue,
      ]),
      [
        ["plan", true, "free"],
        ["seats", false, ""],
      ],
    );
    assert.deepEqual(threshold?.rollout, {
      rank: 2,
      threshold: { percentage: 50, bucket: 91 },
      matched: false,
      value: true,
    });
    assert.deepEqual(fallback?.fallback, { defaultVariantKey: "", enabled: false });
    assert.equal((body.result as { booleanResponse: { enabled: boolean } }).booleanResponse.enabled, false);
    assert.equal(body.summary, "no rollout matched: the flag answers its enabled, false");
  });

  it("explains an evaluation error: the batch's error item, the trace up to the failing constraint", async () => {
    const { status, body } = await post("/pennant/v1/explain", REQUESTS[7]);
    assert.equal(status, 200);
    assert.deepEqual(body.result, {
      type: "ERROR_EVALUATION_RESPONSE_TYPE",
      errorResponse: { flagKey: "semver-gate", namespaceKey: "", reason: "UNKNOWN_ERROR_EVALUATION_REASON" },
    });
    const steps = body.steps as Json[];
    assert.deepEqual(steps.at(-1), { error: { message: "unknown constraint type" } });
    assert.match(
      String(body.summary),
      /^the evaluation failed: unknown constraint type \(rollout 1, segment "new-app"/,
    );
  });

  for (const [name, transport] of Object.entries(transports)) {
    it(`answers the same over ${name}`, async () => {
      const client = createClient(ExplainService, transport());
      for (const request of REQUESTS) {
        const rest = await post("/pennant/v1/explain", request);
        const message = await client.explain(request as never);
        const json = toJson(ExplainResponseSchema, message, { alwaysEmitImplicit: true }) as JsonObject;
        assert.deepEqual(
          { ...json, result: stable(json.result) },
          { ...rest.body, result: stable(rest.body.result) },
          JSON.stringify(request),
        );
      }
    });

    it(`answers NotFound over ${name} for an unknown flag or namespace`, async () => {
      const client = createClient(ExplainService, transport());
      const missing = await client
        .explain({ flagKey: "nope", entityId: "u-1" })
        .catch((reason: unknown) => ConnectError.from(reason));
      assert.ok(missing instanceof ConnectError);
      assert.equal(missing.code, Code.NotFound);
      assert.equal(missing.rawMessage, 'flag "default/nope" not found');
      const namespace = await client
        .explain({ namespaceKey: "elsewhere", flagKey: "beta", entityId: "u-1" })
        .catch((reason: unknown) => ConnectError.from(reason));
      assert.ok(namespace instanceof ConnectError);
      assert.equal(namespace.code, Code.NotFound);
      assert.equal(namespace.rawMessage, 'namespace "elsewhere" not found');
    });
  }

  it("answers 404 over REST for an unknown flag, 400 without a flag key or over the context limit", async () => {
    const missing = await post("/pennant/v1/explain", { flagKey: "nope", entityId: "u-1" });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { code: 5, message: 'flag "default/nope" not found', details: [] });
    const blank = await post("/pennant/v1/explain", { entityId: "u-1" });
    assert.equal(blank.status, 400);
    assert.equal(blank.body.message, "invalid field flag_key: must not be empty");
    const context = { a: "1", b: "2", c: "3", d: "4", e: "5" };
    const large = await post("/pennant/v1/explain", { flagKey: "beta", entityId: "u-1", context });
    const evaluated = await post("/evaluate/v1/boolean", { flagKey: "beta", entityId: "u-1", context });
    assert.equal(large.status, 400);
    assert.match(String(large.body.message), /limits\.max_context_entries/);
    assert.deepEqual(large.body, evaluated.body, "the same refusal as an evaluation's");
  });

  it("resolves the environment as an evaluation does, and answers that environment's revision", async () => {
    const byHeader = await post(
      "/pennant/v1/explain",
      { flagKey: "beta", entityId: "u-1" },
      { "x-flipt-environment": "staging" },
    );
    assert.equal(byHeader.body.environmentKey, "staging");
    assert.equal(byHeader.body.revision, await revisionOf("staging"));
    assert.deepEqual(byHeader.body.steps, [{ fallback: { defaultVariantKey: "", enabled: true } }]);
    const unknownKey = await post("/pennant/v1/explain", {
      flagKey: "beta",
      entityId: "u-1",
      environmentKey: "nowhere",
    });
    assert.equal(unknownKey.body.environmentKey, "prod", "an unknown key in the body serves the default");
    const unknownHeader = await post(
      "/pennant/v1/explain",
      { flagKey: "beta", entityId: "u-1" },
      { "x-flipt-environment": "nowhere" },
    );
    assert.equal(unknownHeader.status, 404);
  });

  it("follows the served state: a commit changes the revision and the explanation", async () => {
    const before = await revisionOf("prod");
    await repo.write("prod/features.yaml", FEATURES.replace("percentage: 50", "percentage: 100"));
    repo.git("commit", "--quiet", "--all", "--message", "everyone");
    const after = await waitFor(
      async () => {
        const revision = await revisionOf("prod");
        return revision !== before && revision;
      },
      { what: "the commit served" },
    );
    const { body } = await post("/pennant/v1/explain", { flagKey: "beta", entityId: "u-3" });
    assert.equal(body.revision, after);
    const threshold = (body.steps as { rollout?: { threshold?: { percentage: number } } }[])[1];
    assert.equal(threshold?.rollout?.threshold?.percentage, 100);
  });

  it("is not counted in Flipt's evaluation metrics", async () => {
    const requests = async () => {
      const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
      return text
        .split("\n")
        .filter(
          (line) =>
            line.startsWith("flipt_evaluations_requests_total{") && line.includes('flipt_flag="checkout"'),
        )
        .map((line) => Number(line.split(" ").at(-1)))
        .reduce((sum, value) => sum + value, 0);
    };
    const start = await requests();
    for (let i = 0; i < 3; i++) await post("/pennant/v1/explain", REQUESTS[1]);
    assert.equal(await requests(), start, "explanations are not evaluations");
    await post("/evaluate/v1/variant", REQUESTS[1]);
    assert.equal(await requests(), start + 1, "an evaluation is counted");
  });
});

describe("ExplainService with authentication required", () => {
  const READER = "explain-reader-5b1d";
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "features.yaml": FEATURES });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_AUTHENTICATION_REQUIRED: "true",
      FLIPT_AUTHENTICATION_EXCLUDE_EVALUATION: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_READER_CREDENTIAL: READER,
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_READER_METADATA_ROLE: "read",
    });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${READER}`);
    return next(req);
  };

  it("lets a read-role token explain, over gRPC and REST", async () => {
    const client = createClient(
      ExplainService,
      createGrpcTransport({ baseUrl: server.grpcUrl, interceptors: [bearer], idleConnectionTimeoutMs: 5 }),
    );
    const answer = await client.explain({ flagKey: "checkout", entityId: "staff-1" });
    assert.equal(answer.flagKey, "checkout");
    assert.equal(answer.result?.response.case, "variantResponse");
    const rest = await fetch(`${server.httpUrl}/pennant/v1/explain`, {
      method: "POST",
      headers: { authorization: `Bearer ${READER}` },
      body: JSON.stringify({ flagKey: "beta", entityId: "u-1" }),
    });
    assert.equal(rest.status, 200);
  });

  it("needs credentials even where evaluation is excluded from authentication: it shows the flag's rules", async () => {
    const anonymous = await fetch(`${server.httpUrl}/pennant/v1/explain`, {
      method: "POST",
      body: JSON.stringify({ flagKey: "beta", entityId: "u-1" }),
    });
    assert.equal(anonymous.status, 401);
    const evaluated = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ flagKey: "beta", entityId: "u-1" }),
    });
    assert.equal(evaluated.status, 200, "evaluation itself is open here");
    const grpc = createClient(
      ExplainService,
      createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
    );
    const refused = await grpc
      .explain({ flagKey: "beta", entityId: "u-1" })
      .catch((reason: unknown) => ConnectError.from(reason));
    assert.ok(refused instanceof ConnectError);
    assert.equal(refused.code, Code.Unauthenticated);
  });
});
