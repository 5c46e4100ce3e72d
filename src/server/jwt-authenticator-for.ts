import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { createJwtAuthenticator, type JwtAuthenticator, jwksKeys, pemKey } from "../api/jwt-authenticator.js";
import type { JwtMethodConfig } from "../config/config.js";

/** `authentication.methods.jwt`, when it is enabled: its key from `public_key_file` (read now) or `jwks_url`. */
export async function jwtAuthenticatorFor(
  method: JwtMethodConfig,
  logger: Logger,
): Promise<JwtAuthenticator | undefined> {
  if (!method.enabled) return undefined;
  const keys =
    method.publicKeyFile !== undefined
      ? pemKey(await readFile(method.publicKeyFile, "utf8"))
      : jwksKeys(method.jwksUrl ?? "", (error) =>
          logger.warn({ err: error, jwksUrl: method.jwksUrl }, "JWKS fetch failed"),
        );
  return createJwtAuthenticator({
    keys,
    issuer: method.validateClaims.issuer,
    subject: method.validateClaims.subject,
    audiences: method.validateClaims.audiences,
    claimsMapping: method.claimsMapping,
  });
}
