import type { Readable } from "node:stream";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { redactSecretValues } from "../redact-secrets.js";
import type { ListedObject, ObjectBucket, ObjectStoreConfig } from "./object-bucket.js";
import { ObjectStoreError, type ObjectStoreProblem } from "./object-store-error.js";
import { readStreamAtMost } from "./read-stream-at-most.js";

/** How long connecting to the store may take before the attempt is abandoned. */
export const S3_CONNECTION_TIMEOUT_MS = 5_000;
/** How long a request may wait for the response's headers, once sent. */
export const S3_REQUEST_TIMEOUT_MS = 10_000;
/** How long a response's body may stall (no bytes arriving) before the download is abandoned. */
export const S3_IDLE_TIMEOUT_MS = 10_000;
/** Attempts per request (the SDK's retries of throttling, 5xx answers and network errors): one retry. */
export const S3_MAX_ATTEMPTS = 2;

/** The bounds above, which tests may shorten. */
export interface S3Timeouts {
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxAttempts: number;
}

const DEFAULT_TIMEOUTS: S3Timeouts = {
  connectionTimeoutMs: S3_CONNECTION_TIMEOUT_MS,
  requestTimeoutMs: S3_REQUEST_TIMEOUT_MS,
  idleTimeoutMs: S3_IDLE_TIMEOUT_MS,
  maxAttempts: S3_MAX_ATTEMPTS,
};

/** Error codes of S3 (and of the STS tokens it checks) that mean the credentials were refused or may not read. */
const DENIED_CODES = new Set([
  "AccessDenied",
  "AccountProblem",
  "AllAccessDisabled",
  "ExpiredToken",
  "InvalidAccessKeyId",
  "InvalidToken",
  "RequestTimeTooSkewed",
  "SignatureDoesNotMatch",
  "TokenRefreshRequired",
  "CredentialsProviderError",
]);

/**
 * A bucket of Amazon S3 or an S3-compatible store (MinIO, ...), through the AWS SDK: Flipt v1's `storage.object.s3`.
 * The prefix is used literally, as in v1 (`flags/` lists `flags/...`; `flags` also lists `flags.flipt.yml`).
 * Addressing is path-style always (`<endpoint>/<bucket>/<key>`), as v1's opener sets it. Credentials are
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) from `env` when both are set, else the
 * SDK's default chain (which reads the process environment itself: `AWS_PROFILE` and the shared files, web identity,
 * ECS, EC2 instance metadata). The region is the config's, else `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`.
 * Requests give up after `S3_MAX_ATTEMPTS` attempts bounded by the timeouts above, so that a store that does not
 * answer fails a poll within seconds instead of holding it. Nothing is requested until `list()` or `get()`.
 */
export async function openS3Bucket(
  config: Extract<ObjectStoreConfig, { provider: "s3" }>,
  env: Readonly<Record<string, string | undefined>>,
  timeouts: S3Timeouts = DEFAULT_TIMEOUTS,
): Promise<ObjectBucket> {
  const { bucket, prefix } = config;
  const endpoint = nonEmpty(config.endpoint);
  const description = describe(bucket, prefix, endpoint);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  const secrets = [secretAccessKey, sessionToken].filter((value): value is string => value !== undefined);
  const fail = (error: unknown) => toStoreError(error, description, secrets);
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new ObjectStoreError(`${description}: the endpoint is not a URL`, "unreachable");
  }

  const options: S3ClientConfig = {
    region:
      nonEmpty(config.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? "us-east-1",
    forcePathStyle: true,
    followRegionRedirects: true,
    maxAttempts: timeouts.maxAttempts,
    // Bodies are read partly (up to the size limit) and S3-compatible stores rarely send checksums: the ETag in the
    // listing is what tells a change, as in v1.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeouts.idleTimeoutMs,
    },
  };
  if (endpoint !== undefined) options.endpoint = endpoint;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    options.credentials =
      sessionToken === undefined
        ? { accessKeyId, secretAccessKey }
        : { accessKeyId, secretAccessKey, sessionToken };
  }
  const client = new S3Client(options);

  return {
    description,

    async list(): Promise<ListedObject[]> {
      const objects: ListedObject[] = [];
      let token: string | undefined;
      do {
        let page: ListObjectsV2CommandOutput;
        try {
          page = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              ...(prefix === "" ? {} : { Prefix: prefix }),
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
          );
        } catch (error) {
          throw fail(error);
        }
        for (const object of page.Contents ?? []) {
          const key = object.Key;
          if (key === undefined || !key.startsWith(prefix)) continue;
          const relative = key.slice(prefix.length);
          // "Directory" markers that consoles create hold no file.
          if (relative === "" || relative.endsWith("/")) continue;
          objects.push({ key: relative, etag: etagOf(object), size: object.Size ?? 0 });
        }
        const next = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        if (next !== undefined && next === token) {
          throw new ObjectStoreError(
            `${description}: the listing repeats its continuation token`,
            "unreachable",
          );
        }
        token = next;
      } while (token !== undefined);
      return objects;
    },

    async get(key: string, maxBytes: number): Promise<Uint8Array | undefined> {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }));
        if (answer.Body === undefined) return new Uint8Array(0);
        return await readStreamAtMost(answer.Body as Readable, maxBytes + 1);
      } catch (error) {
        if (isMissingKey(error)) return undefined;
        throw fail(error);
      }
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
}

/** `s3 bucket "flags" (prefix "prod/") at http://minio:9000`, without any user info of the endpoint. */
function describe(bucket: string, prefix: string, endpoint: string | undefined): string {
  let text = `s3 bucket "${bucket}"`;
  if (prefix !== "") text += ` (prefix "${prefix}")`;
  if (endpoint !== undefined) {
    let shown = endpoint;
    if (URL.canParse(endpoint)) {
      const url = new URL(endpoint);
      url.username = "";
      url.password = "";
      shown = url.href.replace(/\/$/, "");
    }
    text += ` at ${shown}`;
  }
  return text;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** The ETag without its quotes; for a store that sends none, what changes with the object anyway. */
function etagOf(object: {
  ETag?: string | undefined;
  LastModified?: Date | undefined;
  Size?: number | undefined;
}) {
  const etag = object.ETag?.replace(/^"(.*)"$/, "$1");
  if (etag !== undefined && etag !== "") return etag;
  return `${object.LastModified?.getTime() ?? ""}-${object.Size ?? ""}`;
}

function isMissingKey(error: unknown): boolean {
  const { code } = reasonOf(error);
  return code === "NoSuchKey" || code === "NotFound";
}

/**
 * What failed, for the message: S3's error code and message (with the HTTP status where the store answered no S3
 * error document), or Node's network error code and message. `code` classifies it.
 */
function reasonOf(error: unknown): { code: string | undefined; status: number | undefined; reason: string } {
  if (!(error instanceof Error)) return { code: undefined, status: undefined, reason: String(error) };
  const fields = error as Error & {
    code?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const status = fields.$metadata?.httpStatusCode;
  if (fields.$fault !== undefined) {
    // An answer of the store: S3ServiceException, named after S3's error code.
    const code = error.name;
    const told = error.message !== "" && error.message !== code;
    const bare = !told || code === "UnknownError" || code === "Unknown";
    const head = bare && status !== undefined ? `${code} (HTTP ${status})` : code;
    return { code, status, reason: told ? `${head}: ${error.message}` : head };
  }
  const code =
    typeof fields.code === "string" ? fields.code : error.name === "Error" ? undefined : error.name;
  if (status !== undefined && status >= 300) {
    // An answer that is no S3 error document (a proxy's page, another service): its status, and what the SDK saw.
    return { code, status, reason: `HTTP ${status}: ${error.message.split("\n")[0]}` };
  }
  const reason =
    code === undefined || error.message.includes(code) ? error.message : `${code}: ${error.message}`;
  return { code, status, reason: reason === "" ? (code ?? "unknown error") : reason };
}

/**
 * The failure as the user sees it: the bucket, the provider's reason, and which kind of problem it is. The SDK's
 * error is not kept as the cause: it holds the raw response, and with it the request's headers, among which a
 * session token. The cause is a copy with its name, message, HTTP status and stack.
 */
function toStoreError(error: unknown, description: string, secrets: readonly string[]): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const { code, status, reason } = reasonOf(error);
  let problem: ObjectStoreProblem = "unreachable";
  if (code === "NoSuchBucket") problem = "missing";
  else if ((code !== undefined && DENIED_CODES.has(code)) || status === 401 || status === 403)
    problem = "denied";
  const redact = (text: string) => redactSecretValues(text, secrets);
  const cause = new Error(redact(error instanceof Error ? error.message : String(error)));
  cause.name = code ?? (error instanceof Error ? error.name : "Error");
  if (error instanceof Error && error.stack !== undefined) cause.stack = redact(error.stack);
  if (status !== undefined) Object.assign(cause, { httpStatusCode: status });
  return new ObjectStoreError(`${description}: ${redact(reason)}`, problem, { cause });
}
