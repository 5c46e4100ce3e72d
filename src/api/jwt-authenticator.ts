import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";
import type { HeaderReader, Principal } from "./static-tokens.js";

/** The scheme of `authorization: JWT <token>`, exact and case-sensitive as in Flipt. */
const SCHEME = "JWT ";

/** How far `exp` and `nbf` may be off, for clocks that drift apart. */
const CLOCK_LEEWAY_SECONDS = 60;

/** The least time between two JWKS fetches caused by unknown key ids, so bad tokens cannot flood the issuer. */
const JWKS_REFETCH_MS = 30_000;
const JWKS_TIMEOUT_MS = 5_000;

/** The signature algorithms Flipt accepts, with the hash and key type each needs. */
const ALGORITHMS: Readonly<Record<string, { hash: string | null; keyTypes: readonly string[] }>> = {
  RS256: { hash: "sha256", keyTypes: ["rsa"] },
  RS512: { hash: "sha512", keyTypes: ["rsa"] },
  ES256: { hash: "sha256", keyTypes: ["ec"] },
  ES512: { hash: "sha512", keyTypes: ["ec"] },
  EdDSA: { hash: null, keyTypes: ["ed25519", "ed448"] },
};

/** Finds the public key for a token's `kid` (undefined when there is none). */
export type JwtKeys = (kid: string | undefined) => Promise<KeyObject | undefined>;

export interface JwtOptions {
  readonly keys: JwtKeys;
  /** `validate_claims`: each given one must match exactly; `audiences` must share a value with `aud`. */
  readonly issuer?: string | undefined;
  readonly subject?: string | undefined;
  readonly audiences: readonly string[];
  /** `claims_mapping`: principal metadata key → JSON pointer into the payload (`role` → `/pennant/role`). */
  readonly claimsMapping: Readonly<Record<string, string>>;
  /** Seconds since the epoch; injected for tests. */
  readonly now?: () => number;
}

/** Verifies `authorization: JWT <token>` headers. */
export interface JwtAuthenticator {
  /** The principal of a valid JWT; undefined when the request carries none, or one that does not verify. */
  authenticate(headers: HeaderReader): Promise<Principal | undefined>;
}

/**
 * `authentication.methods.jwt`: a JWT signed with one of RS256, RS512, ES256, ES512 or EdDSA by the configured key
 * (a PEM file, or a JWKS endpoint and the token's `kid`), unexpired (`exp`, `nbf`, with a minute of leeway), and
 * matching `validate_claims`. The principal is named by `sub`; `claims_mapping` copies claims into its metadata,
 * so a mapped `role` claim splits readers from writers as a static token's metadata does.
 */
export function createJwtAuthenticator(options: JwtOptions): JwtAuthenticator {
  const now = options.now ?? (() => Date.now() / 1000);
  return {
    async authenticate(headers) {
      const authorization = headers.get("authorization");
      if (authorization === null || !authorization.startsWith(SCHEME)) return undefined;
      const token = parse(authorization.slice(SCHEME.length).trim());
      if (token === undefined) return undefined;
      const alg = String(token.header.alg);
      // Own keys only: `{"alg":"toString"}` must not find Object.prototype's.
      const algorithm = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
      if (algorithm === undefined) return undefined;
      const key = await options.keys(typeof token.header.kid === "string" ? token.header.kid : undefined);
      if (key === undefined || !algorithm.keyTypes.includes(key.asymmetricKeyType ?? "")) return undefined;
      const signed = verify(
        algorithm.hash,
        token.signingInput,
        key.asymmetricKeyType === "ec" ? { key, dsaEncoding: "ieee-p1363" } : key,
        token.signature,
      );
      if (!signed || !validClaims(token.payload, options, now())) return undefined;
      const metadata: Record<string, string> = {};
      for (const [name, pointer] of Object.entries(options.claimsMapping)) {
        const value = atPointer(token.payload, pointer);
        if (value !== undefined) metadata[name] = value;
      }
      const subject = token.payload.sub;
      return { name: typeof subject === "string" ? subject : "jwt", metadata };
    },
  };
}

interface ParsedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

function parse(text: string): ParsedJwt | undefined {
  const parts = text.split(".");
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const decoded = [header, payload].map((part) => {
    try {
      const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
      return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  });
  if (decoded[0] === undefined || decoded[1] === undefined) return undefined;
  return {
    header: decoded[0],
    payload: decoded[1],
    signingInput: Buffer.from(`${header}.${payload}`),
    signature: Buffer.from(signature, "base64url"),
  };
}

function validClaims(payload: Record<string, unknown>, options: JwtOptions, now: number): boolean {
  const { exp, nbf, iss, sub, aud } = payload;
  if (exp !== undefined && (typeof exp !== "number" || now > exp + CLOCK_LEEWAY_SECONDS)) return false;
  if (nbf !== undefined && (typeof nbf !== "number" || now < nbf - CLOCK_LEEWAY_SECONDS)) return false;
  if (options.issuer !== undefined && iss !== options.issuer) return false;
  if (options.subject !== undefined && sub !== options.subject) return false;
  if (options.audiences.length > 0) {
    const given = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
    if (!given.some((value) => options.audiences.includes(value as string))) return false;
  }
  return true;
}

/** A string (or number or boolean, as text) at an RFC 6901 JSON pointer. */
function atPointer(value: unknown, pointer: string): string | undefined {
  let current = value;
  for (const token of pointer.split("/").slice(1)) {
    if (typeof current !== "object" || current === null) return undefined;
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    current = Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
  }
  return typeof current === "string" || typeof current === "number" || typeof current === "boolean"
    ? String(current)
    : undefined;
}

/** The key of `public_key_file`: every token is checked against it, whatever its `kid`. */
export function pemKey(pem: string): JwtKeys {
  const key = createPublicKey(pem);
  return async () => key;
}

/**
 * The keys of a JWKS endpoint by `kid`, fetched at the first token (until a fetch succeeds) and again when a token
 * names a key not in the set (rotation), at most every 30 s. A token without a `kid` is checked against the set's
 * only key.
 */
export function jwksKeys(url: string, onError: (error: unknown) => void): JwtKeys {
  let keys = new Map<string, KeyObject>();
  let only: KeyObject | undefined;
  let loaded = false;
  let refetchedAt = Number.NEGATIVE_INFINITY;
  let fetching: Promise<void> | undefined;
  const refresh = async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`JWKS ${url} answered HTTP ${response.status}`);
    const body = (await response.json()) as { keys?: Array<JsonWebKey & { kid?: string }> };
    const next = new Map<string, KeyObject>();
    const all: KeyObject[] = [];
    for (const jwk of body.keys ?? []) {
      try {
        const key = createPublicKey({ key: jwk, format: "jwk" });
        all.push(key);
        if (typeof jwk.kid === "string") next.set(jwk.kid, key);
      } catch {
        // A key type Node cannot read (a symmetric key, say) verifies nothing.
      }
    }
    keys = next;
    only = all.length === 1 ? all[0] : undefined;
    loaded = true;
  };
  return async (kid) => {
    const known = () => (kid === undefined ? only : keys.get(kid));
    if (known() === undefined && (!loaded || Date.now() - refetchedAt >= JWKS_REFETCH_MS)) {
      if (loaded) refetchedAt = Date.now();
      fetching ??= refresh().finally(() => {
        fetching = undefined;
      });
      await fetching.catch(onError);
    } else if (fetching !== undefined) {
      await fetching.catch(() => undefined);
    }
    return known();
  };
}
