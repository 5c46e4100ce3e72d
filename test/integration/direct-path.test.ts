import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { type HandlerPair, type ServedHandler, startHandlerPair } from "../helpers/start-handler-pair.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";

/** The conformance cases: flag state and requests whose answers came from Flipt's own code. */
interface ConformanceCase {
  readonly name: string;
  readonly namespace: string;
  readonly features_yaml: string;
  readonly requests: readonly { flag_key: string; entity_id: string; context: Record<string, string> }[];
  readonly expected: readonly { kind: "variant" | "boolean" | "error" }[];
}

const CASES = (
  JSON.parse(readFileSync(new URL("../fixtures/engine/evaluation.json", import.meta.url), "utf8")) as {
    cases: ConformanceCase[];
  }
).cases;

/** One HTTP request, sent alike to both handlers. */
interface Probe {
  readonly label: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

/** What is compared of an answer: status, the headers a client reads, and the body with its volatile parts masked. */
interface Seen {
  readonly status: number;
  readonly headers: Record<string, string | null>;
  readonly body: string;
}

const COMPARED_HEADERS = [
  "content-type",
  "content-encoding",
  "etag",
  "x-etag",
  "trailer-x-etag",
  "www-authenticate",
  "connection",
  "allow",
  "cache-control",
];

/**
 * The body's text with what differs from call to call masked: the call's duration, its timestamp, and a request id
 * the server made up (a UUID; ids the request sent stay).
 */
function mask(text: string): string {
  return text
    .replace(/("requestDurationMillis": ?)[-0-9.e+]+/g, "$1<ms>")
    .replace(/("timestamp": ?)"[^"]*"/g, '$1"<time>"')
    .replace(/("timestamp":)\{[^}]*\}/g, '$1"<time>"')
    .replace(/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/g, '"<uuid>"');
}

async function send(base: string, probe: Probe): Promise<Seen> {
  const response = await fetch(`${base}${probe.path}`, {
    method: probe.method ?? "POST",
    headers: probe.headers ?? {},
    ...(probe.body === undefined ? {} : { body: probe.body as BodyInit }),
  });
  const headers: Record<string, string | null> = {};
  for (const name of COMPARED_HEADERS) headers[name] = response.headers.get(name);
  return { status: response.status, headers, body: mask(await response.text()) };
}

/** Sends each probe to both handlers over HTTP/1.1 and asserts the same answer; returns the direct path's answers. */
async function compare(pair: HandlerPair, probes: readonly Probe[]): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const probe of probes) {
    const direct = await send(pair.direct.h1Url, probe);
    const connect = await send(pair.connect.h1Url, probe);
    assert.deepEqual(direct, connect, probe.label);
    seen.push(direct);
  }
  return seen;
}

const json = (value: unknown) => JSON.stringify(value);
const JSON_TYPE = { "content-type": "application/json" };

/** Every conformance request over the single-flag routes, per case over Batch, and over OFREP. */
function conformanceProbes(): Probe[] {
  const probes: Probe[] = [];
  for (const testCase of CASES) {
    const items = testCase.requests.map((request) => ({
      namespaceKey: testCase.namespace,
      flagKey: request.flag_key,
      entityId: request.entity_id,
      context: request.context,
    }));
    items.forEach((item, index) => {
      const kind = testCase.expected[index]?.kind;
      for (const route of kind === "error" ? ["boolean", "variant"] : [kind ?? "boolean"]) {
        probes.push({
          label: `${testCase.name} ${index} ${route}`,
          path: `/evaluate/v1/${route}`,
          headers: JSON_TYPE,
          body: json({ ...item, requestId: `r-${index}` }),
        });
      }
      probes.push({
        label: `${testCase.name} ${index} OFREP`,
        path: `/ofrep/v1/evaluate/flags/${encodeURIComponent(item.flagKey)}`,
        headers: { ...JSON_TYPE, "x-flipt-namespace": testCase.namespace },
        body: json({ context: { ...item.context, targetingKey: item.entityId } }),
      });
    });
    probes.push({
      label: `${testCase.name} batch`,
      path: "/evaluate/v1/batch",
      headers: JSON_TYPE,
      body: json({ requestId: "batch", requests: items }),
    });
    probes.push({
      label: `${testCase.name} OFREP bulk`,
      path: "/ofrep/v1/evaluate/flags",
      headers: { ...JSON_TYPE, "x-flipt-namespace": testCase.namespace },
      body: json({ context: { targetingKey: "someone" } }),
    });
  }
  return probes;
}

const CASE = CASES.find((testCase) => testCase.expected[0]?.kind === "boolean") as ConformanceCase;
const REQUEST = {
  namespaceKey: CASE.namespace,
  flagKey: CASE.requests[0]?.flag_key,
  entityId: "e1",
  context: { a: "b" },
};

/** Requests that go wrong, or take a less usual way, on each route of the direct path. */
function edgeProbes(maxRequestBytes: number): Probe[] {
  const evaluate = (
    label: string,
    body: string | Uint8Array,
    headers: Record<string, string> = JSON_TYPE,
  ) => [
    { label: `boolean: ${label}`, path: "/evaluate/v1/boolean", headers, body },
    { label: `variant: ${label}`, path: "/evaluate/v1/variant", headers, body },
    { label: `OFREP: ${label}`, path: "/ofrep/v1/evaluate/flags/some-flag", headers, body },
    { label: `OFREP bulk: ${label}`, path: "/ofrep/v1/evaluate/flags", headers, body },
    { label: `batch: ${label}`, path: "/evaluate/v1/batch", headers, body },
  ];
  return [
    ...evaluate("no body", ""),
    ...evaluate("bad JSON", "{"),
    ...evaluate("not an object", "[1]"),
    ...evaluate("not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])),
    ...evaluate("wrong field types", json({ flagKey: 5, context: { a: 1 }, requests: 3 })),
    ...evaluate("unknown fields", json({ nope: 1, ...REQUEST })),
    ...evaluate(
      "a lone surrogate",
      '{"flagKey":"\\ud800","namespaceKey":"\\udfff","context":{"\\ud800":"x"}}',
    ),
    ...evaluate("escapes", '{"flagKey":"fl\\u0061g","context":{"targetingKey":"\\u00e9"}}'),
    ...evaluate("the request itself", json(REQUEST)),
    ...evaluate("pretty by content type", json(REQUEST), { "content-type": "application/json+pretty" }),
    ...evaluate("pretty by accept", json(REQUEST), { accept: "application/json+pretty" }),
    ...evaluate("an unknown environment header", json(REQUEST), { "x-flipt-environment": "nowhere" }),
    ...evaluate("the default environment header", json(REQUEST), { "x-flipt-environment": "default" }),
    ...evaluate("a namespace header", json({ ...REQUEST, namespaceKey: "" }), {
      "x-flipt-namespace": CASE.namespace,
    }),
    ...evaluate("too many context entries", json({ ...REQUEST, context: manyEntries(200) })),
    ...evaluate("over the body limit", "x".repeat(maxRequestBytes + 1)),
    ...evaluate("form-encoded", "a=b", { "content-type": "application/x-www-form-urlencoded" }),
    {
      label: "boolean: a trailing slash",
      path: "/evaluate/v1/boolean/",
      headers: JSON_TYPE,
      body: json(REQUEST),
    },
    {
      label: "boolean: ?pretty",
      path: "/evaluate/v1/boolean?pretty",
      headers: JSON_TYPE,
      body: json(REQUEST),
    },
    { label: "boolean: GET", method: "GET", path: "/evaluate/v1/boolean" },
    { label: "health: GET", method: "GET", path: "/health" },
    { label: "health: GET, trailing slash", method: "GET", path: "/health/" },
    { label: "health: GET, unknown service", method: "GET", path: "/health?service=nope" },
    { label: "health: POST", path: "/health", body: "{}" },
    { label: "boolean: PUT", method: "PUT", path: "/evaluate/v1/boolean", body: json(REQUEST) },
    { label: "boolean: no flag key", path: "/evaluate/v1/boolean", body: json({ ...REQUEST, flagKey: "" }) },
    {
      label: "boolean: unknown flag",
      path: "/evaluate/v1/boolean",
      body: json({ ...REQUEST, flagKey: "nope" }),
    },
    {
      label: "boolean: unknown namespace",
      path: "/evaluate/v1/boolean",
      body: json({ ...REQUEST, namespaceKey: "nope" }),
    },
    {
      label: "boolean: unknown environment key in the body",
      path: "/evaluate/v1/boolean",
      body: json({ ...REQUEST, environmentKey: "nowhere" }),
    },
    {
      label: "batch: an empty flag key and unknown flags",
      path: "/evaluate/v1/batch",
      body: json({ requests: [REQUEST, { ...REQUEST, flagKey: "" }] }),
    },
    {
      label: "batch: over evaluation.max_batch_size",
      path: "/evaluate/v1/batch",
      body: json({ requests: Array.from({ length: 101 }, () => REQUEST) }),
    },
    {
      label: "batch: unknown flags and namespaces",
      path: "/evaluate/v1/batch",
      body: json({
        requests: [
          { ...REQUEST, flagKey: "nope" },
          { ...REQUEST, namespaceKey: "nope" },
        ],
      }),
    },
    {
      label: "OFREP: percent-encoded key",
      path: `/ofrep/v1/evaluate/flags/${encodeURIComponent(REQUEST.flagKey ?? "").replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}`,
      headers: { "x-flipt-namespace": CASE.namespace },
      body: json({ context: {} }),
    },
    {
      label: "OFREP: bad percent-encoding",
      path: "/ofrep/v1/evaluate/flags/%zz",
      body: json({ context: {} }),
    },
    {
      label: "OFREP bulk: listed flags",
      path: "/ofrep/v1/evaluate/flags",
      headers: { "x-flipt-namespace": CASE.namespace },
      body: json({ context: { flags: ` ${REQUEST.flagKey}, nope` } }),
    },
    {
      label: "OFREP bulk: an empty listed key",
      path: "/ofrep/v1/evaluate/flags",
      headers: { "x-flipt-namespace": CASE.namespace },
      body: json({ context: { flags: "" } }),
    },
    {
      label: "OFREP bulk: unknown namespace",
      path: "/ofrep/v1/evaluate/flags",
      headers: { "x-flipt-namespace": "nope" },
      body: json({ context: {} }),
    },
  ];
}

/** Connect unary calls to the RPCs of the direct path, in JSON and binary, right and wrong. */
function connectProbes(): Probe[] {
  const rpc = (name: string) => `/flipt.evaluation.EvaluationService/${name}`;
  const ofrep = (name: string) => `/flipt.ofrep.OFREPService/${name}`;
  const probes: Probe[] = [];
  const jsonBodies: Array<[string, string | Uint8Array]> = [
    ["the request", json(REQUEST)],
    ["snake_case", json({ namespace_key: REQUEST.namespaceKey, flag_key: REQUEST.flagKey, entity_id: "e" })],
    ["unknown flag", json({ ...REQUEST, flagKey: "nope" })],
    ["no flag key", json({ ...REQUEST, flagKey: "" })],
    ["bad JSON", "{"],
    ["empty", ""],
    ["wrong types", json({ flagKey: 5 })],
    [
      "not UTF-8",
      new Uint8Array([
        0x7b, 0x22, 0x66, 0x6c, 0x61, 0x67, 0x4b, 0x65, 0x79, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d,
      ]),
    ],
    ["too many context entries", json({ ...REQUEST, context: manyEntries(200) })],
  ];
  for (const [label, body] of jsonBodies) {
    for (const type of ["application/json", "application/json; charset=utf-8"]) {
      probes.push(
        {
          label: `Connect Boolean ${label} ${type}`,
          path: rpc("Boolean"),
          headers: { "content-type": type },
          body,
        },
        {
          label: `Connect Variant ${label} ${type}`,
          path: rpc("Variant"),
          headers: { "content-type": type },
          body,
        },
      );
    }
    probes.push({
      label: `Connect OFREP EvaluateFlag ${label}`,
      path: ofrep("EvaluateFlag"),
      headers: { "content-type": "application/json", "x-flipt-namespace": CASE.namespace },
      body: label === "the request" ? json({ key: REQUEST.flagKey, context: { targetingKey: "t" } }) : body,
    });
  }
  probes.push(
    {
      label: "Connect Batch, large enough to be compressed",
      path: rpc("Batch"),
      headers: { "content-type": "application/json", "accept-encoding": "gzip" },
      body: json({ requests: Array.from({ length: 20 }, () => REQUEST) }),
    },
    {
      label: "Connect Batch, not compressed",
      path: rpc("Batch"),
      headers: { "content-type": "application/json", "accept-encoding": "identity" },
      body: json({ requests: Array.from({ length: 20 }, () => REQUEST) }),
    },
    {
      label: "Connect OFREP bulk",
      path: ofrep("EvaluateBulk"),
      headers: { "content-type": "application/json", "x-flipt-namespace": CASE.namespace },
      body: json({ context: { targetingKey: "t" } }),
    },
    {
      label: "Connect binary, not protobuf",
      path: rpc("Boolean"),
      headers: { "content-type": "application/proto" },
      body: new Uint8Array([0x0a, 0xff, 0x01]),
    },
    {
      label: "Connect binary, empty",
      path: rpc("Boolean"),
      headers: { "content-type": "application/proto" },
      body: new Uint8Array(),
    },
    {
      label: "Connect, unknown environment",
      path: rpc("Boolean"),
      headers: { "content-type": "application/json", "x-flipt-environment": "nowhere" },
      body: json(REQUEST),
    },
    {
      label: "Connect, a namespace header",
      path: rpc("Boolean"),
      headers: { "content-type": "application/json", "x-flipt-namespace": CASE.namespace },
      body: json({ ...REQUEST, namespaceKey: "" }),
    },
    {
      label: "Connect, a deadline",
      path: rpc("Boolean"),
      headers: { "content-type": "application/json", "connect-timeout-ms": "5000" },
      body: json(REQUEST),
    },
    {
      label: "Connect, another content type",
      path: rpc("Boolean"),
      headers: { "content-type": "text/plain" },
      body: json(REQUEST),
    },
    {
      label: "Connect, a stream content type",
      path: rpc("Boolean"),
      headers: { "content-type": "application/connect+json" },
      body: json(REQUEST),
    },
    { label: "Connect, GET", method: "GET", path: `${rpc("Boolean")}?encoding=json&message=%7B%7D` },
    {
      label: "Connect health check",
      path: "/grpc.health.v1.Health/Check",
      headers: { "content-type": "application/json" },
      body: "{}",
    },
    {
      label: "Connect health check, unknown service",
      path: "/grpc.health.v1.Health/Check",
      headers: { "content-type": "application/json" },
      body: json({ service: "nope" }),
    },
  );
  return probes;
}

function manyEntries(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, "v"]));
}

/** The metric series both handlers must have moved alike (durations apart). */
async function countedSeries(served: ServedHandler): Promise<string[]> {
  const text = await (await fetch(`${served.h1Url}/metrics`)).text();
  return text
    .split("\n")
    .filter(
      (line) =>
        /^(flipt_evaluations_(requests|results)_total|grpc_server_(started|handled|msg_received|msg_sent)_total|flipt_server_errors_total|flipt_evaluations_latency_count|grpc_server_handling_seconds_count)/.test(
          line,
        ) && !line.endsWith(" 0"),
    )
    .sort();
}

describe("the direct path answers as Connect's handlers do", () => {
  let repo: TempRepo;
  let pair: HandlerPair;
  const maxRequestBytes = 64 * 1024;
  before(async () => {
    const files: Record<string, string> = {};
    for (const testCase of CASES) files[`${testCase.namespace}/features.yaml`] = testCase.features_yaml;
    repo = await createTempRepo(files);
    pair = await startHandlerPair({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_SERVER_MAX_REQUEST_BYTES: String(maxRequestBytes),
      FLIPT_METRICS_ENABLED: "true",
    });
  });
  after(async () => {
    await pair?.stop();
    await repo?.remove();
  });

  it(`on every conformance request (${CASES.length} cases) over REST, Batch and OFREP, with the same metrics`, async () => {
    const probes = conformanceProbes();
    const seen = await compare(pair, probes);
    assert.ok(seen.some((answer) => answer.status === 200 && answer.body.includes('"enabled":true')));
    assert.ok(seen.some((answer) => answer.status === 404));
    assert.deepEqual(await countedSeries(pair.direct), await countedSeries(pair.connect));
  });

  it("on errors and unusual requests", async () => {
    const seen = await compare(pair, edgeProbes(maxRequestBytes));
    for (const status of [200, 400, 404, 405, 413]) {
      assert.ok(
        seen.some((answer) => answer.status === status),
        `some probe answered ${status}: ${[...new Set(seen.map((answer) => answer.status))]}`,
      );
    }
  });

  it("on Connect unary calls, in JSON and binary", async () => {
    const seen = await compare(pair, connectProbes());
    assert.ok(seen.some((answer) => answer.status === 200 && answer.headers["content-encoding"] === "gzip"));
  });

  it("to connect-node clients over h2c, in JSON and binary, answers and errors alike", async () => {
    for (const useBinaryFormat of [false, true]) {
      const client = (served: ServedHandler) =>
        createClient(
          EvaluationService,
          createConnectTransport({ baseUrl: served.h2Url, httpVersion: "2", useBinaryFormat }),
        );
      const clients = [client(pair.direct), client(pair.connect)] as const;
      const outcome = async (call: (c: (typeof clients)[0]) => Promise<unknown>) => {
        const results: string[] = [];
        for (const c of clients) {
          try {
            const answer = (await call(c)) as { $typeName?: string };
            results.push(
              mask(
                JSON.stringify(answer, (_key, value) => (typeof value === "bigint" ? `${value}n` : value)),
              ),
            );
          } catch (error) {
            const e = ConnectError.from(error);
            results.push(JSON.stringify([e.code, e.rawMessage, e.details.length]));
          }
        }
        return results;
      };
      for (const testCase of CASES.slice(0, 30)) {
        const requests = testCase.requests.map((request) => ({
          namespaceKey: testCase.namespace,
          flagKey: request.flag_key,
          entityId: request.entity_id,
          context: request.context,
          requestId: "fixed",
        }));
        const [direct, connect] = await outcome((c) => c.batch({ requests, requestId: "b" }));
        assert.equal(direct, connect, testCase.name);
        for (const request of requests) {
          const [d1, c1] = await outcome((c) => c.boolean(request));
          assert.equal(d1, c1, `${testCase.name} boolean`);
          const [d2, c2] = await outcome((c) => c.variant(request));
          assert.equal(d2, c2, `${testCase.name} variant`);
        }
      }
      const [d, c] = await outcome((client) => client.boolean({ flagKey: "" }));
      assert.equal(d, c);
    }
  });

  it("on chunked bodies over the limit (no Content-Length), and still serves the connection's next request", async () => {
    const chunked = (base: string, path: string, type: string) =>
      new Promise<string>((resolve, reject) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const request = http.request(
          `${base}${path}`,
          { method: "POST", headers: { "content-type": type }, agent },
          (response) => {
            let body = "";
            response.on("data", (chunk: Buffer) => {
              body += chunk.toString();
            });
            response.on("end", () => {
              const answer = `${response.statusCode} ${response.headers.connection} ${body}`;
              send(base, { label: "after", path: "/health", method: "GET" }).then((next) => {
                agent.destroy();
                resolve(`${answer} / then ${next.status}`);
              }, reject);
            });
          },
        );
        request.on("error", reject);
        request.write(Buffer.alloc(maxRequestBytes / 2, 0x20));
        request.write(Buffer.alloc(maxRequestBytes, 0x20));
        request.end();
      });
    for (const [path, type] of [
      ["/evaluate/v1/boolean", "application/json"],
      ["/ofrep/v1/evaluate/flags/x", "application/json"],
      ["/flipt.evaluation.EvaluationService/Boolean", "application/json"],
      ["/flipt.evaluation.EvaluationService/Boolean", "application/proto"],
    ] as const) {
      const direct = await chunked(pair.direct.h1Url, path, type);
      const connect = await chunked(pair.connect.h1Url, path, type);
      assert.equal(direct, connect, `${path} ${type}`);
      assert.match(direct, /^(413|429) /);
    }
  });

  it("on OFREP bulk ETags: the same tag, and 304 for If-None-Match", async () => {
    const headers = { "x-flipt-namespace": CASE.namespace };
    const body = json({ context: { targetingKey: "t" } });
    const [first] = await compare(pair, [{ label: "bulk", path: "/ofrep/v1/evaluate/flags", headers, body }]);
    const etag = first?.headers.etag;
    assert.ok(etag);
    const [cached, stale] = await compare(pair, [
      {
        label: "matching",
        path: "/ofrep/v1/evaluate/flags",
        headers: { ...headers, "if-none-match": etag },
        body,
      },
      {
        label: "stale",
        path: "/ofrep/v1/evaluate/flags",
        headers: { ...headers, "if-none-match": 'W/"x"' },
        body,
      },
    ]);
    assert.equal(cached?.status, 304);
    assert.equal(stale?.status, 200);
  });
});

describe("the direct path checks credentials as Connect's handlers do", () => {
  let repo: TempRepo;
  let pair: HandlerPair;
  before(async () => {
    repo = await createTempRepo({ [`${CASE.namespace}/features.yaml`]: CASE.features_yaml });
    pair = await startHandlerPair({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_AUTHENTICATION_REQUIRED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_READER_CREDENTIAL: "reader-secret",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_READER_METADATA_ROLE: "read",
    });
  });
  after(async () => {
    await pair?.stop();
    await repo?.remove();
  });

  it("without a token, with a wrong one, with a good one, and by cookie", async () => {
    const probes: Probe[] = [];
    for (const headers of [
      {},
      { authorization: "Bearer wrong" },
      { authorization: "Bearer reader-secret" },
      { cookie: "flipt_client_token=reader-secret" },
      { authorization: "JWT nope" },
    ]) {
      for (const path of [
        "/evaluate/v1/boolean",
        "/ofrep/v1/evaluate/flags/x",
        "/evaluate/v1/batch",
        "/flipt.evaluation.EvaluationService/Boolean",
      ]) {
        probes.push({
          label: `${path} ${JSON.stringify(headers)}`,
          path,
          headers: { ...JSON_TYPE, ...headers },
          body: json(path.endsWith("batch") ? { requests: [REQUEST] } : REQUEST),
        });
      }
    }
    const seen = await compare(pair, probes);
    assert.ok(seen.some((answer) => answer.status === 401 && answer.headers["www-authenticate"] !== null));
    assert.ok(seen.some((answer) => answer.status === 200));
  });
});
