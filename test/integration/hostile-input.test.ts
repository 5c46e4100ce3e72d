/**
 * Hostile input (issue 8, part 3). One real server (in-process, ports 0, local git storage with a few flags) is sent
 * random bytes on raw TCP to both ports; truncated, oversized and compressed gRPC frames and invalid protobuf over
 * HTTP/2 to both ports; JSON with wrong types, deep nesting, huge strings and invalid UTF-8 on the REST and Connect
 * routes; path-traversal keys through evaluations, reads and writes; and YAML bombs committed to its flag files.
 *
 * For every input: an answer (or a closed connection) within REQUEST_DEADLINE_MS; a code that blames the caller
 * (HTTP 4xx, a gRPC code such as InvalidArgument or ResourceExhausted), never a server fault (5xx, Internal, Unknown,
 * DataLoss, Unavailable); a success only where the input is valid, with a body that answers it. Throughout, the
 * server keeps answering /health and a known-good evaluation on both ports, its resident memory stays bounded,
 * no write touches a file outside the repository, and the repository stays clean and loadable.
 *
 * Which inputs are bad is decided by an oracle, not by the server: protobuf-es decoding (binary, or JSON with
 * unknown fields ignored, as Flipt's gateway reads it) plus strict UTF-8, and the body limit.
 *
 * Seed: printed at the start; PENNANT_FUZZ_SEED=<n> replays a run. Each failure names its category and input, and
 * the summary prints, per category, the inputs tried and the answers seen.
 * Cost: about 2 700 inputs (MAX_INPUTS is the budget), 20-30 s on 2 shared cores, most of it in the JSON writes
 * (a few dozen commits) and the YAML bombs (each waits for a reload and for the fix to be served).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  create,
  createRegistry,
  type DescMessage,
  type DescMethod,
  fromBinary,
  fromJson,
  type JsonObject,
  type JsonValue,
  type Message,
  type MessageInitShape,
  type MessageShape,
  ScalarType,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { AnySchema, anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ConfigError } from "../../src/config/config-error.js";
import { loadConfig } from "../../src/config/load-config.js";
import {
  EnvironmentsService,
  file_environments_environments,
} from "../../src/gen/environments/environments_pb.js";
import {
  ClientEvaluationService,
  file_evaluation_evaluation,
} from "../../src/gen/evaluation/evaluation_pb.js";
import { FlagSchema, FlagType, file_flipt_core_core } from "../../src/gen/flipt/core/core_pb.js";
import {
  EvaluationResponseType,
  EvaluationService,
  file_flipt_evaluation_evaluation,
} from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { file_flipt_ofrep_ofrep, OFREPService } from "../../src/gen/flipt/ofrep/ofrep_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { createSeededRandom, type SeededRandom, seedFrom } from "../helpers/seeded-random.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { waitFor } from "../helpers/wait-for.js";

const SEED = seedFrom(process.env, "PENNANT_FUZZ_SEED", 20_260_801);
/** Every input is answered, or its connection closed, within this. */
const REQUEST_DEADLINE_MS = 5_000;
/** server.max_request_bytes for this server: small, so that inputs over it stay cheap to send. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** The issue's budget for the whole suite. */
const MAX_INPUTS = 10_000;
/**
 * How far the resident set may grow over the run. The largest inputs held at once are the 9 MiB features file
 * (a few copies while it is read and refused) and bodies capped at 64 KiB; a few thousand requests' garbage stays in
 * the tens of MiB before V8 collects it. What this bound catches costs far more: a billion-laughs file expanded
 * (10^9 nodes), a 2 GiB frame length believed and buffered, or every request retained.
 */
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;
/** How often, in inputs, the server is checked for life during the run. */
const ALIVE_EVERY = 50;

const registry = createRegistry(
  file_flipt_core_core,
  file_flipt_evaluation_evaluation,
  file_evaluation_evaluation,
  file_flipt_ofrep_ofrep,
  file_environments_environments,
);

const FEATURES = `version: "1.6"
flags:
  - key: good
    name: Good
    type: BOOLEAN_FLAG_TYPE
    enabled: true
  - key: colour
    name: Colour
    type: VARIANT_FLAG_TYPE
    enabled: true
    variants:
      - key: red
        name: Red
        attachment:
          hex: "#f00"
      - key: blue
        name: Blue
    rules:
      - segment: proto-keys
        distributions:
          - variant: red
            rollout: 100
segments:
  - key: proto-keys
    name: Proto keys
    match_type: ANY_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: constructor
        operator: notempty
      - type: STRING_COMPARISON_TYPE
        property: __proto__
        operator: eq
        value: x
`;

const TEAM = `version: "1.6"
namespace: team
flags:
  - key: team-flag
    name: Team flag
    type: BOOLEAN_FLAG_TYPE
    enabled: false
`;

// ---------------------------------------------------------------------------------------------------------------
// Outcomes, expectations and the tally
// ---------------------------------------------------------------------------------------------------------------

/** What came back for one input. */
interface Outcome {
  /** Short, for counting: "400 code=3", "gRPC InvalidArgument", "closed", "hang". */
  readonly label: string;
  readonly hang?: true;
  /** The connection or stream ended without an answer. */
  readonly closed?: true;
  readonly status?: number;
  readonly grpcCode?: number;
  readonly body?: Buffer;
}

/** What is right for one input, beyond "no hang, no server fault". */
interface Expect {
  /** The HTTP statuses that are right; undefined: any 4xx. */
  readonly statuses?: readonly number[];
  /** The gRPC codes that are right; undefined: any code that blames the caller. */
  readonly codes?: readonly Code[];
  /** Present when a success may be right: the problem with its body, if any. */
  readonly success?: (body: Buffer) => string | undefined;
  /** The connection may close without an answer (a body over the limit, cut off while it is sent). */
  readonly mayClose?: boolean;
}

const SERVER_FAULTS: ReadonlySet<number> = new Set([
  Code.Unknown,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

const codeName = (code: number) => (code === 0 ? "OK" : (Code[code] ?? `code ${code}`));

function judge(outcome: Outcome, expect: Expect): string | undefined {
  if (outcome.hang) return `no answer within ${REQUEST_DEADLINE_MS} ms`;
  if (outcome.closed) return expect.mayClose ? undefined : "closed without an answer";
  const body = outcome.body ?? Buffer.alloc(0);
  if (outcome.grpcCode !== undefined) {
    const code = outcome.grpcCode;
    if (code === 0) return expect.success ? expect.success(body) : "bad input accepted (gRPC OK)";
    if (SERVER_FAULTS.has(code)) return `server fault: gRPC ${codeName(code)}`;
    if (expect.codes && !expect.codes.includes(code)) {
      return `misleading code: gRPC ${codeName(code)}, expected ${expect.codes.map(codeName).join(" or ")}`;
    }
    return undefined;
  }
  const status = outcome.status ?? 0;
  if (status >= 500) return `server fault: HTTP ${status}`;
  if (status >= 200 && status < 300) {
    return expect.success ? expect.success(body) : `bad input accepted (HTTP ${status})`;
  }
  if (status < 400) return `unexpected HTTP ${status}`;
  if (expect.statuses && !expect.statuses.includes(status)) {
    return `misleading code: HTTP ${status}, expected ${expect.statuses.join(" or ")}`;
  }
  return undefined;
}

interface Violation {
  readonly input: string;
  readonly outcome: string;
  readonly problem: string;
}

class Tally {
  readonly #counts = new Map<string, Map<string, number>>();
  readonly #violations = new Map<string, Violation[]>();
  #total = 0;

  get total(): number {
    return this.#total;
  }

  record(category: string, input: string, outcome: Outcome, problem: string | undefined): void {
    this.#total++;
    const counts = this.#counts.get(category) ?? new Map<string, number>();
    this.#counts.set(category, counts);
    counts.set(outcome.label, (counts.get(outcome.label) ?? 0) + 1);
    if (problem === undefined) return;
    const list = this.#violations.get(category) ?? [];
    this.#violations.set(category, list);
    list.push({ input, outcome: outcome.label, problem });
  }

  /** Prints one line per category under `prefix`: inputs tried and the answers seen. */
  print(prefix: string): void {
    for (const [category, counts] of [...this.#counts].sort(([a], [b]) => a.localeCompare(b))) {
      if (!category.startsWith(prefix)) continue;
      const tried = [...counts.values()].reduce((sum, count) => sum + count, 0);
      const seen = [...counts].sort(([, a], [, b]) => b - a).map(([label, count]) => `${label} ×${count}`);
      console.log(`  ${category}: ${tried} inputs; ${seen.join(", ")}`);
    }
  }

  /** Fails with every violation under `prefix`, grouped by problem, each with its first inputs. */
  assertNone(prefix: string): void {
    const byProblem = new Map<string, { count: number; examples: string[] }>();
    for (const [category, list] of this.#violations) {
      if (!category.startsWith(prefix)) continue;
      for (const violation of list) {
        const key = `${category}: ${violation.problem}`;
        const entry = byProblem.get(key) ?? { count: 0, examples: [] };
        byProblem.set(key, entry);
        entry.count++;
        if (entry.examples.length < 3) entry.examples.push(`${violation.input} -> ${violation.outcome}`);
      }
    }
    const lines = [...byProblem].map(
      ([key, { count, examples }]) => `${key} (${count}×)\n      ${examples.join("\n      ")}`,
    );
    assert.equal(
      lines.length,
      0,
      `seed ${SEED}: ${lines.length} kinds of violation\n    ${lines.join("\n    ")}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Clients: raw TCP, HTTP/1.1, HTTP/2 gRPC frames
// ---------------------------------------------------------------------------------------------------------------

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const H2_ERRORS = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];
const H2_INTERNAL_ERROR = 2;

/**
 * Opens a TCP connection, sends `data` and half-closes, and collects the answer until the server closes the
 * connection or answers in HTTP/2 (GOAWAY, RST_STREAM or a response): Node keeps an HTTP/2 connection open after
 * such an answer even when the client has half-closed (see the report), which is no hang of the request.
 */
function rawExchange(port: number, data: Buffer): Promise<{ bytes: Buffer; hang: boolean }> {
  return new Promise((resolvePromise) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (hang: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolvePromise({ bytes: Buffer.concat(chunks), hang });
    };
    const timer = setTimeout(() => finish(true), REQUEST_DEADLINE_MS);
    socket.on("connect", () => socket.end(data));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = h2Answer(Buffer.concat(chunks));
      if (answer !== null && (answer.goaway ?? answer.reset ?? answer.response) !== undefined) finish(false);
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}

/**
 * Labels a raw answer (HTTP/1.1 status line, HTTP/2 frames, nothing) and says what is wrong with it, if anything.
 * An INTERNAL_ERROR is Node's http2 answer to any frame its parser rejects, out of our reach once the bytes began
 * with the HTTP/2 preface; before that (random bytes or HTTP/1.1 on the gRPC port) the server can sniff for the
 * preface, as its HTTP port does, and refuse the connection without claiming a fault of its own.
 */
function judgeRaw(bytes: Buffer, sent: Buffer): { label: string; problem: string | undefined } {
  if (bytes.byteLength === 0) return { label: "closed silently", problem: undefined };
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(bytes.subarray(0, 32).toString("latin1"));
  if (statusLine !== null) {
    const status = Number(statusLine[1]);
    return {
      label: `HTTP/1.1 ${status}`,
      problem: status >= 500 ? `server fault: HTTP ${status}` : undefined,
    };
  }
  const answer = h2Answer(bytes);
  if (answer === null)
    return { label: "unrecognised bytes", problem: "an answer that is neither HTTP/1.1 nor HTTP/2" };
  const code = answer.goaway ?? answer.reset;
  if (code === undefined) {
    return {
      label: answer.response ? "HTTP/2 response" : "HTTP/2 SETTINGS, then closed",
      problem: undefined,
    };
  }
  const name = H2_ERRORS[code] ?? `error ${code}`;
  return {
    label: `HTTP/2 ${answer.goaway === undefined ? "RST_STREAM" : "GOAWAY"} ${name}`,
    problem:
      code === H2_INTERNAL_ERROR && !startsWithPreface(sent)
        ? "server fault: HTTP/2 INTERNAL_ERROR for a connection that never sent the HTTP/2 preface"
        : undefined,
  };
}

function startsWithPreface(bytes: Buffer): boolean {
  return (
    bytes.byteLength >= H2_PREFACE.byteLength && bytes.subarray(0, H2_PREFACE.byteLength).equals(H2_PREFACE)
  );
}

/**
 * What a server's HTTP/2 frames say: the first GOAWAY's and RST_STREAM's error codes, and whether a response
 * (HEADERS or DATA) came; null when the bytes are not HTTP/2 from a server (whose first frame is SETTINGS).
 */
function h2Answer(bytes: Buffer): { goaway?: number; reset?: number; response?: true } | null {
  const answer: { goaway?: number; reset?: number; response?: true } = {};
  let offset = 0;
  while (offset + 9 <= bytes.byteLength) {
    const length = bytes.readUIntBE(offset, 3);
    const type = bytes[offset + 3];
    if (offset === 0 && type !== 4) return null;
    const payload = offset + 9;
    if (type === 7 && payload + 8 <= bytes.byteLength) answer.goaway ??= bytes.readUInt32BE(payload + 4);
    if (type === 3 && payload + 4 <= bytes.byteLength) answer.reset ??= bytes.readUInt32BE(payload);
    if (type === 0 || type === 1) answer.response = true;
    offset = payload + length;
  }
  return offset === 0 ? null : answer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string | Buffer;
}

function httpCall(port: number, request: HttpRequest): Promise<Outcome> {
  return new Promise((resolvePromise) => {
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolvePromise(outcome);
    };
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: request.method,
        path: request.path,
        headers: { "content-type": "application/json", ...request.headers },
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          finish({ label: restLabel(status, body), status, body });
        });
        res.on("error", () => finish({ label: "closed", closed: true }));
      },
    );
    const timer = setTimeout(() => {
      finish({ label: "hang", hang: true });
      req.destroy();
    }, REQUEST_DEADLINE_MS);
    req.on("error", () => finish({ label: "closed", closed: true }));
    req.end(request.body);
  });
}

/** "400 code=3", "404 FLAG_NOT_FOUND", "400 invalid_argument": the status and the code in the error body. */
function restLabel(status: number, body: Buffer): string {
  if (status < 300) return String(status);
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { code?: unknown; errorCode?: unknown };
    if (typeof parsed.code === "number") return `${status} code=${parsed.code}`;
    if (typeof parsed.code === "string") return `${status} ${parsed.code}`;
    if (typeof parsed.errorCode === "string") return `${status} ${parsed.errorCode}`;
  } catch {
    // not JSON: the status alone
  }
  return String(status);
}

/** One HTTP/2 session per port, replaced when the server ends it. */
class H2Sessions {
  readonly #sessions = new Map<number, http2.ClientHttp2Session>();

  get(port: number): http2.ClientHttp2Session {
    const existing = this.#sessions.get(port);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    // A session the server ends is replaced on the next call; its streams report their own end.
    session.on("error", () => undefined);
    this.#sessions.set(port, session);
    return session;
  }

  close(): void {
    for (const session of this.#sessions.values()) session.destroy();
  }
}

interface GrpcSend {
  readonly headers?: Record<string, string>;
  /** False: the request stream is left open after the bytes (a client still "sending"). */
  readonly endStream?: boolean;
}

/** Sends raw bytes as a gRPC request body and reads the grpc-status (trailers-only or trailers). */
function grpcExchange(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
  send: GrpcSend = {},
): Promise<Outcome> {
  return new Promise((resolvePromise) => {
    let done = false;
    let head: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...send.headers,
    });
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolvePromise(outcome);
    };
    const fromHeaders = (headers: http2.IncomingHttpHeaders) => {
      const value = headers["grpc-status"];
      if (value === undefined) return;
      const code = Number(value);
      finish({ label: `gRPC ${codeName(code)}`, grpcCode: code, body: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => finish({ label: "hang", hang: true }), REQUEST_DEADLINE_MS);
    stream.on("response", (headers) => {
      head = headers;
      fromHeaders(headers);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("trailers", (trailers) => fromHeaders(trailers));
    stream.on("end", () => {
      const status = Number(head?.[":status"] ?? 0);
      finish({ label: `HTTP ${status} without grpc-status`, status, body: Buffer.concat(chunks) });
    });
    stream.on("error", () => finish({ label: "stream reset", closed: true }));
    stream.on("close", () => finish({ label: `stream closed (RST ${stream.rstCode})`, closed: true }));
    if (send.endStream === false) stream.write(body);
    else stream.end(body);
  });
}

/** A gRPC length-prefixed message: flags, a length (which may lie), then the bytes. */
function envelope(data: Uint8Array, options: { flags?: number; length?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header[0] = options.flags ?? 0;
  header.writeUInt32BE(options.length ?? data.byteLength, 1);
  return Buffer.concat([header, data]);
}

/** The message of a unary gRPC answer, without its envelope. */
function unenvelope(body: Buffer): Buffer | undefined {
  if (body.byteLength < 5) return undefined;
  const length = body.readUInt32BE(1);
  return body.byteLength === 5 + length ? body.subarray(5) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// RPC targets: each with a valid request, and what a success must say about the request it answers
// ---------------------------------------------------------------------------------------------------------------

interface Target {
  readonly name: string;
  /** "/package.Service/Method" */
  readonly path: string;
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly valid: Message;
  /** The problem with `output` as the answer to `request`, if any. */
  check(output: Message, request: Message): string | undefined;
  /** Bad input that decoding the request alone does not catch (the bytes inside a resource's Any). */
  refuses?(request: Message): boolean;
}

function target<I extends DescMessage, O extends DescMessage>(
  method: DescMethod & { readonly input: I; readonly output: O },
  valid: MessageInitShape<I>,
  check: (output: MessageShape<O>, request: MessageShape<I>) => string | undefined,
  refuses?: (request: MessageShape<I>) => boolean,
): Target {
  return {
    name: method.name,
    path: `/${method.parent.typeName}/${method.name}`,
    input: method.input,
    output: method.output,
    valid: create(method.input, valid),
    check: (output, request) => check(output as MessageShape<O>, request as MessageShape<I>),
    ...(refuses === undefined ? {} : { refuses: (request: Message) => refuses(request as MessageShape<I>) }),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const REVISION = /^[0-9a-f]{40}$/;

function requestIdProblem(sent: string, got: string): string | undefined {
  if (sent === "") return UUID.test(got) ? undefined : `requestId ${JSON.stringify(got)} is not a new UUID`;
  return got === sent ? undefined : `requestId ${JSON.stringify(got)} does not echo ${JSON.stringify(sent)}`;
}

/** Whether an evaluation request lands on the default namespace of the default environment. */
const onDefaults = (request: { namespaceKey: string; environmentKey: string }) =>
  ["", "default"].includes(request.namespaceKey) && ["", "default"].includes(request.environmentKey);

/** A context with none of the keys the proto-keys segment reads, which must then not match. */
const protoSafe = (context: Record<string, string>) =>
  !Object.hasOwn(context, "constructor") && !Object.hasOwn(context, "__proto__");

/** The bytes inside a resource's Any do not decode as the type it names. */
function badPayload(request: { payload?: { typeUrl: string; value: Uint8Array } | undefined }): boolean {
  const payload = request.payload;
  if (payload === undefined) return false;
  const name = payload.typeUrl.replace(/^type\.googleapis\.com\//, "");
  const schema = registry.getMessage(name);
  if (schema === undefined || !["flipt.core.Flag", "flipt.core.Segment"].includes(name)) return false;
  try {
    fromBinary(schema, payload.value);
    return false;
  } catch {
    return true;
  }
}

const fuzzedFlag = anyPack(
  FlagSchema,
  create(FlagSchema, { key: "fuzzed", name: "Fuzzed", type: FlagType.BOOLEAN_FLAG_TYPE }),
);

const TARGETS = {
  boolean: target(
    EvaluationService.method.boolean,
    { flagKey: "good", entityId: "e1", context: { plan: "pro" } },
    (output, request) => {
      if (output.flagKey !== request.flagKey)
        return `flagKey ${JSON.stringify(output.flagKey)} is not the one asked`;
      if (request.flagKey === "good" && onDefaults(request) && !output.enabled)
        return "good answered disabled";
      return requestIdProblem(request.requestId, output.requestId);
    },
  ),
  variant: target(
    EvaluationService.method.variant,
    { flagKey: "colour", entityId: "e1", context: {} },
    (output, request) => {
      if (output.flagKey !== request.flagKey)
        return `flagKey ${JSON.stringify(output.flagKey)} is not the one asked`;
      if (request.flagKey === "colour" && onDefaults(request) && protoSafe(request.context) && output.match) {
        return "colour matched a context without the keys its segment reads (prototype lookup?)";
      }
      return requestIdProblem(request.requestId, output.requestId);
    },
  ),
  batch: target(
    EvaluationService.method.batch,
    {
      requests: [
        { flagKey: "good", entityId: "e1" },
        { flagKey: "colour", entityId: "e2" },
      ],
    },
    (output, request) => {
      if (output.responses.length !== request.requests.length) {
        return `${output.responses.length} responses for ${request.requests.length} requests`;
      }
      for (const [index, response] of output.responses.entries()) {
        const asked = request.requests[index]?.flagKey;
        const type = response.type;
        const value = response.response.value;
        if (value === undefined) return `responses[${index}] is empty`;
        const expectedType =
          response.response.case === "booleanResponse"
            ? EvaluationResponseType.BOOLEAN_EVALUATION_RESPONSE_TYPE
            : response.response.case === "variantResponse"
              ? EvaluationResponseType.VARIANT_EVALUATION_RESPONSE_TYPE
              : EvaluationResponseType.ERROR_EVALUATION_RESPONSE_TYPE;
        if (type !== expectedType)
          return `responses[${index}] type ${type} does not fit ${response.response.case}`;
        if (value.flagKey !== asked) return `responses[${index}] answers ${value.flagKey}, not ${asked}`;
      }
      return undefined;
    },
  ),
  ofrepFlag: target(
    OFREPService.method.evaluateFlag,
    { key: "good", context: { targetingKey: "e1" } },
    (o, r) => (o.key === r.key ? undefined : `key ${JSON.stringify(o.key)} is not the one asked`),
  ),
  ofrepBulk: target(OFREPService.method.evaluateBulk, { context: { targetingKey: "e1" } }, (output) =>
    output.flags.every((flag) => flag.key !== "") ? undefined : "a flag without a key",
  ),
  snapshot: target(
    ClientEvaluationService.method.evaluationSnapshotNamespace,
    { key: "default", environmentKey: "default" },
    (output, request) =>
      output.namespace?.key === (request.key || "default") ? undefined : "snapshot of another namespace",
  ),
  health: target(Health.method.check, {}, (output) =>
    output.status === HealthCheckResponse_ServingStatus.SERVING ? undefined : `status ${output.status}`,
  ),
  createNamespace: target(
    EnvironmentsService.method.createNamespace,
    { environmentKey: "default", key: "fuzzed", name: "Fuzzed" },
    (output, request) => {
      if (output.namespace?.key !== request.key) return "answers another namespace";
      return REVISION.test(output.revision) ? undefined : `revision ${JSON.stringify(output.revision)}`;
    },
  ),
  createResource: target(
    EnvironmentsService.method.createResource,
    { environmentKey: "default", namespaceKey: "default", key: "fuzzed", payload: fuzzedFlag },
    (output, request) => resourceProblem(output, request),
    badPayload,
  ),
  updateResource: target(
    EnvironmentsService.method.updateResource,
    { environmentKey: "default", namespaceKey: "default", key: "fuzzed", payload: fuzzedFlag },
    (output, request) => resourceProblem(output, request),
    badPayload,
  ),
};

function resourceProblem(
  output: { resource?: { key: string; namespaceKey: string } | undefined; revision: string },
  request: { key: string; namespaceKey: string },
): string | undefined {
  if (output.resource?.key !== request.key) return "answers another resource";
  if (output.resource.namespaceKey !== request.namespaceKey) return "answers another namespace";
  return REVISION.test(output.revision) ? undefined : `revision ${JSON.stringify(output.revision)}`;
}

/** The request a binary body decodes to, or undefined when it is bad input. */
function decodeBinary(target: Target, bytes: Uint8Array): Message | undefined {
  try {
    const request = fromBinary(target.input, bytes);
    return target.refuses?.(request) ? undefined : request;
  } catch {
    return undefined;
  }
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The request a JSON body decodes to, or undefined when it is bad input: not UTF-8, not JSON, not an object, or
 * not the message (unknown fields are ignored, as Flipt's gateway does). `fields` are the path parameters.
 */
function decodeJson(
  target: Target,
  bytes: Buffer,
  fields: Readonly<Record<string, string>>,
): Message | undefined {
  let parsed: unknown;
  try {
    const text = fatalUtf8.decode(bytes).trim();
    parsed = text === "" ? {} : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  try {
    const request = fromJson(target.input, parsed as JsonObject, { ignoreUnknownFields: true, registry });
    Object.assign(request, fields);
    return target.refuses?.(request) ? undefined : request;
  } catch {
    return undefined;
  }
}

/** A success body in JSON must decode as the output message and answer the request. */
function jsonSuccess(target: Target, request: Message) {
  return (body: Buffer): string | undefined => {
    let output: Message;
    try {
      output = fromJson(target.output, JSON.parse(body.toString("utf8")) as JsonValue, {
        ignoreUnknownFields: true,
        registry,
      });
    } catch (error) {
      return `success body is not a ${target.output.typeName}: ${String(error).slice(0, 120)}`;
    }
    const problem = target.check(output, request);
    return problem === undefined ? undefined : `wrong success body: ${problem}`;
  };
}

function binarySuccess(target: Target, request: Message) {
  return (body: Buffer): string | undefined => {
    const message = unenvelope(body);
    if (message === undefined) return "success without exactly one message";
    let output: Message;
    try {
      output = fromBinary(target.output, message);
    } catch {
      return `success message is not a ${target.output.typeName}`;
    }
    const problem = target.check(output, request);
    return problem === undefined ? undefined : `wrong success message: ${problem}`;
  };
}

/** A short, replayable description of bytes: printable text as is, the rest escaped, long ones cut. */
function show(bytes: Buffer | string, max = 120): string {
  const buffer = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  const text = JSON.stringify(buffer.subarray(0, max).toString("latin1"));
  return buffer.byteLength > max ? `${text}… (${buffer.byteLength} bytes)` : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Input generators
// ---------------------------------------------------------------------------------------------------------------

const RAW_PER_PORT_AND_SHAPE = 24;

const RAW_SHAPES: Record<string, (random: SeededRandom) => Buffer> = {
  "random bytes": (random) => random.bytes(random.int(1, 2048)),
  "HTTP/1.1 start, then random bytes": (random) =>
    Buffer.concat([
      Buffer.from(
        random.pick([
          "POST /evaluate/v1/boolean HTTP/1.1\r\n",
          "GET /health HTTP/1.1\r\nHost: x\r\n",
          "POST /flipt.evaluation.EvaluationService/Boolean HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n",
        ]),
        "latin1",
      ),
      random.bytes(random.int(1, 1024)),
    ]),
  "HTTP/2 preface, then random bytes": (random) =>
    Buffer.concat([H2_PREFACE, random.bytes(random.int(1, 1024))]),
  "HTTP/2 preface, then random frames": (random) => {
    const parts: Buffer[] = [H2_PREFACE];
    if (random.chance(0.6)) parts.push(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    for (let count = random.int(1, 6); count > 0; count--) {
      const payload = random.bytes(random.int(0, 64));
      const header = Buffer.alloc(9);
      header.writeUIntBE(random.chance(0.15) ? random.int(0, 2 ** 24 - 1) : payload.byteLength, 0, 3);
      header[3] = random.chance(0.8) ? random.int(0, 9) : random.int(10, 255);
      header[4] = random.int(0, 255);
      header.writeUInt32BE(random.pick([0, 1, 3, random.int(0, 2 ** 31 - 1)]), 5);
      parts.push(header, payload);
    }
    return Buffer.concat(parts);
  },
  "part of the HTTP/2 preface": (random) => H2_PREFACE.subarray(0, random.int(1, H2_PREFACE.byteLength - 1)),
};

/** Malformed HTTP/1.1 that parsers have got wrong before, for the HTTP port. */
const HTTP1_CASES: Record<string, string> = {
  "Content-Length and Transfer-Encoding together":
    "POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "a chunk size that is not hex":
    "POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
  "a negative Content-Length":
    "POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
  "a Content-Length over the limit and a short body": `POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nContent-Length: ${
    MAX_REQUEST_BYTES * 100
  }\r\n\r\n{}`,
  "a Content-Length of 2^64":
    "POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n{}",
  "a 100 KB header": `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`,
  "2 000 headers": `GET /health HTTP/1.1\r\nHost: x\r\n${"X-A: b\r\n".repeat(2000)}\r\n`,
  "NUL in the path": "GET /api/v2/environments/default/namespaces/\0 HTTP/1.1\r\nHost: x\r\n\r\n",
  "dot segments in the path":
    "GET /api/v2/environments/default/namespaces/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
  "backslashes in the path": "GET /api\\v2\\..\\..\\etc\\passwd HTTP/1.1\r\nHost: x\r\n\r\n",
  "an absolute-form target": "GET http://elsewhere.example/health HTTP/1.1\r\nHost: x\r\n\r\n",
  "HTTP/0.9": "GET /health\r\n",
  "an unknown method": "BREW /health HTTP/1.1\r\nHost: x\r\n\r\n",
  "no Host header": "GET /health HTTP/1.1\r\n\r\n",
  "an h2c upgrade":
    "GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
  "a WebSocket upgrade":
    "GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  "a request line of 100 KB": `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  "header folding": "GET /health HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n",
  "a bare LF": "GET /health HTTP/1.1\nHost: x\n\n",
};

/** A varint, for hand-built protobuf. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** The valid request with one more string field whose bytes are not UTF-8. */
function withInvalidUtf8(target: Target, bad: Buffer): Buffer | undefined {
  const field = target.input.fields.find(
    (candidate) => candidate.fieldKind === "scalar" && candidate.scalar === ScalarType.STRING,
  );
  if (field === undefined) return undefined;
  return Buffer.concat([
    toBinary(target.input, target.valid),
    varint((field.number << 3) | 2),
    varint(bad.byteLength),
    bad,
  ]);
}

/** Random bytes, or the valid request's bytes with a few flipped, inserted, cut or repeated. */
function mutateBinary(random: SeededRandom, valid: Uint8Array): Buffer {
  if (random.chance(0.35) || valid.byteLength === 0) return random.bytes(random.int(1, 300));
  const bytes = [...valid];
  for (let count = random.int(1, 4); count > 0; count--) {
    const at = random.int(0, bytes.length);
    switch (random.int(0, 3)) {
      case 0:
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = random.int(0, 255);
        break;
      case 1:
        bytes.splice(at, 0, ...random.bytes(random.int(1, 8)));
        break;
      case 2:
        bytes.splice(at, random.int(1, 8));
        break;
      default:
        bytes.splice(at, 0, ...bytes.slice(at, at + random.int(1, 16)));
    }
  }
  return Buffer.from(bytes);
}

const INVALID_UTF8: Record<string, Buffer> = {
  "0xff": Buffer.from([0xff]),
  "overlong /": Buffer.from([0xc0, 0xaf]),
  "UTF-8 surrogate": Buffer.from([0xed, 0xa0, 0x80]),
  "cut sequence": Buffer.from([0xe2, 0x82]),
  "lone continuation": Buffer.from([0x80]),
  "5-byte form": Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
};

const WRONG_VALUES: readonly JsonValue[] = [123, -1, 1.5, true, false, null, [], {}, "", "x", [1], { a: 1 }];

const NOT_JSON = [
  "{",
  "}",
  "nul",
  '{"flagKey":}',
  "{} trailing",
  "NaN",
  "[1,]",
  "{'flagKey':'good'}",
  "// comment\n{}",
  "\u0000",
  '{"flagKey":"good",}',
  '{"flagKey":"\\x41"}',
];
const NOT_OBJECTS = ["[]", "1", '"text"', "true", "null", "[{}]"];

interface JsonCase {
  readonly name: string;
  readonly body: Buffer;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");
const nested = (depth: number, leaf: string) => `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`;
const deepStruct = (depth: number): JsonValue => {
  let value: JsonValue = "leaf";
  for (let level = 0; level < depth; level++) value = { n: value };
  return value;
};

/** Replaces the text of `value` (a JSON string, quotes included) in `text` by raw bytes. */
function spliceBytes(text: string, value: string, bytes: Buffer): Buffer | undefined {
  const quoted = JSON.stringify(value);
  const at = text.indexOf(quoted);
  if (at === -1) return undefined;
  return Buffer.concat([
    Buffer.from(`${text.slice(0, at)}"`, "utf8"),
    Buffer.from(value.slice(0, 1), "utf8"),
    bytes,
    Buffer.from(`${value.slice(1)}"${text.slice(at + quoted.length)}`, "utf8"),
  ]);
}

/** The hostile JSON bodies for one route, from its valid body. */
function jsonCases(random: SeededRandom, base: JsonObject, write: boolean): JsonCase[] {
  const cases: JsonCase[] = [];
  const add = (name: string, body: Buffer | string) =>
    cases.push({ name, body: typeof body === "string" ? Buffer.from(body, "utf8") : body });
  const baseText = JSON.stringify(base);

  for (const text of NOT_JSON) add(`not JSON ${JSON.stringify(text)}`, text);
  for (const text of NOT_OBJECTS) add(`not an object ${text}`, text);
  add("an empty body", "");

  // Wrong types, at the top and one level down (context, the batch's first request, the resource's payload).
  for (const field of Object.keys(base)) {
    for (const value of WRONG_VALUES)
      add(`${field} = ${JSON.stringify(value)}`, json({ ...base, [field]: value }));
  }
  for (const [field, child] of Object.entries(base)) {
    const object = Array.isArray(child) ? child[0] : child;
    if (typeof object !== "object" || object === null || Array.isArray(object)) continue;
    const keys = Object.keys(object).filter((key) => key !== "@type");
    for (const key of keys.length > 0 ? keys : ["plan"]) {
      for (let count = 0; count < 4; count++) {
        const value = random.pick(WRONG_VALUES);
        const changed = { ...object, [key]: value };
        add(
          `${field}.${key} = ${JSON.stringify(value)}`,
          json({ ...base, [field]: Array.isArray(child) ? [changed, ...child.slice(1)] : changed }),
        );
      }
    }
  }
  if ("payload" in base) {
    for (const type of ["", "flipt.core.Nope", "../flipt.core.Flag", 1, null]) {
      add(
        `payload @type ${JSON.stringify(type)}`,
        json({ ...base, payload: { ...(base.payload as object), "@type": type } }),
      );
    }
    add("payload without @type", json({ ...base, payload: { key: "fuzzed", name: "Fuzzed" } }));
    // Enum numbers no name stands for (proto3 JSON accepts numbers for enums).
    const payload = base.payload as JsonObject;
    add("payload type 123", json({ ...base, payload: { ...payload, type: 123 } }));
    add("payload rollout type 77", json({ ...base, payload: { ...payload, rollouts: [{ type: 77 }] } }));
    add(
      "payload rule segmentOperator 9",
      json({ ...base, payload: { ...payload, rules: [{ segments: ["proto-keys"], segmentOperator: 9 }] } }),
    );
  }

  // Deep nesting: ignored where the field is unknown, refused where it must be a string, bounded in Struct values.
  add(
    "unknown field nested 20 000 deep",
    `{"deep":${nested(20_000, "1")}${baseText === "{}" ? "}" : `,${baseText.slice(1)}`}`,
  );
  add("an object 20 000 deep in the body", `{"context":{"a":${nested(20_000, '"x"')}}}`);
  const firstField = Object.keys(base)[0];
  if (firstField !== undefined) {
    add(`${firstField} nested 20 000 deep`, `{"${firstField}":${nested(20_000, '"x"')}}`);
  }
  if (write && "payload" in base) {
    // Built as text: JSON.stringify itself recurses, and the point is the server's reader.
    const DEEP = "\u0000deep\u0000";
    const withDeep = (value: unknown, deep: string) =>
      JSON.stringify(value).replace(JSON.stringify(DEEP), deep);
    for (const depth of [40, 50, 60, 5_000]) {
      add(
        `flag metadata nested ${depth} deep`,
        withDeep(
          { ...base, payload: { ...(base.payload as object), metadata: { n: DEEP } } },
          `${'{"n":'.repeat(depth - 1)}"leaf"${"}".repeat(depth - 1)}`,
        ),
      );
    }
    for (const depth of [50, 5_000]) {
      add(
        `variant attachment nested ${depth} deep`,
        withDeep(
          {
            ...base,
            payload: {
              ...(base.payload as object),
              type: "VARIANT_FLAG_TYPE",
              variants: [{ key: "v", name: "V", attachment: DEEP }],
            },
          },
          nested(depth, "1"),
        ),
      );
    }
  }

  // Huge strings: under the limit they are ordinary input; over it, refused before they are read.
  const stringFields = Object.entries(base).filter(([, value]) => typeof value === "string");
  for (const [field] of stringFields) {
    add(`${field} of 60 000 characters`, json({ ...base, [field]: "x".repeat(60_000) }));
  }
  if (stringFields[0] !== undefined) {
    add(
      `${stringFields[0][0]} of 70 000 characters (over the limit)`,
      json({ ...base, [stringFields[0][0]]: "x".repeat(70_000) }),
    );
  }
  // Longer than a file name may be (255 bytes): a key that becomes a directory must be refused, not fail.
  for (const [field] of stringFields) {
    add(`${field} of 300 characters`, json({ ...base, [field]: "k".repeat(300) }));
  }
  const hasContext = "context" in base;
  if (hasContext) {
    add(
      "4 000 context entries",
      json({ ...base, context: Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`k${i}`, "v"])) }),
    );
    add("a context value of 60 000 characters", json({ ...base, context: { plan: "p".repeat(60_000) } }));
  }
  add("a body of 1 MiB of spaces", `${" ".repeat(1024 * 1024)}${baseText}`);

  // Invalid UTF-8 (RFC 8259 §8.1; protobuf strings must be UTF-8) in an ignored field, a string field, a context
  // value and a context key. Writes get fewer: while they are accepted, each one is a commit.
  const probeText = JSON.stringify({
    ...base,
    ...(hasContext ? { context: { plan: "pro" } } : {}),
    marker: "marker",
  });
  const realString = stringFields[0];
  const positions: [string, string][] = [
    ["an ignored field", "marker"],
    ...(realString === undefined ? [] : [[realString[0], realString[1] as string] as [string, string]]),
    ...(hasContext
      ? ([
          ["a context value", "pro"],
          ["a context key", "plan"],
        ] as [string, string][])
      : []),
  ];
  const sequences = Object.entries(INVALID_UTF8).slice(0, write ? 2 : undefined);
  for (const [name, bytes] of sequences) {
    for (const [where, value] of positions) {
      const body = spliceBytes(probeText, value, bytes);
      if (body !== undefined) add(`invalid UTF-8 (${name}) in ${where}`, body);
    }
  }
  if (firstField !== undefined && typeof base[firstField] === "string") {
    add(`a lone surrogate escape in ${firstField}`, `{"${firstField}":"\\ud800"}`);
  }

  // Keys that reach for Object.prototype.
  add("__proto__ holding the body", `{"__proto__":${baseText}}`);
  add("__proto__ next to the body", `{"__proto__":{"context":{"constructor":"x"}},${baseText.slice(1)}}`);
  if (hasContext)
    add(
      "prototype names as context keys",
      json({
        ...base,
        context: JSON.parse('{"__proto__":"x","constructor":"","toString":"y","hasOwnProperty":"z"}'),
      }),
    );
  if (hasContext) add("constructor as a context key", json({ ...base, context: { constructor: "set" } }));

  // Random edits of the valid text.
  const alphabet = '{}[]":,.-+0123456789eEtrufalsn \\/';
  for (let count = 0; count < (write ? 12 : 20); count++) {
    const chars = [...baseText];
    for (let edits = random.int(1, 4); edits > 0; edits--) {
      const at = random.int(0, chars.length);
      const char = random.chance(0.7)
        ? (alphabet[random.int(0, alphabet.length - 1)] as string)
        : String.fromCharCode(random.int(0x20, 0x7e));
      if (random.chance(0.5)) chars.splice(at, 0, char);
      else chars.splice(at, random.int(1, 6));
    }
    add(`edit #${count} ${show(chars.join(""), 80)}`, chars.join(""));
  }
  return cases;
}

/** Keys that try to leave the repository, for namespaces, flags and segments. */
function traversalKeys(sandbox: string): string[] {
  return [
    "../escape",
    "../../../../../../tmp/pennant-hostile-escape",
    "..",
    ".",
    "a/../../escape",
    join(sandbox, "abs-escape"),
    "/tmp/pennant-hostile-escape",
    "..\\escape",
    "C:\\escape",
    "\\\\server\\share\\escape",
    "escape\u0000.yaml",
    "good\u0000../escape",
    "%2e%2e%2fescape",
    "..%2fescape",
    "%252e%252e%252fescape",
    "features.yaml",
    ".git/config",
    "~/escape",
    "\uff0e\uff0e/escape",
    "good\n",
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------

describe(`hostile input against one server (seed ${SEED})`, () => {
  const rng = createSeededRandom(SEED);
  const tally = new Tally();
  const sessions = new H2Sessions();
  const memory = { baseline: 0, peak: 0 };
  let sandbox: string;
  let repoPath: string;
  let server: TestServer;
  let grpcTransport: Transport;
  let treeBefore: Map<string, string>;
  /** Paths outside the sandbox that a traversal key names and that did not exist at the start. */
  let escapeTargets: string[];
  const started = Date.now();

  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args], {
      cwd: repoPath,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    }).trim();

  const sampleMemory = () => {
    memory.peak = Math.max(memory.peak, process.memoryUsage.rss());
  };
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const assertMemoryBounded = (where: string) => {
    const growth = memory.peak - memory.baseline;
    assert.ok(
      growth < RSS_GROWTH_LIMIT,
      `${where}: resident memory grew by ${mib(growth)} MiB, over the ${mib(RSS_GROWTH_LIMIT)} MiB bound`,
    );
  };

  interface Status {
    revision: string;
    loadedAt?: string;
    lastError?: { message: string; issues: { file?: string; line?: number; message: string }[] };
  }
  const status = async (): Promise<Status> => {
    const outcome = await httpCall(server.server.httpPort, { method: "GET", path: "/meta/status" });
    assert.equal(outcome.status, 200, `/meta/status answered ${outcome.label}`);
    const body = JSON.parse((outcome.body ?? Buffer.alloc(0)).toString("utf8")) as { environments: Status[] };
    return body.environments[0] as Status;
  };

  /** /health and a known-good evaluation over REST and gRPC on both ports; the proto-keys segment not fooled. */
  const assertAlive = async (where: string) => {
    const port = server.server.httpPort;
    const health = await httpCall(port, { method: "GET", path: "/health" });
    assert.equal(health.status, 200, `${where}: /health answered ${health.label}`);
    assert.deepEqual(JSON.parse(String(health.body)), { status: "SERVING" }, `${where}: /health`);
    const good = await httpCall(port, {
      method: "POST",
      path: "/evaluate/v1/boolean",
      body: JSON.stringify({ flagKey: "good", entityId: "alive" }),
    });
    assert.equal(good.status, 200, `${where}: the known-good evaluation answered ${good.label}`);
    const goodBody = JSON.parse(String(good.body)) as { enabled: boolean; flagKey: string };
    assert.deepEqual(
      [goodBody.flagKey, goodBody.enabled],
      ["good", true],
      `${where}: the known-good evaluation`,
    );
    const colour = await httpCall(port, {
      method: "POST",
      path: "/evaluate/v1/variant",
      body: JSON.stringify({ flagKey: "colour", entityId: "alive", context: {} }),
    });
    assert.equal(colour.status, 200, `${where}: the variant evaluation answered ${colour.label}`);
    assert.equal((JSON.parse(String(colour.body)) as { match: boolean }).match, false, `${where}: colour`);
    const grpcHealth = await createClient(Health, grpcTransport).check(
      {},
      { timeoutMs: REQUEST_DEADLINE_MS },
    );
    assert.equal(grpcHealth.status, HealthCheckResponse_ServingStatus.SERVING, `${where}: gRPC health`);
    const grpcGood = await createClient(EvaluationService, grpcTransport).boolean(
      { flagKey: "good", entityId: "alive" },
      { timeoutMs: REQUEST_DEADLINE_MS },
    );
    assert.equal(grpcGood.enabled, true, `${where}: the known-good evaluation over gRPC`);
    sampleMemory();
  };

  /** Runs one input: sends it, judges the outcome, counts it, and every ALIVE_EVERY inputs checks the server. */
  const run = async (
    category: string,
    input: string,
    send: () => Promise<Outcome>,
    expect: Expect | ((outcome: Outcome) => string | undefined),
  ) => {
    const outcome = await send();
    const problem = typeof expect === "function" ? expect(outcome) : judge(outcome, expect);
    tally.record(category, input, outcome, problem);
    sampleMemory();
    if (tally.total % ALIVE_EVERY === 0)
      await assertAlive(`after input ${tally.total} (${category}: ${input})`);
  };

  const finishPhase = async (prefix: string, phaseStarted: number) => {
    console.log(
      `hostile input, ${prefix} (${Date.now() - phaseStarted} ms; rss peak so far ${mib(memory.peak)} MiB, ` +
        `${mib(memory.baseline)} MiB at start):`,
    );
    tally.print(prefix);
    await assertAlive(`after ${prefix}`);
    assertMemoryBounded(`after ${prefix}`);
    assert.ok(tally.total <= MAX_INPUTS, `${tally.total} inputs, over the budget of ${MAX_INPUTS}`);
    tally.assertNone(prefix);
  };

  before(async () => {
    console.log(`hostile input: seed ${SEED} (replay with PENNANT_FUZZ_SEED=${SEED})`);
    sandbox = await mkdtemp(join(tmpdir(), "pennant-hostile-"));
    repoPath = join(sandbox, "repo");
    await mkdir(join(repoPath, "team"), { recursive: true });
    await writeFile(join(repoPath, "features.yaml"), FEATURES);
    await writeFile(join(repoPath, "team", "features.yaml"), TEAM);
    git("init", "--quiet", "--initial-branch", "main");
    git("add", "--all");
    git("commit", "--quiet", "--message", "fixtures");
    // Decoys a traversal could reach: a sibling "outside" the repository with a features file of its own.
    await mkdir(join(sandbox, "outside"));
    await writeFile(join(sandbox, "outside", "features.yaml"), 'version: "1.6"\nflags: []\n');
    treeBefore = await listTree(sandbox);
    escapeTargets = traversalKeys(sandbox)
      .flatMap((key) => [resolve(repoPath, key), resolve(repoPath, key, "features.yaml")])
      .filter((path) => !path.startsWith(`${sandbox}/`) && !existsSync(path));
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repoPath,
      FLIPT_SERVER_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
    });
    grpcTransport = createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 });
    assert.equal((await status()).lastError, undefined, "the fixtures load");
    await assertAlive("at start");
    memory.baseline = process.memoryUsage.rss();
    memory.peak = memory.baseline;
  });

  after(async () => {
    sessions.close();
    agent.destroy();
    await server?.stop();
    if (sandbox !== undefined) await rm(sandbox, { recursive: true, force: true });
    console.log(
      `hostile input: ${tally.total} inputs in ${Date.now() - started} ms, seed ${SEED}; ` +
        `rss ${mib(memory.baseline)} MiB at start, peak ${mib(memory.peak)} MiB`,
    );
  });

  it("answers random bytes on raw TCP to either port with a 4xx or a closed connection, never a 5xx or a hang", async () => {
    const phaseStarted = Date.now();
    const random = rng.fork("raw");
    const ports = { http: server.server.httpPort, grpc: server.server.grpcPort };
    // The harness sees answers: a well-formed request gets its 200.
    const control = await rawExchange(
      ports.http,
      Buffer.from("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", "latin1"),
    );
    assert.match(control.bytes.toString("latin1"), /^HTTP\/1\.1 200/);
    for (const [portName, port] of Object.entries(ports)) {
      for (const [shape, generate] of Object.entries(RAW_SHAPES)) {
        for (let count = 0; count < RAW_PER_PORT_AND_SHAPE; count++) {
          const data = generate(random);
          let problem: string | undefined;
          await run(
            `raw/${portName} port/${shape}`,
            show(data),
            async () => {
              const { bytes, hang } = await rawExchange(port, data);
              if (hang) return { label: "hang", hang: true };
              const judged = judgeRaw(bytes, data);
              problem = judged.problem;
              return { label: judged.label };
            },
            (outcome) => (outcome.hang ? `no answer or close within ${REQUEST_DEADLINE_MS} ms` : problem),
          );
        }
      }
    }
    for (const [name, text] of Object.entries(HTTP1_CASES)) {
      let problem: string | undefined;
      await run(
        "raw/http port/malformed HTTP/1.1",
        `${name}: ${show(text, 60)}`,
        async () => {
          const data = Buffer.from(text, "latin1");
          const { bytes, hang } = await rawExchange(ports.http, data);
          if (hang) return { label: "hang", hang: true };
          const judged = judgeRaw(bytes, data);
          problem = judged.problem;
          return { label: judged.label };
        },
        (outcome) => (outcome.hang ? `no answer or close within ${REQUEST_DEADLINE_MS} ms` : problem),
      );
    }
    await finishPhase("raw/", phaseStarted);
  });

  it("answers broken gRPC frames and invalid protobuf on both ports with InvalidArgument or ResourceExhausted", async () => {
    const phaseStarted = Date.now();
    const random = rng.fork("grpc");
    const oversized = MAX_REQUEST_BYTES + 1;
    for (const [portName, port] of [
      ["gRPC port", server.server.grpcPort],
      ["HTTP port (h2c)", server.server.httpPort],
    ] as const) {
      for (const target of Object.values(TARGETS)) {
        const category = `grpc/${portName}/${target.name}`;
        const valid = Buffer.from(toBinary(target.input, target.valid));
        // Some bytes to cut or mislabel, for requests whose valid form is empty.
        const nonEmpty = valid.byteLength > 0 ? valid : Buffer.from([0x0a, 0x00]);
        const send = (body: Buffer, options?: GrpcSend) => () =>
          grpcExchange(sessions.get(port), target.path, body, options);
        const fixed: [string, Buffer, Expect, GrpcSend?][] = [
          ["the valid request", envelope(valid), { success: binarySuccess(target, target.valid) }],
          [
            "a length prefix longer than the bytes sent",
            envelope(nonEmpty, { length: nonEmpty.byteLength + random.int(1, 100) }),
            { codes: [Code.InvalidArgument] },
          ],
          [
            "a cut length prefix",
            Buffer.from([0, 0, 0].slice(0, random.int(1, 3))),
            { codes: [Code.InvalidArgument] },
          ],
          [
            "a length prefix of 2 GiB, stream ended",
            envelope(valid, { length: 2 ** 31 }),
            { codes: [Code.ResourceExhausted] },
          ],
          [
            "a length prefix of 2 GiB, stream left open",
            envelope(valid, { length: 2 ** 31 }),
            { codes: [Code.ResourceExhausted] },
            { endStream: false },
          ],
          [
            "a message one byte over max_request_bytes",
            envelope(Buffer.alloc(oversized, 0x41)),
            { codes: [Code.ResourceExhausted] },
          ],
          [
            "the compressed flag without grpc-encoding",
            envelope(nonEmpty, { flags: 1 }),
            { codes: [Code.InvalidArgument] },
          ],
          [
            "gzip-flagged bytes that are not gzip",
            envelope(nonEmpty, { flags: 1 }),
            { codes: [Code.InvalidArgument] },
            { headers: { "grpc-encoding": "gzip" } },
          ],
          [
            "an unknown grpc-encoding",
            envelope(nonEmpty, { flags: 1 }),
            { codes: [Code.Unimplemented] },
            { headers: { "grpc-encoding": "lzma-9000" } },
          ],
          ["no message", Buffer.alloc(0), { codes: [Code.InvalidArgument, Code.Unimplemented] }],
          [
            "two messages",
            Buffer.concat([envelope(valid), envelope(valid)]),
            { codes: [Code.InvalidArgument, Code.Unimplemented] },
          ],
          [
            "a grpc-timeout that is not one",
            envelope(valid),
            { codes: [Code.InvalidArgument] },
            { headers: { "grpc-timeout": "soon" } },
          ],
          [
            "grpc+json that is not JSON",
            envelope(Buffer.from("{{{")),
            { codes: [Code.InvalidArgument] },
            { headers: { "content-type": "application/grpc+json" } },
          ],
          [
            "reserved flag bits set",
            envelope(valid, { flags: random.int(2, 0x7f) << 1 }),
            { success: binarySuccess(target, target.valid) },
          ],
        ];
        for (const [name, bytes] of Object.entries(INVALID_UTF8)) {
          const body = withInvalidUtf8(target, bytes);
          if (body !== undefined) {
            fixed.push([
              `invalid UTF-8 (${name}) in a string field`,
              envelope(body),
              { codes: [Code.InvalidArgument] },
            ]);
          }
        }
        if (target.refuses !== undefined) {
          const resource = (key: string, payload: MessageInitShape<typeof AnySchema>) =>
            envelope(
              toBinary(
                target.input,
                create(target.input, { environmentKey: "default", namespaceKey: "default", key, payload }),
              ),
            );
          fixed.push([
            "a payload Any whose bytes are not a Flag",
            resource("garbled", { typeUrl: "flipt.core.Flag", value: Buffer.from([0x0f, 0xff, 0xff]) }),
            { codes: [Code.InvalidArgument] },
          ]);
          const deep = create(FlagSchema, {
            key: "deep",
            name: "Deep",
            metadata: deepStruct(60) as JsonObject,
          });
          fixed.push([
            "a payload Flag with metadata nested 60 deep",
            resource("deep", create(AnySchema, anyPack(FlagSchema, deep))),
            { codes: [Code.InvalidArgument] },
          ]);
        }
        for (const [name, body, expect, options] of fixed) {
          await run(category, `${name}: ${show(body, 60)}`, send(body, options), expect);
        }
        for (let count = 0; count < 12; count++) {
          const message = mutateBinary(random, valid);
          const request = decodeBinary(target, message);
          await run(
            category,
            `random message #${count} (${request === undefined ? "invalid" : "decodes"}): ${show(message, 60)}`,
            send(envelope(message)),
            request === undefined
              ? { codes: [Code.InvalidArgument] }
              : { success: binarySuccess(target, request) },
          );
        }
      }
    }
    await finishPhase("grpc/", phaseStarted);
  });

  it("answers hostile JSON on REST and Connect routes with a 4xx, and a success only with the right body", async () => {
    const phaseStarted = Date.now();
    const random = rng.fork("json");
    interface Route {
      readonly name: string;
      readonly target: Target;
      readonly method: string;
      readonly path: string;
      /** Path parameters, by field name: in the URL, not the body. */
      readonly params: Readonly<Record<string, string>>;
      readonly write: boolean;
    }
    const resources = "/api/v2/environments/default/namespaces/default/resources";
    const inPath = { environmentKey: "default", namespaceKey: "default" };
    const routes: Route[] = [
      { target: TARGETS.boolean, method: "POST", path: "/evaluate/v1/boolean", params: {}, write: false },
      { target: TARGETS.variant, method: "POST", path: "/evaluate/v1/variant", params: {}, write: false },
      { target: TARGETS.batch, method: "POST", path: "/evaluate/v1/batch", params: {}, write: false },
      {
        target: TARGETS.ofrepFlag,
        method: "POST",
        path: "/ofrep/v1/evaluate/flags/good",
        params: { key: "good" },
        write: false,
      },
      {
        target: TARGETS.ofrepBulk,
        method: "POST",
        path: "/ofrep/v1/evaluate/flags",
        params: {},
        write: false,
      },
      {
        target: TARGETS.createNamespace,
        method: "POST",
        path: "/api/v2/environments/default/namespaces",
        params: { environmentKey: "default" },
        write: true,
      },
      { target: TARGETS.createResource, method: "POST", path: resources, params: inPath, write: true },
      { target: TARGETS.updateResource, method: "PUT", path: resources, params: inPath, write: true },
    ].map((route) => ({ ...route, name: `REST ${route.method} ${route.path}` }));
    for (const target of [
      TARGETS.boolean,
      TARGETS.variant,
      TARGETS.batch,
      TARGETS.ofrepFlag,
      TARGETS.createNamespace,
    ]) {
      routes.push({
        name: `Connect ${target.path}`,
        target,
        method: "POST",
        path: target.path,
        params: {},
        write: target === TARGETS.createNamespace,
      });
    }
    for (const route of routes) {
      const connect = route.name.startsWith("Connect");
      const base = toJson(route.target.input, route.target.valid, { registry }) as JsonObject;
      for (const field of Object.keys(route.params)) delete base[field];
      for (const { name, body } of jsonCases(random, base, route.write)) {
        if (connect && body.byteLength === 0) continue;
        const overLimit = body.byteLength > MAX_REQUEST_BYTES;
        const request = overLimit ? undefined : decodeJson(route.target, body, route.params);
        // connect-es reads JSON the way JSON.parse does, with U+FFFD for bytes that are not UTF-8 (every Connect
        // server in JavaScript does): the request is then whatever those characters make it, found or not.
        const lossy = connect && name.startsWith("invalid UTF-8");
        const expect: Expect = overLimit
          ? { statuses: [413, 429], mayClose: true }
          : lossy
            ? { statuses: [400, 404, 409], success: () => undefined }
            : request === undefined
              ? { statuses: [400] }
              : { success: jsonSuccess(route.target, request) };
        await run(
          `json/${route.name}`,
          name,
          () => httpCall(server.server.httpPort, { method: route.method, path: route.path, body }),
          expect,
        );
      }
    }
    await finishPhase("json/", phaseStarted);
    assert.equal((await status()).lastError, undefined, "every write the server accepted still loads");
  });

  it("refuses keys that try path traversal in evaluations, reads and writes, and touches no file outside the repository", async () => {
    const phaseStarted = Date.now();
    const port = server.server.httpPort;
    const environments = createClient(EnvironmentsService, grpcTransport);
    const evaluation = createClient(EvaluationService, grpcTransport);
    const deadline = { timeoutMs: REQUEST_DEADLINE_MS };
    const send =
      (method: string, path: string, json?: unknown, headers: http.OutgoingHttpHeaders = {}) =>
      () =>
        httpCall(port, { method, path, headers, body: json === undefined ? "" : JSON.stringify(json) });
    const rpc = (call: () => Promise<unknown>) => async (): Promise<Outcome> => {
      try {
        await call();
        return { label: "gRPC OK", grpcCode: 0 };
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code === Code.DeadlineExceeded) return { label: "hang", hang: true };
        return { label: `gRPC ${codeName(code)}`, grpcCode: code };
      }
    };
    const flag = (key: string, extra: Record<string, unknown> = {}) => ({
      "@type": "flipt.core.Flag",
      key,
      name: "Escape",
      type: "BOOLEAN_FLAG_TYPE",
      ...extra,
    });
    const coreFlag = (key: string) =>
      anyPack(FlagSchema, create(FlagSchema, { key, name: "Escape", type: FlagType.BOOLEAN_FLAG_TYPE }));
    const env = "/api/v2/environments/default";
    const resources = `${env}/namespaces/default/resources`;
    const refused: Expect = { statuses: [400, 404] };
    const invalid: Expect = { statuses: [400] };
    const grpcRefused: Expect = { codes: [Code.InvalidArgument, Code.NotFound] };
    const grpcInvalid: Expect = { codes: [Code.InvalidArgument] };
    /** Evaluations that may answer: an unknown environment in the body falls back to the default (api.md §4). */
    const answered = (target: Target, request: MessageInitShape<DescMessage>): Expect => ({
      ...refused,
      success: jsonSuccess(target, create(target.input, request)),
    });
    for (const key of traversalKeys(sandbox)) {
      const enc = encodeURIComponent(key);
      // "." and ".." in a URL path are dot segments, resolved away before any route sees them (RFC 3986).
      const inPath = enc !== "." && enc !== "..";
      const cases: [string, () => Promise<Outcome>, Expect][] = [
        // Evaluations: nothing to find under such a key.
        [
          "boolean namespaceKey",
          send("POST", "/evaluate/v1/boolean", { namespaceKey: key, flagKey: "good" }),
          refused,
        ],
        ["boolean flagKey", send("POST", "/evaluate/v1/boolean", { flagKey: key }), refused],
        [
          "boolean environmentKey",
          send("POST", "/evaluate/v1/boolean", { environmentKey: key, flagKey: "good" }),
          answered(TARGETS.boolean, { environmentKey: key, flagKey: "good" }),
        ],
        [
          "variant namespaceKey",
          send("POST", "/evaluate/v1/variant", { namespaceKey: key, flagKey: "colour" }),
          refused,
        ],
        [
          "batch namespaceKey",
          send("POST", "/evaluate/v1/batch", { requests: [{ namespaceKey: key, flagKey: "good" }] }),
          answered(TARGETS.batch, { requests: [{ namespaceKey: key, flagKey: "good" }] }),
        ],
        [
          "gRPC boolean namespaceKey",
          rpc(() => evaluation.boolean({ namespaceKey: key, flagKey: "good" }, deadline)),
          grpcRefused,
        ],
        // Writes over REST, with the key in the body.
        ["create namespace", send("POST", `${env}/namespaces`, { key, name: "Escape" }), invalid],
        ["update namespace", send("PUT", `${env}/namespaces`, { key, name: "Escape" }), refused],
        ["create flag with the key", send("POST", resources, { key, payload: flag(key) }), invalid],
        [
          "create segment with the key",
          send("POST", resources, { key, payload: { "@type": "flipt.core.Segment", key, name: "Escape" } }),
          invalid,
        ],
        [
          "create flag whose rule names the segment",
          send("POST", resources, {
            key: "escape-rule",
            payload: flag("escape-rule", { rules: [{ segments: [key] }] }),
          }),
          invalid,
        ],
        [
          "create flag whose rollout names the segment",
          send("POST", resources, {
            key: "escape-rollout",
            payload: flag("escape-rollout", {
              rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: [key], value: true } }],
            }),
          }),
          invalid,
        ],
        ["update flag with the key", send("PUT", resources, { key, payload: flag(key) }), refused],
        // Writes over gRPC, where NUL and every other byte arrive as they are.
        [
          "gRPC create namespace",
          rpc(() =>
            environments.createNamespace({ environmentKey: "default", key, name: "Escape" }, deadline),
          ),
          grpcInvalid,
        ],
        [
          "gRPC create flag with the key",
          rpc(() =>
            environments.createResource(
              { environmentKey: "default", namespaceKey: "default", key, payload: coreFlag(key) },
              deadline,
            ),
          ),
          grpcInvalid,
        ],
        [
          "gRPC create flag in the namespace",
          rpc(() =>
            environments.createResource(
              { environmentKey: "default", namespaceKey: key, key: "escape", payload: coreFlag("escape") },
              deadline,
            ),
          ),
          grpcRefused,
        ],
        [
          "gRPC delete namespace",
          rpc(() => environments.deleteNamespace({ environmentKey: "default", key }, deadline)),
          grpcRefused,
        ],
        [
          "gRPC delete flag",
          rpc(() =>
            environments.deleteResource(
              { environmentKey: "default", namespaceKey: "default", typeUrl: "flipt.core.Flag", key },
              deadline,
            ),
          ),
          grpcRefused,
        ],
      ];
      if (inPath) {
        cases.push(
          // Reads and writes with the key in the path, percent-encoded.
          ["OFREP flag key in the path", send("POST", `/ofrep/v1/evaluate/flags/${enc}`, {}), refused],
          ["GET namespace", send("GET", `${env}/namespaces/${enc}`), refused],
          ["GET environment", send("GET", `/api/v2/environments/${enc}/namespaces`), refused],
          ["GET flag", send("GET", `${resources}/flipt.core.Flag/${enc}`), refused],
          [
            "GET resources of namespace",
            send("GET", `${env}/namespaces/${enc}/resources/flipt.core.Flag`),
            refused,
          ],
          ["GET resource type", send("GET", `${resources}/${enc}/good`), refused],
          [
            "GET snapshot",
            send("GET", `/client/v2/environments/default/namespaces/${enc}/snapshot`),
            refused,
          ],
          ["GET legacy snapshot", send("GET", `/internal/v1/evaluation/snapshot/namespace/${enc}`), refused],
          ["delete namespace", send("DELETE", `${env}/namespaces/${enc}`), refused],
          [
            "create flag in the namespace",
            send("POST", `${env}/namespaces/${enc}/resources`, { key: "escape", payload: flag("escape") }),
            refused,
          ],
          ["delete flag", send("DELETE", `${resources}/flipt.core.Flag/${enc}`), refused],
          ["delete segment", send("DELETE", `${resources}/flipt.core.Segment/${enc}`), refused],
        );
      }
      if (inPath && /^[\x21-\x7e]+$/.test(key) && !/[?#]|\/$/.test(key)) {
        // The key unencoded: dot segments and backslashes as a client that does not normalise sends them.
        const anyRefusal: Expect = { statuses: [400, 404, 405] };
        cases.push(
          ["GET namespace, raw path", send("GET", `${env}/namespaces/${key}`), anyRefusal],
          ["DELETE flag, raw path", send("DELETE", `${resources}/flipt.core.Flag/${key}`), anyRefusal],
        );
      }
      if (/^[\t\x20-\x7e]*$/.test(key)) {
        // Header values: what HTTP allows in one.
        cases.push(
          [
            "OFREP X-Flipt-Namespace",
            send("POST", "/ofrep/v1/evaluate/flags/good", {}, { "x-flipt-namespace": key }),
            refused,
          ],
          [
            "X-Flipt-Environment",
            send("POST", "/evaluate/v1/boolean", { flagKey: "good" }, { "x-flipt-environment": key }),
            refused,
          ],
        );
      }
      for (const [name, call, expect] of cases) {
        await run(`traversal/${name}`, JSON.stringify(key), call, expect);
      }
    }
    await finishPhase("traversal/", phaseStarted);
    await assertRepositoryContained();
  });

  /** No file outside the repository changed; inside it, only flag files, all committed; git is sound. */
  const assertRepositoryContained = async () => {
    const treeAfter = await listTree(sandbox);
    const changed = [...new Set([...treeBefore.keys(), ...treeAfter.keys()])].filter(
      (path) =>
        (!path.startsWith("repo/") || path.startsWith("repo/.git/")) &&
        treeBefore.get(path) !== treeAfter.get(path),
    );
    assert.deepEqual(changed, [], "files outside the repository were created, changed or removed");
    for (const target of escapeTargets) {
      assert.equal(existsSync(target), false, `${target}, outside the sandbox, was created`);
    }
    assert.equal(git("status", "--porcelain", "--untracked-files=all"), "", "nothing left uncommitted");
    assert.equal(git("fsck", "--no-progress", "--strict"), "", "git fsck is clean");
    const allowed = /^(?:[-_,A-Za-z0-9]+\/)?(?:features\.(?:ya?ml|json)|\.flipt\.yml)$/;
    const everPath = git("log", "--all", "--name-only", "--format=")
      .split("\n")
      .filter((path) => path !== "");
    const strays = [...new Set(everPath)].filter((path) => !allowed.test(path));
    assert.deepEqual(strays, [], "commits touched paths other than flag files");
  };

  it("keeps serving the last good state through YAML bombs, with a clear error and bounded memory", async () => {
    const phaseStarted = Date.now();
    const laughs = (indent: string) => {
      const lines = [`${indent}l0: &l0 [${Array(10).fill('"lol"').join(", ")}]`];
      for (let level = 1; level <= 9; level++) {
        lines.push(
          `${indent}l${level}: &l${level} [${Array(10)
            .fill(`*l${level - 1}`)
            .join(", ")}]`,
        );
      }
      return lines.join("\n");
    };
    const flagHead = (key: string) =>
      `version: "1.6"\nnamespace: bomb\nflags:\n  - key: ${key}\n    name: ${key}\n    type: BOOLEAN_FLAG_TYPE\n`;
    const hugeFile = () => {
      const parts = ['version: "1.6"\nnamespace: bomb\nflags:\n'];
      let size = parts[0]?.length ?? 0;
      for (let index = 0; size < 9 * 1024 * 1024; index++) {
        const part = `  - key: f${index}\n    name: F${index}\n    description: ${"d".repeat(200)}\n`;
        parts.push(part);
        size += part.length;
      }
      return parts.join("");
    };
    const deepBlock = (levels: number) => {
      const lines: string[] = [];
      for (let level = 0; level < levels; level++) lines.push(`${"  ".repeat(level + 3)}k${level}:`);
      return `${lines.join("\n")} leaf`;
    };
    // Written into the watched working tree (a commit per bomb would only slow the run); one is committed.
    const bombs: { name: string; path: string; text: () => string; message: RegExp; commit?: boolean }[] = [
      {
        name: "billion laughs in flag metadata",
        path: "bomb/features.yaml",
        text: () => `${flagHead("laughs")}    metadata:\n${laughs("      ")}\n`,
        message: /alias/i,
      },
      {
        name: "billion laughs in a variant attachment",
        path: "bomb/features.yaml",
        text: () =>
          `version: "1.6"\nnamespace: bomb\nflags:\n  - key: laughs\n    name: Laughs\n    variants:\n      - key: v\n        attachment:\n${laughs("          ")}\n`,
        message: /alias/i,
      },
      {
        name: "billion laughs as a mapping key",
        path: "bomb/features.yaml",
        text: () => `${flagHead("laughs")}    metadata:\n${laughs("      ")}\n      ? *l9\n      : key\n`,
        message: /alias/i,
      },
      {
        name: "flow nesting 100 000 deep",
        path: "bomb/features.yaml",
        text: () => `${flagHead("deep")}    metadata:\n      x: ${nested(100_000, "1")}\n`,
        message: /nest|deep|depth/i,
      },
      {
        name: "block nesting 1 000 deep",
        path: "bomb/features.yaml",
        text: () => `${flagHead("deep")}    metadata:\n${deepBlock(1_000)}\n`,
        message: /nest|deep|depth/i,
      },
      {
        name: "JSON nesting 100 000 deep in features.json",
        path: "jbomb/features.json",
        text: () =>
          `{"namespace":"jbomb","flags":[{"key":"deep","name":"Deep","metadata":{"x":${nested(100_000, "1")}}}]}`,
        message: /nest|deep|depth/i,
      },
      {
        name: "a 9 MiB features file",
        path: "bomb/features.yaml",
        text: hugeFile,
        message: /bytes|size|large|limit/i,
      },
      {
        name: "billion laughs in the .flipt.yml index",
        path: ".flipt.yml",
        text: () => `version: "1.0"\ninclude:\n  - "**/features.yaml"\nx-laughs:\n${laughs("  ")}\n`,
        message: /alias/i,
      },
      {
        name: "billion laughs replacing the file that holds the served flags, committed",
        path: "features.yaml",
        commit: true,
        text: () =>
          `version: "1.6"\nflags:\n  - key: good\n    name: Good\n    type: BOOLEAN_FLAG_TYPE\n    enabled: false\n    metadata:\n${laughs("      ")}\n`,
        message: /alias/i,
      },
      {
        name: "an undefined alias",
        path: "bomb/features.yaml",
        text: () => `${flagHead("alias")}    metadata:\n      x: *nowhere\n`,
        message: /alias|nowhere|anchor/i,
      },
      {
        name: "language-specific tags",
        path: "bomb/features.yaml",
        text: () =>
          `version: "1.6"\nnamespace: bomb\nflags:\n  - key: tagged\n    name: !!python/object/apply:os.system ["touch ${join(
            sandbox,
            "pwned",
          )}"]\n    description: !!js/function "function () { return 1 }"\n`,
        message: /tag|name|python|string/i,
      },
    ];
    for (const bomb of bombs) {
      const category = `yaml/${bomb.name}`;
      const file = join(repoPath, bomb.path);
      const previous = existsSync(file) ? await readFile(file) : undefined;
      const good = await status();
      let problem: string | undefined;
      let label = "";
      const text = bomb.text();
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
      if (bomb.commit) {
        git("add", "--all");
        git("commit", "--quiet", "--message", `hostile: ${bomb.name}`);
      }
      const refusedAt = await waitFor(
        async () => {
          const current = await status();
          if (current.lastError !== undefined) return current;
          // Loaded: a bomb taken as valid state (it should not be).
          return current.loadedAt !== good.loadedAt ? current : undefined;
        },
        { deadlineMs: 20_000, what: `the server to judge ${bomb.name}` },
      );
      sampleMemory();
      if (refusedAt.lastError === undefined) {
        label = "loaded";
        problem = "the bomb was loaded as valid flag state";
      } else {
        const messages = [
          refusedAt.lastError.message,
          ...refusedAt.lastError.issues.map((issue) => issue.message),
        ];
        const issueFile = refusedAt.lastError.issues.find((issue) => issue.file !== undefined)?.file;
        label = `refused: ${(refusedAt.lastError.issues[0]?.message ?? refusedAt.lastError.message).slice(0, 70)}`;
        if (!messages.some((message) => bomb.message.test(message))) {
          problem = `unclear error: ${JSON.stringify(messages).slice(0, 200)}`;
        } else if (issueFile !== undefined && issueFile !== bomb.path) {
          problem = `the error names ${issueFile}, not ${bomb.path}`;
        } else if (refusedAt.revision !== good.revision) {
          problem = "the served revision moved to the broken commit";
        }
      }
      tally.record(category, `${bomb.path}, ${text.length} bytes`, { label }, problem);
      await assertAlive(`with ${bomb.name} in the repository`);
      assertMemoryBounded(`with ${bomb.name} in the repository`);
      if (previous === undefined) await rm(file);
      else await writeFile(file, previous);
      if (bomb.commit) {
        git("add", "--all");
        git("commit", "--quiet", "--message", `hostile: undo ${bomb.name}`);
      }
      // Once the good files are back, the error must clear: /meta/status shows it "until a fixed commit arrives".
      const recovered = async (what: string) => {
        const head = git("rev-parse", "HEAD");
        return waitFor(
          async () => {
            const current = await status();
            return current.lastError === undefined && current.revision === head ? true : undefined;
          },
          { deadlineMs: REQUEST_DEADLINE_MS, what },
        ).then(
          () => true,
          () => false,
        );
      };
      const cleared = await recovered(`the fix for ${bomb.name} to be served`);
      tally.record(
        "yaml/recovery",
        bomb.name,
        { label: cleared ? "error cleared" : "error still reported" },
        cleared ? undefined : "the good files are back, but /meta/status still reports the bomb's error",
      );
      if (!cleared) {
        // Move the revision so that the next bomb starts from a clean status.
        git("commit", "--quiet", "--allow-empty", "--message", `hostile: nudge after ${bomb.name}`);
        assert.ok(
          await recovered(`a new commit after ${bomb.name}`),
          `${bomb.name}: no recovery even after a commit`,
        );
      }
    }
    await finishPhase("yaml/", phaseStarted);
    assert.equal(existsSync(join(sandbox, "pwned")), false, "a YAML tag ran a command");
    await assertRepositoryContained();
  });
});

describe("environment directories that leave the repository", () => {
  const load = (directory: string) =>
    loadConfig({
      env: { FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local", FLIPT_ENVIRONMENTS_DEFAULT_DIRECTORY: directory },
      defaultPaths: [],
    });

  it("loads directories inside the repository", async () => {
    for (const directory of ["", "prod", "./prod", "flags/prod", "prod/"]) {
      const { config } = await load(directory);
      assert.equal(config.environments.default?.directory, directory);
    }
  });

  for (const directory of [
    "../outside",
    "../../etc",
    "prod/../../outside",
    "./../outside",
    "..",
    "/etc/flipt",
    "/",
    "..\\outside",
    "prod\u0000",
  ]) {
    it(`refuses ${JSON.stringify(directory)} with an error naming environments.default.directory`, async () => {
      await assert.rejects(load(directory), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        assert.ok(
          error.issues.some((issue) => issue.path === "environments.default.directory"),
          `the issues name ${JSON.stringify(error.issues.map((issue) => issue.path))}`,
        );
        return true;
      });
    });
  }
});

/** Every path under `root` (directories with a trailing "/"), with size and mtime; the repository's .git skipped. */
async function listTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (directory: string) => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const full = join(directory, entry.name);
      const path = relative(root, full);
      if (path === join("repo", ".git")) {
        // Its objects change with every commit; its config and HEAD must not.
        for (const name of ["config", "HEAD"]) {
          out.set(`repo/.git/${name}`, (await readFile(join(full, name), "utf8")).trim());
        }
        continue;
      }
      if (entry.isDirectory()) {
        out.set(`${path}/`, "directory");
        await walk(full);
      } else {
        const info = await stat(full);
        out.set(path, `${info.size}:${info.mtimeMs}`);
      }
    }
  };
  await walk(root);
  return out;
}
