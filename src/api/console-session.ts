import { UnauthenticatedError } from "../domain/errors.js";
import { toConnectError } from "./error-mapping.js";
import type { RawRoute } from "./http-handler.js";
import { errorResponse } from "./rest/rest-gateway.js";
import { nodeHeaders, TOKEN_COOKIE, type TokenAuthenticator } from "./static-tokens.js";

/** Where the web console signs in and out. */
export const CONSOLE_SESSION_PATH = "/pennant/v1/console/session";

export interface ConsoleSessionOptions {
  /** Static tokens, when `authentication.methods.token` is enabled. */
  readonly tokens: TokenAuthenticator | undefined;
  /** `authentication.session.secure`: the cookie is sent over HTTPS only. */
  readonly secure: boolean;
  /** `authentication.session.token_lifetime`, in milliseconds: how long the browser keeps the cookie. */
  readonly lifetimeMs: number;
}

/**
 * The console's sign-in: `POST` with `Authorization: Bearer <static token>` answers 204 and sets the token as
 * Flipt's `flipt_client_token` cookie, HttpOnly (page scripts never read it back) and SameSite=Strict; a token the
 * server does not know is 401 and sets nothing. `DELETE` clears the cookie. The cookie then authenticates the
 * console's calls as Flipt's UI's does; cookie-authenticated writes are still refused in a form's content types.
 */
export function consoleSessionRoutes(options: ConsoleSessionOptions): RawRoute[] {
  const path = new RegExp(`^${CONSOLE_SESSION_PATH}$`);
  const attributes = ["Path=/", "HttpOnly", "SameSite=Strict", ...(options.secure ? ["Secure"] : [])];
  const cookie = (value: string, maxAgeSeconds: number) =>
    [`${TOKEN_COOKIE}=${value}`, `Max-Age=${maxAgeSeconds}`, ...attributes].join("; ");
  return [
    {
      method: "POST",
      path,
      handle: async (_match, _body, headers) => {
        const request = nodeHeaders(headers);
        const token = /^Bearer\s+(\S+)\s*$/i.exec(request.get("authorization") ?? "")?.[1];
        // With an Authorization header, the authenticator reads the bearer token, never the cookie.
        const problem =
          token === undefined
            ? "send the token as Authorization: Bearer <token>"
            : options.tokens === undefined
              ? "static tokens are not enabled (authentication.methods.token.enabled)"
              : options.tokens.authenticate(request) === undefined
                ? "the token is not one this server knows"
                : undefined;
        if (token === undefined || problem !== undefined) {
          return errorResponse(toConnectError(new UnauthenticatedError(problem ?? "no token")));
        }
        const seconds = Math.max(1, Math.floor(options.lifetimeMs / 1000));
        return {
          status: 204,
          headers: new Headers({
            "set-cookie": cookie(encodeURIComponent(token), seconds),
            "cache-control": "no-store",
          }),
          body: undefined,
        };
      },
    },
    {
      method: "DELETE",
      path,
      handle: async () => ({
        status: 204,
        headers: new Headers({ "set-cookie": cookie("", 0), "cache-control": "no-store" }),
        body: undefined,
      }),
    },
  ];
}
