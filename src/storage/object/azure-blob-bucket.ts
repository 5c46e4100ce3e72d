import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import {
  AnonymousCredential,
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { redactSecretValues } from "../redact-secrets.js";
import type { ListedObject, ObjectBucket, ObjectStoreConfig } from "./object-bucket.js";
import { ObjectStoreError, type ObjectStoreProblem } from "./object-store-error.js";
import { readStreamAtMost } from "./read-stream-at-most.js";

/** Blobs per listing page: the most one List Blobs request returns. */
export const AZURE_LIST_PAGE_SIZE = 5000;
/**
 * Tries per request. The SDK's defaults (4 tries, delays from 4 s up to 2 min) keep a poll waiting for minutes on a
 * store that is down; with these a refused connection fails within about a second.
 */
const MAX_TRIES = 3;
const RETRY_DELAY_MS = 200;
const MAX_RETRY_DELAY_MS = 1_000;
/**
 * The longest one request (one listing page, one download) may take, its retries and the token request included:
 * a store that accepts connections and never answers fails after this. Also sent to the service as its own timeout.
 */
export const AZURE_REQUEST_TIMEOUT_MS = 15_000;
/** Retries of a token request (Microsoft Entra ID), as few as the store's. */
const TOKEN_RETRY_OPTIONS = {
  maxRetries: MAX_TRIES - 1,
  retryDelayInMs: RETRY_DELAY_MS,
  maxRetryDelayInMs: MAX_RETRY_DELAY_MS,
};
/** The longest provider reason kept in an error message. */
const MAX_REASON_CHARS = 600;

const DEFAULT_PROTOCOL = "https";
const DEFAULT_DOMAIN = "blob.core.windows.net";

type Env = Readonly<Record<string, string | undefined>>;
type AzureConfig = Extract<ObjectStoreConfig, { provider: "azblob" }>;

/** Settings for tests; the server uses the defaults. */
export interface AzureBlobBucketOptions {
  /** `AZURE_REQUEST_TIMEOUT_MS` unless given. */
  readonly requestTimeoutMs?: number | undefined;
  /** `AZURE_LIST_PAGE_SIZE` unless given. */
  readonly listPageSize?: number | undefined;
}

/**
 * The blob service URL of `account`, built from a config's `endpoint` as Flipt v1 does (spec v1-backends §4.1): the
 * endpoint's scheme is the protocol (default https) and its host, with the port, the domain (default
 * `blob.core.windows.net`). The account is a subdomain (`https://acct.blob.core.windows.net`), except for the local
 * emulator (an http endpoint) and domains starting `localhost` or `127.0.0.1`, where it is the first path segment
 * (`http://127.0.0.1:10000/acct`); with `AZURE_STORAGE_IS_CDN` the domain alone. Flipt v1 put these in the process
 * environment for gocloud to read; we compute them. Unlike v1, which fell back to Azure's domain for an endpoint
 * without a scheme, such an endpoint is refused.
 */
export function azureServiceUrl(account: string, endpoint: string | undefined, isCdn = false): string {
  let protocol = DEFAULT_PROTOCOL;
  let domain = DEFAULT_DOMAIN;
  let emulator = false;
  if (endpoint !== undefined && endpoint !== "") {
    const url = parseEndpoint(endpoint);
    if (url === undefined) {
      throw new Error(
        `endpoint ${JSON.stringify(endpoint)} is not an http:// or https:// URL (such as https://blob.core.windows.net)`,
      );
    }
    protocol = url.protocol.slice(0, -1);
    if (url.host !== "") domain = url.host;
    emulator = protocol === "http";
  }
  if (emulator || domain.startsWith("localhost") || domain.startsWith("127.0.0.1")) {
    return `${protocol}://${domain}/${account}`;
  }
  if (isCdn) return `${protocol}://${domain}`;
  return `${protocol}://${account}.${domain}`;
}

function parseEndpoint(endpoint: string): URL | undefined {
  try {
    const url = new URL(endpoint);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** How the bucket authenticates, chosen from the environment in Flipt v1's order (spec v1-backends §4.2). */
type Credentials =
  | { readonly kind: "shared key"; readonly account: string; readonly key: string }
  | { readonly kind: "sas"; readonly account: string; readonly token: string }
  | { readonly kind: "connection string"; readonly variable: string; readonly value: string }
  | {
      readonly kind: "token";
      readonly account: string;
      readonly credential: () => TokenCredential;
      readonly what: string;
    };

/**
 * Azure Blob Storage (`storage.object.azblob`): the objects of one container, read with `@azure/storage-blob`.
 * Credentials come from `env` in Flipt v1's order: `AZURE_STORAGE_ACCOUNT` + `AZURE_STORAGE_KEY` (shared key),
 * `AZURE_STORAGE_SAS_TOKEN`, `AZURE_STORAGE_CONNECTION_STRING` / `AZURE_STORAGEBLOB_CONNECTIONSTRING` (whose own
 * endpoint is used, as in v1), else Microsoft Entra ID: a service principal (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
 * `AZURE_CLIENT_SECRET`, taken from `env`) or `DefaultAzureCredential` (workload or managed identity, Azure CLI, ...).
 * Azure blob storage has no prefix in v1: the whole container is listed. Nothing is requested until `list()`;
 * a missing account name or a bad endpoint fails here.
 */
export async function openAzureBlobBucket(
  config: AzureConfig,
  env: Env,
  options: AzureBlobBucketOptions = {},
): Promise<ObjectBucket> {
  const endpoint = config.endpoint === "" ? undefined : config.endpoint;
  const redact = azureSecretRedactor(env);
  const description = redact(
    `azure blob container ${JSON.stringify(config.container)}${
      endpoint === undefined
        ? ""
        : ` (endpoint ${JSON.stringify(parseEndpoint(endpoint)?.origin ?? endpoint)})`
    }`,
  );
  const fail = (message: string, problem: ObjectStoreProblem) =>
    new ObjectStoreError(redact(`${description}: ${message}`), problem);

  const credentials = chooseCredentials(env);
  if (credentials === undefined) {
    throw fail(
      "AZURE_STORAGE_ACCOUNT is not set: it names the storage account, unless a connection string " +
        "(AZURE_STORAGE_CONNECTION_STRING) gives it",
      "denied",
    );
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? AZURE_REQUEST_TIMEOUT_MS;
  const pipeline: StoragePipelineOptions = {
    retryOptions: {
      maxTries: MAX_TRIES,
      tryTimeoutInMs: Math.max(requestTimeoutMs, 1_000), // sent in whole seconds
      retryDelayInMs: RETRY_DELAY_MS,
      maxRetryDelayInMs: MAX_RETRY_DELAY_MS,
    },
    userAgentOptions: { userAgentPrefix: "pennant" },
  };

  let container: ContainerClient;
  if (credentials.kind === "connection string") {
    try {
      container = BlobServiceClient.fromConnectionString(credentials.value, pipeline).getContainerClient(
        config.container,
      );
    } catch {
      // The SDK's reason may quote the string; it is not repeated.
      throw fail(`${credentials.variable} is not a valid storage connection string`, "denied");
    }
  } else {
    let serviceUrl: string;
    try {
      serviceUrl = azureServiceUrl(credentials.account, endpoint, parseBool(env.AZURE_STORAGE_IS_CDN));
    } catch (error) {
      throw fail((error as Error).message, "unreachable");
    }
    if (credentials.kind === "shared key") {
      const shared = new StorageSharedKeyCredential(credentials.account, credentials.key);
      container = new BlobServiceClient(serviceUrl, shared, pipeline).getContainerClient(config.container);
    } else if (credentials.kind === "sas") {
      const url = `${serviceUrl}?${credentials.token.replace(/^\?/, "")}`;
      container = new BlobServiceClient(url, new AnonymousCredential(), pipeline).getContainerClient(
        config.container,
      );
    } else {
      if (!serviceUrl.startsWith("https://")) {
        throw fail(
          `no storage key, SAS token or connection string is set (AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, ` +
            `AZURE_STORAGE_CONNECTION_STRING), and Microsoft Entra ID tokens (${credentials.what}) are only sent ` +
            `over https, not to ${serviceUrl}`,
          "denied",
        );
      }
      container = new BlobServiceClient(serviceUrl, credentials.credential(), pipeline).getContainerClient(
        config.container,
      );
    }
  }

  let closed = false;
  const inFlight = new Set<AbortController>();
  const used = describeCredentials(credentials);

  /** Runs `work` with a signal that aborts when the deadline passes (restarted per page) or the bucket closes. */
  const run = async <T>(
    doing: string,
    work: (signal: AbortSignal, restartDeadline: () => void) => Promise<T>,
  ): Promise<T> => {
    if (closed) throw fail(`${doing}: the bucket is closed`, "unreachable");
    const controller = new AbortController();
    inFlight.add(controller);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const restartDeadline = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, requestTimeoutMs);
    };
    restartDeadline();
    try {
      return await work(controller.signal, restartDeadline);
    } catch (error) {
      if (error instanceof ObjectStoreError) throw error;
      if (timedOut) throw fail(`${doing}: no answer within ${requestTimeoutMs} ms`, "unreachable");
      if (closed) throw fail(`${doing}: the bucket is closed`, "unreachable");
      const { problem, reason, answered } = classify(error);
      const said = redact(reason);
      switch (problem) {
        case "missing":
          throw fail(`the container does not exist (${said})`, "missing");
        case "denied":
          throw fail(`${doing}: access denied with ${used} (${said})`, "denied");
        case "unreachable":
          throw fail(
            `${doing}: ${answered ? "the store failed" : "the store could not be reached"} (${said})`,
            "unreachable",
          );
      }
    } finally {
      clearTimeout(timer);
      inFlight.delete(controller);
    }
  };

  return {
    description,
    list: () =>
      run("listing", async (abortSignal, restartDeadline) => {
        const objects: ListedObject[] = [];
        const pages = container.listBlobsFlat({ prefix: "", abortSignal }).byPage({
          maxPageSize: options.listPageSize ?? AZURE_LIST_PAGE_SIZE,
        });
        for await (const page of pages) {
          restartDeadline();
          for (const item of page.segment.blobItems) {
            objects.push({
              key: item.name,
              etag: unquote(item.properties.etag),
              size: item.properties.contentLength ?? 0,
            });
          }
        }
        return objects;
      }),
    get: (key, maxBytes) =>
      run(`reading ${JSON.stringify(key)}`, async (abortSignal) => {
        let body: NodeJS.ReadableStream | undefined;
        try {
          const response = await container
            .getBlobClient(key)
            .download(0, undefined, { abortSignal, maxRetryRequests: MAX_TRIES - 1 });
          body = response.readableStreamBody;
        } catch (error) {
          if (restCode(error) === "BlobNotFound") return undefined;
          throw error;
        }
        if (body === undefined) return new Uint8Array();
        return await readStreamAtMost(body as AsyncIterable<Uint8Array | string>, maxBytes + 1);
      }),
    async close() {
      closed = true;
      for (const controller of inFlight) controller.abort();
    },
  };
}

/** Flipt v1's choice of credentials, or undefined when the account name they need is missing. */
function chooseCredentials(env: Env): Credentials | undefined {
  const account = nonEmpty(env.AZURE_STORAGE_ACCOUNT);
  const key = nonEmpty(env.AZURE_STORAGE_KEY);
  const sas = nonEmpty(env.AZURE_STORAGE_SAS_TOKEN);
  const connectionVariable =
    nonEmpty(env.AZURE_STORAGE_CONNECTION_STRING) !== undefined
      ? "AZURE_STORAGE_CONNECTION_STRING"
      : nonEmpty(env.AZURE_STORAGEBLOB_CONNECTIONSTRING) !== undefined
        ? "AZURE_STORAGEBLOB_CONNECTIONSTRING"
        : undefined;
  if (account !== undefined && key !== undefined) return { kind: "shared key", account, key };
  if (sas !== undefined) return account === undefined ? undefined : { kind: "sas", account, token: sas };
  if (connectionVariable !== undefined) {
    return {
      kind: "connection string",
      variable: connectionVariable,
      value: env[connectionVariable] as string,
    };
  }
  if (account === undefined) return undefined;
  const clientId = nonEmpty(env.AZURE_CLIENT_ID);
  const tenantId = nonEmpty(env.AZURE_TENANT_ID);
  const secret = nonEmpty(env.AZURE_CLIENT_SECRET);
  const authorityHost = nonEmpty(env.AZURE_AUTHORITY_HOST);
  if (clientId !== undefined && tenantId !== undefined && secret !== undefined) {
    const credential = () =>
      new ClientSecretCredential(tenantId, clientId, secret, {
        retryOptions: TOKEN_RETRY_OPTIONS,
        ...(authorityHost === undefined ? {} : { authorityHost }),
      });
    return { kind: "token", account, credential, what: "the service principal AZURE_CLIENT_ID" };
  }
  const credential = () =>
    new DefaultAzureCredential({
      retryOptions: TOKEN_RETRY_OPTIONS,
      ...(clientId === undefined
        ? {}
        : { managedIdentityClientId: clientId, workloadIdentityClientId: clientId }),
      ...(tenantId === undefined ? {} : { tenantId }),
    });
  return { kind: "token", account, credential, what: "DefaultAzureCredential" };
}

function describeCredentials(credentials: Credentials): string {
  switch (credentials.kind) {
    case "shared key":
      return `the shared key of account ${JSON.stringify(credentials.account)} (AZURE_STORAGE_KEY)`;
    case "sas":
      return `the SAS token AZURE_STORAGE_SAS_TOKEN (account ${JSON.stringify(credentials.account)})`;
    case "connection string":
      return `the connection string ${credentials.variable}`;
    case "token":
      return `${credentials.what} (account ${JSON.stringify(credentials.account)})`;
  }
}

/** Names the Azure SDKs give the errors of refused or unavailable credentials. */
const CREDENTIAL_ERRORS = new Set([
  "AuthenticationError",
  "AuthenticationRequiredError",
  "AggregateAuthenticationError",
  "CredentialUnavailableError",
]);
/** Error codes of the blob service meaning the credentials were refused or may not read the container. */
const DENIED_CODES = new Set([
  "AuthenticationFailed",
  "AuthorizationFailure",
  "AuthorizationPermissionMismatch",
  "AuthorizationProtocolMismatch",
  "AuthorizationResourceTypeMismatch",
  "AuthorizationServiceMismatch",
  "AuthorizationSourceIPMismatch",
  "InsufficientAccountPermissions",
  "InvalidAuthenticationInfo",
  "NoAuthenticationInformation",
  "KeyBasedAuthenticationNotPermitted",
  "AccountIsDisabled",
]);
/** Codes meaning the container is not there (or cannot be, by its name, or its account). */
const MISSING_CODES = new Set([
  "ContainerNotFound",
  "ContainerBeingDeleted",
  "ResourceNotFound",
  "InvalidResourceName",
  "OutOfRangeInput",
]);

/** The problem an SDK error shows, and the provider's reason: its code, HTTP status and message. */
function classify(error: unknown): { problem: ObjectStoreProblem; reason: string; answered: boolean } {
  const name = error instanceof Error ? error.name : "Error";
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (CREDENTIAL_ERRORS.has(name)) {
    return { problem: "denied", reason: `${name}: ${message}`, answered: false };
  }
  const code = restCode(error);
  const status = restStatus(error);
  const said = [code, status === undefined ? undefined : `HTTP ${status}`].filter(
    (part) => part !== undefined,
  );
  const reason = said.length === 0 ? message : `${said.join(", ")}: ${message}`;
  const answered = status !== undefined;
  if ((code !== undefined && DENIED_CODES.has(code)) || status === 401 || status === 403) {
    return { problem: "denied", reason, answered };
  }
  if ((code !== undefined && MISSING_CODES.has(code)) || status === 404) {
    return { problem: "missing", reason, answered };
  }
  // Connection refused or reset, DNS, timeouts, 5xx, and anything else the store answered.
  return { problem: "unreachable", reason, answered };
}

function restCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && code !== "" ? code : undefined;
}

function restStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** A message on one line, without Azure's `RequestId:` and `Time:` lines, and not too long. */
function oneLine(message: string): string {
  const text = message
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^(RequestId|Time):/.test(line))
    .join(" ");
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/**
 * Removes every credential from a message: the values of the secret variables in `env` (and their parts: a SAS
 * token's signature, a connection string's key or SAS), any `sig=`, `AccountKey=` or `SharedAccessSignature=`,
 * and the query string of any URL (where SAS tokens travel).
 */
export function azureSecretRedactor(env: Env): (text: string) => string {
  const secrets = new Set<string>();
  const add = (value: string | undefined) => {
    if (value === undefined || value.length < 4) return;
    secrets.add(value);
    try {
      const decoded = decodeURIComponent(value);
      if (decoded.length >= 4) secrets.add(decoded);
    } catch {}
    secrets.add(encodeURIComponent(value));
  };
  const addSas = (token: string | undefined) => {
    if (token === undefined) return;
    add(token);
    add(token.replace(/^\?/, ""));
    add(new URLSearchParams(token.replace(/^\?/, "")).get("sig") ?? undefined);
  };
  add(env.AZURE_STORAGE_KEY);
  addSas(env.AZURE_STORAGE_SAS_TOKEN);
  add(env.AZURE_CLIENT_SECRET);
  for (const variable of ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING"]) {
    const value = env[variable];
    if (value === undefined) continue;
    add(value);
    for (const part of value.split(";")) {
      const at = part.indexOf("=");
      const name = part.slice(0, at).trim().toLowerCase();
      if (name === "accountkey") add(part.slice(at + 1).trim());
      if (name === "sharedaccesssignature") addSas(part.slice(at + 1).trim());
    }
  }
  return (text) => {
    return redactSecretValues(text, secrets)
      .replace(/(https?:\/\/[^\s?#"'<>]*)\?[^\s"'<>]*/gi, "$1")
      .replace(/\b(sig=)[^&\s"'<>]+/gi, "$1[redacted]")
      .replace(/\b(AccountKey=)[^;\s"'<>]+/gi, "$1[redacted]")
      .replace(/\b(SharedAccessSignature=)[^;\s"'<>]+/gi, "$1[redacted]");
  };
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Go's `strconv.ParseBool` truths, as gocloud reads `AZURE_STORAGE_IS_CDN`. */
function parseBool(value: string | undefined): boolean {
  return value !== undefined && ["1", "t", "T", "TRUE", "true", "True"].includes(value);
}
