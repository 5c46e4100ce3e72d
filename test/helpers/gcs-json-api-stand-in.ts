import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { CRC32C } from "@google-cloud/storage";

/**
 * A STAND-IN for Google Cloud Storage's JSON API: no GCS emulator runs on this machine (firebase-tools' storage
 * emulator needs Java 21 and downloads its rules runtime at start; fake-gcs-server is a Go binary / Docker image),
 * so the tests drive the REAL `@google-cloud/storage` client against this small server on 127.0.0.1. It implements
 * only the calls that client makes for reading a bucket, under `/storage/v1` (and without it, as the client uses
 * when `STORAGE_EMULATOR_HOST` is in the process environment):
 *
 * - `GET /b/{bucket}`: bucket metadata; 404 `notFound` for a bucket that does not exist;
 * - `GET /b/{bucket}/o?prefix=&maxResults=&pageToken=`: objects in name order, at most `maxResults` (and 1000) a
 *   page, with an opaque `nextPageToken` while more remain; `delimiter`, `versions` and `fields` are not
 *   implemented (refused with 400 or ignored: `fields` is ignored, the whole resource is sent);
 * - `GET /b/{bucket}/o/{object}`: object metadata (`generation`, `size`, `md5Hash`, `crc32c`, `etag`, ...), and with
 *   `alt=media` its bytes, with the `x-goog-hash`, `x-goog-generation` and `x-goog-stored-content-encoding` headers
 *   the client validates whole downloads with, and `Range: bytes=start-end` (206, or 416 from the end on); 404
 *   `notFound` for an object that does not exist;
 * - `POST /v1/token`: a Security Token Service token exchange (`grant_type=urn:ietf:params:oauth:grant-type:
 *   token-exchange`), as an `external_account` credentials file (workload identity federation) makes through
 *   `GOOGLE_APPLICATION_CREDENTIALS`: the right subject token gets an access token, any other 400 `invalid_grant`,
 *   as Google's STS answers.
 *
 * Without `subjectToken` it is unauthenticated, as emulators are. With it, every storage call needs
 * `Authorization: Bearer <a token it issued>`, else 401 (`required` when absent, `authError` when not issued here).
 * Generations grow with every write, as GCS's do. Requests are counted by kind; `stop()` and `start()` close and
 * reopen it on the same port, and `hold()` makes it accept requests and never answer them (a hung store).
 * No writes over HTTP, no ACLs, IAM, versions, resumable uploads or XML API: objects are put from the test.
 */

export type GcsRequestKind = "bucket" | "list" | "metadata" | "media" | "token" | "other";

export interface GcsJsonApiStandInOptions {
  /** Require a bearer token got for this subject token from the stand-in's STS endpoint. */
  readonly subjectToken?: string;
}

/** What an integration test needs to point a `pennant server` process at the stand-in (an unauthenticated one). */
export interface GcsStandInProcessSettings {
  /** The process environment: `STORAGE_EMULATOR_HOST`. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The process environment of a v1 config given only by variables: `FLIPT_STORAGE_TYPE=object`,
   * `FLIPT_STORAGE_OBJECT_TYPE=googlecloud`, the bucket and prefix, and `STORAGE_EMULATOR_HOST`.
   */
  readonly v1Env: (bucket: string, prefix?: string) => Readonly<Record<string, string>>;
  /**
   * A process environment whose credentials are refused (with no `STORAGE_EMULATOR_HOST`, which turns credentials
   * off): `GOOGLE_APPLICATION_CREDENTIALS` names an `external_account` file, written into `dir`, whose token
   * exchange the stand-in refuses (400 `invalid_grant`). The client asks for a token before any storage call, so
   * nothing is ever sent to Google. Expect a "denied" start naming the bucket.
   */
  readonly refusedCredentialsEnv: (dir: string) => Promise<Readonly<Record<string, string>>>;
}

interface StoredObject {
  readonly bytes: Buffer;
  readonly generation: number;
  readonly updated: string;
  readonly md5: string;
  readonly crc32c: string;
}

/** The largest page the JSON API returns. */
const MAX_PAGE_SIZE = 1000;
const STS_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";

export class GcsJsonApiStandIn {
  readonly #buckets = new Map<string, Map<string, StoredObject>>();
  readonly #counts = new Map<GcsRequestKind, number>();
  #mediaBytes = 0;
  readonly #issuedTokens = new Set<string>();
  readonly #sockets = new Set<Socket>();
  readonly #held = new Set<ServerResponse>();
  readonly #subjectToken: string | undefined;
  #server: Server | undefined;
  #port = 0;
  #holding = false;
  #generation = 1_700_000_000_000_000;

  private constructor(options: GcsJsonApiStandInOptions) {
    this.#subjectToken = options.subjectToken;
  }

  /** Starts a stand-in on 127.0.0.1 and a free port. */
  static async start(options: GcsJsonApiStandInOptions = {}): Promise<GcsJsonApiStandIn> {
    const standIn = new GcsJsonApiStandIn(options);
    await standIn.start();
    return standIn;
  }

  /** `http://127.0.0.1:<port>`: the value of `STORAGE_EMULATOR_HOST`, or the client's `apiEndpoint`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The STS endpoint an `external_account` credentials file names as `token_url`. */
  get tokenUrl(): string {
    return `${this.endpoint}/v1/token`;
  }

  /** Settings for a `pennant server` process reading bucket `bucket` from this (unauthenticated) stand-in. */
  processSettings(): GcsStandInProcessSettings {
    return {
      env: { STORAGE_EMULATOR_HOST: this.endpoint },
      v1Env: (bucket, prefix = "") => ({
        FLIPT_STORAGE_TYPE: "object",
        FLIPT_STORAGE_OBJECT_TYPE: "googlecloud",
        FLIPT_STORAGE_OBJECT_GOOGLECLOUD_BUCKET: bucket,
        FLIPT_STORAGE_OBJECT_GOOGLECLOUD_PREFIX: prefix,
        STORAGE_EMULATOR_HOST: this.endpoint,
      }),
      refusedCredentialsEnv: async (dir) => ({
        GOOGLE_APPLICATION_CREDENTIALS: await this.writeExternalAccountCredentials(
          dir,
          // Never the stand-in's own subject token: a token granted here would send the client to Google.
          `refused-${randomBytes(16).toString("hex")}`,
        ),
      }),
    };
  }

  /**
   * Writes an `external_account` credentials file (and its subject token file) into `dir` whose `token_url` is this
   * stand-in's STS endpoint, for `GOOGLE_APPLICATION_CREDENTIALS`; returns the file's path. With a subject token
   * other than the stand-in's the exchange is refused, and nothing is requested from Google: the client asks for
   * a token before any storage call.
   */
  async writeExternalAccountCredentials(dir: string, subjectToken: string): Promise<string> {
    const tokenFile = join(dir, "gcs-subject-token.txt");
    const credentialsFile = join(dir, "gcs-external-account.json");
    await writeFile(tokenFile, subjectToken, { mode: 0o600 });
    await writeFile(
      credentialsFile,
      JSON.stringify({
        type: "external_account",
        audience:
          "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/pennant/providers/test",
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        token_url: this.tokenUrl,
        credential_source: { file: tokenFile },
      }),
      { mode: 0o600 },
    );
    return credentialsFile;
  }

  createBucket(bucket: string): void {
    if (!this.#buckets.has(bucket)) this.#buckets.set(bucket, new Map());
  }

  deleteBucket(bucket: string): void {
    this.#buckets.delete(bucket);
  }

  /** Writes an object (creating its bucket), and returns its new generation. */
  putObject(bucket: string, name: string, content: string | Uint8Array): string {
    this.createBucket(bucket);
    const bytes = Buffer.from(content);
    this.#generation += 1;
    const object: StoredObject = {
      bytes,
      generation: this.#generation,
      updated: new Date().toISOString(),
      md5: createHash("md5").update(bytes).digest("base64"),
      crc32c: crc32cOf(bytes),
    };
    this.#buckets.get(bucket)?.set(name, object);
    return String(object.generation);
  }

  deleteObject(bucket: string, name: string): void {
    this.#buckets.get(bucket)?.delete(name);
  }

  /** Requests of `kind` answered or held since start (or the last `resetCounts()`). */
  count(kind: GcsRequestKind): number {
    return this.#counts.get(kind) ?? 0;
  }

  /** All storage requests (not token requests) since start or the last `resetCounts()`. */
  storageRequests(): number {
    return this.count("bucket") + this.count("list") + this.count("metadata") + this.count("media");
  }

  /** Object bytes sent in downloads since start or the last `resetCounts()`. */
  mediaBytesSent(): number {
    return this.#mediaBytes;
  }

  resetCounts(): void {
    this.#counts.clear();
    this.#mediaBytes = 0;
  }

  /** From now on requests are accepted and never answered, until `release()` or `stop()`. */
  hold(): void {
    this.#holding = true;
  }

  /** Answers requests again; those held so far get a 503. */
  release(): void {
    this.#holding = false;
    for (const response of this.#held) answerError(response, 503, "backendError", "Backend Error");
    this.#held.clear();
  }

  /** Listens again, on the port it had (a free one the first time). */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((request, response) => this.#handle(request, response));
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Closes the port and every open connection; the objects are kept for `start()`. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#holding = false;
    this.#held.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  #count(kind: GcsRequestKind): void {
    this.#counts.set(kind, this.count(kind) + 1);
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://stand-in");
    if (url.pathname === "/v1/token") {
      this.#count("token");
      if (this.#holding) {
        this.#held.add(response);
        return;
      }
      this.#exchangeToken(request, response).catch(() => response.destroy());
      return;
    }
    request.resume();
    // Object names are percent-encoded as one path segment: match the raw path, decode each part.
    const match = /^(?:\/storage\/v1)?\/b\/([^/]+)(?:\/(o)(?:\/([^/]+))?)?$/.exec(url.pathname);
    if (request.method !== "GET" || match === null) {
      this.#count("other");
      answerError(
        response,
        400,
        "invalid",
        `not implemented by the stand-in: ${request.method} ${url.pathname}`,
      );
      return;
    }
    const bucketName = decodeURIComponent(match[1] as string);
    const objectName = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
    const kind: GcsRequestKind =
      match[2] === undefined
        ? "bucket"
        : objectName === undefined
          ? "list"
          : url.searchParams.get("alt") === "media"
            ? "media"
            : "metadata";
    this.#count(kind);
    if (this.#holding) {
      this.#held.add(response);
      return;
    }

    const refusal = this.#authorize(request, kind);
    if (refusal !== undefined) {
      answerError(response, 401, refusal.reason, refusal.message);
      return;
    }

    const bucket = this.#buckets.get(bucketName);
    if (bucket === undefined) {
      answerError(response, 404, "notFound", "The specified bucket does not exist.");
      return;
    }
    if (kind === "bucket") {
      answerJson(response, 200, {
        kind: "storage#bucket",
        id: bucketName,
        name: bucketName,
        location: "US",
        storageClass: "STANDARD",
        metageneration: "1",
      });
      return;
    }
    if (kind === "list") {
      this.#list(url, response, bucketName, bucket);
      return;
    }

    const object = bucket.get(objectName as string);
    if (object === undefined) {
      answerError(response, 404, "notFound", `No such object: ${bucketName}/${objectName}`);
      return;
    }
    if (kind === "metadata") {
      answerJson(response, 200, resource(bucketName, objectName as string, object));
      return;
    }
    this.#media(request, response, object);
  }

  /** An object's bytes, or the part a `Range: bytes=start-end` header asks for (206, or 416 past its end). */
  #media(request: IncomingMessage, response: ServerResponse, object: StoredObject): void {
    const size = object.bytes.length;
    let body = object.bytes;
    let status = 200;
    const headers: Record<string, string | number> = {
      "content-type": "application/octet-stream",
      etag: etagOf(object),
      "x-goog-generation": String(object.generation),
      "x-goog-metageneration": "1",
      "x-goog-hash": `crc32c=${object.crc32c},md5=${object.md5}`,
      "x-goog-stored-content-encoding": "identity",
      "x-goog-stored-content-length": String(size),
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    if (range !== null) {
      const start = Number(range[1]);
      const end = Math.min(range[2] === "" ? size - 1 : Number(range[2]), size - 1);
      if (start >= size) {
        answerError(
          response,
          416,
          "requestedRangeNotSatisfiable",
          "The requested range cannot be satisfied.",
        );
        return;
      }
      status = 206;
      body = object.bytes.subarray(start, end + 1);
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["content-length"] = body.length;
    this.#mediaBytes += body.length;
    response.writeHead(status, headers);
    response.end(body);
  }

  #list(url: URL, response: ServerResponse, bucketName: string, bucket: Map<string, StoredObject>): void {
    if (url.searchParams.has("delimiter") || url.searchParams.get("versions") === "true") {
      answerError(response, 400, "invalid", "delimiter and versions are not implemented by the stand-in");
      return;
    }
    const prefix = url.searchParams.get("prefix") ?? "";
    const requested = Number(url.searchParams.get("maxResults") ?? MAX_PAGE_SIZE);
    const pageSize =
      Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
    const token = url.searchParams.get("pageToken");
    const after = token === null ? undefined : Buffer.from(token, "base64url").toString("utf8");
    const names = [...bucket.keys()]
      .filter((name) => name.startsWith(prefix) && (after === undefined || name > after))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = names.slice(0, pageSize);
    const body: Record<string, unknown> = {
      kind: "storage#objects",
      items: page.map((name) => resource(bucketName, name, bucket.get(name) as StoredObject)),
    };
    if (names.length > page.length) {
      body.nextPageToken = Buffer.from(page[page.length - 1] as string, "utf8").toString("base64url");
    }
    answerJson(response, 200, body);
  }

  /** Why a storage request is refused, or undefined when it may go on. */
  #authorize(
    request: IncomingMessage,
    kind: GcsRequestKind,
  ): { reason: string; message: string } | undefined {
    if (this.#subjectToken === undefined) return undefined;
    const header = request.headers.authorization;
    if (header === undefined) {
      const permission =
        kind === "bucket"
          ? "storage.buckets.get"
          : kind === "list"
            ? "storage.objects.list"
            : "storage.objects.get";
      return {
        reason: "required",
        message: `Anonymous caller does not have ${permission} access to the Google Cloud Storage bucket. Permission '${permission}' denied on resource (or it may not exist).`,
      };
    }
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    if (token === undefined || !this.#issuedTokens.has(token)) {
      return { reason: "authError", message: "Invalid Credentials" };
    }
    return undefined;
  }

  async #exchangeToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    if (request.method !== "POST" || form.get("grant_type") !== STS_GRANT_TYPE) {
      answerJson(response, 400, {
        error: "unsupported_grant_type",
        error_description: "Only token exchange is implemented by the stand-in.",
      });
      return;
    }
    if (this.#subjectToken === undefined || form.get("subject_token") !== this.#subjectToken) {
      answerJson(response, 400, {
        error: "invalid_grant",
        error_description: "The subject token could not be verified.",
      });
      return;
    }
    const accessToken = `ya29.stand-in-${randomBytes(16).toString("hex")}`;
    this.#issuedTokens.add(accessToken);
    answerJson(response, 200, {
      access_token: accessToken,
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      token_type: "Bearer",
      expires_in: 3600,
    });
  }
}

function crc32cOf(bytes: Buffer): string {
  const crc = new CRC32C();
  crc.update(bytes);
  return crc.toString();
}

function etagOf(object: StoredObject): string {
  return Buffer.from(String(object.generation)).toString("base64");
}

function resource(bucket: string, name: string, object: StoredObject): Record<string, unknown> {
  return {
    kind: "storage#object",
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: "1",
    contentType: "application/octet-stream",
    storageClass: "STANDARD",
    size: String(object.bytes.length),
    md5Hash: object.md5,
    crc32c: object.crc32c,
    etag: etagOf(object),
    timeCreated: object.updated,
    updated: object.updated,
  };
}

function answerJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** An error in the JSON API's shape: `{ error: { code, message, errors: [{ domain, reason, message }] } }`. */
function answerError(response: ServerResponse, status: number, reason: string, message: string): void {
  answerJson(response, status, {
    error: { code: status, message, errors: [{ domain: "global", reason, message }] },
  });
}
