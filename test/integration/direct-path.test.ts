import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { Flipt } from "../../src/gen/flipt/flipt_pb.js";
import { OFREPService } from "../../src/gen/flipt/ofrep/ofrep_pb.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
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

/** grpc-js loads our .proto files at run time, as a client generated from Flipt's protos would. */
const GRPC_JS = grpc.loadPackageDefinition(
  protoLoader.loadSync(["flipt/evaluation/evaluation.proto", "grpc/health/v1/health.proto"], {
    includeDirs: ["proto", "proto-vendor"],
    longs: String,
    enums: String,
    defaults: true,
  }),
) as unknown as {
  flipt: { evaluation: { EvaluationService: grpc.ServiceClientConstructor } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

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

/** A conformance case's requests as the evaluation API takes them. */
function caseItems(testCase: (typeof CASES)[number]) {
  return testCase.requests.map((request) => ({
    namespaceKey: testCase.namespace,
    flagKey: request.flag_key,
    entityId: request.entity_id,
    context: request.context,
  }));
}

/** Every conformance request over the single-flag routes, per case over Batch, and over OFREP. */
function conformanceProbes(): Probe[] {
  const probes: Probe[] = [];
  for (const testCase of CASES) {
    const items = caseItems(testCase);
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

/** `REQUEST` as a message's fields. */
const MESSAGE = { ...REQUEST, flagKey: REQUEST.flagKey ?? "" };

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

/**
 * Sends the first 30 conformance cases (Batch, Boolean and Variant) and a bad request through a connect-node client
 * of each handler, over the transport `transport` makes, and asserts the same answers and errors.
 */
async function assertSameOutcomes(transport: (served: ServedHandler) => Transport, pair: HandlerPair) {
  const clients = [
    createClient(EvaluationService, transport(pair.direct)),
    createClient(EvaluationService, transport(pair.connect)),
  ] as const;
  const all: string[] = [];
  const outcome = async (call: (c: (typeof clients)[0]) => Promise<unknown>) => {
    const results: string[] = [];
    for (const c of clients) {
      try {
        const answer = (await call(c)) as { $typeName?: string };
        results.push(
          mask(JSON.stringify(answer, (_key, value) => (typeof value === "bigint" ? `${value}n` : value))),
        );
      } catch (error) {
        const e = ConnectError.from(error);
        results.push(JSON.stringify([e.code, e.rawMessage, e.details.length]));
      }
    }
    all.push(...results);
    return results;
  };
  for (const testCase of CASES.slice(0, 30)) {
    const requests = caseItems(testCase).map((item) => ({ ...item, requestId: "fixed" }));
    const [direct, connect] = await outcome((c) => c.batch({ requests, requestId: "b" }));
    assert.equal(direct, connect, testCase.name);
    for (const request of requests) {
      const [d1, c1] = await outcome((c) => c.boolean(request));
      assert.equal(d1, c1, `${testCase.name} boolean`);
      const [d2, c2] = await outcome((c) => c.variant(request));
      assert.equal(d2, c2, `${testCase.name} variant`);
    }
  }
  for (const request of [{ flagKey: "" }, { flagKey: "nope" }, { flagKey: "x", context: manyEntries(200) }]) {
    const [d, c] = await outcome((client) => client.boolean(request));
    assert.equal(d, c, JSON.stringify(request).slice(0, 40));
  }
  assert.ok(
    all.some((result) => result.includes('"match":true')),
    "some match",
  );
  assert.ok(
    all.some((result) => result.startsWith(`[${Code.InvalidArgument},`)),
    "some InvalidArgument",
  );
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

/** The three ways a gRPC unary call reaches the server: gRPC over h2c, gRPC-Web over HTTP/1.1 and over h2c. */
type GrpcWire = "gRPC h2c" | "gRPC-Web HTTP/1.1" | "gRPC-Web h2c";
const GRPC_WIRES: readonly GrpcWire[] = ["gRPC h2c", "gRPC-Web HTTP/1.1", "gRPC-Web h2c"];
const WIRE_HEADERS: Record<GrpcWire, Record<string, string>> = {
  "gRPC h2c": { "content-type": "application/grpc", te: "trailers" },
  "gRPC-Web HTTP/1.1": { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
  "gRPC-Web h2c": { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
};

/** One gRPC or gRPC-Web call, sent alike to both handlers: its body is the raw bytes, frames or not. */
interface GrpcProbe {
  readonly label: string;
  /** The RPC: its path, unless `path` says otherwise, and the message its answer frames are read as. */
  readonly rpc: DescMethod;
  readonly path?: string;
  readonly verb?: string;
  /** Added to (or replacing) the wire's own headers; an empty value removes one. */
  readonly headers?: Record<string, string>;
  readonly body: Uint8Array;
  /** Written this many bytes at a time, one piece per turn of the event loop. */
  readonly pieces?: number;
  /** Only over these wires (all three by default). */
  readonly wires?: readonly GrpcWire[];
}

/**
 * What is compared of a gRPC answer: status, every header and trailer but the date and the body's framing
 * (`content-length` or `transfer-encoding`), and the body frame by frame.
 */
interface GrpcSeen {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly trailers: Record<string, string | string[]>;
  readonly frames: readonly string[];
  /** The HTTP/2 stream's reset code (0 when it ended normally), or the HTTP/1.1 connection's fate. */
  readonly end: string;
}

interface RawAnswer {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly trailers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly end: string;
}

/** An envelope: flags, big-endian length (the bytes' own unless `length` says otherwise), bytes. */
function frame(bytes: Uint8Array, flags = 0, length = bytes.byteLength): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, bytes]);
}

/** A request message of `rpc`, framed. */
function framed<I extends DescMessage>(rpc: DescMethod & { input: I }, init: MessageInitShape<I>): Buffer {
  return frame(toBinary(rpc.input, create(rpc.input, init)));
}

/** The handlers' two ends for gRPC: an HTTP/2 session and a keep-alive HTTP/1.1 agent, each reused call after call. */
interface GrpcEndpoint {
  readonly served: ServedHandler;
  readonly session: http2.ClientHttp2Session;
  readonly agent: http.Agent;
}

function openEndpoint(served: ServedHandler): GrpcEndpoint {
  return {
    served,
    session: http2.connect(served.h2Url),
    agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
  };
}

function closeEndpoint(endpoint: GrpcEndpoint | undefined): void {
  endpoint?.session.close();
  endpoint?.agent.destroy();
}

async function writeBody(stream: NodeJS.WritableStream, probe: GrpcProbe): Promise<void> {
  if (probe.verb === "GET") {
    stream.end();
    return;
  }
  const size = probe.pieces ?? probe.body.byteLength;
  for (let offset = 0; offset < probe.body.byteLength && size > 0; offset += size) {
    stream.write(probe.body.subarray(offset, offset + size));
    if (probe.pieces !== undefined) await new Promise((resolve) => setImmediate(resolve));
  }
  stream.end();
}

function requestHeaders(wire: GrpcWire, probe: GrpcProbe): Record<string, string> {
  const headers: Record<string, string> = { ...WIRE_HEADERS[wire], ...probe.headers };
  for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name];
  return headers;
}

/**
 * One call on the endpoint's HTTP/2 session. The answer is taken when its stream ends; a request still being written
 * then is cancelled, as gRPC clients cancel it (Connect's handler stops reading a request it failed mid-body, and the
 * stream would wait for flow control forever).
 */
async function h2Exchange(endpoint: GrpcEndpoint, wire: GrpcWire, probe: GrpcProbe): Promise<RawAnswer> {
  if (probe.pieces === undefined && probe.body.byteLength <= UNREAD_BODY_BYTES)
    return h2Call(endpoint.session, wire, probe);
  const session = http2.connect(endpoint.served.h2Url);
  try {
    return await h2Call(session, wire, probe);
  } finally {
    session.destroy();
  }
}

/**
 * The largest request sent on the endpoint's shared session: Connect's handler stops reading a request it failed
 * mid-body, and what it left unread stays charged to the session's flow-control window, which a few such requests
 * use up; larger requests, and those written in pieces, get a session of their own.
 */
const UNREAD_BODY_BYTES = 16_384;

function h2Call(session: http2.ClientHttp2Session, wire: GrpcWire, probe: GrpcProbe): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": probe.verb ?? "POST",
      ":path": probe.path ?? `/${probe.rpc.parent.typeName}/${probe.rpc.name}`,
      ...requestHeaders(wire, probe),
    });
    let status = 0;
    const headers: Array<[string, string]> = [];
    const trailers: Array<[string, string]> = [];
    const chunks: Buffer[] = [];
    const pairs = (from: http2.IncomingHttpHeaders, into: Array<[string, string]>) => {
      for (const [name, value] of Object.entries(from)) {
        if (name === ":status") status = Number(value);
        else if (value !== undefined) for (const item of [value].flat()) into.push([name, String(item)]);
      }
    };
    const answer = (end: string) =>
      resolve({ status, headers, trailers, body: Buffer.concat(chunks), end: probe.pieces ? "" : end });
    stream.on("response", (head) => pairs(head, headers));
    stream.on("trailers", (tail) => pairs(tail, trailers));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      if (stream.writableFinished) return;
      answer("the server ended the stream first");
      stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.on("error", () => undefined);
    stream.on("close", () => answer(`rst ${stream.rstCode}`));
    writeBody(stream, probe).catch(reject);
  });
}

/**
 * One call over HTTP/1.1, on the endpoint's kept-alive connection; a request written in pieces gets a connection of its
 * own, closed after the answer (Connect's handler stops reading a connection whose request it failed mid-body).
 */
async function h1Exchange(endpoint: GrpcEndpoint, wire: GrpcWire, probe: GrpcProbe): Promise<RawAnswer> {
  const agent =
    probe.pieces === undefined ? endpoint.agent : new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await h1Call(endpoint.served, agent, wire, probe);
  } finally {
    if (agent !== endpoint.agent) agent.destroy();
  }
}

function h1Call(
  served: ServedHandler,
  agent: http.Agent,
  wire: GrpcWire,
  probe: GrpcProbe,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${served.h1Url}${probe.path ?? `/${probe.rpc.parent.typeName}/${probe.rpc.name}`}`,
      { method: probe.verb ?? "POST", headers: requestHeaders(wire, probe), agent },
      (response) => {
        const chunks: Buffer[] = [];
        const pairs = (raw: string[]) => {
          const out: Array<[string, string]> = [];
          for (let index = 0; index + 1 < raw.length; index += 2) {
            out.push([(raw[index] as string).toLowerCase(), raw[index + 1] as string]);
          }
          return out;
        };
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: pairs(response.rawHeaders),
            trailers: pairs(response.rawTrailers),
            body: Buffer.concat(chunks),
            end: probe.pieces !== undefined || response.socket?.destroyed !== true ? "" : "closed",
          }),
        );
      },
    );
    // A request still being written when its connection goes (pieces) is no error of the answer's.
    request.on("error", probe.pieces === undefined ? reject : () => undefined);
    writeBody(request, probe).catch(reject);
  });
}

/**
 * The answer's frames as text: flags, then a message as masked JSON (once its bytes are checked to be protobuf-es's
 * own encoding of it, so that the JSON stands for the bytes), a gRPC-Web trailer as its text, anything else in hex.
 */
function describeFrames(body: Buffer, output: DescMessage, encoding: string | undefined): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset + 5 <= body.byteLength) {
    const flags = body[offset] as number;
    const length = body.readUInt32BE(offset + 1);
    if (offset + 5 + length > body.byteLength) break;
    let data = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if ((flags & 1) !== 0) data = encoding === "br" ? brotliDecompressSync(data) : gunzipSync(data);
    if ((flags & 0x80) !== 0) {
      out.push(`${flags} trailer ${data.toString("latin1")}`);
      continue;
    }
    // A JSON answer (Connect's, to +json calls) is compared as masked text.
    let text = data[0] === 0x7b ? `json ${mask(data.toString("utf8"))}` : `hex ${data.toString("hex")}`;
    try {
      const message = fromBinary(output, data);
      if (Buffer.from(toBinary(output, message)).equals(data)) text = mask(toJsonString(output, message));
    } catch {
      // Not a message of this type: compared as bytes.
    }
    out.push(`${flags} message ${text}`);
  }
  if (offset < body.byteLength) out.push(`rest ${body.subarray(offset).toString("hex")}`);
  return out;
}

async function sendGrpc(endpoint: GrpcEndpoint, wire: GrpcWire, probe: GrpcProbe): Promise<GrpcSeen> {
  const raw =
    wire === "gRPC-Web HTTP/1.1"
      ? await h1Exchange(endpoint, wire, probe)
      : await h2Exchange(endpoint, wire, probe);
  const record = (pairs: RawAnswer["headers"]) => {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of pairs) {
      if (name === "date") continue;
      // How the body is delimited is not compared: the direct path writes gRPC-Web's body whole, with its length,
      // where Connect writes chunks (HTTP/1.1 chunked). A length given must be the body's.
      if (name === "transfer-encoding") continue;
      if (name === "content-length") {
        assert.equal(Number(value), raw.body.byteLength, "content-length is the body's length");
        continue;
      }
      const existing = out[name];
      out[name] = existing === undefined ? value : [existing, value].flat();
    }
    return out;
  };
  const headers = record(raw.headers);
  const encoding = headers["grpc-encoding"];
  return {
    status: raw.status,
    headers,
    trailers: record(raw.trailers),
    frames: describeFrames(raw.body, probe.rpc.output, typeof encoding === "string" ? encoding : undefined),
    end: raw.end,
  };
}

/** Sends each probe over each of its wires to both handlers and asserts the same answer; returns the direct path's. */
async function compareGrpc(
  ends: { direct: GrpcEndpoint; connect: GrpcEndpoint },
  probes: readonly GrpcProbe[],
): Promise<Array<GrpcSeen & { wire: GrpcWire }>> {
  const seen: Array<GrpcSeen & { wire: GrpcWire }> = [];
  for (const probe of probes) {
    for (const wire of probe.wires ?? GRPC_WIRES) {
      const direct = await sendGrpc(ends.direct, wire, probe);
      const connect = await sendGrpc(ends.connect, wire, probe);
      assert.deepEqual(direct, connect, `${wire}: ${probe.label}`);
      seen.push({ ...direct, wire });
    }
  }
  return seen;
}

/** The gRPC status of an answer: from the trailers (gRPC), or from the trailer frame (gRPC-Web). */
function grpcStatusOf(seen: GrpcSeen): string | undefined {
  const trailer = seen.trailers["grpc-status"];
  if (typeof trailer === "string") return trailer;
  const text = seen.frames.find((item) => item.includes(" trailer "));
  return text === undefined ? undefined : /grpc-status: (\d+)/.exec(text)?.[1];
}

const RPC = EvaluationService.method;

/** Every conformance request over Boolean or Variant (both for errors), per case over Batch, and over OFREP. */
function grpcConformanceProbes(): GrpcProbe[] {
  const probes: GrpcProbe[] = [];
  for (const testCase of CASES) {
    const items = caseItems(testCase);
    items.forEach((item, index) => {
      const kind = testCase.expected[index]?.kind;
      for (const rpc of kind === "error"
        ? [RPC.boolean, RPC.variant]
        : [kind === "variant" ? RPC.variant : RPC.boolean]) {
        probes.push({
          label: `${testCase.name} ${index} ${rpc.name}`,
          rpc,
          body: framed(rpc, { ...item, requestId: `r-${index}` }),
        });
      }
      probes.push({
        label: `${testCase.name} ${index} OFREP`,
        rpc: OFREPService.method.evaluateFlag,
        headers: { "x-flipt-namespace": testCase.namespace },
        body: framed(OFREPService.method.evaluateFlag, {
          key: item.flagKey,
          context: { ...item.context, targetingKey: item.entityId },
        }),
      });
    });
    probes.push({
      label: `${testCase.name} batch`,
      rpc: RPC.batch,
      body: framed(RPC.batch, { requestId: "batch", requests: items }),
    });
    probes.push({
      label: `${testCase.name} OFREP bulk`,
      rpc: OFREPService.method.evaluateBulk,
      headers: { "x-flipt-namespace": testCase.namespace },
      body: framed(OFREPService.method.evaluateBulk, { context: { targetingKey: "someone" } }),
    });
  }
  return probes;
}

/** gRPC and gRPC-Web calls that go wrong, or take a less usual way, to the RPCs of the direct path. */
function grpcEdgeProbes(maxRequestBytes: number): GrpcProbe[] {
  const request = framed(RPC.boolean, MESSAGE);
  const message = toBinary(RPC.boolean.input, create(RPC.boolean.input, MESSAGE));
  const boolean = (label: string, body: Uint8Array, extra: Partial<GrpcProbe> = {}): GrpcProbe => ({
    label,
    rpc: RPC.boolean,
    body,
    ...extra,
  });
  const batch = (count: number) =>
    framed(RPC.batch, { requests: Array.from({ length: count }, () => MESSAGE) });
  const longKey = "k".repeat(1200);
  return [
    boolean("the request", request),
    boolean("the request, a byte at a time", request, { pieces: 1 }),
    boolean("the request, with a query", request, {
      path: "/flipt.evaluation.EvaluationService/Boolean?x=1",
    }),
    boolean("unknown flag", framed(RPC.boolean, { ...MESSAGE, flagKey: "nope" })),
    boolean("a flag key to percent-encode", framed(RPC.boolean, { ...MESSAGE, flagKey: "é/ü:%,\u{1F600}" })),
    boolean("no flag key", framed(RPC.boolean, { ...MESSAGE, flagKey: "" })),
    boolean("unknown namespace", framed(RPC.boolean, { ...MESSAGE, namespaceKey: "nope" })),
    boolean("too many context entries", framed(RPC.boolean, { ...MESSAGE, context: manyEntries(200) })),
    boolean("an unknown environment header", request, { headers: { "x-flipt-environment": "nowhere" } }),
    boolean("a namespace header", framed(RPC.boolean, { ...MESSAGE, namespaceKey: "" }), {
      headers: { "x-flipt-namespace": CASE.namespace },
    }),
    boolean("invalid message bytes", frame(new Uint8Array([0x0a, 0xff, 0x01]))),
    boolean("a message of zero bytes", frame(new Uint8Array())),
    boolean("zero frames", new Uint8Array()),
    boolean("two frames", Buffer.concat([request, request])),
    boolean("two frames, in pieces", Buffer.concat([request, request]), { pieces: 7 }),
    boolean("a good frame, then a bad one", Buffer.concat([request, frame(new Uint8Array([0xff]))])),
    boolean(
      "a bad frame, then an over-limit header",
      Buffer.concat([frame(new Uint8Array([0xff])), frame(new Uint8Array(), 0, maxRequestBytes + 1)]),
    ),
    boolean("a frame longer than its length", frame(message, 0, message.byteLength - 3)),
    boolean("a frame shorter than its length", frame(message, 0, message.byteLength + 3)),
    boolean("a frame header alone", frame(new Uint8Array(), 0, 10)),
    boolean(
      "a good frame, then a frame header alone",
      Buffer.concat([request, frame(new Uint8Array(), 0, 10)]),
    ),
    boolean("three bytes", new Uint8Array([0, 0, 0])),
    boolean("a message over the limit", frame(new Uint8Array(maxRequestBytes + 1))),
    boolean("a message at the limit", frame(new Uint8Array(maxRequestBytes))),
    boolean("a header over the limit, no bytes", frame(new Uint8Array(), 0, maxRequestBytes + 1)),
    boolean("a header over the limit, in pieces", frame(new Uint8Array(100), 0, maxRequestBytes + 1), {
      pieces: 3,
    }),
    boolean("flagged compressed, no grpc-encoding", frame(message, 1)),
    boolean("flagged compressed, grpc-encoding identity", frame(message, 1), {
      headers: { "grpc-encoding": "identity" },
    }),
    boolean("grpc-encoding identity", request, { headers: { "grpc-encoding": "identity" } }),
    boolean("gzip", frame(gzipSync(message), 1), { headers: { "grpc-encoding": "gzip" } }),
    boolean("an unknown grpc-encoding", request, { headers: { "grpc-encoding": "snappy" } }),
    boolean("a trailer-flagged frame alone", frame(message, 0x80)),
    boolean("a trailer-flagged frame, then the request", Buffer.concat([frame(message, 0x80), request])),
    boolean("a deadline", request, { headers: { "grpc-timeout": "5S" } }),
    boolean("a bad deadline", request, { headers: { "grpc-timeout": "soon" } }),
    boolean("accepts gzip, small answer", request, { headers: { "grpc-accept-encoding": "gzip" } }),
    boolean("accepts br first", request, { headers: { "grpc-accept-encoding": "snappy, br,gzip" } }),
    boolean("accepts identity only", request, { headers: { "grpc-accept-encoding": "identity" } }),
    boolean("accepts gzip, a long error", framed(RPC.boolean, { ...MESSAGE, flagKey: longKey }), {
      headers: { "grpc-accept-encoding": "gzip" },
    }),
    boolean("a long error", framed(RPC.boolean, { ...MESSAGE, flagKey: longKey })),
    {
      label: "batch, accepts gzip",
      rpc: RPC.batch,
      body: batch(60),
      headers: { "grpc-accept-encoding": "gzip" },
    },
    {
      label: "batch, accepts br",
      rpc: RPC.batch,
      body: batch(60),
      headers: { "grpc-accept-encoding": "br" },
    },
    { label: "batch, compression not accepted", rpc: RPC.batch, body: batch(60) },
    { label: "batch over evaluation.max_batch_size", rpc: RPC.batch, body: batch(101) },
    boolean("JSON", frame(Buffer.from(json(MESSAGE))), {
      headers: { "content-type": "application/grpc+json" },
    }),
    boolean("gRPC-Web JSON", frame(Buffer.from(json(MESSAGE))), {
      headers: { "content-type": "application/grpc-web+json" },
      wires: ["gRPC-Web HTTP/1.1", "gRPC-Web h2c"],
    }),
    boolean("gRPC-Web text", Buffer.from(request.toString("base64")), {
      headers: { "content-type": "application/grpc-web-text" },
      wires: ["gRPC-Web HTTP/1.1", "gRPC-Web h2c"],
    }),
    boolean("plain content types", request, {
      headers: { "content-type": "application/grpc" },
      wires: ["gRPC-Web HTTP/1.1", "gRPC-Web h2c"],
    }),
    boolean("plain content types", request, {
      headers: { "content-type": "application/grpc+proto" },
      wires: ["gRPC h2c"],
    }),
    boolean("gRPC-Web content type, plain", request, { headers: { "content-type": "application/grpc-web" } }),
    boolean("upper-case content type", request, {
      headers: { "content-type": "Application/GRPC-Web+Proto" },
    }),
    boolean("no te header", request, { headers: { te: "" }, wires: ["gRPC h2c"] }),
    boolean("GET", new Uint8Array(), { verb: "GET" }),
    boolean("an unusual host", request, { headers: { host: "under_score:1" }, wires: ["gRPC-Web HTTP/1.1"] }),
    {
      label: "health check",
      rpc: Health.method.check,
      body: framed(Health.method.check, {}),
    },
    {
      label: "an RPC not on the direct path",
      rpc: Flipt.method.getFlag,
      body: framed(Flipt.method.getFlag, { namespaceKey: CASE.namespace, key: MESSAGE.flagKey ?? "" }),
    },
    {
      label: "health check, unknown service",
      rpc: Health.method.check,
      body: framed(Health.method.check, { service: "nope" }),
    },
  ];
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
      await assertSameOutcomes(
        (served) => createConnectTransport({ baseUrl: served.h2Url, httpVersion: "2", useBinaryFormat }),
        pair,
      );
    }
  });

  describe("over gRPC (h2c) and gRPC-Web (HTTP/1.1 and h2c)", () => {
    let ends: { direct: GrpcEndpoint; connect: GrpcEndpoint };
    before(() => {
      ends = { direct: openEndpoint(pair.direct), connect: openEndpoint(pair.connect) };
    });
    after(() => {
      closeEndpoint(ends?.direct);
      closeEndpoint(ends?.connect);
    });

    it(`on every conformance request (${CASES.length} cases) over Boolean, Variant, Batch and OFREP, with the same metrics`, async () => {
      const seen = await compareGrpc(ends, grpcConformanceProbes());
      for (const wire of GRPC_WIRES) {
        const answers = seen.filter((answer) => answer.wire === wire);
        assert.ok(answers.some((answer) => answer.frames.some((item) => item.includes('"enabled":true'))));
        assert.ok(
          answers.some((answer) => grpcStatusOf(answer) === "5"),
          `${wire}: some NotFound`,
        );
        assert.ok(answers.every((answer) => answer.status === 200));
      }
      assert.deepEqual(await countedSeries(pair.direct), await countedSeries(pair.connect));
    });

    it("on errors and unusual calls", async () => {
      const seen = await compareGrpc(ends, grpcEdgeProbes(maxRequestBytes));
      const statuses = new Set(seen.map(grpcStatusOf));
      for (const code of ["0", "3", "5", "8", "12"])
        assert.ok(statuses.has(code), `some call answered ${code}: ${[...statuses]}`);
      const frames = seen.flatMap((answer) => answer.frames);
      assert.ok(
        frames.some((item) => item.startsWith("1 message")),
        "some message frame compressed",
      );
      assert.ok(
        frames.some((item) => item.startsWith("129 trailer")),
        "some gRPC-Web trailer frame compressed",
      );
    });

    it("to @grpc/grpc-js clients, answers and errors alike", async () => {
      const make = (ctor: grpc.ServiceClientConstructor) =>
        [pair.direct, pair.connect].map(
          (served) => new ctor(served.h2Url.replace("http://", ""), grpc.credentials.createInsecure()),
        );
      const evaluation = make(GRPC_JS.flipt.evaluation.EvaluationService);
      const health = make(GRPC_JS.grpc.health.v1.Health);
      try {
        const all: string[] = [];
        const outcome = async (clients: grpc.Client[], method: string, request: object) => {
          const results: string[] = [];
          for (const client of clients) {
            results.push(
              await new Promise<string>((resolve) => {
                const fn = (client as unknown as Record<string, grpc.requestCallback<unknown>>)[method];
                (fn as unknown as (r: object, cb: grpc.requestCallback<unknown>) => void).call(
                  client,
                  request,
                  (error, response) => {
                    resolve(
                      error
                        ? JSON.stringify([error.code, error.details, error.metadata.toJSON()])
                        : mask(JSON.stringify(response)),
                    );
                  },
                );
              }),
            );
          }
          all.push(...results);
          return results;
        };
        for (const testCase of CASES.slice(0, 30)) {
          const requests = caseItems(testCase).map((item) => ({ ...item, requestId: "fixed" }));
          const [d, c] = await outcome(evaluation, "Batch", { requests, requestId: "b" });
          assert.equal(d, c, testCase.name);
          for (const request of requests) {
            for (const method of ["Boolean", "Variant"]) {
              const [d1, c1] = await outcome(evaluation, method, request);
              assert.equal(d1, c1, `${testCase.name} ${method}`);
            }
          }
        }
        for (const request of [
          { flagKey: "" },
          { flagKey: "nope" },
          { flagKey: "x", context: manyEntries(200) },
        ]) {
          const [d, c] = await outcome(evaluation, "Boolean", request);
          assert.equal(d, c, JSON.stringify(request).slice(0, 40));
        }
        const [d, c] = await outcome(evaluation, "Batch", {
          requests: Array.from({ length: 60 }, () => MESSAGE),
        });
        assert.equal(d, c, "a Batch answer large enough to be compressed");
        for (const service of ["", "nope"]) {
          const [dh, ch] = await outcome(health, "Check", { service });
          assert.equal(dh, ch, `health ${service}`);
        }
        assert.ok(
          all.some((result) => result.includes('"enabled":true')),
          "some answer",
        );
        assert.ok(
          all.some((result) => result.includes('"SERVING"')),
          "some health answer",
        );
        assert.ok(
          all.some((result) => result.startsWith(`[${grpc.status.NOT_FOUND},`)),
          "some NOT_FOUND",
        );
        assert.ok(
          all.some((result) => result.startsWith(`[${grpc.status.INVALID_ARGUMENT},`)),
          "some INVALID_ARGUMENT",
        );
      } finally {
        for (const client of [...evaluation, ...health]) client.close();
      }
    });

    it("to connect-node gRPC and gRPC-Web clients, answers and errors alike", async () => {
      await assertSameOutcomes((served) => createGrpcTransport({ baseUrl: served.h2Url }), pair);
      await assertSameOutcomes(
        (served) => createGrpcWebTransport({ baseUrl: served.h1Url, httpVersion: "1.1" }),
        pair,
      );
      await assertSameOutcomes(
        (served) => createGrpcWebTransport({ baseUrl: served.h2Url, httpVersion: "2" }),
        pair,
      );
    });

    it("on a message over the limit that keeps coming; the direct path then serves the connection's next call", async () => {
      const probe: GrpcProbe = {
        label: "over the limit, in pieces",
        rpc: RPC.boolean,
        body: frame(new Uint8Array(maxRequestBytes * 2)),
        pieces: 4096,
      };
      const seen = await compareGrpc(ends, [probe]);
      assert.ok(seen.every((answer) => grpcStatusOf(answer) === "8"));
      // Connect's handler stops reading such a request (on HTTP/1.1, the whole connection); the direct path reads the
      // rest and drops it, and the connection (HTTP/1.1) or the stream (HTTP/2) goes on.
      for (const wire of GRPC_WIRES) {
        const answer = await sendGrpc(ends.direct, wire, {
          label: "whole",
          rpc: probe.rpc,
          body: probe.body,
        });
        assert.equal(grpcStatusOf(answer), "8", wire);
        const next = await sendGrpc(ends.direct, wire, {
          label: "next",
          rpc: RPC.boolean,
          body: framed(RPC.boolean, MESSAGE),
        });
        assert.equal(grpcStatusOf(next), "0", wire);
      }
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const sockets = new Set<unknown>();
        agent.on("free", (socket) => sockets.add(socket));
        for (const body of [frame(new Uint8Array(maxRequestBytes * 8)), framed(RPC.boolean, MESSAGE)]) {
          const answer = await h1Call(pair.direct, agent, "gRPC-Web HTTP/1.1", {
            label: "on one connection",
            rpc: RPC.boolean,
            body,
            pieces: 16_384,
          });
          assert.equal(answer.status, 200);
        }
        assert.equal(sockets.size, 1, "both calls on one connection");
      } finally {
        agent.destroy();
      }
    });
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

  it("over gRPC and gRPC-Web: without a token, with a wrong one, with a good one, and by cookie", async () => {
    const ends = { direct: openEndpoint(pair.direct), connect: openEndpoint(pair.connect) };
    try {
      const probes: GrpcProbe[] = [];
      for (const headers of [
        {},
        { authorization: "Bearer wrong" },
        { authorization: "Bearer reader-secret" },
        { cookie: "flipt_client_token=reader-secret" },
        { authorization: "JWT nope" },
      ]) {
        const label = JSON.stringify(headers);
        probes.push(
          { label: `Boolean ${label}`, rpc: RPC.boolean, headers, body: framed(RPC.boolean, MESSAGE) },
          {
            label: `Batch ${label}`,
            rpc: RPC.batch,
            headers,
            body: framed(RPC.batch, { requests: [MESSAGE] }),
          },
          {
            label: `OFREP ${label}`,
            rpc: OFREPService.method.evaluateFlag,
            headers: { ...headers, "x-flipt-namespace": CASE.namespace },
            body: framed(OFREPService.method.evaluateFlag, {
              key: MESSAGE.flagKey,
              context: { targetingKey: "t" },
            }),
          },
          {
            label: `health ${label}`,
            rpc: Health.method.check,
            headers,
            body: framed(Health.method.check, {}),
          },
        );
      }
      const seen = await compareGrpc(ends, probes);
      assert.ok(seen.some((answer) => grpcStatusOf(answer) === "16"));
      assert.ok(seen.some((answer) => grpcStatusOf(answer) === "0" && answer.frames.length > 0));
    } finally {
      closeEndpoint(ends.direct);
      closeEndpoint(ends.connect);
    }
  });
});
