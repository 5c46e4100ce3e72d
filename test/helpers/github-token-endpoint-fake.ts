import { generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A FAKE of GitHub's `POST /app/installations/{id}/access_tokens`, the one stand-in the tests use: GitHub's API
 * cannot run here. Like GitHub, it answers 401 unless the bearer JWT is RS256-signed by the app's key, names the
 * app's client id as `iss`, and is current and at most 10 minutes long; then it issues a fresh token.
 */
export interface GitHubTokenEndpointFake {
  /** The `api_url` to configure. */
  readonly apiUrl: string;
  /** Tokens issued so far, oldest first. */
  readonly issued: readonly string[];
  /** Why requests were refused, oldest first. */
  readonly refusals: readonly string[];
  /** Whether a token was issued and has not expired (what a git server in front of the fake should accept). */
  isValid(token: string): boolean;
  stop(): Promise<void>;
}

export interface GitHubTokenEndpointFakeOptions {
  readonly clientId: string;
  readonly installationId: number;
  /** The app's public key (PEM). */
  readonly publicKey: string;
  /** How long issued tokens live. GitHub's live one hour. @default 3_600_000 */
  readonly tokenLifetimeMs?: number;
}

/**
 * A GitHub App's key pair as PEM text: the private key as GitHub hands it out (PKCS#1) or as many tools convert
 * it (PKCS#8), and the public key the fake checks signatures with.
 */
export function appKeyPair(format: "pkcs1" | "pkcs8" = "pkcs1"): { privateKey: string; publicKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: format, format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
}

export async function startGitHubTokenEndpointFake(
  options: GitHubTokenEndpointFakeOptions,
): Promise<GitHubTokenEndpointFake> {
  const issued: string[] = [];
  const refusals: string[] = [];
  const expiries = new Map<string, number>();
  const lifetime = options.tokenLifetimeMs ?? 3_600_000;

  const server = createServer((request, response) => {
    request.resume();
    const answer = (status: number, body: object) => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (
      request.method !== "POST" ||
      request.url !== `/app/installations/${options.installationId}/access_tokens`
    ) {
      answer(404, { message: "Not Found" });
      return;
    }
    const problem = checkJwt(request.headers.authorization ?? "", options);
    if (problem !== undefined) {
      refusals.push(problem);
      answer(401, { message: problem });
      return;
    }
    const token = `ghs_${randomBytes(18).toString("hex")}`;
    const expiresAt = Date.now() + lifetime;
    issued.push(token);
    expiries.set(token, expiresAt);
    answer(201, { token, expires_at: new Date(expiresAt).toISOString() });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    issued,
    refusals,
    isValid: (token) => (expiries.get(token) ?? 0) > Date.now(),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Returns why the JWT is not acceptable, or undefined when it is. */
function checkJwt(authorization: string, options: GitHubTokenEndpointFakeOptions): string | undefined {
  const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization);
  if (!match) return "A JSON web token could not be decoded";
  const [, header, payload, signature] = match as unknown as [string, string, string, string];
  const signed = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    options.publicKey,
    Buffer.from(signature, "base64url"),
  );
  if (!signed) return "A JSON web token could not be decoded (bad signature)";
  const head = JSON.parse(Buffer.from(header, "base64url").toString()) as { alg?: string };
  if (head.alg !== "RS256") return `unsupported alg ${String(head.alg)}`;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as {
    iat?: number;
    exp?: number;
    iss?: string;
  };
  const now = Date.now() / 1000;
  if (claims.iss !== options.clientId) return `iss ${String(claims.iss)} is not the app's client id`;
  if (typeof claims.iat !== "number" || typeof claims.exp !== "number") return "iat and exp are required";
  if (claims.iat > now + 60)
    return "'Issued at' claim (iat) must be an Integer representing a time in the past";
  if (claims.exp < now) return "'Expiration time' claim ('exp') is in the past";
  if (claims.exp - claims.iat > 600) return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}
