/**
 * Azurite's blob service (Microsoft's own Azure Storage emulator, the `azurite` devDependency) of a test's own,
 * which it may stop, freeze and restart: every test that needs Azure Blob Storage starts one. It runs
 * `azurite-blob` (from node_modules, or `PENNANT_TEST_AZURITE_BLOB`) on a free 127.0.0.1 port with its files in a
 * temporary directory, so blobs survive a restart. Clients reach it through a small HTTP proxy of this helper's
 * own, which records every request (to count what a poll costs) and whose port stays the same across restarts.
 * The helper's own calls (`createContainer`, `putBlob`, ...) go to Azurite directly and are not recorded.
 *
 * Azurite knows one account, the well-known development account `devstoreaccount1` with its documented key, and
 * checks shared-key and SAS signatures as Azure does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, createServer, request as httpRequest, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { waitForReadyOutput } from "./wait-for-ready-output.js";

/** The development account every Azurite has (documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** How long a start may take before the test fails (Azurite itself takes about 3 s to load). */
const START_TIMEOUT_MS = 30_000;

/** One request a client sent through the proxy. */
export interface AzuriteRequest {
  readonly method: string;
  /** The path, such as `/devstoreaccount1/flags/features.yml`. */
  readonly path: string;
  /** The query string without `?`, such as `restype=container&comp=list`. */
  readonly query: string;
}

export interface AzuriteServer {
  readonly account: typeof AZURITE_ACCOUNT;
  readonly accountKey: string;
  /** The proxy's port, the same across restarts. */
  readonly port: number;
  /** The blob service's domain for a Flipt config's `endpoint`: `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The dev account's service URL, as clients see it: `<endpoint>/devstoreaccount1`. */
  readonly serviceUrl: string;
  /** A connection string with the account key, through the proxy. */
  readonly connectionString: string;
  /** Whether Azurite runs (and the proxy listens). */
  readonly running: boolean;
  /** The requests clients sent through the proxy since the start or the last `resetRequests()`. */
  readonly requests: readonly AzuriteRequest[];
  resetRequests(): void;
  createContainer(container: string): Promise<void>;
  deleteContainer(container: string): Promise<void>;
  /** Writes a block blob and returns its ETag (without quotes). */
  putBlob(container: string, key: string, body: string | Uint8Array): Promise<string>;
  deleteBlob(container: string, key: string): Promise<void>;
  /** A container SAS token (query string without `?`), signed with the account key, valid for an hour. */
  containerSas(container: string, permissions?: string): string;
  /**
   * Stops Azurite (SIGTERM, so it saves its state) and closes the proxy's port: clients get connection refused.
   * Resolves once it has exited.
   */
  stop(): Promise<void>;
  /** Starts it if it is stopped, on the same ports, and resolves once it accepts connections. */
  start(): Promise<void>;
  /**
   * Freezes Azurite (SIGSTOP): the proxy still accepts connections and requests get no answer, as from a store that
   * hangs, until `thaw`.
   */
  freeze(): void;
  thaw(): void;
  /**
   * While set, the proxy answers every request itself with this HTTP status and an Azure error body
   * (`x-ms-error-code` and XML `<Code>`) instead of forwarding it: a store that fails (500, 503 ServerBusy, ...).
   * The requests are still recorded. `undefined` forwards again.
   */
  failWith(failure: { status: number; code: string } | undefined): void;
  /** Kills Azurite if it runs, closes the proxy and removes its directory. Idempotent. */
  dispose(): Promise<void>;
}

/** Starts Azurite's blob service and the counting proxy in front of it. */
export async function startAzurite(): Promise<AzuriteServer> {
  const binary =
    process.env.PENNANT_TEST_AZURITE_BLOB ??
    fileURLToPath(new URL("../../node_modules/.bin/azurite-blob", import.meta.url));
  const root = await mkdtemp(join(tmpdir(), "pennant-azurite-"));
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY);
  // Azurite's own port, found on the first start (port 0) and kept for restarts.
  let azuritePort = 0;
  let proxyPort = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let requests: AzuriteRequest[] = [];
  let failure: { status: number; code: string } | undefined;

  const upstreamAgent = new Agent({ keepAlive: true });
  const proxy: Server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? "/", "http://proxy");
    requests.push({ method: incoming.method ?? "GET", path: url.pathname, query: url.search.slice(1) });
    if (failure !== undefined) {
      const { status, code } = failure;
      incoming.resume();
      outgoing.writeHead(status, { "content-type": "application/xml", "x-ms-error-code": code });
      outgoing.end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code>` +
          `<Message>Failing on purpose (test).\nRequestId:0\nTime:0</Message></Error>`,
      );
      return;
    }
    const upstream = httpRequest(
      {
        host: "127.0.0.1",
        port: azuritePort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent: upstreamAgent,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(outgoing);
      },
    );
    upstream.on("error", () => {
      if (!outgoing.headersSent) outgoing.writeHead(502).end();
      else outgoing.destroy();
    });
    incoming.pipe(upstream);
  });

  const listenProxy = () =>
    new Promise<void>((resolve, reject) => {
      proxy.once("error", reject);
      proxy.listen(proxyPort, "127.0.0.1", () => {
        proxy.off("error", reject);
        const address = proxy.address();
        if (address !== null && typeof address !== "string") proxyPort = address.port;
        resolve();
      });
    });

  const closeProxy = () =>
    new Promise<void>((resolve) => {
      if (!proxy.listening) return resolve();
      proxy.close(() => resolve());
      proxy.closeAllConnections();
    });

  const start = async () => {
    if (child !== undefined) return;
    const args = [binary, "--blobHost", "127.0.0.1", "--blobPort", String(azuritePort), "--location", root];
    args.push("--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry");
    const env = { ...process.env };
    delete env.AZURITE_ACCOUNTS; // the well-known account only
    const process_ = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
    child = process_;
    exited = new Promise((resolve) => process_.once("exit", () => resolve()));
    void exited.then(() => {
      if (child === process_) child = undefined;
    });
    const listening = await waitForReadyOutput(
      process_,
      "azurite-blob",
      (output) => /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output) ?? undefined,
      START_TIMEOUT_MS,
    );
    azuritePort = Number(listening[1]);
    await listenProxy();
  };

  const stop = async () => {
    await closeProxy();
    upstreamAgent.destroy();
    const running = child;
    if (running === undefined) return;
    running.kill("SIGCONT"); // a frozen Azurite would not act on SIGTERM
    running.kill("SIGTERM");
    await exited;
  };

  let disposed: Promise<void> | undefined;
  const dispose = () => {
    disposed ??= (async () => {
      await closeProxy();
      upstreamAgent.destroy();
      child?.kill("SIGKILL");
      await exited;
      await rm(root, { recursive: true, force: true });
    })();
    return disposed;
  };

  try {
    await start();
  } catch (error) {
    await dispose();
    throw error;
  }

  // The helper's own client talks to Azurite directly, so that its calls are not recorded; a few quick retries.
  const admin = () =>
    new BlobServiceClient(`http://127.0.0.1:${azuritePort}/${AZURITE_ACCOUNT}`, credential, {
      retryOptions: { maxTries: 2, retryDelayInMs: 50, maxRetryDelayInMs: 100 },
    });
  const endpoint = `http://127.0.0.1:${proxyPort}`;
  const serviceUrl = `${endpoint}/${AZURITE_ACCOUNT}`;

  return {
    account: AZURITE_ACCOUNT,
    accountKey: AZURITE_ACCOUNT_KEY,
    port: proxyPort,
    endpoint,
    serviceUrl,
    connectionString: [
      "DefaultEndpointsProtocol=http",
      `AccountName=${AZURITE_ACCOUNT}`,
      `AccountKey=${AZURITE_ACCOUNT_KEY}`,
      `BlobEndpoint=${serviceUrl};`,
    ].join(";"),
    get running() {
      return child !== undefined;
    },
    get requests() {
      return requests;
    },
    resetRequests() {
      requests = [];
    },
    async createContainer(container) {
      await admin().getContainerClient(container).create();
    },
    async deleteContainer(container) {
      await admin().getContainerClient(container).delete();
    },
    async putBlob(container, key, body) {
      const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
      const answer = await admin()
        .getContainerClient(container)
        .getBlockBlobClient(key)
        .upload(bytes, bytes.byteLength);
      return (answer.etag ?? "").replace(/^"|"$/g, "");
    },
    async deleteBlob(container, key) {
      await admin().getContainerClient(container).getBlobClient(key).delete();
    },
    containerSas(container, permissions = "rl") {
      return generateBlobSASQueryParameters(
        {
          containerName: container,
          permissions: ContainerSASPermissions.parse(permissions),
          startsOn: new Date(Date.now() - 5 * 60_000),
          expiresOn: new Date(Date.now() + 60 * 60_000),
        },
        credential,
      ).toString();
    },
    stop,
    start,
    freeze() {
      if (child === undefined) throw new Error("azurite-blob is not running");
      child.kill("SIGSTOP");
    },
    thaw() {
      child?.kill("SIGCONT");
    },
    failWith(next) {
      failure = next;
    },
    dispose,
  };
}
