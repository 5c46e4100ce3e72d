import assert from "node:assert/strict";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, type DescMethod, toBinary } from "@bufbuild/protobuf";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { compressionGzip } from "@connectrpc/connect-node";
import { closeServers } from "../../test/helpers/close-servers.js";
import { EvaluationService } from "../gen/flipt/evaluation/evaluation_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { createDirectGrpc } from "./direct-grpc.js";
import { createDirectUnary } from "./direct-unary.js";

const CHECK = Health.method.check;
const FALLEN_THROUGH = 418;

/** A health check request, framed. */
const REQUEST = (() => {
  const message = toBinary(CHECK.input, create(CHECK.input, { service: "" }));
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return frame;
})();

interface Answer {
  readonly status: number;
  /** For a call the direct path left: how many body bytes the next handler read (all of them: none were taken). */
  readonly read?: string;
  readonly contentType?: string;
}

describe("createDirectGrpc()", () => {
  let calls = 0;
  const servers: Array<http.Server | http2.Http2Server> = [];
  const urls = { h1: "", h2: "" };
  const sessions: http2.ClientHttp2Session[] = [];
  /** The RPC a request's path names, as the HTTP handler finds it. */
  const handlers = new Map<string, DescMethod>(
    [CHECK, Health.method.watch, EvaluationService.method.boolean].map((method) => [
      `/${method.parent.typeName}/${method.name}`,
      method,
    ]),
  );

  before(async () => {
    const direct = createDirectUnary([], undefined);
    direct.register(Health, {
      check: () => {
        calls++;
        return { status: HealthCheckResponse_ServingStatus.SERVING };
      },
    });
    const directGrpc = createDirectGrpc({ direct, readMaxBytes: 1024, acceptCompression: [compressionGzip] });
    // What is not taken is answered 418 with the number of body bytes read after the direct path let it go.
    const listener = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse) => {
      const method = handlers.get(req.url?.split("?", 1)[0] ?? "") as DescMethod;
      if (directGrpc({ method } as UniversalHandler, req, res)) return;
      let read = 0;
      req.on("data", (chunk: Buffer) => {
        read += chunk.byteLength;
      });
      req.on("end", () => {
        res.writeHead(FALLEN_THROUGH, { "x-read": String(read) });
        res.end();
      });
    };
    const h1 = http.createServer(listener);
    const h2 = http2.createServer(listener as never);
    servers.push(h1, h2);
    const listen = (server: http.Server | http2.Http2Server) =>
      new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
      );
    urls.h1 = `http://127.0.0.1:${await listen(h1)}`;
    urls.h2 = `http://127.0.0.1:${await listen(h2)}`;
  });

  after(async () => {
    await closeServers(servers, sessions);
  });

  const overH2 = (headers: Record<string, string>, body: Uint8Array = REQUEST) =>
    new Promise<Answer>((resolve, reject) => {
      const session = http2.connect(urls.h2);
      sessions.push(session);
      const stream = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        ...headers,
      });
      let answer: Answer = { status: 0 };
      stream.on("response", (head) => {
        answer = {
          status: Number(head[":status"]),
          ...(head["x-read"] === undefined ? {} : { read: String(head["x-read"]) }),
          contentType: String(head["content-type"]),
        };
      });
      stream.on("error", reject);
      stream.resume();
      stream.on("close", () => {
        session.close();
        resolve(answer);
      });
      stream.end(body);
    });

  const overH1 = (headers: Record<string, string>, method = "POST", body: Uint8Array = REQUEST) =>
    new Promise<Answer>((resolve, reject) => {
      const request = http.request(
        `${urls.h1}/grpc.health.v1.Health/Check`,
        { method, headers, agent: false },
        (response) => {
          response.resume();
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              ...(response.headers["x-read"] === undefined
                ? {}
                : { read: String(response.headers["x-read"]) }),
              contentType: String(response.headers["content-type"]),
            }),
          );
        },
      );
      request.on("error", reject);
      request.end(method === "GET" ? undefined : body);
    });

  it("takes gRPC over HTTP/2 and gRPC-Web over HTTP/1.1 and HTTP/2, in protobuf, identity-encoded", async () => {
    const before = calls;
    for (const type of ["application/grpc", "application/grpc+proto"]) {
      for (const extra of [{}, { "grpc-encoding": "identity" }, { "grpc-accept-encoding": "gzip" }]) {
        const answer = await overH2({ "content-type": type, te: "trailers", ...extra });
        assert.deepEqual(answer, { status: 200, contentType: "application/grpc+proto" }, type);
      }
    }
    for (const type of ["application/grpc-web", "application/grpc-web+proto"]) {
      for (const send of [overH1, overH2]) {
        const answer = await send({ "content-type": type });
        assert.deepEqual(answer, { status: 200, contentType: "application/grpc-web+proto" }, type);
      }
    }
    assert.equal(calls - before, 10);
  });

  it("leaves every other call to Connect, its body unread", async () => {
    const before = calls;
    const whole = { status: FALLEN_THROUGH, read: String(REQUEST.byteLength), contentType: "undefined" };
    const grpc = { "content-type": "application/grpc", te: "trailers" };
    const web = { "content-type": "application/grpc-web+proto" };
    for (const headers of [
      { ...grpc, "grpc-encoding": "gzip" },
      { ...grpc, "grpc-encoding": "snappy" },
      { ...grpc, "grpc-timeout": "5S" },
      { ...grpc, "content-type": "application/grpc+json" },
      { ...grpc, "content-type": "Application/GRPC" },
      { ...grpc, "content-type": "application/grpc; charset=utf-8" },
      { ...web, "content-type": "application/grpc-web-text" },
      { ...web, "content-type": "application/grpc-web+json" },
      { ...web, "grpc-encoding": "gzip" },
      { ...grpc, ":path": "/grpc.health.v1.Health/Watch" },
      { ...grpc, ":path": "/flipt.evaluation.EvaluationService/Boolean" },
    ]) {
      assert.deepEqual(await overH2(headers), whole, JSON.stringify(headers));
    }
    assert.deepEqual(await overH1(grpc), whole, "gRPC over HTTP/1.1");
    assert.deepEqual(await overH1({ ...web, host: "under_score" }), whole, "an unusual Host");
    assert.deepEqual(await overH1({ ...web, "grpc-timeout": "1S" }), whole, "gRPC-Web with a deadline");
    assert.deepEqual(await overH1(web, "GET"), { ...whole, read: "0" }, "GET");
    assert.equal(calls, before);
  });
});
