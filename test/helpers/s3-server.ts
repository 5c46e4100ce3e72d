/**
 * An S3 server of a test's own: s3rver (npm `s3rver` 3.7.1), an implementation of the S3 REST protocol that runs
 * in-process, storing buckets in a temporary directory (under /dev/shm where there is one). It stands in for
 * Amazon S3, which cannot run here; the code under test talks to it through the real `@aws-sdk/client-s3`, over
 * HTTP on a free 127.0.0.1 port. The port stays the same across `stop()` and `start()`, so a client configured
 * with `endpoint` finds it again (for "the store is unreachable, then recovers"); buckets and objects stay too.
 *
 * Every HTTP request the server receives is recorded (method, kind, bucket, key, and the signature's access key
 * id and region), so that a test can assert how many requests, and which, the code under test made: "an idle
 * poll makes one list request and no GET". The helper's own writes send no request: `put`, `remove` and
 * `createBucket` write s3rver's store directory directly (its on-disk layout: `<key>._S3rver_object`, with its
 * MD5 in `<key>._S3rver_object.md5` beside it), each file written aside and renamed into place, bytes first.
 * s3rver's own PUT answers before the object's bytes are on disk (it resolves when the upload stream ends, not
 * the file), so a read right after it, or a listing during it, can see a truncated object under the new ETag; S3
 * never shows a half-written object. Written this way, a reader sees the old object, then the new bytes still
 * under the old ETag (which a listing may show with the new size), then the new object. It also is ten times
 * faster than its PUT here.
 *
 * What s3rver does not check, so what no test against it can show:
 * - Credentials, mostly. It knows one access key id, `S3RVER` (others can be registered, process-wide, through
 *   its `lib/models/account` module), and refuses any other id with 403 `InvalidAccessKeyId`. But it never
 *   verifies a Signature Version 4 signature (the AWS SDK v3 signs with nothing else): with the id `S3RVER`, any
 *   secret key and any session token are accepted. Its `allowMismatchedSignatures` option only concerns the old
 *   Signature Version 2. So "wrong credentials" can be tested only as an unknown access key id; a wrong secret,
 *   an expired token or a bucket policy's `AccessDenied` cannot be produced by it. Requests without any
 *   signature are served too.
 * - Regions (any is accepted), bucket policies and ACLs, checksums other than the MD5 ETag, and multipart ETags
 *   (`"<md5>-<parts>"`).
 * - Its ETag is the MD5 of the bytes, as S3's is for single-part uploads: rewriting an object with the same
 *   bytes keeps the ETag.
 * - Under Node's OpenSSL 3 its ListObjectsV2 pagination fails unless patched: see
 *   `allowS3rverContinuationTokens`.
 */
import { createHash, randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** s3rver's API as used here (the package has no type declarations). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly httpServer: Server;
}
type S3rverClass = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

/** s3rver's store of buckets in a directory, as used here. */
interface FilesystemStore {
  putBucket(name: string): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<void>;
  getResourcePath(bucket: string, key: string, resource: string): string;
}
type FilesystemStoreClass = new (directory: string) => FilesystemStore;

const require = createRequire(import.meta.url);
const S3rver = require("s3rver") as S3rverClass;
const Store = require("s3rver/lib/stores/filesystem") as FilesystemStoreClass;

/**
 * s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 refuses unless node
 * runs with `--openssl-legacy-provider`: every listing of more than one page (1000 keys) then fails with
 * `InternalError`. Where DES is refused, `des` becomes an identity "cipher" in this process (the token stays
 * opaque to clients, and nothing else can be using DES, since OpenSSL refuses it), so that pagination works as
 * on S3.
 */
function allowS3rverContinuationTokens(): void {
  const crypto = require("node:crypto") as typeof import("node:crypto");
  try {
    crypto.createCipheriv("des", Buffer.alloc(8), Buffer.alloc(8));
    return;
  } catch {
    // refused (or patched already, which never throws): patch below
  }
  const identity = () => ({ update: (data: Buffer) => Buffer.from(data), final: () => Buffer.alloc(0) });
  const { createCipheriv, createDecipheriv } = crypto;
  crypto.createCipheriv = ((algorithm: string, ...rest: unknown[]) =>
    algorithm === "des"
      ? identity()
      : (createCipheriv as (...args: unknown[]) => unknown)(algorithm, ...rest)) as typeof createCipheriv;
  crypto.createDecipheriv = ((algorithm: string, ...rest: unknown[]) =>
    algorithm === "des"
      ? identity()
      : (createDecipheriv as (...args: unknown[]) => unknown)(algorithm, ...rest)) as typeof createDecipheriv;
}

/** The only access key id s3rver knows; it accepts any secret with it. */
export const S3RVER_ACCESS_KEY_ID = "S3RVER";
/** The secret s3rver's documentation pairs with it (never checked). */
export const S3RVER_SECRET_ACCESS_KEY = "S3RVER";

/** What an S3 request does, from its method and path (path-style addressing). */
export type S3RequestKind = "list" | "get" | "head" | "put" | "delete" | "create-bucket" | "other";

export interface S3Request {
  readonly method: string;
  readonly kind: S3RequestKind;
  readonly bucket: string | undefined;
  /** The object key, decoded, for requests on an object. */
  readonly key: string | undefined;
  /** The access key id and region of the request's signature (`Credential=<id>/<date>/<region>/s3/...`). */
  readonly accessKeyId: string | undefined;
  readonly region: string | undefined;
  /** Whether it carried a session token (`x-amz-security-token`). */
  readonly sessionToken: boolean;
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`: the `endpoint` to configure. */
  readonly endpoint: string;
  readonly port: number;
  /** An environment with credentials s3rver accepts, for `openS3Bucket(config, env)`. */
  readonly env: Readonly<Record<string, string>>;
  readonly running: boolean;
  createBucket(name: string): Promise<void>;
  /** Writes an object (see above: straight into the store, atomically as S3 does, sending no request). */
  put(bucket: string, key: string, body: string | Uint8Array): Promise<void>;
  putMany(bucket: string, objects: Readonly<Record<string, string | Uint8Array>>): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  /** The requests received since start (or the last `resetRequests()`), in order; all of `kind` if given. */
  requests(kind?: S3RequestKind): S3Request[];
  resetRequests(): void;
  /** Stops listening and drops every open connection at once, as an outage would. */
  stop(): Promise<void>;
  /** Starts again on the same port, with the same buckets and objects. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/** How many files the helper writes at once. */
const PARALLEL_WRITES = 32;

/** Starts s3rver on a free 127.0.0.1 port with `buckets` created. The helper's writes work while it is stopped. */
export async function startS3Server(
  options: { readonly buckets?: readonly string[] } = {},
): Promise<S3TestServer> {
  allowS3rverContinuationTokens();
  const directory = await mkdtemp(join(await scratchRoot(), "pennant-s3rver-"));
  const store = new Store(directory);
  const recorded: S3Request[] = [];
  let server: S3rverInstance | undefined;
  let port = 0;

  const listen = async () => {
    const instance = new S3rver({
      port,
      address: "127.0.0.1",
      silent: true,
      directory,
      configureBuckets: [],
    });
    const address = await instance.run();
    port = address.port;
    instance.httpServer.on("request", (request: IncomingMessage) => {
      const credential = /Credential=([^/]+)\/[^/]+\/([^/]+)\//.exec(request.headers.authorization ?? "");
      recorded.push({
        ...classify(request.method ?? "", request.url ?? "/"),
        accessKeyId: credential?.[1],
        region: credential?.[2],
        sessionToken: request.headers["x-amz-security-token"] !== undefined,
      });
    });
    server = instance;
  };

  const stop = async () => {
    const running = server;
    if (running === undefined) return;
    server = undefined;
    const closed = running.close();
    running.httpServer.closeAllConnections();
    await closed;
  };

  /** Writes `bytes` at `path` aside, then renames them into place, so a reader sees the old file or the new. */
  const replace = async (path: string, bytes: string | Uint8Array) => {
    const aside = `${path}.pennant-${randomUUID()}`;
    await writeFile(aside, bytes);
    await rename(aside, path);
  };
  const put = async (bucket: string, key: string, body: string | Uint8Array) => {
    const objectPath = store.getResourcePath(bucket, key, "object");
    await mkdir(dirname(objectPath), { recursive: true });
    await replace(objectPath, body);
    await replace(`${objectPath}.md5`, createHash("md5").update(body).digest("hex"));
    // No `metadata.json`: s3rver then serves the defaults (content type `binary/octet-stream`), and it is one file
    // fewer per object to write and to read at each listing. A replaced object keeps an older one's metadata.
  };

  try {
    for (const name of options.buckets ?? []) await store.putBucket(name);
    await listen();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    env: { AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET_ACCESS_KEY },
    get running() {
      return server !== undefined;
    },
    async createBucket(name) {
      await store.putBucket(name);
    },
    put,
    async putMany(bucket, objects) {
      const queue = Object.entries(objects);
      const next = async () => {
        for (let entry = queue.shift(); entry !== undefined; entry = queue.shift())
          await put(bucket, ...entry);
      };
      await Promise.all(Array.from({ length: PARALLEL_WRITES }, next));
    },
    async remove(bucket, key) {
      await store.deleteObject(bucket, key);
    },
    requests(kind) {
      return kind === undefined ? [...recorded] : recorded.filter((request) => request.kind === kind);
    },
    resetRequests() {
      recorded.length = 0;
    },
    stop,
    async start() {
      if (server === undefined) await listen();
    },
    close() {
      closed ??= (async () => {
        await stop();
        await rm(directory, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/**
 * Where the store's directory goes: /dev/shm (memory) where there is one, for s3rver keeps up to three files per
 * object and reads two of them per object listed, which on this machine's disk takes ten times as long; else the
 * temporary directory.
 */
async function scratchRoot(): Promise<string> {
  try {
    await access("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

function classify(method: string, url: string): Pick<S3Request, "method" | "kind" | "bucket" | "key"> {
  const parsed = new URL(url, "http://s3.test");
  const [, bucketPart = "", ...keyParts] = parsed.pathname.split("/");
  const bucket = bucketPart === "" ? undefined : decodeURIComponent(bucketPart);
  const key = keyParts.join("/") === "" ? undefined : decodeURIComponent(keyParts.join("/"));
  let kind: S3RequestKind = "other";
  if (bucket !== undefined && key === undefined) {
    if (method === "GET" && [...parsed.searchParams.keys()].every((name) => LIST_PARAMS.has(name)))
      kind = "list";
    else if (method === "PUT" && parsed.search === "") kind = "create-bucket";
  } else if (key !== undefined) {
    if (method === "GET") kind = "get";
    else if (method === "HEAD") kind = "head";
    else if (method === "PUT") kind = "put";
    else if (method === "DELETE") kind = "delete";
  }
  return { method, kind, bucket, key };
}

/** The query parameters of ListObjects (V1 and V2). */
const LIST_PARAMS = new Set([
  "list-type",
  "prefix",
  "delimiter",
  "continuation-token",
  "start-after",
  "max-keys",
  "marker",
  "encoding-type",
  "fetch-owner",
  "x-id",
]);
