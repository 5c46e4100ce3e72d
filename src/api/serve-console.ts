import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { RestResponse } from "./rest/rest-gateway.js";

/** One file of the web console's build, held in memory. */
export interface ConsoleFile {
  readonly body: Uint8Array;
  /** Its content type. */
  readonly type: string;
  /** A strong ETag of the content. */
  readonly etag: string;
}

/** The console's build by URL path (`/index.html`, `/assets/index-3f2a.js`). */
export type ConsoleBuild = ReadonlyMap<string, ConsoleFile>;

/** Vite names what is under `assets/` after its content: such a file never changes under its name. */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** Everything else (index.html first) is checked with the server on every use, so a new build shows at once. */
const REVALIDATE = "no-cache";
/**
 * The page may load only its own files and talk only to this server: no CDN, no other origin, no framing.
 * Styles set from scripts (element.style) are allowed by `'unsafe-inline'` for style attributes only.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");
/** Below this size compression is not worth a header. */
const COMPRESS_FROM_BYTES = 1024;
const COMPRESSIBLE = /^(text\/|application\/(javascript|json|manifest\+json)|image\/svg\+xml)/;

/**
 * Serves the web console's files for `GET`/`HEAD`: `/` is `index.html`. Undefined when the path is not one of
 * them, so that the caller answers 404 as for any unknown route. Files are compressed (brotli or gzip, as the
 * client accepts) on first use and kept; `If-None-Match` with the file's ETag answers 304.
 */
export function createConsoleServer(
  build: ConsoleBuild,
): (method: string, pathname: string, headers: Headers) => RestResponse | undefined {
  const compressed = new Map<string, Uint8Array>();
  const encoded = (path: string, file: ConsoleFile, encoding: "br" | "gzip"): Uint8Array => {
    const key = `${encoding}:${path}`;
    let bytes = compressed.get(key);
    if (bytes === undefined) {
      bytes =
        encoding === "br"
          ? brotliCompressSync(file.body, {
              params: { [constants.BROTLI_PARAM_SIZE_HINT]: file.body.byteLength },
            })
          : gzipSync(file.body, { level: 9 });
      compressed.set(key, bytes);
    }
    return bytes;
  };
  return (method, pathname, headers) => {
    if (method !== "GET" && method !== "HEAD") return undefined;
    const path = pathname === "/" ? "/index.html" : pathname;
    const file = build.get(path);
    if (file === undefined) return undefined;
    const responseHeaders = new Headers({
      "content-type": file.type,
      "cache-control": path.startsWith("/assets/") ? IMMUTABLE : REVALIDATE,
      etag: file.etag,
      "x-content-type-options": "nosniff",
      vary: "accept-encoding",
    });
    if (file.type.startsWith("text/html")) {
      responseHeaders.set("content-security-policy", CONTENT_SECURITY_POLICY);
      responseHeaders.set("referrer-policy", "no-referrer");
    }
    if (matchesEtag(headers.get("if-none-match"), file.etag)) {
      return { status: 304, headers: responseHeaders, body: undefined };
    }
    let body = file.body;
    if (file.body.byteLength >= COMPRESS_FROM_BYTES && COMPRESSIBLE.test(file.type)) {
      const encoding = preferredEncoding(headers.get("accept-encoding") ?? "");
      if (encoding !== undefined) {
        body = encoded(path, file, encoding);
        responseHeaders.set("content-encoding", encoding);
      }
    }
    if (method === "HEAD") {
      responseHeaders.set("content-length", String(body.byteLength));
      return { status: 200, headers: responseHeaders, body: undefined };
    }
    return { status: 200, headers: responseHeaders, body };
  };
}

/** Whether `If-None-Match` (a list, or `*`) names the ETag; weak validators compare equal too. */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

/** Brotli when the client takes it, else gzip, else none; `q=0` refuses an encoding. */
function preferredEncoding(header: string): "br" | "gzip" | undefined {
  const accepted = new Set<string>();
  for (const part of header.split(",")) {
    const [name = "", ...parameters] = part.split(";").map((piece) => piece.trim().toLowerCase());
    const refused = parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter));
    if (!refused) accepted.add(name);
  }
  if (accepted.has("br")) return "br";
  if (accepted.has("gzip") || accepted.has("*")) return "gzip";
  return undefined;
}
