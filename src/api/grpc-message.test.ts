import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeGrpcMessage, respecGrpcMessage } from "./grpc-message.js";

describe("encodeGrpcMessage()", () => {
  it("leaves printable ASCII other than % as it is", () => {
    assert.equal(encodeGrpcMessage('flag "default/f" not found: a,b;c'), 'flag "default/f" not found: a,b;c');
  });

  it("escapes %, control characters and non-ASCII as UTF-8 bytes", () => {
    assert.equal(encodeGrpcMessage("50%\nä"), "50%25%0A%C3%A4");
  });
});

describe("respecGrpcMessage()", () => {
  it("re-encodes what encodeURIComponent produced", () => {
    const headers = { "grpc-status": "5", "grpc-message": encodeURIComponent('flag "default/f" not found') };
    assert.equal(respecGrpcMessage(headers)?.["grpc-message"], 'flag "default/f" not found');
  });
});

describe("respecGrpcMessage and undecodable requests", () => {
  it("makes Connect's Internal for a request it cannot parse InvalidArgument, and leaves other Internals", () => {
    const parse = respecGrpcMessage({
      "grpc-status": "13",
      "grpc-message": "parse%20binary%3A%20premature%20EOF",
    });
    assert.equal(parse?.["grpc-status"], "3");
    assert.equal(parse?.["grpc-message"], "parse binary: premature EOF");
    const other = respecGrpcMessage({ "grpc-status": "13", "grpc-message": "internal%20error" });
    assert.equal(other?.["grpc-status"], "13");
  });
});
