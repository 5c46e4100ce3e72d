import { type KeyObject, sign } from "node:crypto";

/** The hash each JWS algorithm signs with (EdDSA hashes inside the signature). */
const HASHES: Record<string, string | null> = {
  RS256: "sha256",
  RS512: "sha512",
  ES256: "sha256",
  ES512: "sha512",
  EdDSA: null,
};

/** Signs a JWT as an identity provider would: compact form, base64url parts, ECDSA signatures as r‖s. */
export function signJwt(
  alg: string,
  key: KeyObject,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ alg, typ: "JWT", ...header })}.${encode(payload)}`;
  const hash = HASHES[alg];
  if (hash === undefined) return `${input}.`;
  const signer = key.asymmetricKeyType === "ec" ? { key, dsaEncoding: "ieee-p1363" as const } : key;
  return `${input}.${sign(hash, Buffer.from(input), signer).toString("base64url")}`;
}
