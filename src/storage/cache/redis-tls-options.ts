import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { type ConnectionOptions, rootCertificates } from "node:tls";
import { RedisStartError } from "./redis-start-error.js";

/** The TLS part of `cache.redis`, as Flipt v1 reads it (spec v1-backends §1.4). */
export interface RedisTlsSettings {
  readonly requireTls?: boolean | undefined;
  readonly insecureSkipTls?: boolean | undefined;
  /** A PEM file of CA certificates to trust besides Node's. */
  readonly caCertPath?: string | undefined;
  /** PEM text of CA certificates to trust besides Node's. */
  readonly caCertBytes?: string | undefined;
}

/**
 * The TLS options of the connections to Redis, or undefined without `requireTls` (the other keys are then
 * ignored, as Flipt does): TLS 1.2 or later; the CA certificates given are trusted besides Node's own (Flipt
 * appends them to the system pool); `insecureSkipTls` does not verify the server's certificate. A CA that cannot
 * be read or is not PEM is a `RedisStartError` naming its key.
 */
export async function redisTlsOptions(settings: RedisTlsSettings): Promise<ConnectionOptions | undefined> {
  if (settings.requireTls !== true) return undefined;
  const options: ConnectionOptions = { minVersion: "TLSv1.2" };
  if (settings.insecureSkipTls === true) options.rejectUnauthorized = false;
  let pem: string | undefined;
  let key = "cache.redis.ca_cert_bytes";
  if (settings.caCertPath !== undefined && settings.caCertPath !== "") {
    key = "cache.redis.ca_cert_path";
    try {
      pem = await readFile(settings.caCertPath, "utf8");
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new RedisStartError(
        key,
        `${key}: cannot read ${settings.caCertPath}${typeof code === "string" ? ` (${code})` : ""}`,
      );
    }
  } else if (settings.caCertBytes !== undefined && settings.caCertBytes !== "") {
    pem = settings.caCertBytes;
  }
  if (pem !== undefined) {
    try {
      // Node ignores text that is not a certificate; say so instead of failing every handshake later.
      new X509Certificate(pem);
    } catch {
      throw new RedisStartError(key, `${key}: not a PEM certificate`);
    }
    options.ca = [...rootCertificates, pem];
  }
  return options;
}
