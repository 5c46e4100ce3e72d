import { type File, Storage, type StorageOptions } from "@google-cloud/storage";
import type { ListedObject, ObjectBucket, ObjectStoreConfig } from "./object-bucket.js";
import { ObjectStoreError, type ObjectStoreProblem } from "./object-store-error.js";
import { readStreamAtMost } from "./read-stream-at-most.js";

/** Objects per listing page: the most one JSON API objects.list request returns. */
export const GCS_LIST_PAGE_SIZE = 1000;
/**
 * The longest one request (one listing page, one download) may take, its retries and the token request included:
 * a store that accepts connections and never answers fails after this. Also each HTTP request's own timeout.
 */
export const GCS_REQUEST_TIMEOUT_MS = 15_000;
/**
 * Retries of a request that failed with 408, 429, 5xx or a reset connection. The library's defaults (3 retries,
 * delays doubling up to 64 s, 600 s in all) keep a poll waiting for minutes on a store that is down; with these a
 * refused connection fails at once and a failing store within a few seconds. Delays are in seconds.
 */
const RETRY_OPTIONS: NonNullable<StorageOptions["retryOptions"]> = {
  autoRetry: true,
  maxRetries: 2,
  retryDelayMultiplier: 2,
  maxRetryDelay: 1,
  totalTimeout: GCS_REQUEST_TIMEOUT_MS / 1000,
};
/** The longest provider reason kept in an error message. */
const MAX_REASON_CHARS = 600;

type Env = Readonly<Record<string, string | undefined>>;
type GcsConfig = Extract<ObjectStoreConfig, { provider: "googlecloud" }>;

/** Settings for tests; the server uses the defaults. */
export interface GcsBucketOptions {
  /** `GCS_REQUEST_TIMEOUT_MS` unless given. */
  readonly requestTimeoutMs?: number | undefined;
  /** `GCS_LIST_PAGE_SIZE` unless given. */
  readonly listPageSize?: number | undefined;
  /**
   * A JSON API endpoint other than Google's (`http://127.0.0.1:port`), spoken to WITH the credentials, unlike
   * `STORAGE_EMULATOR_HOST`: for tests of credentials against a stand-in.
   */
  readonly apiEndpoint?: string | undefined;
}

/**
 * The endpoint `STORAGE_EMULATOR_HOST` names, as the Go library reads it: a host (and port) means plain http, a
 * URL is used as it is.
 */
export function gcsEmulatorEndpoint(host: string): string {
  const trimmed = host.trim().replace(/\/+$/, "");
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

/**
 * Google Cloud Storage (`storage.object.googlecloud`): the objects of one bucket under a prefix used literally (as
 * Flipt v1's gocloud `PrefixedBucket`: `flags/` lists `flags/...`, `flags` also `flags.flipt.yml`), read with
 * `@google-cloud/storage` over the JSON API. Credentials are Application Default Credentials; when `env` has
 * `GOOGLE_APPLICATION_CREDENTIALS` that file is used (a service account key, an `external_account` file, ...).
 * `STORAGE_EMULATOR_HOST` points the client at an emulator, unauthenticated, as the Go library (and so Flipt v1)
 * does. An object's `etag` is its generation, which every overwrite changes. Nothing is requested until `list()`.
 */
export async function openGcsBucket(
  config: GcsConfig,
  env: Env,
  options: GcsBucketOptions = {},
): Promise<ObjectBucket> {
  const prefix = config.prefix;
  const description = `gcs bucket ${JSON.stringify(config.bucket)}${
    prefix === "" ? "" : ` (prefix ${JSON.stringify(prefix)})`
  }`;
  const fail = (message: string, problem: ObjectStoreProblem) =>
    new ObjectStoreError(redact(`${description}: ${message}`), problem);
  const requestTimeoutMs = options.requestTimeoutMs ?? GCS_REQUEST_TIMEOUT_MS;
  const pageSize = options.listPageSize ?? GCS_LIST_PAGE_SIZE;

  const emulatorHost = nonEmpty(env.STORAGE_EMULATOR_HOST);
  const keyFilename = nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS);
  const storageOptions: StorageOptions = {
    retryOptions: { ...RETRY_OPTIONS, totalTimeout: Math.max(1, Math.ceil(requestTimeoutMs / 1000)) },
    timeout: requestTimeoutMs,
    userAgent: "pennant",
  };
  let used: string;
  if (emulatorHost !== undefined) {
    // A custom endpoint without `useAuthWithCustomEndpoint`: no credentials are looked up or sent.
    storageOptions.apiEndpoint = gcsEmulatorEndpoint(emulatorHost);
    used = `no credentials (the emulator at STORAGE_EMULATOR_HOST ${storageOptions.apiEndpoint})`;
  } else {
    if (keyFilename !== undefined) storageOptions.keyFilename = keyFilename;
    if (options.apiEndpoint !== undefined) {
      storageOptions.apiEndpoint = options.apiEndpoint;
      storageOptions.useAuthWithCustomEndpoint = true;
    }
    used =
      keyFilename === undefined
        ? "Application Default Credentials"
        : `the credentials file GOOGLE_APPLICATION_CREDENTIALS ${JSON.stringify(keyFilename)}`;
  }
  let storage: Storage;
  try {
    storage = new Storage(storageOptions);
  } catch (error) {
    throw fail(`the client could not be set up (${oneLine(error)})`, "denied");
  }
  // The client takes an emulator from the process's own STORAGE_EMULATOR_HOST too, and then drops `/storage/v1`
  // from its URLs; only `env` counts here, and the URLs are the JSON API's, as with Google (and the Go library).
  storage.baseUrl = `${storage.apiEndpoint}/storage/v1`;
  const bucket = storage.bucket(config.bucket);
  const authenticated = emulatorHost === undefined;

  const closed = new AbortController();

  /**
   * Runs `work` until the deadline passes (restartable per page) or the bucket closes. Credentials are resolved
   * first (a cached token costs nothing), so that a refused or unreadable credential is told apart from the
   * store's own answers.
   */
  const run = async <T>(
    doing: string,
    work: (restartDeadline: () => void, stopped: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    if (closed.signal.aborted) throw fail(`${doing}: the bucket is closed`, "unreachable");
    const controller = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let rejectStopped: (error: Error) => void = () => {};
    const stoppedPromise = new Promise<never>((_, reject) => {
      rejectStopped = reject;
    });
    stoppedPromise.catch(() => {});
    const restartDeadline = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        rejectStopped(new Error("deadline"));
      }, requestTimeoutMs);
    };
    const onClose = () => {
      controller.abort();
      rejectStopped(new Error("closed"));
    };
    closed.signal.addEventListener("abort", onClose, { once: true });
    restartDeadline();
    let stage: "credentials" | "request" = "credentials";
    try {
      return await Promise.race([
        (async () => {
          if (authenticated) {
            const client = await storage.authClient.getClient();
            await client.getRequestHeaders(storage.apiEndpoint);
          }
          stage = "request";
          return await work(restartDeadline, controller.signal);
        })(),
        stoppedPromise,
      ]);
    } catch (error) {
      if (error instanceof ObjectStoreError) throw error;
      if (timedOut) throw fail(`${doing}: no answer within ${requestTimeoutMs} ms`, "unreachable");
      if (closed.signal.aborted) throw fail(`${doing}: the bucket is closed`, "unreachable");
      const { problem, reason } = classify(error, stage);
      switch (problem) {
        case "missing":
          throw fail(`the bucket does not exist (${reason})`, "missing");
        case "denied":
          throw fail(`${doing}: access denied with ${used} (${reason})`, "denied");
        case "unreachable":
          throw fail(`${doing}: the store could not be reached (${reason})`, "unreachable");
      }
    } finally {
      clearTimeout(timer);
      closed.signal.removeEventListener("abort", onClose);
    }
  };

  return {
    description,
    list: () =>
      run("listing", async (restartDeadline) => {
        const objects: ListedObject[] = [];
        let pageToken: string | undefined;
        do {
          const [files, next] = await bucket.getFiles({
            autoPaginate: false,
            maxResults: pageSize,
            ...(prefix === "" ? {} : { prefix }),
            ...(pageToken === undefined ? {} : { pageToken }),
          });
          restartDeadline();
          for (const file of files) {
            const listed = listedObject(file, prefix);
            if (listed !== undefined) objects.push(listed);
          }
          pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
        } while (pageToken !== undefined && pageToken !== "");
        return objects;
      }),
    get: (key, maxBytes) =>
      run(`reading ${JSON.stringify(key)}`, async (_restartDeadline, stopped) => {
        // A range request, so that GCS sends at most maxBytes + 1 bytes and the stream ends by itself: the client
        // answers a download cut short by destroying its shared connection pool, sockets of other requests too.
        // Range downloads are not checksummed by the client (whole ones are, with CRC32C).
        const stream = bucket.file(`${prefix}${key}`).createReadStream({ start: 0, end: maxBytes });
        const stop = () => stream.destroy();
        stopped.addEventListener("abort", stop, { once: true });
        try {
          return await readStreamAtMost(stream, maxBytes + 1);
        } catch (error) {
          const status = httpStatus(error);
          if (status === 404) return undefined;
          // An empty object has no byte 0.
          if (status === 416) return new Uint8Array();
          throw error;
        } finally {
          stopped.removeEventListener("abort", stop);
        }
      }),
    async close() {
      closed.abort();
    },
  };
}

/** The object as the source sees it, or undefined for a folder placeholder (a name ending in `/`). */
function listedObject(file: File, prefix: string): ListedObject | undefined {
  if (!file.name.startsWith(prefix)) return undefined;
  const key = file.name.slice(prefix.length);
  if (key === "" || key.endsWith("/")) return undefined;
  const metadata = file.metadata;
  const etag = String(metadata.generation ?? metadata.etag ?? metadata.md5Hash ?? "");
  const size = Number(metadata.size ?? 0);
  return { key, etag, size: Number.isFinite(size) ? size : 0 };
}

/** Network failures: the store (or the token endpoint) could not be reached, or stopped answering. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * The problem an error shows, and the provider's reason: its HTTP status, reason and message. Before the request
 * (`credentials`), everything but a network failure or a token endpoint's 5xx means the credentials were refused or
 * could not be read.
 */
function classify(
  error: unknown,
  stage: "credentials" | "request",
): { problem: ObjectStoreProblem; reason: string } {
  const status = httpStatus(error);
  const code = errorCode(error);
  const apiReason = firstReason(error);
  const message = error instanceof SyntaxError ? "the credentials file is not valid JSON" : oneLine(error);
  const said = [
    status === undefined ? undefined : `HTTP ${status}`,
    apiReason,
    code !== undefined && status === undefined && !message.startsWith(code) ? code : undefined,
  ].filter((part) => part !== undefined);
  const reason = said.length === 0 ? message : `${said.join(" ")}: ${message}`;
  const network = (code !== undefined && CONNECTION_CODES.has(code)) || isTimeout(error);
  if (network || (status !== undefined && (status >= 500 || status === 408 || status === 429))) {
    return { problem: "unreachable", reason };
  }
  if (stage === "credentials") return { problem: "denied", reason };
  if (status === 401 || status === 403) return { problem: "denied", reason };
  if (status === 404) return { problem: "missing", reason };
  // A credential error raised while the request was prepared (an expired token that could not be renewed).
  if (status === undefined && !network && /credential|token|auth/i.test(message)) {
    return { problem: "denied", reason };
  }
  return { problem: "unreachable", reason };
}

/** The HTTP status of an ApiError (`code`), or of a token endpoint's answer (`response.status`). */
function httpStatus(error: unknown): number | undefined {
  const candidate = error as
    | { code?: unknown; status?: unknown; response?: { status?: unknown } }
    | undefined;
  for (const value of [candidate?.code, candidate?.response?.status, candidate?.status]) {
    if (typeof value === "number" && value >= 100 && value < 600) return value;
    if (typeof value === "string" && /^[1-5]\d\d$/.test(value)) return Number(value);
  }
  return undefined;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "" && !/^\d+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTimeout(error: unknown): boolean {
  const type = (error as { type?: unknown } | undefined)?.type;
  const name = error instanceof Error ? error.name : "";
  return type === "request-timeout" || name === "TimeoutError" || name === "AbortError";
}

/** The JSON API's `errors[0].reason` (`notFound`, `required`, `authError`, ...), or an OAuth `error`. */
function firstReason(error: unknown): string | undefined {
  const candidate = error as
    | { errors?: Array<{ reason?: unknown }>; response?: { data?: { error?: unknown } } }
    | undefined;
  const reason = candidate?.errors?.[0]?.reason ?? candidate?.response?.data?.error;
  return typeof reason === "string" && reason !== "" ? reason : undefined;
}

/** A message on one line, without what could be a credential, and not too long. */
function oneLine(error: unknown): string {
  const text = redact(String(error instanceof Error ? error.message : error))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/**
 * Removes what could be a credential from a message: private keys (PEM blocks, `private_key` fields), bearer and
 * OAuth access tokens, and token request parameters (assertions, subject tokens, refresh tokens).
 */
export function redactGcsSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, "[redacted]")
    .replace(/("?private_key(?:_id)?"?\s*[:=]\s*)"?[^",}\s]*"?/gi, "$1[redacted]")
    .replace(/\b(Bearer\s+)[^\s"',]+/gi, "$1[redacted]")
    .replace(/\bya29\.[^\s"',]+/g, "[redacted]")
    .replace(
      /\b(access_token|id_token|refresh_token|subject_token|assertion|client_secret)(["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi,
      "$1$2[redacted]",
    );
}

const redact = redactGcsSecrets;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
