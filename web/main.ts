// A browser page that calls Pennant with @connectrpc/connect-web: it lists a namespace's flags (Connect, JSON)
// and evaluates one boolean flag (Connect binary, and gRPC-Web). Everything it learns, errors included, goes into
// the DOM, where test/integration/browser.test.ts reads it. Build it with `npx vite build web`.
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { EvaluationReason, EvaluationService } from "../src/gen/flipt/evaluation/evaluation_pb.js";
import { Flipt } from "../src/gen/flipt/flipt_pb.js";

/** What the page is asked to do, from its query string. */
export interface PageParams {
  /** Pennant's HTTP base URL, e.g. http://127.0.0.1:8080 */
  readonly server: string;
  readonly namespace: string;
  readonly flag: string;
  readonly entity: string;
  readonly context: Record<string, string>;
}

/** Reads the page's parameters; throws an Error that names the bad one. */
export function readPageParams(search: string): PageParams {
  const query = new URLSearchParams(search);
  const server = query.get("server") ?? "";
  if (!/^https?:\/\/[^/]+/.test(server)) {
    throw new Error(`?server= must be Pennant's base URL (http://host:port), got "${server}"`);
  }
  const text = query.get("context") ?? "{}";
  let context: unknown;
  try {
    context = JSON.parse(text);
  } catch {
    throw new Error(`?context= must be a JSON object, got ${text}`);
  }
  if (
    typeof context !== "object" ||
    context === null ||
    Array.isArray(context) ||
    !Object.values(context).every((value) => typeof value === "string")
  ) {
    throw new Error(`?context= must be a JSON object of strings, got ${text}`);
  }
  return {
    server: server.replace(/\/+$/, ""),
    namespace: query.get("namespace") ?? "default",
    flag: query.get("flag") ?? "",
    entity: query.get("entity") ?? "",
    context: context as Record<string, string>,
  };
}

function element(parent: ParentNode, selector: string): HTMLElement {
  const found = parent.querySelector<HTMLElement>(selector);
  if (found === null) throw new Error(`the page has no ${selector}`);
  return found;
}

/** Runs one call for a section; marks it ok, or error with the Connect code and message shown. */
async function fill(section: HTMLElement, call: () => Promise<void>): Promise<void> {
  try {
    await call();
    section.dataset.state = "ok";
  } catch (reason) {
    const error = ConnectError.from(reason);
    const shown = element(section, ".error");
    shown.dataset.code = Code[error.code];
    shown.textContent = `${Code[error.code]}: ${error.rawMessage}`;
    section.dataset.state = "error";
  }
}

async function evaluate(section: HTMLElement, transport: Transport, params: PageParams): Promise<void> {
  await fill(section, async () => {
    const client = createClient(EvaluationService, transport);
    const response = await client.boolean({
      namespaceKey: params.namespace,
      flagKey: params.flag,
      entityId: params.entity,
      context: params.context,
    });
    element(section, ".flag").textContent = response.flagKey;
    element(section, ".enabled").textContent = String(response.enabled);
    element(section, ".reason").textContent = EvaluationReason[response.reason] ?? String(response.reason);
  });
}

async function listFlags(section: HTMLElement, transport: Transport, params: PageParams): Promise<void> {
  element(section, ".namespace").textContent = params.namespace;
  await fill(section, async () => {
    const client = createClient(Flipt, transport);
    const response = await client.listFlags({ namespaceKey: params.namespace });
    const list = element(section, ".result");
    for (const flag of response.flags) {
      const item = document.createElement("li");
      item.dataset.key = flag.key;
      item.dataset.enabled = String(flag.enabled);
      item.textContent = `${flag.key} (${flag.name})`;
      list.append(item);
    }
  });
}

async function main(): Promise<void> {
  try {
    const params = readPageParams(location.search);
    element(document, "#server").textContent = params.server;
    // JSON for the listing, binary for the evaluation: the two encodings of the Connect protocol.
    const connectJson = createConnectTransport({ baseUrl: params.server });
    const connectBinary = createConnectTransport({ baseUrl: params.server, useBinaryFormat: true });
    const grpcWeb = createGrpcWebTransport({ baseUrl: params.server });
    await Promise.all([
      listFlags(element(document, "#flags"), connectJson, params),
      evaluate(element(document, "#connect-evaluation"), connectBinary, params),
      evaluate(element(document, "#grpc-web-evaluation"), grpcWeb, params),
    ]);
  } catch (error) {
    element(document, "#page-error").textContent = String(error);
  } finally {
    document.body.dataset.done = "true";
  }
}

void main();
