import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Registry } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { clientAddressKey } from "./context-keys.js";
import { applyCors, type CorsOptions } from "./cors.js";
import { respecGrpcMessage } from "./grpc-message.js";
import { readBody } from "./read-body.js";
import { splitPath } from "./rest/path-template.js";
import { createRestGateway, type ErrorBody, errorResponse, type RestResponse } from "./rest/rest-gateway.js";
import { type ExtraBinding, RouteTable } from "./rest/route-table.js";

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
  /** Route-specific error bodies (OFREP's); Flipt's body otherwise. */
  readonly errorBody?: ErrorBody;
  readonly logger: Logger;
  /** Aborted when the server shuts down; handlers see it in their context signal. */
  readonly shutdownSignal?: AbortSignal;
}

/**
 * The one request handler behind every listener. gRPC, gRPC-Web and Connect calls go to the Connect router;
 * every other path is a REST route derived from the protos' http annotations, served through the same handlers.
 */
export function createHttpHandler(options: HttpHandlerOptions): NodeHandler {
  let router: ConnectRouter | undefined;
  const connect = connectNodeAdapter({
    routes(r) {
      options.routes(r);
      router = r;
    },
    interceptors: [...options.interceptors],
    contextValues: (req) => createContextValues().set(clientAddressKey, clientAddress(req)),
    readMaxBytes: options.maxRequestBytes,
    // The registry lets Connect JSON clients send and read the environments API's Any payloads.
    jsonOptions: { ignoreUnknownFields: true, registry: options.registry },
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
    fallback: (req, nodeResponse) => {
      const res = nodeResponse as NodeResponse;
      serveRest(req, res).catch((reason: unknown) => {
        options.logger.error({ err: reason, path: req.url }, "REST request failed");
        if (!res.headersSent)
          writeResponse(res, errorResponse(new ConnectError("internal error", Code.Internal)));
        else res.destroy();
      });
    },
  });
  if (router === undefined) throw new Error("connectNodeAdapter did not call routes()");
  const table = new RouteTable(router.handlers, options.extraBindings);
  const gateway = createRestGateway({
    registry: options.registry,
    readMaxBytes: options.maxRequestBytes,
    errorBody: options.errorBody,
  });

  async function serveRest(req: NodeRequest, res: NodeResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
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
    const match = table.match(req.method ?? "GET", splitPath(url.pathname));
    if (match.kind === "none") {
      writeResponse(res, errorResponse(new ConnectError("Not Found", Code.NotFound)));
      return;
    }
    if (match.kind === "wrong-verb") {
      const response = errorResponse(new ConnectError("Method Not Allowed", Code.Unimplemented));
      response.headers.set("allow", match.allowed.join(", "));
      writeResponse(res, { ...response, status: 405 });
      return;
    }
    const body = await readBody(req, options.maxRequestBytes);
    if (body instanceof ConnectError) {
      // The rest of an over-large body is not read: close the connection rather than drain it.
      const response = options.errorBody?.(match.route, body) ?? errorResponse(body);
      response.headers.set("connection", "close");
      writeResponse(res, { ...response, status: 413 });
      return;
    }
    const abort = new AbortController();
    // Only a client that goes away early aborts the call (an abort builds a DOMException: not on every request).
    res.once("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith(":") || value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
    }
    const response = await gateway(
      { method: req.method ?? "GET", url, headers, body, signal: abort.signal, client: clientAddress(req) },
      match.route,
      match.params,
    );
    await writeResponse(res, response);
  }

  return (req, res) => {
    if (applyCors(options.cors, req, res as NodeResponse)) return;
    if (isGrpc(req.headers["content-type"])) respecGrpcMessages(res as NodeResponse);
    connect(req, res);
  };
}

/** The TCP peer of a request, as limits per client count it. */
function clientAddress(req: NodeRequest): string {
  return req.socket.remoteAddress ?? "";
}

function isGrpc(contentType: string | undefined): boolean {
  return contentType?.startsWith("application/grpc") === true;
}

/** Routes the gRPC status message, in headers (trailers-only) or trailers, through `respecGrpcMessage`. */
function respecGrpcMessages(res: NodeResponse): void {
  const target = res as ServerResponse;
  const writeHead = target.writeHead.bind(target) as (
    status: number,
    headers?: OutgoingHttpHeaders,
  ) => ServerResponse;
  const addTrailers = target.addTrailers.bind(target);
  target.writeHead = ((status: number, headers?: OutgoingHttpHeaders) =>
    writeHead(status, respecGrpcMessage(headers))) as typeof target.writeHead;
  target.addTrailers = (headers) => addTrailers(respecGrpcMessage(headers as OutgoingHttpHeaders) ?? {});
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
      (res as ServerResponse).write(chunk);
    }
    res.end();
  } catch {
    res.destroy();
  }
}
