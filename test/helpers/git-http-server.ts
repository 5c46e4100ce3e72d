import { type ChildProcess, execFile, spawn } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Who may use a test git HTTP server. Both kinds may be given; either one is then accepted. */
export interface GitHttpAuth {
  /** HTTP basic authentication with exactly this username and password. */
  readonly basic?: { readonly username: string; readonly password: string };
  /**
   * An access token, sent as basic authentication with username `x-token-auth` (as Flipt sends it), or a check
   * that decides which tokens are valid (such as those a token endpoint issued and that have not expired).
   */
  readonly token?: string | ((token: string) => boolean);
}

/** One request the server answered, for assertions about what clients sent. */
export interface GitHttpRequest {
  readonly method: string;
  /** The request target as received (path and query), to check that no secret travels in the URL. */
  readonly url: string;
  /** The authenticated user, or undefined when the request carried no valid credentials. */
  readonly user: string | undefined;
  readonly status: number;
}

/** A running `git http-backend` behind node:http on 127.0.0.1 and a port chosen by the system. */
export interface GitHttpServer {
  readonly port: number;
  /** Requests answered so far, oldest first. */
  readonly requests: readonly GitHttpRequest[];
  /** The clone URL of a repository under the root, such as `http://127.0.0.1:PORT/flags.git`. */
  url(repoName: string): string;
  /** Stops accepting requests, ends open connections and backends, and resolves when all is closed. */
  stop(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** Directory whose bare repositories are served (`GIT_PROJECT_ROOT`). */
  readonly root: string;
  /** Credentials to require; when neither kind is given, every request is let in. */
  readonly auth?: GitHttpAuth;
  /** Serve HTTPS with this PEM certificate and key instead of plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** The port to listen on (to come back on the port of a server that was stopped); default 0, any free port. */
  readonly port?: number;
}

/** The username Flipt (and Pennant) sends with an access token. */
const TOKEN_USERNAME = "x-token-auth";

/**
 * Starts a git smart-HTTP server for tests: a small node:http server that checks HTTP basic credentials
 * (401 with `WWW-Authenticate: Basic realm="git"` when they are missing or wrong) and runs the system's
 * `git http-backend` as a CGI program for each request, with pushes enabled.
 */
export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const accepted: Array<{ username: string; password: string | ((password: string) => boolean) }> = [];
  if (options.auth?.basic) accepted.push({ ...options.auth.basic });
  if (options.auth?.token !== undefined)
    accepted.push({ username: TOKEN_USERNAME, password: options.auth.token });
  const requests: GitHttpRequest[] = [];
  const backends = new Set<ChildProcess>();

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const user = authenticate(request.headers.authorization, accepted);
    const record = (status: number) =>
      requests.push({ method: request.method ?? "", url: request.url ?? "", user, status });
    if (accepted.length > 0 && user === undefined) {
      record(401);
      request.resume();
      response.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" });
      response.end("authentication required\n");
      return;
    }
    runBackend(options.root, request, response, user, backends, record);
  };
  const server = options.tls === undefined ? createServer(handler) : createHttpsServer(options.tls, handler);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    requests,
    url: (repoName) => `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}/${repoName}`,
    stop: async () => {
      for (const child of backends) child.kill("SIGKILL");
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Returns the user whose credentials the Authorization header carries, if they are among `accepted`. */
function authenticate(
  header: string | undefined,
  accepted: ReadonlyArray<{ username: string; password: string | ((password: string) => boolean) }>,
): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const username = decoded.slice(0, colon);
  const password = Buffer.from(decoded.slice(colon + 1));
  for (const candidate of accepted) {
    if (typeof candidate.password === "function") {
      if (candidate.username === username && candidate.password(password.toString("utf8"))) return username;
      continue;
    }
    const expected = Buffer.from(candidate.password);
    if (
      candidate.username === username &&
      expected.length === password.length &&
      timingSafeEqual(expected, password)
    ) {
      return username;
    }
  }
  return undefined;
}

/** Runs one request through `git http-backend` (CGI) and streams its answer back. */
function runBackend(
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
  user: string | undefined,
  backends: Set<ChildProcess>,
  record: (status: number) => void,
): void {
  const target = new URL(request.url ?? "/", "http://localhost");
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    // Pushes are allowed on every served repository, also those not created by createBareRepo.
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.receivepack",
    GIT_CONFIG_VALUE_0: "true",
    REQUEST_METHOD: request.method ?? "GET",
    PATH_INFO: decodeURIComponent(target.pathname),
    QUERY_STRING: target.search.replace(/^\?/, ""),
    CONTENT_TYPE: request.headers["content-type"] ?? "",
    REMOTE_ADDR: request.socket.remoteAddress ?? "127.0.0.1",
  };
  if (user !== undefined) env.REMOTE_USER = user;
  const contentLength = request.headers["content-length"];
  if (contentLength !== undefined) env.CONTENT_LENGTH = contentLength;
  const encoding = request.headers["content-encoding"];
  if (encoding !== undefined) env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = request.headers["git-protocol"];
  if (typeof protocol === "string") env.GIT_PROTOCOL = protocol;

  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  backends.add(child);
  child.once("close", () => backends.delete(child));
  child.stderr.resume();
  child.stdin.on("error", () => {});
  request.pipe(child.stdin);

  let head = Buffer.alloc(0);
  let headersSent = false;
  const onData = (chunk: Buffer) => {
    if (headersSent) return;
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf("\r\n\r\n");
    const lf = head.indexOf("\n\n");
    const end = crlf >= 0 ? crlf : lf;
    if (end < 0) return;
    headersSent = true;
    child.stdout.off("data", onData);
    const separatorLength = crlf >= 0 ? 4 : 2;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    record(status);
    response.writeHead(status, headers);
    response.write(head.subarray(end + separatorLength));
    child.stdout.pipe(response);
  };
  child.stdout.on("data", onData);
  child.once("close", (code) => {
    if (headersSent) return;
    record(502);
    response.writeHead(502, { "Content-Type": "text/plain" });
    response.end(`git http-backend exited with ${code ?? "a signal"} before sending headers\n`);
  });
}

/** Runs git with a fixed identity and no inherited GIT_* variables; resolves with trimmed stdout. */
function git(cwd: string, args: readonly string[]): Promise<string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("GIT_")) env[key] = value;
  }
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "test",
    GIT_COMMITTER_EMAIL: "test@example.com",
  });
  return new Promise((resolve, reject) => {
    execFile("git", [...args], { cwd, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/**
 * Creates the bare repository `<root>/<name>` with `main` as its default branch and pushes allowed over HTTP.
 * With `files`, `main` gets one commit holding them (made in a temporary clone); without, it stays unborn.
 * Resolves with the repository's absolute path.
 */
export async function createBareRepo(
  root: string,
  name: string,
  options: { files?: Readonly<Record<string, string>> } = {},
): Promise<string> {
  const path = join(root, name);
  await mkdir(path, { recursive: true });
  await git(path, ["init", "--quiet", "--bare", "--initial-branch", "main"]);
  await git(path, ["config", "http.receivepack", "true"]);
  if (options.files === undefined) return path;
  const work = await mkdtemp(join(tmpdir(), "pennant-seed-"));
  try {
    await git(work, ["init", "--quiet", "--initial-branch", "main"]);
    for (const [relativePath, text] of Object.entries(options.files)) {
      await mkdir(dirname(join(work, relativePath)), { recursive: true });
      await writeFile(join(work, relativePath), text);
    }
    await git(work, ["add", "--all"]);
    await git(work, ["commit", "--quiet", "--allow-empty", "--message", "initial files"]);
    await git(work, ["push", "--quiet", path, "main:refs/heads/main"]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return path;
}
