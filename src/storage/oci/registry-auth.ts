/**
 * Registry authentication as Flipt v1 does it through oras (v1-backends.md §5.7): anonymous, or credentials that a
 * provider hands out per registry host. A `WWW-Authenticate: Basic` challenge is answered with the credentials; a
 * `Bearer realm=…,service=…,scope=…` challenge by fetching a token from the realm (with the credentials as Basic, or
 * anonymously without any) and caching it per scope until shortly before it expires. The provider is the seam for
 * `aws-ecr`, which hands out a token it got from ECR for each host.
 */
import { RemoteCredentialsError, UnavailableError } from "../../domain/errors.js";

/** A username and password for one registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** The credentials to offer to a registry host (`host[:port]`), or undefined for none (anonymous). */
export type RegistryCredentialsProvider = (host: string) => Promise<RegistryCredentials | undefined>;

/** `static` authentication: `credentials` offered to `registryHost` only, and to no other host. */
export function staticCredentials(
  registryHost: string,
  credentials: RegistryCredentials,
): RegistryCredentialsProvider {
  const expected = registryHost.toLowerCase();
  return async (host) => (host.toLowerCase() === expected ? credentials : undefined);
}

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Lower case: `basic`, `bearer`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a `WWW-Authenticate` header (`Bearer realm="…",service="…",scope="…"`); undefined if it has no scheme. */
export function parseAuthChallenge(header: string | null): AuthChallenge | undefined {
  if (header === null) return undefined;
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const param of (match[2] ?? "").matchAll(pattern)) {
    const key = param[1];
    if (key === undefined) continue;
    params[key.toLowerCase()] = param[2] === undefined ? (param[3] ?? "") : param[2].replace(/\\(.)/g, "$1");
  }
  return { scheme: (match[1] ?? "").toLowerCase(), params };
}

/** How long before a token's stated expiry it is no longer used. */
export const TOKEN_EXPIRY_MARGIN_MS = 10_000;
/** A token's lifetime when the token endpoint does not say (the distribution token spec's default). */
export const DEFAULT_TOKEN_LIFETIME_S = 60;

interface CachedAuthorization {
  readonly header: string;
  readonly expiresAt: number;
}

/** What an authenticator needs from its client: how to name things in errors, and how to fetch. */
export interface RegistryAuthContext {
  /** `host[:port]` of the registry. */
  readonly host: string;
  /** `registry/repository`, for messages. */
  readonly name: string;
  readonly credentials: RegistryCredentialsProvider | undefined;
  readonly timeoutMs: number;
  readonly now: () => number;
}

/**
 * Authorization headers for one registry repository: remembers whether the registry asked for Basic, and the Bearer
 * tokens got per scope, so that later requests send them up front and an unchanged poll stays one request.
 */
export class RegistryAuthenticator {
  readonly #context: RegistryAuthContext;
  #basic: string | undefined;
  readonly #tokens = new Map<string, CachedAuthorization>();

  constructor(context: RegistryAuthContext) {
    this.#context = context;
  }

  /** The header to send up front for `scope` (`repository:x:pull`), if one is known and has not expired. */
  current(scope: string): string | undefined {
    const token = this.#tokens.get(scope);
    if (token !== undefined) {
      if (token.expiresAt > this.#context.now()) return token.header;
      this.#tokens.delete(scope);
    }
    return this.#basic;
  }

  /** Forgets what was sent for `scope`, after the registry refused it. */
  forget(scope: string): void {
    this.#tokens.delete(scope);
  }

  /**
   * Answers a 401's challenge: returns the Authorization header to retry with. Throws RemoteCredentialsError when
   * there is nothing to offer (Basic without credentials) or the token endpoint refuses the credentials.
   */
  async answer(challengeHeader: string | null, scope: string): Promise<string> {
    const challenge = parseAuthChallenge(challengeHeader);
    const { host, name } = this.#context;
    const credentials = await this.#context.credentials?.(host);
    if (challenge?.scheme === "bearer" && challenge.params.realm !== undefined) {
      const header = await this.#fetchToken(challenge, scope, credentials);
      return header;
    }
    if (challenge === undefined || challenge.scheme === "basic") {
      if (credentials === undefined) {
        throw new RemoteCredentialsError(
          `registry ${host} requires authentication for ${name} and no credentials are configured for it`,
        );
      }
      this.#basic = basicHeader(credentials);
      return this.#basic;
    }
    throw new RemoteCredentialsError(
      `registry ${host} asks for authentication scheme ${challenge.scheme}, which is not supported`,
    );
  }

  async #fetchToken(
    challenge: AuthChallenge,
    scope: string,
    credentials: RegistryCredentials | undefined,
  ): Promise<string> {
    const { host, name, timeoutMs, now } = this.#context;
    const realm = challenge.params.realm ?? "";
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new UnavailableError(`registry ${host} named an invalid token realm`);
    }
    if (challenge.params.service !== undefined) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set("scope", challenge.params.scope ?? scope);
    const headers: Record<string, string> = { accept: "application/json" };
    if (credentials !== undefined) headers.authorization = basicHeader(credentials);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
    } catch (error) {
      throw new UnavailableError(`token service ${url.host} of registry ${host} cannot be reached`, {
        cause: error,
      });
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RemoteCredentialsError(
        `token service ${url.host} of registry ${host} refused the ${credentials === undefined ? "anonymous request" : `credentials of ${credentials.username}`} for ${name} (HTTP ${response.status})`,
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new UnavailableError(
        `token service ${url.host} of registry ${host} answered HTTP ${response.status} for ${name}`,
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new UnavailableError(`token service ${url.host} of registry ${host} sent no JSON token`, {
        cause: error,
      });
    }
    const token =
      typeof body.token === "string" && body.token !== ""
        ? body.token
        : typeof body.access_token === "string"
          ? body.access_token
          : undefined;
    if (token === undefined || token === "") {
      throw new UnavailableError(`token service ${url.host} of registry ${host} sent no token`);
    }
    const lifetime =
      typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    const header = `Bearer ${token}`;
    this.#tokens.set(scope, { header, expiresAt: now() + lifetime * 1000 - TOKEN_EXPIRY_MARGIN_MS });
    return header;
  }
}

function basicHeader(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}
