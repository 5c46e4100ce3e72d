import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { undecodableRequest } from "./error-mapping.js";

const GRPC_MESSAGE = "grpc-message";
const GRPC_STATUS = "grpc-status";
/** The envelope flag of a compressed message: a trailer with it set is left as it is. */
const COMPRESSED_FLAG = 0b00000001;
const ENVELOPE_HEADER_BYTES = 5;

/**
 * Puts a gRPC status, in response headers (trailers-only) or trailers, the way gRPC clients should read it, in place:
 *
 * - Connect encodes `grpc-message` with encodeURIComponent, which also escapes `/`, `:`, `,` and the like. The gRPC
 *   spec escapes only `%` and bytes outside printable ASCII, and that is what grpc-go (Flipt) sends; clients that
 *   decode with decodeURI, such as @grpc/grpc-js, would otherwise show `default%2Fflag`. The value is re-encoded the
 *   spec's way.
 * - Connect answers Internal for a request message it cannot decode (not protobuf, compressed without a
 *   `grpc-encoding`) when it decodes it before any interceptor runs (unary calls). That becomes the InvalidArgument
 *   that `toConnectError` gives it everywhere else.
 */
export function respecGrpcStatus(headers: Headers): void {
  const value = headers.get(GRPC_MESSAGE);
  if (value === null) return;
  let message: string;
  try {
    message = decodeURIComponent(value);
  } catch {
    return;
  }
  const fault = undecodableRequest(Number(headers.get(GRPC_STATUS)), message);
  if (fault !== undefined) {
    headers.set(GRPC_STATUS, String(fault.code));
    message = fault.rawMessage;
  }
  headers.set(GRPC_MESSAGE, encodeGrpcMessage(message));
}

/**
 * A gRPC-Web response chunk with `respecGrpcStatus` applied when it is the trailer: one whole, uncompressed envelope
 * flagged as trailers. Connect writes each envelope as one chunk; anything else is returned as it is.
 */
export function respecGrpcWebChunk(chunk: Uint8Array): Uint8Array {
  if (chunk.byteLength < ENVELOPE_HEADER_BYTES) return chunk;
  const flags = chunk[0] as number;
  if ((flags & trailerFlag) === 0 || (flags & COMPRESSED_FLAG) !== 0) return chunk;
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1);
  if (ENVELOPE_HEADER_BYTES + length !== chunk.byteLength) return chunk;
  const trailer = trailerParse(chunk.subarray(ENVELOPE_HEADER_BYTES));
  if (!trailer.has(GRPC_MESSAGE)) return chunk;
  respecGrpcStatus(trailer);
  return grpcEnvelope(flags, grpcWebTrailer(trailer));
}

/**
 * A gRPC envelope (a flag byte, the length in four big-endian bytes, the data), the bytes Connect's `encodeEnvelope`
 * writes, in a Buffer from Node's pool: a small `Uint8Array` of its own would take an ArrayBuffer, with its backing
 * store and bookkeeping, for each answer.
 */
export function grpcEnvelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, ENVELOPE_HEADER_BYTES);
  return out;
}

/** gRPC-Web's trailer block, `name: value` lines ending in CRLF: the bytes Connect's `trailerSerialize` writes (pooled). */
export function grpcWebTrailer(trailer: Headers): Buffer {
  let text = "";
  trailer.forEach((value, name) => {
    text += `${name}: ${value}\r\n`;
  });
  return Buffer.from(text, "utf8");
}

/** Percent-encodes `%` and every byte outside 0x20–0x7E, as the gRPC HTTP/2 spec asks. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
