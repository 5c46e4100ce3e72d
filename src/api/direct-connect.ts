import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  fromBinary,
  fromJsonString,
  type Message,
  type Registry,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { type Compression, compressionNegotiate, type UniversalHandler } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
} from "@connectrpc/connect/protocol-connect";
import { consumeBody, joinChunks } from "./consume-body.js";
import { clientAddressKey } from "./context-keys.js";
import type { DirectCall, DirectUnary } from "./direct-unary.js";
import { undecodableRequest } from "./error-mapping.js";
import { answerJson } from "./evaluation-answer-json.js";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

export interface DirectConnectOptions {
  readonly direct: DirectUnary;
  /** The router's JSON options' registry (Any payloads). */
  readonly registry: Registry;
  /** The router's `readMaxBytes`. */
  readonly readMaxBytes: number;
  /** The router's `acceptCompression`, for compressing answers as Connect does. */
  readonly acceptCompression: readonly Compression[];
}

/** Connect compresses an answer from this size on (its `compressMinBytes` default, which the router keeps). */
export const COMPRESS_MIN_BYTES = 1024;

/**
 * Connect unary calls (`POST`, `application/json` or `application/proto`) to the RPCs of the direct path, answered
 * as Connect's unary handler answers them, from Node's request and response: the body read once, the message parsed,
 * the RPC run through the same interceptors (`DirectUnary`), the answer serialised and written with one `end`.
 *
 * Calls this does not take (false) go to Connect's handler as they are, nothing read: other content types, a
 * compressed request (`Content-Encoding`), a deadline (`Connect-Timeout-Ms`), a declared length over the limit, a
 * request without a plain authority, and every RPC that is not on the direct path.
 */
export function createDirectConnect(
  options: DirectConnectOptions,
): (handler: UniversalHandler, req: NodeRequest, res: NodeResponse) => boolean {
  const { direct, readMaxBytes } = options;
  const readJson = { ignoreUnknownFields: true, registry: options.registry };
  const writeJson = { ignoreUnknownFields: true, registry: options.registry };
  const decoder = new TextDecoder();

  return (handler, req, res) => {
    const method = handler.method;
    if (req.method !== "POST" || method.methodKind !== "unary" || !direct.serves(method)) return false;
    const headers = req.headers;
    const type = parseContentType(single(headers["content-type"]) ?? null);
    if (type === undefined || type.stream) return false;
    if (headers["content-encoding"] !== undefined || headers["connect-timeout-ms"] !== undefined)
      return false;
    const authority = plainAuthority(req);
    if (authority === undefined) return false;
    const hint = lengthHint(single(headers["content-length"]));
    if (hint === null || (hint !== undefined && hint > readMaxBytes)) return false;

    const binary = type.binary;
    const compression = compressionNegotiate(
      [...options.acceptCompression],
      null,
      single(headers["accept-encoding"]) ?? null,
      "Accept-Encoding",
    ).response;
    const responseHeader = new Headers({
      "content-type": binary ? contentTypeUnaryProto : contentTypeUnaryJson,
    });
    const responseTrailer = new Headers();
    const answer = async (): Promise<{ status: number; body: Uint8Array }> => {
      try {
        const bytes = await readMessage(req, readMaxBytes, hint);
        const input = binary ? parseBinary(method.input, bytes) : parseJson(method.input, bytes);
        const { message } = await direct.call(
          method,
          input,
          directCall(req, authority, "connect", responseHeader, responseTrailer),
        );
        return {
          status: 200,
          body: binary
            ? toBinary(method.output, message)
            : Buffer.from(
                answerJson(message, false) ?? toJsonString(method.output, message, writeJson),
                "utf8",
              ),
        };
      } catch (reason) {
        const error =
          reason instanceof ConnectError
            ? reason
            : new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
        responseHeader.set("content-type", contentTypeUnaryJson);
        error.metadata.forEach((value, key) => {
          responseHeader.set(key, value);
        });
        return { status: codeToHttpStatus(error.code), body: errorToJsonBytes(error, writeJson) };
      }
    };
    const parseJson = (schema: typeof method.input, bytes: Uint8Array): Message => {
      try {
        return fromJsonString(schema, decoder.decode(bytes), readJson);
      } catch (reason) {
        throw ConnectError.from(reason, Code.InvalidArgument);
      }
    };
    answer()
      .then(async ({ status, body }) => {
        let written = body;
        if (compression !== null && written.byteLength >= COMPRESS_MIN_BYTES) {
          written = await compression.compress(written);
          responseHeader.set("content-encoding", compression.name);
        }
        const out: Record<string, string> = {};
        responseHeader.forEach((value, name) => {
          out[name] = value;
        });
        responseTrailer.forEach((value, name) => {
          out[`trailer-${name}`] = value;
        });
        out["content-length"] = String(written.byteLength);
        res.writeHead(status, out);
        res.end(written);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.destroy();
      });
    return true;
  };
}

/** A Host or :authority Connect builds a URL from without trouble: a name or address, and a port. */
const PLAIN_AUTHORITY = /^[A-Za-z0-9.-]+(?::[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$/;

/** The request's :authority (HTTP/2) or Host, as Connect reads it, when it is a plain one; undefined otherwise. */
export function plainAuthority(req: NodeRequest): string | undefined {
  const authority = "authority" in req ? req.authority : req.headers.host;
  return authority !== undefined && PLAIN_AUTHORITY.test(authority) ? authority : undefined;
}

/**
 * What `DirectUnary.call` needs of a request, as Connect's handlers build it: its headers (HTTP/2 pseudo-headers
 * left out), the client's address, the URL.
 */
export function directCall(
  req: NodeRequest,
  authority: string,
  protocolName: string,
  responseHeader: Headers,
  responseTrailer: Headers,
): DirectCall {
  const headers = req.headers;
  const header = new Headers();
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.startsWith(":")) continue;
    if (typeof value === "string") header.append(name, value);
    else for (const item of value) header.append(name, item);
  }
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  return {
    header,
    contextValues: createContextValues().set(clientAddressKey, req.socket.remoteAddress ?? ""),
    url: `${encrypted ? "https" : "http"}://${authority}${req.url ?? ""}`,
    protocolName,
    responseHeader,
    responseTrailer,
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Content-Length as Connect reads it: a safe non-negative integer, undefined when absent, null when unusable. */
function lengthHint(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  const n = Number.parseInt(value, 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Connect's binary parse: its error for bytes that are not the message, as the HTTP layer rewrites it. */
export function parseBinary(schema: Parameters<typeof fromBinary>[0], bytes: Uint8Array): Message {
  try {
    return fromBinary(schema, bytes);
  } catch (reason) {
    const message = `parse binary: ${reason instanceof Error ? reason.message : String(reason)}`;
    throw undecodableRequest(Code.Internal, message) ?? new ConnectError(message, Code.Internal);
  }
}

/**
 * The request body, with Connect's limits and messages: more than `limit` bytes, or other than the `hint` bytes
 * promised, is an error, answered while the rest of the body is discarded.
 */
function readMessage(req: NodeRequest, limit: number, hint: number | undefined): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  const unpromised = () =>
    new ConnectError(`protocol error: promised ${hint} bytes, received ${size}`, Code.InvalidArgument);
  // As Connect does, the rest of the body is left unread (Node discards it once the answer is written).
  return consumeBody(req, {
    chunk(chunk) {
      size += chunk.byteLength;
      if (hint !== undefined && size > hint) throw unpromised();
      if (size > limit) {
        throw new ConnectError(
          `message size is larger than configured readMaxBytes ${limit}`,
          Code.ResourceExhausted,
        );
      }
      chunks.push(chunk);
    },
    end() {
      if (hint !== undefined && size < hint) throw unpromised();
      return joinChunks(chunks);
    },
    closed: requestClosed,
  });
}

/** What a read fails with when the request closes before its body has ended (Connect's message). */
export function requestClosed(): ConnectError {
  return new ConnectError("the request closed before its body ended", Code.Canceled);
}
