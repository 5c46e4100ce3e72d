/**
 * Installation access tokens for a GitHub App (`credentials.<name>.type: github_app`), as GitHub documents them:
 * sign a short-lived JWT with the app's private key (RS256, `iss` = the client id), exchange it at
 * `POST {api_url}/app/installations/{installation_id}/access_tokens` for an installation token, and reuse that
 * token until shortly before it expires. The token then authenticates git over HTTP like an access token.
 */
import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import { RemoteCredentialsError, UnavailableError, ValidationError } from "../../domain/errors.js";

/** GitHub's API when `api_url` is not set (GitHub Enterprise Server uses `https://<host>/api/v3`). */
const GITHUB_API_URL = "https://api.github.com";
/** A token is replaced once less than this much of its life is left, so no git command starts with a dying one. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** GitHub accepts app JWTs that live at most 10 minutes; the issue time is back-dated for clock drift. */
const JWT_LIFETIME_S = 9 * 60;
const JWT_BACKDATE_S = 60;
/** How long the token exchange may take. */
const TOKEN_REQUEST_TIMEOUT_MS = 15_000;

export interface GitHubAppTokenOptions {
  readonly clientId: string;
  readonly installationId: number;
  /** The app's private key (PEM, PKCS#1 or PKCS#8). */
  readonly privateKey: string;
  readonly apiUrl?: string | undefined;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Hands out a valid installation token, fetching a new one only when the cached one is about to expire. */
export interface GitHubAppTokens {
  token(): Promise<string>;
  /** Every token handed out so far, for redaction. */
  readonly issued: readonly string[];
}

/**
 * @throws ValidationError (synchronously) when the private key is not an RSA private key.
 */
export function createGitHubAppTokens(options: GitHubAppTokenOptions): GitHubAppTokens {
  const key = readRsaKey(options.privateKey);
  const doFetch = options.fetch ?? fetch;
  const endpoint = `${(options.apiUrl ?? GITHUB_API_URL).replace(/\/+$/, "")}/app/installations/${options.installationId}/access_tokens`;
  const issued: string[] = [];
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const exchange = async (): Promise<string> => {
    const jwt = appJwt(options.clientId, key, Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await doFetch(endpoint, {
        method: "POST",
        headers: {
          Accept: "application/vnd.github+json",
          Authorization: `Bearer ${jwt}`,
          "User-Agent": "pennant",
          "X-GitHub-Api-Version": "2022-11-28",
        },
        signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new UnavailableError(`github_app: requesting an installation token from ${endpoint} failed`, {
        cause: error,
      });
    }
    const body = (await response.json().catch(() => ({}))) as {
      token?: unknown;
      expires_at?: unknown;
      message?: unknown;
    };
    if (!response.ok) {
      const reason = typeof body.message === "string" ? `: ${body.message.slice(0, 200)}` : "";
      const message = `github_app: ${endpoint} answered ${response.status}${reason}`;
      if (response.status === 401 || response.status === 403 || response.status === 404) {
        throw new RemoteCredentialsError(message);
      }
      throw new UnavailableError(message);
    }
    const expiresAt = typeof body.expires_at === "string" ? Date.parse(body.expires_at) : Number.NaN;
    if (typeof body.token !== "string" || body.token === "" || Number.isNaN(expiresAt)) {
      throw new UnavailableError(`github_app: ${endpoint} answered without a token and its expiry`);
    }
    issued.push(body.token);
    cached = { token: body.token, expiresAt };
    return body.token;
  };

  return {
    issued,
    token() {
      if (cached !== undefined && cached.expiresAt - Date.now() > TOKEN_REFRESH_MARGIN_MS) {
        return Promise.resolve(cached.token);
      }
      // Callers that arrive while a token is being fetched share that request.
      pending ??= exchange().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}

/** The app's JWT: RS256 over `{iat, exp, iss}`, as GitHub requires. */
function appJwt(clientId: string, key: KeyObject, nowSeconds: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "RS256", typ: "JWT" });
  const payload = encode({
    iat: nowSeconds - JWT_BACKDATE_S,
    exp: nowSeconds + JWT_LIFETIME_S,
    iss: clientId,
  });
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

function readRsaKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new ValidationError("github_app private key is not a PEM private key", { cause: error });
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new ValidationError(
      `github_app private key must be an RSA key (GitHub signs with RS256), got ${key.asymmetricKeyType ?? "unknown"}`,
    );
  }
  return key;
}
