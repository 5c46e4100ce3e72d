import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { DescService, Registry } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import {
  type Compression,
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import {
  compressionBrotli,
  compressionGzip,
  type connectNodeAdapter,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { ValidationError } from "../domain/errors.js";
import { clientAddressKey } from "./context-keys.js";
import { applyCors, type CorsOptions } from "./cors.js";
import { refuseCrossSiteWrite } from "./cross-site-write.js";
import { createDirectConnect } from "./direct-connect.js";
import { createDirectGrpc } from "./direct-grpc.js";
import { createDirectUnary, type DirectUnary } from "./direct-unary.js";
import { INTERNAL_MESSAGE, SERVER_FAULTS, toConnectError, undecodableRequest } from "./error-mapping.js";
import { respecGrpcStatus, respecGrpcWebChunk } from "./grpc-message.js";
import { readBody } from "./read-body.js";
import { createDirectRoutes, type DirectRoute } from "./rest/direct-routes.js";
import { decodePercentEncoded, splitPath } from "./rest/path-template.js";
import {
  createRestGateway,
  type ErrorBody,
  errorResponse,
  PRETTY_JSON,
  prettyCapable,
  type RestResponse,
  wantsPrettyJson,
} from "./rest/rest-gateway.js";
import { type ExtraBinding, RouteTable } from "./rest/route-table.js";

/** The compressions requests may use, and answers are compressed with. */
const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli].map(refusingCorruptInput);

/** A request listener for both node:http and node:http2 servers. */
export type NodeHandler = ReturnType<typeof connectNodeAdapter>;
type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = ServerResponse | Http2ServerResponse;

/** A route served from the raw body, outside the protobuf contracts. */
export interface RawRoute {
  readonly method: string;
  readonly path: RegExp;
  handle(match: RegExpExecArray, body: Uint8Array, headers: NodeRequest["headers"]): Promise<RestResponse>;
}

export interface HttpHandlerOptions {
  /** Registers the services on the router. */
  readonly routes: (router: ConnectRouter) => void;
  /** REST bindings for RPCs whose proto has no google.api.http option. */
  readonly extraBindings?: readonly ExtraBinding[];
  /** Every message type that may appear in an Any, for JSON. */
  readonly registry: Registry;
  /** Run around every RPC, whatever the protocol. */
  readonly interceptors: readonly Interceptor[];
  /** The largest request body, or message, accepted. */
  readonly maxRequestBytes: number;
  readonly cors: CorsOptions;
  /** Routes that need the raw request body (webhooks with body signatures), tried before the REST table. */
  readonly rawRoutes?: readonly RawRoute[];
  /**
   * Answers a request no API route matches (the web console's files), or undefined for the usual 404. API routes
   * keep precedence over it.
   */
  readonly fallback?: (method: string, pathname: string, headers: Headers) => RestResponse | undefined;
  /** Route-specific error bodies (OFREP's); Flipt's body otherwise. */
  readonly errorBody?: ErrorBody;
  readonly logger: Logger;
  /** Aborted when the server shuts down; handlers see it in their context signal. */
  readonly shutdownSignal?: AbortSignal;
  /**
   * Serve the evaluation RPCs (`DIRECT_SERVICES`) on the direct path (see `createDirectUnary`); true by default. False
   * takes every call through Connect's handlers, which the direct path's tests compare it with.
   */
  readonly direct?: boolean;
}

/**
 * The one request handler behind every listener. gRPC, gRPC-Web and Connect calls go to the Connect handlers;
 * every other path is a REST route derived from the protos' http annotations, served through the same handlers.
 *
 * `?pretty` (any value, or none) on a REST route sets `Accept: application/json+pretty`, as Flipt's router does, and
 * so asks for indented JSON (see `wantsPrettyJson`); that also turns a server stream into indented JSON lines.
 *
 * Every answer to a request the server cannot read blames the caller: bad percent-encoding in a REST path or query
 * is InvalidArgument (400); a compressed message that does not decompress, or a message that is not protobuf, is
 * InvalidArgument over every protocol (Connect reports those as Internal, and for unary calls it does so before any
 * interceptor runs, so they are rewritten here, on the way out); a request without a usable Host is a 400.
 */
export function createHttpHandler(options: HttpHandlerOptions): NodeHandler {
  const router = createConnectRouter({
    interceptors: [...options.interceptors],
    readMaxBytes: options.maxRequestBytes,
    // The registry lets Connect JSON clients send and read the environments API's Any payloads.
    jsonOptions: { ignoreUnknownFields: true, registry: options.registry },
    acceptCompression: ACCEPT_COMPRESSION,
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
  });
  const direct =
    options.direct === false ? undefined : createDirectUnary(options.interceptors, options.shutdownSignal);
  // The services' implementations reach the direct path as they reach the router.
  options.routes(direct === undefined ? router : registeringDirect(router, direct));
  const rpcs = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const table = new RouteTable(router.handlers, options.extraBindings);
  const gateway = createRestGateway({
    registry: options.registry,
    readMaxBytes: options.maxRequestBytes,
    errorBody: options.errorBody,
    direct,
  });
  const directConnect =
    direct === undefined
      ? undefined
      : createDirectConnect({
          direct,
          registry: options.registry,
          readMaxBytes: options.maxRequestBytes,
          acceptCompression: ACCEPT_COMPRESSION,
        });
  const directGrpc =
    direct === undefined
      ? undefined
      : createDirectGrpc({
          direct,
          readMaxBytes: options.maxRequestBytes,
          acceptCompression: ACCEPT_COMPRESSION,
        });
  const directRoute =
    direct === undefined ? undefined : createDirectRoutes(table, direct, options.rawRoutes ?? []);

  function serveRpc(handler: UniversalHandler, req: NodeRequest, res: NodeResponse): void {
    let request: UniversalServerRequest;
    try {
      const contextValues = createContextValues().set(clientAddressKey, clientAddress(req));
      request = universalRequestFromNodeRequest(req, res, undefined, contextValues);
    } catch (reason) {
      // Connect builds the request URL from Host (or :authority), and throws when there is none or it is not one.
      options.logger.debug({ err: reason, path: req.url }, "RPC request without a usable host");
      const error = toConnectError(
        new ValidationError("the request has no valid Host header (:authority in HTTP/2)", { cause: reason }),
      );
      writeResponse(res, errorResponse(error));
      return;
    }
    const procedure = `${handler.service.typeName}/${handler.method.name}`;
    answerRpc(handler, request).then(
      (response) =>
        universalResponseToNodeResponse(response, res).catch((reason: unknown) => {
          // A client that went away (Aborted) is routine; anything else is worth a line, as Connect's adapter prints.
          if (ConnectError.from(reason).code === Code.Aborted) return;
          options.logger.warn({ err: reason, procedure }, "RPC response failed");
        }),
      (reason: unknown) => {
        // Connect's handlers answer errors themselves: a rejection is a bug, logged, and sent as "internal error".
        options.logger.error({ err: reason, procedure }, "RPC handler failed");
        if (!res.headersSent)
          writeResponse(res, errorResponse(new ConnectError(INTERNAL_MESSAGE, Code.Internal)));
        else res.destroy();
      },
    );
  }

  async function serveRest(req: NodeRequest, res: NodeResponse): Promise<void> {
    const url = requestUrl(req.url);
    for (const route of options.rawRoutes ?? []) {
      const found = route.method === req.method ? route.path.exec(url.pathname) : null;
      if (found === null) continue;
      const body = await readBody(req, options.maxRequestBytes);
      if (body instanceof ConnectError) {
        writeResponse(res, { ...errorResponse(body), status: 413 });
        return;
      }
      await writeResponse(res, await route.handle(found, body, req.headers));
      return;
    }
    const headers = requestHeaders(req, url);
    const pretty = wantsPrettyJson(headers);
    const segments = splitPath(url.pathname);
    const match = table.match(req.method ?? "GET", segments);
    if (match.kind === "invalid") {
      const error = toConnectError(match.error);
      const prettyError = pretty && prettyCapable(match.route);
      writeResponse(res, options.errorBody?.(match.route, error) ?? errorResponse(error, prettyError));
      return;
    }
    if (match.kind === "none") {
      const answer = options.fallback?.(req.method ?? "GET", url.pathname, headers);
      if (answer !== undefined) {
        await writeResponse(res, answer);
        return;
      }
      // A path no route has is NotFound, unless it cannot even be read.
      for (const segment of segments) decodePercentEncoded(segment, "path segment");
      writeResponse(res, errorResponse(new ConnectError("Not Found", Code.NotFound), pretty));
      return;
    }
    if (match.kind === "wrong-verb") {
      const response = errorResponse(new ConnectError("Method Not Allowed", Code.Unimplemented), pretty);
      response.headers.set("allow", match.allowed.join(", "));
      writeResponse(res, { ...response, status: 405 });
      return;
    }
    refuseCrossSiteWrite(req.method ?? "GET", req.headers, match.route.handler.method);
    const body = await readBody(req, options.maxRequestBytes);
    if (body instanceof ConnectError) {
      // The rest of an over-large body is not read: close the connection rather than drain it.
      const prettyError = pretty && prettyCapable(match.route);
      const response = options.errorBody?.(match.route, body) ?? errorResponse(body, prettyError);
      response.headers.set("connection", "close");
      writeResponse(res, { ...response, status: 413 });
      return;
    }
    const abort = new AbortController();
    // Only a client that goes away early aborts the call (an abort builds a DOMException: not on every request).
    res.once("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    const response = await gateway(
      { method: req.method ?? "GET", url, headers, body, signal: abort.signal, client: clientAddress(req) },
      match.route,
      match.params,
    );
    await writeResponse(res, response);
  }

  /** A request that `directRoute` found: what `serveRest` does for it, from Node's request as it is. */
  async function serveDirectRest(
    direct: DirectUnary,
    found: DirectRoute,
    req: NodeRequest,
    res: NodeResponse,
  ): Promise<void> {
    const { route, params } = found;
    const pretty = prettyCapable(route) && wantsPrettyJson(nodeHeaderView(req.headers));
    refuseCrossSiteWrite(req.method ?? "GET", req.headers, route.handler.method);
    const body = await readBody(req, options.maxRequestBytes);
    if (body instanceof ConnectError) {
      // The rest of an over-large body is not read: close the connection rather than drain it.
      const response = options.errorBody?.(route, body) ?? errorResponse(body, pretty);
      response.headers.set("connection", "close");
      writeResponse(res, { ...response, status: 413 });
      return;
    }
    const response = await gateway.serveDirect({
      direct,
      route,
      params,
      headers: req.headers,
      body,
      client: clientAddress(req),
      pretty,
    });
    await writeResponse(res, response);
  }

  function failRest(req: NodeRequest, res: NodeResponse, reason: unknown): void {
    const error = toConnectError(reason);
    if (SERVER_FAULTS.has(error.code)) {
      options.logger.error({ err: reason, path: req.url }, "REST request failed");
    } else {
      options.logger.debug(
        { code: Code[error.code], message: error.rawMessage, path: req.url },
        "REST request",
      );
    }
    if (!res.headersSent) writeResponse(res, errorResponse(error));
    else res.destroy();
  }

  return (req, res) => {
    const response = res as NodeResponse;
    if (applyCors(options.cors, req, response)) return;
    const handler = rpcs.get(req.url?.split("?", 1)[0] ?? "");
    if (handler !== undefined) {
      if (directConnect?.(handler, req, response) === true) return;
      if (directGrpc?.(handler, req, response) === true) return;
      serveRpc(handler, req, response);
      return;
    }
    const found = directRoute?.(req.method ?? "", req.url ?? "");
    if (found !== undefined && direct !== undefined) {
      serveDirectRest(direct, found, req, response).catch((reason: unknown) =>
        failRest(req, response, reason),
      );
      return;
    }
    serveRest(req, response).catch((reason: unknown) => failRest(req, response, reason));
  };
}

/** Node's request headers read as `Headers.get` reads them: values of a repeated header joined with ", ". */
function nodeHeaderView(headers: NodeRequest["headers"]): Pick<Headers, "get"> {
  return {
    get(name) {
      const value = headers[name];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/** A router that also hands each service's implementation to the direct path. */
function registeringDirect(router: ConnectRouter, direct: DirectUnary): ConnectRouter {
  const registering: ConnectRouter = {
    handlers: router.handlers,
    service(service, implementation, serviceOptions) {
      direct.register(service as DescService, implementation);
      router.service(service, implementation, serviceOptions);
      return registering;
    },
    rpc(method, implementation, rpcOptions) {
      router.rpc(method, implementation, rpcOptions);
      return registering;
    },
  };
  return registering;
}

/**
 * The request's headers for the REST gateway. With `?pretty` in the query (`?pretty`, `?pretty=`, any value),
 * `Accept` becomes `application/json+pretty`, whatever the client sent, as Flipt's router sets it.
 */
function requestHeaders(req: NodeRequest, url: URL): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  if (url.searchParams.has("pretty")) headers.set("accept", PRETTY_JSON);
  return headers;
}

/** The request's URL; a request target that is not a URL path is the caller's fault. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch (reason) {
    throw new ValidationError("the request target is not a valid URL path", { cause: reason });
  }
}

/**
 * A compression whose decompression failures blame the caller: bytes that are not `name` at all, or end too soon,
 * are InvalidArgument naming the compression and what zlib found (Connect answers Internal for a truncated
 * stream). A message too large once decompressed stays ResourceExhausted, and zlib running out of memory Internal.
 */
function refusingCorruptInput(compression: Compression): Compression {
  return {
    name: compression.name,
    compress: (bytes) => compression.compress(bytes),
    async decompress(bytes, readMaxBytes) {
      try {
        return await compression.decompress(bytes, readMaxBytes);
      } catch (reason) {
        const error = ConnectError.from(reason);
        const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
        if (error.code === Code.ResourceExhausted || cause?.code === "Z_MEM_ERROR") throw error;
        const detail = typeof cause?.message === "string" ? cause.message : error.rawMessage;
        throw toConnectError(
          new ValidationError(`request message is not valid ${compression.name}: ${detail}`, {
            cause: reason,
          }),
        );
      }
    },
  };
}

/**
 * Runs an RPC and puts its answer the way clients should read it. A Connect GET whose `message` is not base64 is
 * refused before Connect reads it (it would answer Internal). Connect's Internal for a request message it could not
 * decode becomes InvalidArgument: in the gRPC status (headers or trailers), in the gRPC-Web trailer, and in a Connect
 * unary error body. Streams need none of this: their messages are decoded inside the interceptors, where
 * `toConnectError` maps them.
 */
async function answerRpc(
  handler: UniversalHandler,
  request: UniversalServerRequest,
): Promise<UniversalServerResponse> {
  if (request.method === "GET") {
    const query = new URL(request.url).searchParams;
    if (query.get("base64") === "1") {
      try {
        base64Decode(query.get("message") ?? "");
      } catch (reason) {
        const error = toConnectError(
          new ValidationError('the "message" query parameter is not valid base64', { cause: reason }),
        );
        return connectErrorResponse(error);
      }
    }
  }
  const response = await handler(request);
  const contentType = response.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc")) {
    const web = contentType.startsWith("application/grpc-web");
    return respecGrpcResponse(response, web);
  }
  if (response.status === INTERNAL_HTTP_STATUS && contentType.startsWith("application/json")) {
    return respecConnectUnaryError(response);
  }
  return response;
}

/** The HTTP status of a Connect error with code Internal. */
const INTERNAL_HTTP_STATUS = codeToHttpStatus(Code.Internal);

function connectErrorResponse(error: ConnectError): UniversalServerResponse {
  const body = errorToJsonBytes(error, undefined);
  return {
    status: codeToHttpStatus(error.code),
    header: new Headers({ "content-type": "application/json", "content-length": String(body.byteLength) }),
    body: createAsyncIterable([body]),
  };
}

/** A Connect unary error body: Internal for an undecodable request becomes InvalidArgument. */
async function respecConnectUnaryError(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  // A compressed error body (only a long one is) is left as it is: no undecodable-request message is that long.
  if (response.header?.has("content-encoding") === true || response.body === undefined) return response;
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const unchanged = { ...response, body: createAsyncIterable([bytes]) };
  let error: ConnectError;
  try {
    error = errorFromJsonBytes(bytes, undefined, new ConnectError(INTERNAL_MESSAGE, Code.Internal));
  } catch {
    return unchanged;
  }
  const fault = undecodableRequest(error.code, error.rawMessage);
  if (fault === undefined) return unchanged;
  const rewritten = connectErrorResponse(fault);
  response.header?.forEach((value, name) => {
    if (!rewritten.header?.has(name)) rewritten.header?.set(name, value);
  });
  return rewritten;
}

/**
 * A gRPC or gRPC-Web response with `respecGrpcStatus` applied to its headers once the handler has set them (at the
 * first body chunk, before they are written), to its trailers once the body ends, and for gRPC-Web to the trailer
 * at the end of the body. Errors and early returns from the writer reach the handler's body unchanged.
 */
function respecGrpcResponse(response: UniversalServerResponse, web: boolean): UniversalServerResponse {
  const headersOnce = () => {
    if (response.header !== undefined) respecGrpcStatus(response.header);
  };
  const trailers = () => {
    if (response.trailer !== undefined) respecGrpcStatus(response.trailer);
  };
  const body = response.body;
  if (body === undefined) {
    headersOnce();
    trailers();
    return response;
  }
  return {
    ...response,
    body: {
      [Symbol.asyncIterator]() {
        const it = body[Symbol.asyncIterator]();
        let first = true;
        return {
          async next() {
            const result = await it.next();
            if (first) {
              first = false;
              headersOnce();
            }
            if (result.done === true) {
              trailers();
              return result;
            }
            return web ? { done: false, value: respecGrpcWebChunk(result.value) } : result;
          },
          throw: async (reason?: unknown) =>
            it.throw !== undefined ? it.throw(reason) : { done: true, value: undefined },
          return: async (value?: unknown) =>
            it.return !== undefined ? it.return(value) : { done: true, value: undefined },
        };
      },
    },
  };
}

/** The TCP peer of a request, as limits per client count it. */
function clientAddress(req: NodeRequest): string {
  return req.socket.remoteAddress ?? "";
}

async function writeResponse(res: NodeResponse, response: RestResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = response.body;
  if (body === undefined || body instanceof Uint8Array) {
    if (body !== undefined) headers["content-length"] = String(body.byteLength);
    res.writeHead(response.status, headers);
    if (body === undefined) res.end();
    else res.end(body);
    return;
  }
  res.writeHead(response.status, headers);
  try {
    for await (const chunk of body) {
      if (res.destroyed) return;
      // Backpressure: a client that reads slowly, or not at all, holds the next chunk back (and the stream's
      // subscription keeps only the latest snapshot), so the server never buffers snapshot after snapshot for it.
      if (!(res as ServerResponse).write(chunk)) await drained(res);
    }
    if (!res.destroyed) res.end();
  } catch {
    res.destroy();
  }
}

/** Resolves once `res` can take more data again, or has closed or failed (the caller then sees `destroyed`). */
function drained(res: NodeResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve();
      return;
    }
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      res.off("error", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
    res.on("error", done);
  });
}
