/**
 * `aws-ecr` registry authentication, as Flipt v1 does it (v1-backends.md §5.7): for each registry host, a token
 * from ECR's `GetAuthorizationToken`, through the AWS SDK. A host that starts with `public.ecr.aws` asks ECR Public
 * (its `authorizationData` object); any other asks private ECR with no registry ids (the first `authorizationData`
 * entry: the token of the caller's own account in the client's region). The token is base64 of `AWS:<password>`,
 * split at its first `:` into the username and password that the registry client offers as Basic credentials.
 *
 * Tokens are cached per host until shortly before their `expiresAt`, and callers asking for the same host while a
 * request is out share it. A failed request is not cached: the next caller asks again. Error messages name the
 * registry host and ECR's reason, never a token, a secret access key or a session token.
 */
import { ECRClient, type ECRClientConfig, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import {
  ECRPUBLICClient,
  type ECRPUBLICClientConfig,
  GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand,
} from "@aws-sdk/client-ecr-public";
import { RemoteCredentialsError, UnavailableError } from "../../domain/errors.js";
import { redactSecretValues } from "../redact-secrets.js";
import type { RegistryCredentials, RegistryCredentialsProvider } from "./registry-auth.js";

/** How long connecting to ECR may take before the attempt is abandoned. */
export const ECR_CONNECTION_TIMEOUT_MS = 5_000;
/** How long a `GetAuthorizationToken` request may wait for its answer, once sent. */
export const ECR_REQUEST_TIMEOUT_MS = 10_000;
/** Attempts per request (the SDK's retries of throttling, 5xx answers and network errors): one retry. */
export const ECR_MAX_ATTEMPTS = 2;
/** A token is refreshed this long before its `expiresAt` (ECR's tokens live 12 hours)... */
export const ECR_REFRESH_MARGIN_MS = 5 * 60 * 1000;
// ...or at half its lifetime, for a token that lives less than twice the margin.

/** ECR Public's API is served from this region only. */
export const ECR_PUBLIC_REGION = "us-east-1";

/** The registry host prefix that means ECR Public, as Flipt tests it. */
const ECR_PUBLIC_HOST_PREFIX = "public.ecr.aws";
/**
 * The host of a private ECR registry, whose region it names: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`
 * (or the dual-stack `<account>.dkr-ecr.<region>.on.aws`).
 */
const PRIVATE_ECR_HOST =
  /^\d{12}\.dkr[.-]ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)(?::\d+)?$/;

/** ECR error codes (and the SDK's) that mean the server's AWS credentials are missing or were refused. */
const DENIED_CODES = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "CredentialsProviderError",
]);

export interface EcrCredentialsOptions {
  /** Send both clients' requests here instead of AWS's endpoints (a test's stand-in of ECR). */
  readonly endpoint?: string | undefined;
  /** The clock, in milliseconds since the epoch (UTC): when a cached token is due for refresh. */
  readonly now?: (() => number) | undefined;
  /** Bounds of each request; tests may shorten them. */
  readonly connectionTimeoutMs?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
  readonly maxAttempts?: number | undefined;
}

/** The provider, and a way to let go of its SDK clients (their kept-alive connections) when done. */
export type EcrCredentialsProvider = RegistryCredentialsProvider & {
  /** Destroys the clients made so far. A later call makes new ones. */
  readonly close: () => void;
};

interface CachedToken {
  readonly credentials: RegistryCredentials;
  /** When the token is no longer handed out from the cache (ms since the epoch). */
  readonly refreshAt: number;
}

interface EcrToken {
  readonly authorizationToken: string | undefined;
  readonly expiresAt: Date | undefined;
}

/**
 * `aws-ecr` credentials for any registry host. AWS configuration is the SDK's default chain, with these from `env`
 * when set: the credentials `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (both, and `AWS_SESSION_TOKEN`), else the
 * chain's (which reads the process environment itself: `AWS_PROFILE` and the shared files, web identity, ECS, EC2
 * instance metadata); the region `AWS_REGION`, else `AWS_DEFAULT_REGION`. ECR Public is always asked in
 * `us-east-1`, the only region that serves its API.
 *
 * The region of private ECR: the one the host names (`<account>.dkr.ecr.<region>.amazonaws.com`), since a token is
 * good only for the registries of the region it was got in; for another host, the SDK's default (`AWS_REGION`,
 * `AWS_DEFAULT_REGION`, then the profile's), which is all Flipt uses. Nothing is requested until the provider is
 * called.
 */
export function ecrCredentials(
  env: Readonly<Record<string, string | undefined>>,
  options: EcrCredentialsOptions = {},
): EcrCredentialsProvider {
  const now = options.now ?? Date.now;
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  const envRegion = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const secrets = [secretAccessKey, sessionToken].filter((value): value is string => value !== undefined);

  const shared: ECRClientConfig & ECRPUBLICClientConfig = {
    maxAttempts: options.maxAttempts ?? ECR_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? ECR_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? ECR_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
  const endpoint = nonEmpty(options.endpoint);
  if (endpoint !== undefined) shared.endpoint = endpoint;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    shared.credentials =
      sessionToken === undefined
        ? { accessKeyId, secretAccessKey }
        : { accessKeyId, secretAccessKey, sessionToken };
  }

  /** Private ECR clients per region ("" = the SDK's default region). */
  const privateClients = new Map<string, ECRClient>();
  let publicClient: ECRPUBLICClient | undefined;
  const cache = new Map<string, CachedToken>();
  const pending = new Map<string, Promise<RegistryCredentials>>();

  const privateClient = (region: string | undefined): ECRClient => {
    const key = region ?? "";
    let client = privateClients.get(key);
    if (client === undefined) {
      client = new ECRClient(region === undefined ? { ...shared } : { ...shared, region });
      privateClients.set(key, client);
    }
    return client;
  };

  const requestToken = async (host: string): Promise<EcrToken> => {
    if (host.startsWith(ECR_PUBLIC_HOST_PREFIX)) {
      publicClient ??= new ECRPUBLICClient({ ...shared, region: ECR_PUBLIC_REGION });
      const answer = await publicClient.send(new GetPublicAuthorizationTokenCommand({}));
      const data = answer.authorizationData;
      if (data === undefined) throw noAuthorizationData(host);
      return { authorizationToken: data.authorizationToken, expiresAt: data.expiresAt };
    }
    const region = PRIVATE_ECR_HOST.exec(host)?.[1] ?? envRegion;
    const answer = await privateClient(region).send(new GetAuthorizationTokenCommand({}));
    const data = answer.authorizationData?.[0];
    if (data === undefined) throw noAuthorizationData(host);
    return { authorizationToken: data.authorizationToken, expiresAt: data.expiresAt };
  };

  const fetchCredentials = async (host: string): Promise<RegistryCredentials> => {
    let token: EcrToken;
    try {
      token = await requestToken(host);
    } catch (error) {
      throw toCredentialsError(error, host, secrets);
    }
    const credentials = decodeToken(token.authorizationToken, host);
    // `expiresAt` is an instant (epoch seconds on the wire, a Date here): its milliseconds are UTC, as the clock's.
    const expiresAt = token.expiresAt?.getTime();
    const fetchedAt = now();
    if (expiresAt !== undefined && Number.isFinite(expiresAt) && expiresAt > fetchedAt) {
      const margin = Math.min(ECR_REFRESH_MARGIN_MS, (expiresAt - fetchedAt) / 2);
      cache.set(host, { credentials, refreshAt: expiresAt - margin });
    }
    // Without a (future) expiry the token is used once and not kept: the next caller asks again.
    return credentials;
  };

  const provider = async (registryHost: string): Promise<RegistryCredentials> => {
    const host = registryHost.toLowerCase();
    const cached = cache.get(host);
    if (cached !== undefined) {
      if (now() < cached.refreshAt) return cached.credentials;
      cache.delete(host);
    }
    let request = pending.get(host);
    if (request === undefined) {
      request = fetchCredentials(host).finally(() => pending.delete(host));
      pending.set(host, request);
    }
    return request;
  };

  return Object.assign(provider, {
    close() {
      for (const client of privateClients.values()) client.destroy();
      privateClients.clear();
      publicClient?.destroy();
      publicClient = undefined;
    },
  });
}

/** `AWS:<password>` out of its base64, split at the first `:`. The token is never part of a message. */
function decodeToken(authorizationToken: string | undefined, host: string): RegistryCredentials {
  if (authorizationToken === undefined || authorizationToken === "") throw noAuthorizationData(host);
  const decoded = Buffer.from(authorizationToken, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) {
    throw new UnavailableError(
      `ECR authorization token for registry ${host} is malformed: basic credential not found`,
    );
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function noAuthorizationData(host: string): UnavailableError {
  return new UnavailableError(
    `ECR GetAuthorizationToken for registry ${host}: no ecr authorization data provided`,
  );
}

/**
 * What went wrong, as the user sees it: the host, and ECR's (or the SDK's) code and message with any secret of the
 * environment removed. Refused or missing AWS credentials are a RemoteCredentialsError; anything else (ECR cannot
 * be reached, throttling, 5xx) an UnavailableError. The SDK's error is not kept as the cause: it holds the raw
 * response and with it the request's headers, among them a session token. The cause is a copy of its name and
 * message.
 */
function toCredentialsError(error: unknown, host: string, secrets: readonly string[]): Error {
  if (error instanceof UnavailableError) return error;
  const redact = (text: string) => redactSecretValues(text, secrets);
  const fields = (error instanceof Error ? error : new Error(String(error))) as Error & {
    code?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const code = fields.$fault !== undefined || typeof fields.code !== "string" ? fields.name : fields.code;
  const status = fields.$metadata?.httpStatusCode;
  const message = redact(fields.message.split("\n")[0] ?? "");
  let reason = message === "" || message === code ? code : `${code}: ${message}`;
  if (code === "Error" || code === "UnknownError") reason = message === "" ? "unknown error" : message;
  if (status !== undefined && status >= 300 && !reason.includes(`HTTP ${status}`))
    reason += ` (HTTP ${status})`;
  const cause = new Error(message);
  cause.name = code;
  if (/region is missing/i.test(message)) {
    return new UnavailableError(
      `ECR GetAuthorizationToken for registry ${host} needs an AWS region: set AWS_REGION`,
      { cause },
    );
  }
  const denied = DENIED_CODES.has(code) || status === 401 || status === 403;
  const text = `ECR GetAuthorizationToken for registry ${host} failed: ${reason}`;
  return denied ? new RemoteCredentialsError(text, { cause }) : new UnavailableError(text, { cause });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
