import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Compression,
  compressedFlag,
  compressionNegotiate,
  type UniversalHandler,
} from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag } from "@connectrpc/connect/protocol-grpc-web";
import { consumeBody } from "./consume-body.js";
import {
  COMPRESS_MIN_BYTES,
  directCall,
  parseBinary,
  plainAuthority,
  requestClosed,
} from "./direct-connect.js";
import type { DirectUnary } from "./direct-unary.js";
import { grpcEnvelope, grpcWebTrailer, respecGrpcStatus, respecGrpcWebChunk } from "./grpc-message.js";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

export interface DirectGrpcOptions {
  readonly direct: DirectUnary;
  /** The router's `readMaxBytes`: the largest request message. */
  readonly readMaxBytes: number;
  /** The router's `acceptCompression`, for compressing answers as Connect does. */
  readonly acceptCompression: readonly Compression[];
}

/** The request content types taken, and whether each is gRPC-Web. Connect answers both with `+proto`. */
const CONTENT_TYPES: ReadonlyMap<string, boolean> = new Map([
  ["application/grpc", false],
  ["application/grpc+proto", false],
  ["application/grpc-web", true],
  ["application/grpc-web+proto", true],
]);
const GRPC_PROTO = "application/grpc+proto";
const GRPC_WEB_PROTO = "application/grpc-web+proto";
const ENVELOPE_HEADER_BYTES = 5;

/**
 * gRPC (HTTP/2) and gRPC-Web (HTTP/1.1 or HTTP/2) unary calls in protobuf to the RPCs of the direct path, answered as
 * Connect's gRPC and gRPC-Web handlers answer them, from Node's request and response: the body's frames read as they
 * arrive, the one message parsed, the RPC run through the same interceptors (`DirectUnary`), and the answer written
 * with the same calls Connect's Node adapter makes, so that status, headers, body and trailers come out the same:
 *
 * - gRPC: `200` with `content-type: application/grpc+proto` (and `grpc-encoding` when the client accepts one of ours),
 *   the message frame if there is one, then `grpc-status`, `grpc-message` (and `grpc-status-details-bin`, and an
 *   error's metadata) in HTTP/2 trailers.
 * - gRPC-Web: `200` with `content-type: application/grpc-web+proto`, the message frame if there is one, then the
 *   trailer frame (flag 0x80) holding the same fields.
 * - The status goes through `respecGrpcStatus`, as `http-handler.ts` puts Connect's: its message percent-encoded the
 *   gRPC spec's way, and Connect's Internal for an undecodable request turned into InvalidArgument.
 * - Frames of 1 KiB or more, the gRPC-Web trailer frame included, are compressed as Connect compresses them.
 *
 * Calls this does not take (false) go to Connect's handler as they are, nothing read: JSON and other content types,
 * gRPC over HTTP/1.1, a compressed request (`grpc-encoding` other than `identity`), a deadline (`grpc-timeout`), a
 * request without a plain authority, and every RPC that is not on the direct path. A request frame flagged as
 * compressed in a call that names no compression is not known before it is read: it gets Connect's error.
 */
export function createDirectGrpc(
  options: DirectGrpcOptions,
): (handler: UniversalHandler, req: NodeRequest, res: NodeResponse) => boolean {
  const { direct, readMaxBytes } = options;
  const acceptCompression = [...options.acceptCompression];

  return (handler, req, res) => {
    const method = handler.method;
    if (req.method !== "POST" || method.methodKind !== "unary" || !direct.serves(method)) return false;
    const headers = req.headers;
    const contentType = headers["content-type"];
    const web = contentType === undefined ? undefined : CONTENT_TYPES.get(contentType);
    if (web === undefined || (!web && !("stream" in req))) return false;
    const encoding = headers["grpc-encoding"];
    if ((encoding !== undefined && encoding !== "identity") || headers["grpc-timeout"] !== undefined)
      return false;
    const authority = plainAuthority(req);
    if (authority === undefined) return false;

    const accepted = headers["grpc-accept-encoding"];
    const compression = compressionNegotiate(
      acceptCompression,
      null,
      (Array.isArray(accepted) ? accepted.join(", ") : accepted) ?? null,
      "Grpc-Accept-Encoding",
    ).response;
    const responseHeader = new Headers({ "content-type": web ? GRPC_WEB_PROTO : GRPC_PROTO });
    if (compression !== null) responseHeader.set("grpc-encoding", compression.name);
    const responseTrailer = new Headers({ "grpc-status": "0" });

    /** The answer's message, serialised, or undefined after an error (whose status is then in the trailer). */
    const answer = async (): Promise<Uint8Array | undefined> => {
      try {
        const input = await readUnaryMessage(req, readMaxBytes, web, (bytes) =>
          parseBinary(method.input, bytes),
        );
        const protocolName = web ? "grpc-web" : "grpc";
        const { message } = await direct.call(
          method,
          input,
          directCall(req, authority, protocolName, responseHeader, responseTrailer),
        );
        return toBinary(method.output, message);
      } catch (reason) {
        setTrailerStatus(
          responseTrailer,
          reason instanceof ConnectError
            ? reason
            : new ConnectError("internal error", Code.Internal, undefined, undefined, reason),
        );
        return undefined;
      }
    };
    const frame = async (flags: number, data: Uint8Array): Promise<Uint8Array> =>
      compression !== null && data.byteLength >= COMPRESS_MIN_BYTES
        ? grpcEnvelope(flags | compressedFlag, await compression.compress(data))
        : grpcEnvelope(flags, data);

    answer()
      .then(async (output) => {
        const message = output === undefined ? undefined : await frame(0, output);
        // The same head, frames and trailers as Connect's Node adapter writes, in one write: Connect writes each part
        // as it comes (over HTTP/1.1, three chunks of a chunked body, three system calls); here gRPC-Web's body goes
        // out whole with its length, and gRPC's message with the end of the stream.
        respecGrpcStatus(responseHeader);
        const head = nodeHeaders(responseHeader);
        if (web) {
          let trailer = await frame(trailerFlag, grpcWebTrailer(responseTrailer));
          if (responseTrailer.has("grpc-message")) trailer = respecGrpcWebChunk(trailer);
          const body = message === undefined ? trailer : Buffer.concat([message, trailer]);
          head["content-length"] = String(body.byteLength);
          res.writeHead(200, head);
          res.end(body);
          return;
        }
        res.writeHead(200, head);
        respecGrpcStatus(responseTrailer);
        res.addTrailers(nodeHeaders(responseTrailer));
        // One type for both: Node's HTTP/1.1 and HTTP/2 responses take `end(chunk)` alike.
        if (message === undefined) res.end();
        else (res as ServerResponse).end(message);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        (res as ServerResponse).destroy();
      });
    return true;
  };
}

/** Web headers as Connect's Node adapter hands them to Node: lowercase names, a repeated one (set-cookie) as a list. */
function nodeHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  headers.forEach((value, name) => {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  });
  return out;
}

/**
 * The one message of a unary call's body, read frame by frame as the chunks arrive, failing as Connect's envelope
 * reader fails and at the same moments, the rest of the body left unread:
 *
 * - each chunk is first cut into frames; a frame header announcing more than `limit` bytes fails at once, before any
 *   frame of that chunk is read;
 * - then each whole frame in turn: flagged as compressed (no compression was named) is Connect's Internal error; for
 *   gRPC-Web, a frame flagged as trailers is skipped; otherwise it is parsed, and a second message is an error;
 * - at the end, bytes left over that make no whole frame are an incomplete envelope (a frame header with none of its
 *   bytes after it is dropped, as Connect drops it), and no message at all is a missing one.
 */
function readUnaryMessage<T>(
  req: NodeRequest,
  limit: number,
  web: boolean,
  parse: (bytes: Uint8Array) => T,
): Promise<T> {
  /** Bytes received and not yet cut into a frame, and how many. */
  const buffered: Buffer[] = [];
  let size = 0;
  /** The flags and length of a frame whose header is read and whose bytes are awaited; -1 when none is. */
  let flags = 0;
  let length = -1;
  let found: { readonly message: T } | undefined;
  const take = (count: number): Uint8Array => {
    size -= count;
    const first = buffered[0] as Buffer;
    if (first.byteLength > count) {
      buffered[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    if (first.byteLength === count) {
      buffered.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(count);
    let offset = 0;
    while (offset < count) {
      const chunk = buffered[0] as Buffer;
      const part = Math.min(chunk.byteLength, count - offset);
      chunk.copy(out, offset, 0, part);
      offset += part;
      if (part === chunk.byteLength) buffered.shift();
      else buffered[0] = chunk.subarray(part);
    }
    return out;
  };
  return consumeBody(req, {
    chunk(chunk) {
      buffered.push(chunk);
      size += chunk.byteLength;
      const frames: Array<{ readonly flags: number; readonly data: Uint8Array }> = [];
      for (;;) {
        if (length < 0) {
          if (size < ENVELOPE_HEADER_BYTES) break;
          const header = take(ENVELOPE_HEADER_BYTES);
          flags = header[0] as number;
          length = new DataView(header.buffer, header.byteOffset, ENVELOPE_HEADER_BYTES).getUint32(1);
          if (length > limit) {
            throw new ConnectError(
              `message size ${length} is larger than configured readMaxBytes ${limit}`,
              Code.ResourceExhausted,
            );
          }
        }
        if (size < length) break;
        frames.push({ flags, data: length === 0 ? new Uint8Array(0) : take(length) });
        length = -1;
      }
      for (const frame of frames) {
        if ((frame.flags & compressedFlag) !== 0) {
          throw new ConnectError(
            "received compressed envelope, but do not know how to decompress",
            Code.Internal,
          );
        }
        if (web && (frame.flags & trailerFlag) === trailerFlag) continue;
        const message = parse(frame.data);
        if (found !== undefined) {
          throw new ConnectError(
            "protocol error: received extra input message for unary method",
            Code.Unimplemented,
          );
        }
        found = { message };
      }
    },
    end() {
      if (size > 0) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
      if (found === undefined) {
        throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
      }
      return found.message;
    },
    closed: requestClosed,
  });
}
