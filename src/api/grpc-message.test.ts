import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import {
  encodeGrpcMessage,
  grpcEnvelope,
  grpcWebTrailer,
  respecGrpcStatus,
  respecGrpcWebChunk,
} from "./grpc-message.js";

describe("encodeGrpcMessage()", () => {
  it("leaves printable ASCII other than % as it is", () => {
    assert.equal(encodeGrpcMessage('flag "default/f" not found: a,b;c'), 'flag "default/f" not found: a,b;c');
  });

  it("escapes %, control characters and non-ASCII as UTF-8 bytes", () => {
    assert.equal(encodeGrpcMessage("50%\nä"), "50%25%0A%C3%A4");
  });
});

describe("respecGrpcStatus()", () => {
  it("re-encodes what encodeURIComponent produced", () => {
    const headers = new Headers({
      "grpc-status": "5",
      "grpc-message": encodeURIComponent('flag "default/f" not found'),
    });
    respecGrpcStatus(headers);
    assert.equal(headers.get("grpc-message"), 'flag "default/f" not found');
    assert.equal(headers.get("grpc-status"), "5");
  });

  it("makes Connect's Internal for a request it cannot decode InvalidArgument, and leaves other Internals", () => {
    const parse = new Headers({ "grpc-status": "13", "grpc-message": "parse%20binary%3A%20premature%20EOF" });
    respecGrpcStatus(parse);
    assert.equal(parse.get("grpc-status"), "3");
    assert.equal(parse.get("grpc-message"), "request message is not valid protobuf: premature EOF");
    const flagged = new Headers({
      "grpc-status": "13",
      "grpc-message": encodeURIComponent("received compressed envelope, but do not know how to decompress"),
    });
    respecGrpcStatus(flagged);
    assert.equal(flagged.get("grpc-status"), "3");
    assert.match(flagged.get("grpc-message") ?? "", /flagged as compressed/);
    const other = new Headers({ "grpc-status": "13", "grpc-message": "internal%20error" });
    respecGrpcStatus(other);
    assert.equal(other.get("grpc-status"), "13");
    assert.equal(other.get("grpc-message"), "internal error");
  });

  it("leaves headers without a message, or with one that is not percent-encoding, as they are", () => {
    const ok = new Headers({ "grpc-status": "0" });
    respecGrpcStatus(ok);
    assert.equal(ok.get("grpc-message"), null);
    assert.equal(ok.get("grpc-status"), "0");
    const odd = new Headers({ "grpc-status": "13", "grpc-message": "parse binary: 100%" });
    respecGrpcStatus(odd);
    assert.equal(odd.get("grpc-status"), "13");
  });
});

describe("respecGrpcWebChunk()", () => {
  const trailer = (fields: Record<string, string>, flags = trailerFlag) =>
    encodeEnvelope(flags, trailerSerialize(new Headers(fields)));

  it("rewrites a trailer envelope that reports an undecodable request", () => {
    const chunk = respecGrpcWebChunk(
      trailer({ "grpc-status": "13", "grpc-message": "parse%20binary%3A%20premature%20EOF" }),
    );
    assert.equal(chunk[0], trailerFlag);
    const fields = trailerParse(chunk.subarray(5));
    assert.equal(fields.get("grpc-status"), "3");
    assert.equal(fields.get("grpc-message"), "request message is not valid protobuf: premature EOF");
  });

  it("returns messages, successful trailers, compressed and partial envelopes unchanged", () => {
    const message = encodeEnvelope(0, new Uint8Array([8, 1]));
    const success = trailer({ "grpc-status": "0" });
    const compressed = trailer(
      { "grpc-status": "13", "grpc-message": "parse%20binary%3A%20x" },
      trailerFlag | 1,
    );
    const partial = trailer({ "grpc-status": "13", "grpc-message": "parse%20binary%3A%20x" }).subarray(0, 9);
    for (const chunk of [message, success, compressed, partial, new Uint8Array([0x80])]) {
      assert.equal(respecGrpcWebChunk(chunk), chunk);
    }
  });
});

describe("grpcEnvelope() and grpcWebTrailer()", () => {
  it("write the bytes Connect's encodeEnvelope and trailerSerialize write", () => {
    for (const size of [0, 1, 82, 255, 256, 70_000]) {
      const data = Uint8Array.from({ length: size }, (_, index) => (index * 7) % 256);
      for (const flags of [0, 1, trailerFlag]) {
        assert.deepEqual(new Uint8Array(grpcEnvelope(flags, data)), encodeEnvelope(flags, data));
      }
    }
    for (const trailer of [
      new Headers(),
      new Headers({ "grpc-status": "0" }),
      new Headers([
        ["grpc-status", "5"],
        ["grpc-message", "flag%20%22default%2Fx%22 not found"],
        ["x-note", "ünïcödé"],
        ["x-note", "twice"],
      ]),
    ]) {
      assert.deepEqual(new Uint8Array(grpcWebTrailer(trailer)), trailerSerialize(trailer));
    }
  });
});
