import type { OutgoingHttpHeaders } from "node:http";

const GRPC_MESSAGE = "grpc-message";
const GRPC_STATUS = "grpc-status";
const INTERNAL = "13";
const INVALID_ARGUMENT = "3";

/**
 * Connect's messages for requests it cannot read, which it reports as Internal: a body that is not the request
 * message, and a compressed message without a known `grpc-encoding`. Both are the caller's fault.
 */
const CLIENT_FAULTS = ["parse binary:", "received compressed envelope, but do not know how to decompress"];

/**
 * Connect encodes `grpc-message` with encodeURIComponent, which also escapes `/`, `:`, `,` and the like. The gRPC
 * spec escapes only `%` and bytes outside printable ASCII, and that is what grpc-go (Flipt) sends; clients that
 * decode with decodeURI, such as @grpc/grpc-js, would otherwise show `default%2Fflag`. This re-encodes the value
 * the spec's way, in place. It also turns the Internal status Connect gives a request it cannot decode (invalid
 * protobuf, an unknown compression) into InvalidArgument, as the caller's fault it is.
 */
export function respecGrpcMessage(headers: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders | undefined {
  const value = headers?.[GRPC_MESSAGE];
  if (headers === undefined || typeof value !== "string") return headers;
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return headers;
  }
  headers[GRPC_MESSAGE] = encodeGrpcMessage(decoded);
  if (headers[GRPC_STATUS] === INTERNAL && CLIENT_FAULTS.some((prefix) => decoded.startsWith(prefix))) {
    headers[GRPC_STATUS] = INVALID_ARGUMENT;
  }
  return headers;
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
