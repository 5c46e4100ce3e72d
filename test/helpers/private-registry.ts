/**
 * An OCI registry of a test's own: the real CNCF distribution registry (Debian's `docker-registry` 2.8, the code
 * behind Docker Hub's `registry:2` image; from PATH, or `PENNANT_TEST_DOCKER_REGISTRY`), run as
 * `docker-registry serve <root>/config.yml` on a free 127.0.0.1 port with its filesystem storage in a temporary
 * directory, the access log off and deletes enabled. The port stays the same across `stop()` / `start()`.
 *
 * Authentication, optional:
 * - `basicAuth`: `auth.htpasswd` with one user, its bcrypt hash made by python3's `crypt` (or apache2-utils'
 *   `htpasswd` where python3 lacks it) at the lowest cost, so that checking it costs little per request;
 * - `tokenAuth`: `auth.token`, the Bearer flow: the registry sends clients to a token service of this helper (a small
 *   node:http server on port 0) that checks the user's Basic credentials and grants the scope asked for in an ES256
 *   JWT whose `x5c` certificate is the registry's `rootcertbundle` (a self-signed openssl certificate).
 *
 * With `proxy`, a small counting reverse proxy (node:http on port 0) forwards to the registry and records every
 * request, so a test can assert what a client sent (a poll with an unchanged manifest is one manifest GET and no blob
 * GET). Its `standIn` hook may answer a request itself instead: a registry stand-in for behaviour this registry does
 * not have (refusing OCI 1.1 manifests), named so at the use site.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createPrivateKey, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { createSelfSignedCert } from "./self-signed-cert.js";
import { signJwt } from "./sign-jwt.js";
import { waitForReadyOutput } from "./wait-for-ready-output.js";

const run = promisify(execFile);

export interface RegistryUser {
  readonly username: string;
  readonly password: string;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly path: string;
  /** The status sent back. */
  status: number;
}

export interface StandInResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface PrivateRegistryOptions {
  /** htpasswd basic authentication with this one user. */
  readonly basicAuth?: RegistryUser;
  /** Bearer token authentication through a token service that knows this one user. */
  readonly tokenAuth?: RegistryUser & { readonly tokenLifetimeSeconds?: number };
  /** Put a counting proxy in front (the `proxy` field). */
  readonly proxy?: boolean;
  /** With `proxy`: answer a request here instead of forwarding it (return undefined to forward). */
  readonly standIn?: (request: { method: string; path: string; body: Buffer }) => StandInResponse | undefined;
  /** Start now (default); false leaves the port closed until `start()`. */
  readonly started?: boolean;
}

export interface RegistryProxy {
  /** `127.0.0.1:<port>` of the proxy: a registry host for clients. */
  readonly host: string;
  /** Every request forwarded or stood in for, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Forgets the recorded requests. */
  reset(): void;
}

export interface PrivateRegistry {
  /** `127.0.0.1:<port>` of the registry itself: a registry host for clients (scheme `http`). */
  readonly host: string;
  readonly port: number;
  /** With `proxy`. */
  readonly proxy: RegistryProxy | undefined;
  /** With `tokenAuth`: how many tokens the token service has handed out. */
  readonly tokensIssued: number;
  readonly running: boolean;
  /** Stops the registry (SIGTERM, or SIGKILL), and resolves once it has exited. The proxy keeps running. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it if stopped, on the same port and storage, and resolves once it listens. */
  start(): Promise<void>;
  /** Stops everything and removes the directory. Idempotent. */
  dispose(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const TOKEN_SERVICE = "pennant-test-registry";
const TOKEN_ISSUER = "pennant-test-token-service";

/** A bcrypt hash of `password` at the lowest cost, for htpasswd. */
async function bcryptHash(password: string): Promise<string> {
  const script =
    "import crypt,sys;print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))";
  try {
    const child = execFile("python3", ["-W", "ignore", "-c", script]);
    child.stdin?.end(password);
    const output = await new Promise<string>((resolve, reject) => {
      let text = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve(text) : reject(new Error(`python3 exited ${code}`)),
      );
    });
    const hash = output.trim();
    if (hash.startsWith("$2")) return hash;
  } catch {
    // no python3 or no crypt module: try htpasswd
  }
  const { stdout } = await run("htpasswd", ["-nbBC", "4", "user", password]);
  return stdout.trim().slice("user:".length);
}

function basicUser(header: string | undefined): RegistryUser | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "");
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function close(server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Creates a registry, started unless `started: false`. */
export async function startPrivateRegistry(options: PrivateRegistryOptions = {}): Promise<PrivateRegistry> {
  const binary = process.env.PENNANT_TEST_DOCKER_REGISTRY ?? "docker-registry";
  const root = await mkdtemp(join(tmpdir(), "pennant-private-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const servers: Server[] = [];
  let tokensIssued = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const dispose = async () => {
    await stop("SIGKILL");
    await Promise.all(servers.map((server) => close(server)));
    await rm(root, { recursive: true, force: true });
  };

  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    const running = child;
    if (running === undefined) return;
    running.kill(signal);
    await exited;
  };

  const start = async () => {
    if (child !== undefined) return;
    const process_ = spawn(binary, ["serve", join(root, "config.yml")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = process_;
    exited = new Promise((resolve) => process_.once("exit", () => resolve()));
    void exited.then(() => {
      if (child === process_) child = undefined;
    });
    await waitForReadyOutput(
      process_,
      "docker-registry",
      (output) => (output.includes(`listening on ${host}`) ? true : undefined),
      START_TIMEOUT_MS,
    );
  };

  let disposed: Promise<void> | undefined;
  let proxy: RegistryProxy | undefined;
  try {
    const config = [
      "version: 0.1",
      "log:",
      "  level: info", // the ready line ("listening on …") is logged at info
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(root, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
    ];
    if (options.basicAuth !== undefined && options.tokenAuth !== undefined) {
      throw new Error("private registry: basicAuth and tokenAuth exclude each other");
    }
    if (options.basicAuth !== undefined) {
      const { username, password } = options.basicAuth;
      await writeFile(join(root, "htpasswd"), `${username}:${await bcryptHash(password)}\n`);
      config.push("auth:", "  htpasswd:", "    realm: pennant-test", `    path: ${join(root, "htpasswd")}`);
    }
    if (options.tokenAuth !== undefined) {
      const user = options.tokenAuth;
      const { certPath, keyPath } = await createSelfSignedCert(root);
      const key = createPrivateKey(await readFile(keyPath));
      const certDer = Buffer.from(
        (await readFile(certPath, "utf8")).replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""),
        "base64",
      ).toString("base64");
      const tokenServer = createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://token");
        const offered = basicUser(request.headers.authorization);
        if (
          offered !== undefined &&
          (offered.username !== user.username || offered.password !== user.password)
        ) {
          response.writeHead(401, { "content-type": "application/json" });
          response.end(JSON.stringify({ details: "wrong username or password" }));
          return;
        }
        const access = url.searchParams.getAll("scope").flatMap((scope) => {
          const [type, name, actions] = scope.split(":");
          // anonymous callers get nothing: every repository is private
          if (offered === undefined || type !== "repository" || name === undefined) return [];
          return [{ type, name, actions: (actions ?? "").split(",").filter((action) => action !== "") }];
        });
        const now = Math.floor(Date.now() / 1000);
        const lifetime = user.tokenLifetimeSeconds ?? 300;
        const token = signJwt(
          "ES256",
          key,
          {
            iss: TOKEN_ISSUER,
            sub: offered?.username ?? "",
            aud: url.searchParams.get("service") ?? "",
            exp: now + lifetime,
            nbf: now - 10,
            iat: now,
            jti: randomUUID(),
            access,
          },
          { x5c: [certDer] },
        );
        tokensIssued += 1;
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ token, expires_in: lifetime, issued_at: new Date().toISOString() }));
      });
      servers.push(tokenServer);
      const tokenPort = await listen(tokenServer);
      config.push(
        "auth:",
        "  token:",
        `    realm: http://127.0.0.1:${tokenPort}/token`,
        `    service: ${TOKEN_SERVICE}`,
        `    issuer: ${TOKEN_ISSUER}`,
        `    rootcertbundle: ${certPath}`,
      );
    }
    await writeFile(join(root, "config.yml"), `${config.join("\n")}\n`);

    if (options.proxy === true) {
      const requests: RecordedRequest[] = [];
      const proxyServer = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          const body = Buffer.concat(chunks);
          const recorded: RecordedRequest = {
            method: request.method ?? "GET",
            path: request.url ?? "/",
            status: 0,
          };
          requests.push(recorded);
          const canned = options.standIn?.({ method: recorded.method, path: recorded.path, body });
          if (canned !== undefined) {
            recorded.status = canned.status;
            response.writeHead(canned.status, canned.headers);
            response.end(canned.body);
            return;
          }
          const headers: IncomingHttpHeaders = { ...request.headers };
          const upstream = httpRequest(
            { host: "127.0.0.1", port, method: recorded.method, path: recorded.path, headers },
            (answer) => {
              recorded.status = answer.statusCode ?? 0;
              response.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(response);
            },
          );
          upstream.on("error", () => {
            recorded.status = 502;
            if (!response.headersSent) response.writeHead(502);
            response.end();
          });
          upstream.end(body);
        });
      });
      servers.push(proxyServer);
      const proxyPort = await listen(proxyServer);
      proxy = {
        host: `127.0.0.1:${proxyPort}`,
        get requests() {
          return requests;
        },
        reset() {
          requests.length = 0;
        },
      };
    }

    if (options.started !== false) await start();
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    host,
    port,
    proxy,
    get tokensIssued() {
      return tokensIssued;
    },
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    dispose() {
      disposed ??= dispose();
      return disposed;
    },
  };
}
