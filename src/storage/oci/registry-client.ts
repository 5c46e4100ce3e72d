/**
 * A small client of the OCI distribution API (https://github.com/opencontainers/distribution-spec) over Node's
 * fetch, for what Flipt bundles need: resolve a manifest by tag or digest (one conditional GET, so an unchanged
 * tag costs one request and no blob), get a blob with its digest checked while it is read, push blobs (skipping
 * ones the registry has) and push a manifest by tag. Authentication is in `registry-auth.ts`.
 *
 * Errors are the domain's: UnavailableError when the registry cannot be reached, times out or fails (5xx),
 * RemoteCredentialsError when it refuses the credentials (401/403 after authenticating), NotFoundError for a missing
 * manifest, blob or repository, LimitExceededError for content over a limit, ValidationError for content that does
 * not match its digest, and RegistryManifestRefusedError for a manifest refused for its format. Messages name the
 * registry and repository, never a credential or token.
 */
import { createHash } from "node:crypto";
import {
  LimitExceededError,
  NotFoundError,
  RemoteCredentialsError,
  UnavailableError,
  ValidationError,
} from "../../domain/errors.js";
import { OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from "./bundle-media-types.js";
import { ociDigest } from "./oci-digest.js";
import { RegistryAuthenticator, type RegistryCredentialsProvider } from "./registry-auth.js";
import {
  describeRegistryErrors,
  isManifestFormatRefusal,
  MANIFEST_VERSION_HINT,
  parseRegistryErrors,
  RegistryManifestRefusedError,
  usesArtifactType,
} from "./registry-errors.js";

/** Where a repository is: `registry` is `host[:port]`; `scheme` is the reference's (`http` = plain HTTP). */
export interface RegistryRepository {
  readonly scheme: "http" | "https";
  readonly registry: string;
  readonly repository: string;
}

export interface RegistryClientOptions extends RegistryRepository {
  /** Credentials per registry host; none = anonymous. */
  readonly credentials?: RegistryCredentialsProvider | undefined;
  /** How long one request (and reading its body) may take. */
  readonly timeoutMs?: number | undefined;
  /** The clock for token expiry. */
  readonly now?: (() => number) | undefined;
}

const DOCKER_MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_MANIFEST_LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json";
/** What a manifest GET accepts. Distribution refuses to hand out an OCI manifest without it in Accept. */
const MANIFEST_ACCEPT = [
  OCI_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  DOCKER_MANIFEST_MEDIA_TYPE,
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
].join(", ");

/** Per request, body included. */
export const REGISTRY_REQUEST_TIMEOUT_MS = 10_000;
/** The largest manifest read or pushed (distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** The largest blob `getBlob` reads unless told otherwise. */
export const DEFAULT_MAX_BLOB_BYTES = 32 * 1024 * 1024;
/** Redirects followed per request (blob GETs may be sent to storage elsewhere). */
const MAX_REDIRECTS = 5;
/** How much of an error body is read to explain the error. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const TAG_PATTERN = /^\w[\w.-]{0,127}$/;
const DIGEST_PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** A manifest as the registry holds it. */
export interface RegistryManifest {
  readonly changed: true;
  /** `sha256:…` of `bytes`. */
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

/** The manifest is still the one with `digest` (the registry said 304, or sent the same bytes). */
export interface RegistryManifestUnchanged {
  readonly changed: false;
  readonly digest: string;
}

export interface ResolveManifestOptions {
  /** The digest last seen: if the manifest still has it, nothing is downloaded. */
  readonly lastDigest?: string | undefined;
}

export interface GetBlobOptions {
  /** Refuse a blob larger than this. */
  readonly maxBytes?: number | undefined;
  /** The size its descriptor states: a blob of another size is refused. */
  readonly size?: number | undefined;
}

export interface PushedBlob {
  readonly digest: string;
  readonly size: number;
  /** False when the registry had it already and nothing was sent. */
  readonly uploaded: boolean;
}

export interface RegistryClient {
  readonly repository: RegistryRepository;
  /** Resolves a tag or digest; with `lastDigest`, an unchanged manifest costs one request and no download. */
  resolveManifest(
    reference: string,
    options?: ResolveManifestOptions,
  ): Promise<RegistryManifest | RegistryManifestUnchanged>;
  /** Gets a blob, checking its digest (and size) while reading and refusing one over the limit. */
  getBlob(digest: string, options?: GetBlobOptions): Promise<Uint8Array>;
  /** Whether the repository has the blob. */
  hasBlob(digest: string): Promise<boolean>;
  /** Pushes a blob unless the registry has it: monolithic upload (POST, then PUT to the Location). */
  pushBlob(bytes: Uint8Array): Promise<PushedBlob>;
  /** Pushes a manifest under a tag (or its digest); returns its digest. Its blobs must be pushed first. */
  pushManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: string }>;
}

type Access = "pull" | "push";

interface SendOptions {
  readonly method: "GET" | "HEAD" | "POST" | "PUT";
  /** A path under the registry (`/v2/…`) or an absolute URL (an upload Location). */
  readonly target: string;
  readonly access: Access;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** What is being done, for messages: `manifest v1`, `blob sha256:…`. */
  readonly what: string;
}

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const { scheme, registry, repository } = options;
  const timeoutMs = options.timeoutMs ?? REGISTRY_REQUEST_TIMEOUT_MS;
  const name = `${registry}/${repository}`;
  const base = `${scheme}://${registry}`;
  const auth = new RegistryAuthenticator({
    host: registry,
    name,
    credentials: options.credentials,
    timeoutMs,
    now: options.now ?? Date.now,
  });
  const scopeOf = (access: Access) => `repository:${repository}:${access === "pull" ? "pull" : "pull,push"}`;

  /** One fetch, following redirects by hand so that credentials never go to another origin. */
  const fetchOnce = async (
    send: SendOptions,
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> => {
    let url = new URL(send.target, base);
    const origin = url.origin;
    for (let redirects = 0; ; redirects += 1) {
      const headers: Record<string, string> = { ...send.headers };
      if (authorization !== undefined && url.origin === origin) headers.authorization = authorization;
      let response: Response;
      try {
        response = await fetch(url, {
          method: send.method,
          headers,
          redirect: "manual",
          signal,
          ...(send.body === undefined ? {} : { body: new Uint8Array(send.body) }),
        });
      } catch (error) {
        throw unreachable(send.what, error);
      }
      const location = response.headers.get("location");
      const isRedirect = [301, 302, 303, 307, 308].includes(response.status);
      if (!isRedirect || location === null || (send.method !== "GET" && send.method !== "HEAD"))
        return response;
      await response.body?.cancel();
      if (redirects >= MAX_REDIRECTS) {
        throw new UnavailableError(`registry ${registry} redirected ${send.what} of ${name} too often`);
      }
      url = new URL(location, url);
    }
  };

  const unreachable = (what: string, error: unknown) => {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    const reason = timedOut
      ? `did not answer within ${timeoutMs} ms`
      : `cannot be reached (${causeCode(error) ?? "network error"})`;
    return new UnavailableError(`registry ${registry} ${reason} for ${what} of ${name}`, { cause: error });
  };

  /**
   * Sends a request with what authorization is known, answers a 401 challenge once, and turns refusals (401/403
   * after that) and failures (5xx, 429, network) into errors; any other response is the caller's to read, its body
   * still under the request's time limit.
   */
  const send = async (request: SendOptions): Promise<{ response: Response }> => {
    const signal = AbortSignal.timeout(timeoutMs);
    const scope = scopeOf(request.access);
    let authorization = auth.current(scope);
    let response = await fetchOnce(request, authorization, signal);
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate");
      await response.body?.cancel();
      if (authorization !== undefined) auth.forget(scope);
      authorization = await auth.answer(challenge, scope);
      response = await fetchOnce(request, authorization, signal);
    }
    if (response.status === 401 || response.status === 403) {
      const detail = describeRegistryErrors(parseRegistryErrors(await readErrorBody(response)));
      auth.forget(scope);
      throw new RemoteCredentialsError(
        `registry ${registry} refused ${authorization === undefined ? "anonymous access" : "the credentials"} ` +
          `for ${request.what} of ${name} (HTTP ${response.status}${detail === "" ? "" : `, ${detail}`})`,
      );
    }
    if (response.status >= 500 || response.status === 429) {
      const detail = describeRegistryErrors(parseRegistryErrors(await readErrorBody(response)));
      throw new UnavailableError(
        `registry ${registry} failed ${request.what} of ${name} (HTTP ${response.status}${detail === "" ? "" : `, ${detail}`})`,
      );
    }
    return { response };
  };

  /** The error for a status the operation did not expect. */
  const unexpected = async (response: Response, what: string): Promise<Error> => {
    const entries = parseRegistryErrors(await readErrorBody(response));
    const detail = describeRegistryErrors(entries);
    const suffix = detail === "" ? "" : `: ${detail}`;
    if (response.status === 404) return new NotFoundError(`${what} not found in ${name}${suffix}`);
    return new UnavailableError(
      `registry ${registry} answered HTTP ${response.status} to ${what} of ${name}${suffix}`,
    );
  };

  /** Reads a body, hashing it, refusing more than `maxBytes`. */
  const readBody = async (
    response: Response,
    maxBytes: number,
    what: string,
    algorithm: "sha256" | "sha512",
  ): Promise<{ bytes: Uint8Array; digest: string }> => {
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel();
      throw new LimitExceededError(`${what} of ${name} is ${declared} bytes, over the limit of ${maxBytes}`);
    }
    const hash = createHash(algorithm);
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      await readStream(response.body, (chunk) => {
        size += chunk.byteLength;
        if (size > maxBytes) return false;
        hash.update(chunk);
        chunks.push(chunk);
        return true;
      });
    } catch (error) {
      throw unreachable(what, error);
    }
    if (size > maxBytes) {
      throw new LimitExceededError(`${what} of ${name} is over the limit of ${maxBytes} bytes`);
    }
    return { bytes: Buffer.concat(chunks, size), digest: `${algorithm}:${hash.digest("hex")}` };
  };

  const checkDigest = (digest: string, what: string) => {
    if (!DIGEST_PATTERN.test(digest)) {
      throw new ValidationError(`${what} of ${name}: "${digest}" is not a sha256 or sha512 digest`);
    }
  };

  const algorithmOf = (digest: string): "sha256" | "sha512" =>
    digest.startsWith("sha512:") ? "sha512" : "sha256";

  const manifestPath = (reference: string) => {
    if (!DIGEST_PATTERN.test(reference) && !TAG_PATTERN.test(reference)) {
      throw new ValidationError(`"${reference}" is neither a tag nor a digest (in ${name})`);
    }
    return `/v2/${repository}/manifests/${reference}`;
  };
  const blobPath = (digest: string) => `/v2/${repository}/blobs/${digest}`;

  return {
    repository: { scheme, registry, repository },

    async resolveManifest(reference, resolveOptions = {}) {
      const byDigest = reference.includes(":");
      if (byDigest) checkDigest(reference, `manifest ${reference}`);
      const what = `manifest ${reference}`;
      const headers: Record<string, string> = { accept: MANIFEST_ACCEPT };
      const { lastDigest } = resolveOptions;
      if (lastDigest !== undefined) headers["if-none-match"] = `"${lastDigest}"`;
      const { response } = await send({
        method: "GET",
        target: manifestPath(reference),
        access: "pull",
        headers,
        what,
      });
      if (response.status === 304 && lastDigest !== undefined) {
        await response.body?.cancel();
        return { changed: false, digest: lastDigest };
      }
      if (response.status !== 200) throw await unexpected(response, what);
      const algorithm = byDigest ? algorithmOf(reference) : "sha256";
      const { bytes, digest } = await readBody(response, MAX_MANIFEST_BYTES, what, algorithm);
      if (byDigest && digest !== reference) {
        throw new ValidationError(`${what} of ${name} has the content of ${digest}`);
      }
      if (digest === lastDigest) return { changed: false, digest };
      const contentType = response.headers.get("content-type")?.split(";")[0]?.trim();
      let mediaType = contentType ?? "";
      if (mediaType === "" || mediaType === "application/json" || mediaType === "application/octet-stream") {
        mediaType = mediaTypeField(bytes) ?? mediaType;
      }
      return { changed: true, digest, mediaType, bytes };
    },

    async getBlob(digest, blobOptions = {}) {
      const what = `blob ${digest}`;
      checkDigest(digest, what);
      const maxBytes = Math.min(blobOptions.maxBytes ?? DEFAULT_MAX_BLOB_BYTES, blobOptions.size ?? Infinity);
      const { response } = await send({ method: "GET", target: blobPath(digest), access: "pull", what });
      if (response.status !== 200) throw await unexpected(response, what);
      const read = await readBody(response, maxBytes, what, algorithmOf(digest));
      if (read.digest !== digest) {
        throw new ValidationError(
          `${what} of ${name} does not match its digest: its content is ${read.digest}`,
        );
      }
      if (blobOptions.size !== undefined && read.bytes.byteLength !== blobOptions.size) {
        throw new ValidationError(
          `${what} of ${name} is ${read.bytes.byteLength} bytes, not the ${blobOptions.size} of its descriptor`,
        );
      }
      return read.bytes;
    },

    hasBlob: (digest) => hasBlob(digest, "pull"),

    async pushBlob(bytes) {
      const digest = ociDigest(bytes);
      const size = bytes.byteLength;
      if (await hasBlob(digest, "push")) return { digest, size, uploaded: false };
      const what = `upload of blob ${digest}`;
      const started = await send({
        method: "POST",
        target: `/v2/${repository}/blobs/uploads/`,
        access: "push",
        what,
      });
      const location = started.response.headers.get("location");
      if (started.response.status === 201) {
        await started.response.body?.cancel();
        return { digest, size, uploaded: true };
      }
      if (started.response.status !== 202 || location === null)
        throw await unexpected(started.response, what);
      await started.response.body?.cancel();
      const uploadUrl = new URL(location, `${base}/v2/${repository}/blobs/uploads/`);
      uploadUrl.searchParams.set("digest", digest);
      const finished = await send({
        method: "PUT",
        target: uploadUrl.href,
        access: "push",
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
        what,
      });
      if (finished.response.status !== 201) throw await unexpected(finished.response, what);
      await finished.response.body?.cancel();
      return { digest, size, uploaded: true };
    },

    async pushManifest(reference, bytes, mediaType) {
      const what = `manifest ${reference}`;
      if (bytes.byteLength > MAX_MANIFEST_BYTES) {
        throw new LimitExceededError(`${what} for ${name} is over the limit of ${MAX_MANIFEST_BYTES} bytes`);
      }
      const digest = ociDigest(bytes);
      const { response } = await send({
        method: "PUT",
        target: manifestPath(reference),
        access: "push",
        headers: { "content-type": mediaType },
        body: bytes,
        what,
      });
      if (response.status === 201 || response.status === 200) {
        await response.body?.cancel();
        return { digest };
      }
      const body = await readErrorBody(response);
      const entries = parseRegistryErrors(body);
      if (isManifestFormatRefusal(response.status, entries)) {
        const hint = usesArtifactType(bytes);
        const detail = describeRegistryErrors(entries);
        throw new RegistryManifestRefusedError(
          `registry ${registry} refused ${what} of ${name} (HTTP ${response.status}${detail === "" ? "" : `, ${detail}`})` +
            (hint ? `: ${MANIFEST_VERSION_HINT}` : ""),
          hint,
        );
      }
      const detail = describeRegistryErrors(entries);
      if (response.status === 404)
        throw new NotFoundError(`${what} could not be pushed to ${name}: ${detail}`);
      throw new UnavailableError(
        `registry ${registry} answered HTTP ${response.status} to ${what} of ${name}${detail === "" ? "" : `: ${detail}`}`,
      );
    },
  };

  async function hasBlob(digest: string, access: Access): Promise<boolean> {
    const what = `blob ${digest}`;
    checkDigest(digest, what);
    const { response } = await send({ method: "HEAD", target: blobPath(digest), access, what });
    await response.body?.cancel();
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw new UnavailableError(
      `registry ${registry} answered HTTP ${response.status} to HEAD ${what} of ${name}`,
    );
  }
}

/** Reads at most MAX_ERROR_BODY_BYTES of an error response as text; "" if it cannot. */
async function readErrorBody(response: Response): Promise<string> {
  if (response.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    await readStream(response.body, (chunk) => {
      chunks.push(chunk);
      size += chunk.byteLength;
      return size < MAX_ERROR_BODY_BYTES;
    });
  } catch {
    // what was read so far will do
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString("utf8");
}

/** Reads a body chunk by chunk until it ends or `onChunk` returns false, which cancels the rest. */
async function readStream(
  body: ReadableStream<Uint8Array> | null,
  onChunk: (chunk: Uint8Array) => boolean,
): Promise<void> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (!onChunk(value)) {
        await reader.cancel().catch(() => undefined);
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function mediaTypeField(bytes: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: unknown };
    return typeof parsed.mediaType === "string" ? parsed.mediaType : undefined;
  } catch {
    return undefined;
  }
}

/** ECONNREFUSED and friends, from fetch's `TypeError: fetch failed` and its cause. */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = current.cause;
  }
  return undefined;
}
