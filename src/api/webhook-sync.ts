import { createHmac, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Environments } from "../storage/environments.js";
import { toConnectError } from "./error-mapping.js";
import { errorResponse, type RestResponse } from "./rest/rest-gateway.js";
import type { HeaderReader, TokenAuthenticator } from "./static-tokens.js";

/** The path of the webhook: Pennant's own, beside Flipt's environments API. */
export const SYNC_PATH = /^\/api\/v2\/environments\/([^/]+)\/sync\/?$/;

/**
 * `POST /api/v2/environments/{env}/sync`: a git host's push webhook (or a CI job) makes the environment fetch at
 * once instead of at the next poll. The call is authenticated either with the storage's `webhook_secret` the way
 * GitHub signs webhooks (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`), or with an API token
 * (`Authorization: Bearer <token>` of `authentication.methods.token`). Answers 200 `{"revision":…}` once the
 * fetched state serves.
 */
export function createWebhookSync(environments: Environments, tokens: TokenAuthenticator | undefined) {
  return async (key: string, body: Uint8Array, headers: HeaderReader): Promise<RestResponse> => {
    const environment = environments.get(decodeURIComponent(key));
    if (environment === undefined) {
      return errorResponse(new ConnectError(`environment: "${key}" not found`, Code.NotFound));
    }
    const secret = environment.webhookSecret;
    if (secret === undefined && tokens === undefined) {
      return errorResponse(
        new ConnectError(
          `webhook sync is not enabled for environment "${environment.key}": set storage.${environment.storage}.webhook_secret or enable authentication.methods.token`,
          Code.PermissionDenied,
        ),
      );
    }
    const signature = headers.get("x-hub-signature-256") ?? undefined;
    const signed = secret !== undefined && signature !== undefined && validSignature(secret, body, signature);
    if (!signed && tokens?.authenticate(headers) === undefined) {
      const accepted = [
        ...(secret === undefined ? [] : ["an X-Hub-Signature-256 matching the body"]),
        ...(tokens === undefined ? [] : ["an API token"]),
      ];
      return errorResponse(
        new ConnectError(`webhook sync needs ${accepted.join(" or ")}`, Code.Unauthenticated),
      );
    }
    try {
      await environment.sync();
    } catch (error) {
      return errorResponse(toConnectError(error));
    }
    const payload = JSON.stringify({ revision: environment.snapshot.revision });
    return {
      status: 200,
      headers: new Headers({ "content-type": "application/json" }),
      body: new TextEncoder().encode(payload),
    };
  };
}

function validSignature(secret: string, body: Uint8Array, header: string): boolean {
  if (!header.startsWith("sha256=")) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(header.slice("sha256=".length), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
