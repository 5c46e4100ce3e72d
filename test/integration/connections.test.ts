/**
 * Issue 14, "Connections": the `limits.*` keys that bound what one connection, and one client address, may hold, on a
 * real `pennant server` process (real sockets, both ports), each at its limit and one past it: HTTP/1.1 header and
 * request timeouts (on connections the HTTP port hands over after sniffing them), idle connections (HTTP/1.1
 * keep-alive, HTTP/2 on both ports), concurrent and half-open HTTP/2 streams, connections per client address, and the
 * health-watch budget that keeps anonymous watches from taking the slots authenticated streams need.
 *
 * Each test speaks from its own loopback address (127.0.0.x), so the per-address limits of one never meet another's.
 * A memory watchdog kills the server if it balloons, and `/health` is asked after every test.
 */
import assert from "node:assert/strict";
import { request as httpRequest, type IncomingMessage } from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { flagFile } from "../helpers/outside-remote.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { startTestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { waitFor, within } from "../helpers/wait-for.js";

const TOKEN = "connections-token-5d81c0";
const HEADER_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 3000;
const IDLE_TIMEOUT_MS = 1000;
const STREAMS_PER_CONNECTION = 4;
const HALF_OPEN = 2;
const CONNECTIONS_PER_CLIENT = 5;
const HEALTH_WATCHES = 3;
const HEALTH_WATCHES_PER_CLIENT = 2;
/**
 * How far past a timeout the server may act: Node checks HTTP/1.1 timeouts, and we sweep streams, every 250 ms. Not
 * asserted as a timing (shared cores stall): it sizes the deadline within which a cut must have happened.
 */
const SLACK_MS = 1500;

/** The longest any awaited close or reset may take before the test fails instead of hanging. */
const DEADLINE_MS = REQUEST_TIMEOUT_MS + 2 * SLACK_MS;

const STREAM_PATH = "/client/v2/environments/default/namespaces/default/stream";
const GRPC_STREAM_PATH = "/evaluation.ClientEvaluationService/EvaluationSnapshotNamespaceStream";
/** EvaluationNamespaceSnapshotStreamRequest { key: "default", environment_key: "default" }. */
const STREAM_REQUEST = Buffer.from([0x0a, 7, ...Buffer.from("default"), 0x12, 7, ...Buffer.from("default")]);

let repo: TempRepo;
let server: PennantProcess;
let httpPort: number;
let grpcPort: number;

/** Every connection and session a test opened, closed after it whatever happened. */
const opened: Array<{ destroy(): void }> = [];
const keep = <T extends { destroy(): void }>(thing: T): T => {
  opened.push(thing);
  return thing;
};

before(async () => {
  repo = await createTempRepo({ "default/features.yaml": flagFile("default", "beta", true) });
  server = await startPennantProcess(
    {
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_AUTHENTICATION_REQUIRED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_TEST_CREDENTIAL: TOKEN,
      FLIPT_LIMITS_HEADER_TIMEOUT: `${HEADER_TIMEOUT_MS}ms`,
      FLIPT_LIMITS_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
      FLIPT_LIMITS_IDLE_TIMEOUT: `${IDLE_TIMEOUT_MS}ms`,
      FLIPT_LIMITS_MAX_STREAMS_PER_CONNECTION: String(STREAMS_PER_CONNECTION),
      FLIPT_LIMITS_MAX_HALF_OPEN_STREAMS: String(HALF_OPEN),
      FLIPT_LIMITS_MAX_CONNECTIONS_PER_CLIENT: String(CONNECTIONS_PER_CLIENT),
      FLIPT_LIMITS_MAX_HEALTH_WATCHES: String(HEALTH_WATCHES),
      FLIPT_LIMITS_MAX_HEALTH_WATCHES_PER_CLIENT: String(HEALTH_WATCHES_PER_CLIENT),
      FLIPT_LIMITS_MAX_STREAMS: "20",
      FLIPT_LIMITS_MAX_STREAMS_PER_CLIENT: "10",
    },
    { memoryLimitBytes: 512 * 1024 * 1024 },
  );
  httpPort = server.httpPort;
  grpcPort = server.grpcPort;
});

afterEach(async () => {
  for (const thing of opened.splice(0)) thing.destroy();
  // The server keeps answering through whatever the test did.
  assert.equal(await health("127.0.0.1"), 200);
  server.memory?.assertHeld();
});

after(async () => {
  server.memory?.stop();
  await server.killHard();
  await repo.remove();
});

/** GET /health on a fresh HTTP/1.1 connection from `localAddress`: the status. */
function health(localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: httpPort, path: "/health", localAddress, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A raw TCP connection from `localAddress`, collecting what it receives, with when it closed. */
interface RawConnection {
  readonly socket: net.Socket;
  /** Everything received so far. */
  text(): string;
  /** Resolves with the milliseconds from `start` to the close. */
  readonly closed: Promise<number>;
  readonly start: number;
  /** When the last bytes arrived (performance.now()). */
  lastDataAt(): number;
  destroy(): void;
}

async function rawConnect(port: number, localAddress: string): Promise<RawConnection> {
  const socket = net.connect({ port, host: "127.0.0.1", localAddress });
  const chunks: Buffer[] = [];
  let lastDataAt = 0;
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    lastDataAt = performance.now();
  });
  socket.on("error", () => {});
  const start = performance.now();
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => resolve(performance.now() - start)),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return keep({
    socket,
    text: () => Buffer.concat(chunks).toString("latin1"),
    closed,
    start,
    lastDataAt: () => lastDataAt,
    destroy: () => socket.destroy(),
  });
}

/** Writes `text` one piece every `everyMs` until it is all sent or the connection closes; then keeps it open. */
function dribble(connection: RawConnection, pieces: readonly string[], everyMs: number): Promise<void> {
  return new Promise((resolve) => {
    let next = 0;
    const timer = setInterval(() => {
      if (connection.socket.destroyed || next === pieces.length) {
        clearInterval(timer);
        resolve();
        return;
      }
      connection.socket.write(pieces[next++] as string);
    }, everyMs);
  });
}

/** HTTP/2 session options that connect from `localAddress` (Node's types do not list `localAddress` itself). */
const from = (port: number, localAddress: string): http2.ClientSessionOptions => ({
  createConnection: () => net.connect({ port, host: "127.0.0.1", localAddress }),
});

/** An HTTP/2 session (h2c with prior knowledge) from `localAddress`, once the server's SETTINGS have arrived. */
async function h2Connect(port: number, localAddress: string): Promise<http2.ClientHttp2Session> {
  const session = keep(http2.connect(`http://127.0.0.1:${port}`, from(port, localAddress)));
  session.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("error", reject);
  });
  return session;
}

const grpcFrame = (message: Uint8Array = new Uint8Array(0)) => {
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return frame;
};

/** Opens a gRPC call as raw HTTP/2; the request stays open unless `body` is given. */
function grpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  body?: Uint8Array,
  headers: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => {});
  if (body !== undefined) stream.end(grpcFrame(body));
  return stream;
}

/** A snapshot stream over gRPC, resolved once its first message arrived. */
async function openSnapshotStream(session: http2.ClientHttp2Session): Promise<http2.ClientHttp2Stream> {
  const stream = grpcCall(session, GRPC_STREAM_PATH, STREAM_REQUEST, { authorization: `Bearer ${TOKEN}` });
  await new Promise<void>((resolve, reject) => {
    stream.once("data", () => resolve());
    stream.once("close", () => reject(new Error(`snapshot stream closed (rst ${stream.rstCode})`)));
  });
  return stream;
}

/** How a stream ended: its RST_STREAM code (0 when it ended normally) and its grpc-status, if any. */
function ending(stream: http2.ClientHttp2Stream): Promise<{ rstCode: number; grpcStatus?: string }> {
  let grpcStatus: string | undefined;
  stream.on("response", (headers) => {
    if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
  });
  stream.on("trailers", (trailers) => {
    grpcStatus = String(trailers["grpc-status"]);
  });
  stream.resume();
  return new Promise((resolve) =>
    stream.once("close", () =>
      resolve({ rstCode: stream.rstCode ?? 0, ...(grpcStatus === undefined ? {} : { grpcStatus }) }),
    ),
  );
}

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

describe("connections (issue 14)", () => {
  it("cuts HTTP/1.1 headers dribbled past limits.header_timeout with 408, and serves ones sent within it", async () => {
    const request = "GET /health HTTP/1.1\r\nHost: pennant\r\nX-Pad: abc\r\nConnection: close\r\n\r\n";
    // Within the limit: the whole request, byte by byte, in about a third of the timeout.
    const patient = await rawConnect(httpPort, "127.0.0.11");
    await dribble(patient, [...request], Math.floor(HEADER_TIMEOUT_MS / 3 / request.length));
    await within(patient.closed, DEADLINE_MS, "the answer to a patient request");
    assert.match(patient.text(), /^HTTP\/1\.1 200 /);

    // Past it: a slowloris that never ends its headers.
    const slow = await rawConnect(httpPort, "127.0.0.11");
    const pieces = [..."GET /health HTTP/1.1\r\nHost: pennant\r\nX-Pad: ", ..."a".repeat(1000)];
    void dribble(slow, pieces, 20);
    const elapsed = await within(slow.closed, DEADLINE_MS, "the slowloris to be cut");
    assert.match(slow.text(), /^HTTP\/1\.1 408 /);
    assert.ok(elapsed >= HEADER_TIMEOUT_MS - 50, `cut after ${elapsed} ms, before the header timeout`);
  });

  it("cuts an HTTP/1.1 request whose body does not arrive within limits.request_timeout", async () => {
    const head = (length: number) =>
      `POST /evaluate/v1/boolean HTTP/1.1\r\nHost: pennant\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // Within the limit: a 10-byte body over about a third of the timeout is answered (no token: 401), not cut.
    const body = '{"a":"bc"}';
    const patient = await rawConnect(httpPort, "127.0.0.12");
    patient.socket.write(head(body.length));
    await dribble(patient, [...body], Math.floor(REQUEST_TIMEOUT_MS / 3 / body.length));
    await waitFor(() => (patient.text().includes("\r\n\r\n") ? true : undefined), { what: "an answer" });
    assert.match(patient.text(), /^HTTP\/1\.1 4(?!08)\d\d /);

    // Past it: a body that keeps coming, a byte every 100 ms, and would take 10 s.
    const slow = await rawConnect(httpPort, "127.0.0.12");
    slow.socket.write(head(100));
    void dribble(slow, [..."x".repeat(100)], 100);
    const elapsed = await within(slow.closed, DEADLINE_MS, "the slow body to be cut");
    assert.match(slow.text(), /^HTTP\/1\.1 408 /);
    assert.ok(elapsed >= REQUEST_TIMEOUT_MS - 50, `cut after ${elapsed} ms, before the request timeout`);
  });

  it("closes connections idle for limits.idle_timeout on both ports, never one with a stream open", async () => {
    // HTTP/1.1 keep-alive: closed once it has been idle for the timeout after its response.
    const keepAlive = await rawConnect(httpPort, "127.0.0.13");
    keepAlive.socket.write("GET /health HTTP/1.1\r\nHost: pennant\r\n\r\n");
    await waitFor(() => (keepAlive.text().includes("\r\n\r\n") ? true : undefined), { what: "an answer" });
    const keepAliveClosed =
      (await within(keepAlive.closed, DEADLINE_MS, "the idle keep-alive connection to be closed")) -
      (keepAlive.lastDataAt() - keepAlive.start);
    assert.ok(keepAliveClosed >= IDLE_TIMEOUT_MS - 50, `keep-alive closed after ${keepAliveClosed} ms idle`);

    const idleCheck = async (port: number, address: string) => {
      const started = performance.now();
      const idle = await h2Connect(port, address);
      const goaway = new Promise<number>((resolve) => idle.once("goaway", (code) => resolve(code)));
      const idleClosed = new Promise<number>((resolve) =>
        idle.once("close", () => resolve(performance.now() - started)),
      );
      const busy = await h2Connect(port, address);
      const stream = await openSnapshotStream(busy);
      // An HTTP/1.1 streaming response is not idle either.
      const h1Stream = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port: httpPort,
            path: STREAM_PATH,
            localAddress: address,
            agent: false,
            headers: { authorization: `Bearer ${TOKEN}` },
          },
          resolve,
        );
        req.on("error", reject);
        req.end();
      });
      keep(h1Stream);
      assert.equal(h1Stream.statusCode, 200);
      h1Stream.resume();

      assert.equal(
        await within(goaway, DEADLINE_MS, "GOAWAY on the idle session"),
        http2.constants.NGHTTP2_NO_ERROR,
      );
      const elapsed = await within(idleClosed, DEADLINE_MS, "the idle session to close");
      assert.ok(elapsed >= IDLE_TIMEOUT_MS - 50, `idle session closed after ${elapsed} ms`);

      // A witness opened now is closed one idle timeout later: by then the busy session has been open for two.
      const witness = await h2Connect(port, address);
      await within(
        new Promise((resolve) => witness.once("close", resolve)),
        DEADLINE_MS,
        "the witness to close",
      );
      assert.equal(busy.closed || busy.destroyed, false, "the session with an open stream was closed");
      assert.equal(stream.closed, false, "the open stream was cut");
      assert.equal(h1Stream.destroyed, false, "the HTTP/1.1 stream was cut");

      // Once its stream ends, the busy session goes idle and is closed too.
      stream.close();
      h1Stream.destroy();
      await within(
        new Promise((resolve) => busy.once("close", resolve)),
        DEADLINE_MS,
        "the busy session to close",
      );
    };
    // Both ports at once.
    await Promise.all([idleCheck(httpPort, "127.0.0.13"), idleCheck(grpcPort, "127.0.0.23")]);
  });

  it("lets server.grpc_conn_max_idle_time take the place of limits.idle_timeout on the gRPC port", async () => {
    const flipt = await startTestServer({
      FLIPT_SERVER_GRPC_CONN_MAX_IDLE_TIME: "300ms",
      FLIPT_LIMITS_IDLE_TIMEOUT: "1m",
    });
    try {
      const started = performance.now();
      const session = await h2Connect(flipt.server.grpcPort, "127.0.0.24");
      const closed = new Promise<number>((resolve) =>
        session.once("close", () => resolve(performance.now() - started)),
      );
      const elapsed = await within(closed, DEADLINE_MS, "the idle gRPC session to close");
      assert.ok(elapsed >= 300 - 50, `closed after ${elapsed} ms, before the idle time`);
    } finally {
      await flipt.stop();
    }
  });

  it("advertises limits.max_streams_per_connection and refuses a stream past it", async () => {
    // A well-behaved client sees the SETTINGS value and waits for a free slot.
    const session = await h2Connect(grpcPort, "127.0.0.14");
    assert.equal(session.remoteSettings.maxConcurrentStreams, STREAMS_PER_CONNECTION);
    const streams = await Promise.all(
      Array.from({ length: STREAMS_PER_CONNECTION }, () => openSnapshotStream(session)),
    );
    const waiting = openSnapshotStream(session);
    streams[0]?.close();
    streams[0] = await waiting;
    for (const stream of streams) stream.close();

    // A client that opens more streams before it has the server's SETTINGS gets REFUSED_STREAM for the extra one.
    const raw = await rawConnect(httpPort, "127.0.0.14");
    const frames = [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), h2Frame(4, 0, 0)];
    for (let i = 0; i <= STREAMS_PER_CONNECTION; i++) frames.push(h2Frame(1, 0x5, 1 + 2 * i, getHeaders()));
    raw.socket.write(Buffer.concat(frames));
    const refusedId = 1 + 2 * STREAMS_PER_CONNECTION;
    const seen = await waitFor(
      () => {
        const parsed = parseFrames(Buffer.from(raw.text(), "latin1"));
        const responses = parsed.filter((frame) => frame.type === 1).map((frame) => frame.stream);
        const resets = parsed.filter((frame) => frame.type === 3);
        return responses.length === STREAMS_PER_CONNECTION && resets.length > 0
          ? { responses, resets }
          : undefined;
      },
      { what: "answers to the first streams and a reset of the last" },
    );
    assert.deepEqual(
      seen.responses.sort((a, b) => a - b),
      Array.from({ length: STREAMS_PER_CONNECTION }, (_, i) => 1 + 2 * i),
    );
    assert.deepEqual(
      seen.resets.map((frame) => [frame.stream, frame.payload.readUInt32BE(0)]),
      [[refusedId, NGHTTP2_REFUSED_STREAM]],
    );
  });

  it("holds limits.max_half_open_streams per HTTP/2 connection, and cuts a request unfinished at limits.request_timeout", async () => {
    const session = await h2Connect(httpPort, "127.0.0.15");
    const halfOpen = () => grpcCall(session, "/flipt.evaluation.EvaluationService/Boolean");
    /** A call that opens half-open and then finishes: OK when admitted, REFUSED_STREAM when not. */
    const probe = () => ending(grpcCall(session, "/grpc.health.v1.Health/Check", new Uint8Array(0)));

    // A reflection stream on another connection keeps its request open for as long as it likes.
    const tools = await h2Connect(grpcPort, "127.0.0.15");
    const reflection = grpcCall(
      tools,
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      undefined,
      {
        authorization: `Bearer ${TOKEN}`,
      },
    );
    const listServices = grpcFrame(Buffer.from([0x3a, 0]));
    const answers: Buffer[] = [];
    reflection.on("data", (chunk: Buffer) => answers.push(chunk));
    reflection.write(listServices);
    await waitFor(() => (answers.length > 0 ? true : undefined), { what: "a reflection answer" });

    // At the limit: two requests that never finish are held, and others still get through.
    const held = [halfOpen(), halfOpen()];
    const heldEnds = held.map(ending);
    const heldAt = performance.now();
    assert.deepEqual(await probe(), { rstCode: 0, grpcStatus: "0" });
    // One past it: once they have had their grace, another half-open stream is refused, and the two are kept.
    await waitFor(async () => ((await probe()).rstCode === NGHTTP2_REFUSED_STREAM ? true : undefined), {
      what: "a half-open stream to be refused",
    });
    assert.ok(held.every((stream) => !stream.closed));

    // A burst of half-open streams on a fresh connection: once their grace is over, the newest beyond the limit go.
    const burstSession = await h2Connect(httpPort, "127.0.0.15");
    const burst = Array.from({ length: STREAMS_PER_CONNECTION }, () =>
      grpcCall(burstSession, "/flipt.evaluation.EvaluationService/Boolean"),
    );
    const burstEnds = burst.map(ending);
    const reset = await within(
      Promise.all(burstEnds.slice(HALF_OPEN)),
      DEADLINE_MS,
      "the burst to be trimmed",
    );
    assert.deepEqual(
      reset.map((end) => end.rstCode),
      burst.slice(HALF_OPEN).map(() => NGHTTP2_REFUSED_STREAM),
    );
    assert.ok(burst.slice(0, HALF_OPEN).every((stream) => !stream.closed));

    // Past limits.request_timeout, the held requests are cut; the reflection stream still answers.
    const cut = await within(Promise.all(heldEnds), DEADLINE_MS, "the held requests to be cut");
    const elapsed = performance.now() - heldAt;
    assert.deepEqual(
      cut.map((end) => end.rstCode),
      [NGHTTP2_CANCEL, NGHTTP2_CANCEL],
    );
    assert.ok(elapsed >= REQUEST_TIMEOUT_MS - 50, `cut after ${elapsed} ms`);
    assert.deepEqual(await probe(), { rstCode: 0, grpcStatus: "0" });
    const before = answers.length;
    reflection.write(listServices);
    await waitFor(() => (answers.length > before ? true : undefined), { what: "a second reflection answer" });
    reflection.end();
    await within(Promise.all(burstEnds.slice(0, HALF_OPEN)), DEADLINE_MS, "the rest of the burst to be cut");
  });

  it("holds limits.max_connections_per_client across both ports, and lets other addresses and freed slots in", async () => {
    /** An HTTP/1.1 snapshot stream from `localAddress`: a connection that stays busy. */
    const openStream = (localAddress: string) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port: httpPort,
            path: STREAM_PATH,
            localAddress,
            agent: false,
            headers: { authorization: `Bearer ${TOKEN}` },
          },
          (res) => resolve(keep(res)),
        );
        req.on("error", reject);
        req.end();
      });
    const streams = await Promise.all(
      Array.from({ length: CONNECTIONS_PER_CLIENT }, () => openStream("127.0.0.16")),
    );
    assert.deepEqual(
      streams.map((stream) => stream.statusCode),
      streams.map(() => 200),
    );
    // One past the limit, on either port: reset at once, without a byte.
    for (const port of [httpPort, grpcPort]) {
      // The reset may come before Node reports the connection as made (ECONNRESET from connect): both are a refusal.
      const socket = keep(net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.16" }));
      let received = "";
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      socket.on("connect", () => socket.write("GET /health HTTP/1.1\r\nHost: pennant\r\n\r\n"));
      await within(
        new Promise((resolve) => socket.once("close", resolve)),
        DEADLINE_MS,
        "the connection over the limit to be reset",
      );
      assert.equal(received, "");
    }
    assert.equal(await health("127.0.0.17"), 200, "another address is let in");

    // A flood from one address: every connection past the limit is reset, and memory holds.
    const flood = await Promise.all(
      Array.from({ length: 300 }, () =>
        rawConnect(httpPort, "127.0.0.18").then(
          (connection) => connection.closed.then(() => connection.text()),
          () => "",
        ),
      ),
    );
    assert.deepEqual(
      new Set(flood),
      new Set([""]),
      "the flood's connections were closed without an answer (header timeout or reset)",
    );

    streams[0]?.destroy();
    assert.equal(
      await waitFor(async () => ((await health("127.0.0.16").catch(() => 0)) === 200 ? 200 : undefined), {
        what: "the freed slot to be given back",
      }),
      200,
    );
  });

  it("keeps anonymous health watches to their own budget, so authenticated streams still open", async () => {
    // Its own server, where the watches' budget equals the streams' one: were watches counted as streams, those at
    // their limit would leave no slot for a snapshot stream.
    const small = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_AUTHENTICATION_REQUIRED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_TEST_CREDENTIAL: TOKEN,
      FLIPT_LIMITS_MAX_STREAMS: String(HEALTH_WATCHES),
      FLIPT_LIMITS_MAX_STREAMS_PER_CLIENT: String(HEALTH_WATCHES_PER_CLIENT),
      FLIPT_LIMITS_MAX_HEALTH_WATCHES: String(HEALTH_WATCHES),
      FLIPT_LIMITS_MAX_HEALTH_WATCHES_PER_CLIENT: String(HEALTH_WATCHES_PER_CLIENT),
    });
    const port = small.server.grpcPort;
    const controller = new AbortController();
    /** Opens a watch until the test ends; resolves with "Ok" once its first status came, or the refusal's code. */
    const watch = async (localAddress: string, signal = controller.signal) => {
      const client = createClient(
        Health,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, nodeOptions: from(port, localAddress) }),
      );
      const statuses = client.watch({ service: "" }, { signal })[Symbol.asyncIterator]();
      try {
        await statuses.next();
        return "Ok";
      } catch (error) {
        return Code[ConnectError.from(error).code];
      }
    };
    /** Opens an authenticated snapshot stream; resolves with "Ok" once its first message came, or its grpc-status. */
    const snapshot = async (localAddress: string) => {
      const stream = grpcCall(await h2Connect(port, localAddress), GRPC_STREAM_PATH, STREAM_REQUEST, {
        authorization: `Bearer ${TOKEN}`,
      });
      const ended = ending(stream);
      return Promise.race([
        new Promise<string>((resolve) => stream.once("data", () => resolve("Ok"))),
        ended.then((end) =>
          end.grpcStatus === undefined ? `reset ${end.rstCode}` : Code[Number(end.grpcStatus)],
        ),
      ]);
    };
    try {
      // At the limits: two watches from one address, one from another (three in all).
      assert.deepEqual(await Promise.all([watch("127.0.0.19"), watch("127.0.0.19"), watch("127.0.0.20")]), [
        "Ok",
        "Ok",
        "Ok",
      ]);
      // One past each: a third from the first address, and a fourth in all.
      assert.equal(await watch("127.0.0.19"), "ResourceExhausted");
      assert.equal(await watch("127.0.0.21"), "ResourceExhausted");

      // The watches hold every health slot, yet authenticated snapshot streams open, from the same addresses, up
      // to their own limits and not past them.
      assert.deepEqual(await Promise.all([snapshot("127.0.0.19"), snapshot("127.0.0.19")]), ["Ok", "Ok"]);
      assert.equal(await snapshot("127.0.0.19"), "ResourceExhausted", "limits.max_streams_per_client");
      assert.equal(await snapshot("127.0.0.20"), "Ok");
      assert.equal(await snapshot("127.0.0.21"), "ResourceExhausted", "limits.max_streams");
    } finally {
      controller.abort();
    }
    // Closed watches give their slots back.
    const again = new AbortController();
    try {
      await waitFor(async () => ((await watch("127.0.0.21", again.signal)) === "Ok" ? true : undefined), {
        what: "a watch slot to come back",
      });
    } finally {
      again.abort();
      for (const thing of opened.splice(0)) thing.destroy();
      await small.stop();
    }
  });
});

/** One HTTP/2 frame. */
function h2Frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.byteLength, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK for GET STREAM_PATH with a bearer token, without Huffman coding or the dynamic table. */
function getHeaders(): Buffer {
  const literal = (index: number, value: string) => {
    const bytes = Buffer.from(value, "latin1");
    // Literal without indexing, indexed name (4-bit prefix); values here are shorter than 127 bytes.
    const name = index < 15 ? [index] : [15, index - 15];
    return Buffer.from([...name, bytes.byteLength, ...bytes]);
  };
  return Buffer.concat([
    Buffer.from([0x82, 0x86]), // :method GET, :scheme http
    literal(4, STREAM_PATH),
    literal(1, "pennant"), // :authority
    literal(23, `Bearer ${TOKEN}`), // authorization
  ]);
}

function parseFrames(bytes: Buffer): Array<{ type: number; stream: number; payload: Buffer }> {
  const frames: Array<{ type: number; stream: number; payload: Buffer }> = [];
  let offset = 0;
  while (offset + 9 <= bytes.byteLength) {
    const length = bytes.readUIntBE(offset, 3);
    if (offset + 9 + length > bytes.byteLength) break;
    frames.push({
      type: bytes[offset + 3] as number,
      stream: bytes.readUInt32BE(offset + 5) & 0x7fffffff,
      payload: bytes.subarray(offset + 9, offset + 9 + length),
    });
    offset += 9 + length;
  }
  return frames;
}
