/** How a token the user typed is sent: a static token as `Bearer`, a JWT as `JWT` (as the server reads them). */
export type TokenScheme = "Bearer" | "JWT";

/**
 * A token held in memory only, for this tab: gone on reload. The other way to sign in (the HttpOnly
 * `flipt_client_token` cookie) needs nothing here: the browser sends the cookie itself.
 */
export interface CredentialStore {
  /** The `Authorization` header to send, or undefined when the console relies on the cookie (or nothing). */
  authorization(): string | undefined;
  set(token: string, scheme: TokenScheme): void;
  clear(): void;
}

export function createCredentialStore(): CredentialStore {
  let header: string | undefined;
  return {
    authorization: () => header,
    set(token, scheme) {
      header = `${scheme} ${token}`;
    },
    clear() {
      header = undefined;
    },
  };
}

/** A JWT is three base64url parts joined by dots; static tokens are opaque strings without dots. */
export function schemeOf(token: string): TokenScheme {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token) ? "JWT" : "Bearer";
}
