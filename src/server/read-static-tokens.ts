import { readFile } from "node:fs/promises";
import type { StaticToken } from "../api/static-tokens.js";
import type { TokenMethodConfig } from "../config/config.js";

/**
 * The static tokens of `authentication.methods.token`, when it is enabled: each `credential` as given, or the
 * contents of its `credential_file` with surrounding whitespace (a trailing newline) trimmed. An empty file is an
 * error naming the token, never a token that matches an empty credential.
 */
export async function readStaticTokens(
  method: TokenMethodConfig,
): Promise<Readonly<Record<string, StaticToken>> | undefined> {
  if (!method.enabled) return undefined;
  const tokens: Record<string, StaticToken> = {};
  for (const [name, token] of Object.entries(method.storage.tokens)) {
    const credential = token.credential ?? (await readFile(token.credentialFile ?? "", "utf8")).trim();
    if (credential === "") {
      throw new Error(
        `authentication.methods.token.storage.tokens.${name}.credential_file ${JSON.stringify(token.credentialFile)} is empty`,
      );
    }
    tokens[name] = { credential, metadata: token.metadata };
  }
  return tokens;
}
