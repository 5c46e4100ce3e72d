/**
 * The bare echo: the least a Node server can do for each of Pennant's evaluation requests, to show what the
 * framework above Node costs. Plain `node:http` (HTTP/1.1) and `node:http2` (h2c), through the same
 * request/response objects Node hands Pennant's handler, with no Connect, no router beyond a path check, no parsing:
 * each request's body is read to its end and a fixed answer of the protocol's shape and of about the size of
 * Pennant's evaluation answer goes back (`ANSWERS`).
 *
 *     node --import tsx bench/bare-echo-server.ts
 *
 * Like Pennant, it listens on two ports of 127.0.0.1: an HTTP port that takes HTTP/1.1 and h2c (told apart by the
 * HTTP/2 preface) and a gRPC port (h2c only). It prints `{"httpPort":…,"grpcPort":…}` on stdout once both listen,
 * and stops on SIGTERM.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/** The evaluation's path for gRPC, Connect and gRPC-Web. */
const BOOLEAN_PATH = "/flipt.evaluation.EvaluationService/Boolean";
const REST_PATH = "/evaluate/v1/boolean";
const OFREP_PREFIX = "/ofrep/v1/evaluate/flags/";

/**
 * A `flipt.evaluation.BooleanEvaluationResponse` as Pennant encodes it (82 bytes: enabled, reason, a request id,
 * a duration, a timestamp, the flag key and one segment key), taken from a real answer.
 */
const BOOLEAN_RESPONSE = Buffer.from(
  "080110021a2466323438356265372d316466612d343665392d616464302d316366323131653335623161210028594e4269e83f2a0c08d6d5d4d8061080e89ba0013209666c61672d303030313a0462657461",
  "hex",
);
/** The same answer in JSON, as Pennant writes it for Connect and REST. */
const BOOLEAN_JSON = Buffer.from(
  JSON.stringify({
    enabled: true,
    reason: "MATCH_EVALUATION_REASON",
    requestId: "7a64bcd8-8f4f-453b-a246-6afa08ad5634",
    requestDurationMillis: 0.07580300000006446,
    timestamp: "2026-12-06T09:28:54.355Z",
    flagKey: "flag-0001",
    segmentKeys: ["beta"],
  }),
);
/** Pennant's OFREP answer for a boolean flag. */
const OFREP_JSON = Buffer.from(
  JSON.stringify({ key: "flag-0001", reason: "TARGETING_MATCH", variant: "true", value: true }),
);

/** The answers, by protocol, with their body sizes (also in `docs/performance.md`). */
export const ANSWERS = {
  /** gRPC: the message in a 5-byte frame (87 bytes), then `grpc-status: 0` in the trailers. */
  grpc: frame(0, BOOLEAN_RESPONSE),
  /** Connect JSON over h2c, and Connect over HTTP/1.1: 230 bytes. */
  connect: BOOLEAN_JSON,
  /** REST `POST /evaluate/v1/boolean`: the same 230 bytes. */
  rest: BOOLEAN_JSON,
  /** OFREP `POST /ofrep/v1/evaluate/flags/{key}`: 76 bytes. */
  ofrep: OFREP_JSON,
  /** gRPC-Web: the message frame, then a trailer frame with `grpc-status: 0` (108 bytes). */
  grpcWeb: Buffer.concat([
    frame(0, BOOLEAN_RESPONSE),
    frame(0x80, Buffer.from("grpc-status: 0\r\n", "latin1")),
  ]),
} as const;

/** A gRPC (or gRPC-Web) length-prefixed frame: a flag byte, a 4-byte big-endian length, the bytes. */
function frame(flags: number, bytes: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([header, bytes]);
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

const NOT_FOUND = Buffer.from("not found\n");

/** Answers on the gRPC port: gRPC only. */
function answerGrpc(req: Request, res: Response): void {
  req.resume();
  req.on("end", () => {
    if (req.url !== BOOLEAN_PATH) return send(res, 404, "text/plain", NOT_FOUND);
    res.writeHead(200, { "content-type": "application/grpc+proto" });
    (res as http2.Http2ServerResponse).addTrailers({ "grpc-status": "0" });
    res.end(ANSWERS.grpc);
  });
}

/** Answers on the HTTP port: Connect JSON and gRPC-Web on the evaluation's path, REST, OFREP. */
function answerHttp(req: Request, res: Response): void {
  req.resume();
  req.on("end", () => {
    const path = req.url ?? "";
    if (path === BOOLEAN_PATH) {
      if (req.headers["content-type"]?.startsWith("application/grpc-web") === true) {
        send(res, 200, "application/grpc-web+proto", ANSWERS.grpcWeb);
      } else send(res, 200, "application/json", ANSWERS.connect);
    } else if (path === REST_PATH) send(res, 200, "application/json", ANSWERS.rest);
    else if (path.startsWith(OFREP_PREFIX)) send(res, 200, "application/json", ANSWERS.ofrep);
    else send(res, 404, "text/plain", NOT_FOUND);
  });
}

function send(res: Response, status: number, contentType: string, body: Buffer): void {
  res.writeHead(status, { "content-type": contentType, "content-length": String(body.byteLength) });
  res.end(body);
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Listens on both ports of 127.0.0.1 (0: any free port); resolves with the ports. */
export async function listenBareEcho(): Promise<{ httpPort: number; grpcPort: number; close(): void }> {
  const h1 = http.createServer(answerHttp);
  const h2 = http2.createServer(answerHttp);
  // One port for both, as Pennant's: a connection that opens with the HTTP/2 preface goes to h2, others to h1
  // (the first bytes of a connection, once per connection; the load keeps its connections).
  const front = net.createServer((socket) => {
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const compared = Math.min(first.byteLength, H2_PREFACE.byteLength);
      if (first.subarray(0, compared).equals(H2_PREFACE.subarray(0, compared))) h2.emit("connection", socket);
      else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  const grpc = http2.createServer(answerGrpc);
  const port = (server: net.Server) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
    });
  return {
    httpPort: await port(front),
    grpcPort: await port(grpc),
    close() {
      front.close();
      grpc.close();
    },
  };
}

/** The bare echo in its own process. */
export interface BareEcho {
  readonly httpUrl: string;
  readonly grpcUrl: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the bare echo in its own process (as the benchmarks run the built server), resolving once it listens. */
export async function spawnBareEcho(): Promise<BareEcho> {
  const script = fileURLToPath(import.meta.url);
  const child: ChildProcessByStdio<null, Readable, null> = spawn(
    process.execPath,
    ["--import", "tsx", script],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const ports = await new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    lines.once("line", (line) => resolve(JSON.parse(line) as { httpPort: number; grpcPort: number }));
    void exited.then(() => reject(new Error("the bare echo exited before it listened")));
  });
  lines.close();
  child.stdout.resume();
  return {
    httpUrl: `http://127.0.0.1:${ports.httpPort}`,
    grpcUrl: `http://127.0.0.1:${ports.grpcPort}`,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const listening = await listenBareEcho();
  process.once("SIGTERM", () => {
    listening.close();
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ httpPort: listening.httpPort, grpcPort: listening.grpcPort })}\n`);
}
