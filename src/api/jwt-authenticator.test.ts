import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import { signJwt } from "../../test/helpers/sign-jwt.js";
import { createJwtAuthenticator, type JwtOptions } from "./jwt-authenticator.js";

const NOW = 1_800_000_000;

const pairs: Record<string, { privateKey: KeyObject; publicKey: KeyObject }> = {
  RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
  RS512: generateKeyPairSync("rsa", { modulusLength: 2048 }),
  ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
  ES512: generateKeyPairSync("ec", { namedCurve: "P-521" }),
  EdDSA: generateKeyPairSync("ed25519"),
};

function authenticator(publicKey: KeyObject, extra: Partial<JwtOptions> = {}) {
  return createJwtAuthenticator({
    keys: async () => publicKey,
    audiences: [],
    claimsMapping: {},
    now: () => NOW,
    ...extra,
  });
}

const headers = (authorization: string) => ({
  get: (name: string) => (name === "authorization" ? authorization : null),
});

describe("createJwtAuthenticator", () => {
  for (const [alg, pair] of Object.entries(pairs)) {
    it(`accepts ${alg} tokens signed by the key, and no others`, async () => {
      const token = signJwt(alg, pair.privateKey, { sub: "svc", exp: NOW + 60 });
      const jwt = authenticator(pair.publicKey);
      assert.deepEqual(await jwt.authenticate(headers(`JWT ${token}`)), { name: "svc", metadata: {} });
      const other = alg === "EdDSA" ? pairs.ES256 : pairs.EdDSA;
      assert.equal(
        await authenticator(other?.publicKey as KeyObject).authenticate(headers(`JWT ${token}`)),
        undefined,
      );
      const tampered = token.replace(/\.([^.]+)\./, (_, body: string) => `.${body.slice(0, -2)}AA.`);
      assert.equal(await jwt.authenticate(headers(`JWT ${tampered}`)), undefined);
    });
  }

  it("needs the exact `JWT ` scheme, and refuses alg none and HMAC", async () => {
    const { privateKey, publicKey } = pairs.RS256 as { privateKey: KeyObject; publicKey: KeyObject };
    const jwt = authenticator(publicKey);
    const token = signJwt("RS256", privateKey, { sub: "svc" });
    assert.notEqual(await jwt.authenticate(headers(`JWT ${token}`)), undefined);
    for (const header of [`Bearer ${token}`, `jwt ${token}`, token, "JWT ", "JWT a.b", "JWT a.b.c"]) {
      assert.equal(await jwt.authenticate(headers(header)), undefined, header);
    }
    for (const alg of ["toString", "constructor", "__proto__"]) {
      const odd = signJwt("RS256", privateKey, { sub: "svc" }, { alg });
      assert.equal(await jwt.authenticate(headers(`JWT ${odd}`)), undefined, alg);
    }
    const none = signJwt("none", privateKey, { sub: "svc" });
    assert.equal(await jwt.authenticate(headers(`JWT ${none}`)), undefined);
    const hs = `${token
      .split(".")
      .slice(0, 2)
      .join(".")
      .replace(/^[^.]+/, Buffer.from('{"alg":"HS256"}').toString("base64url"))}.${token.split(".")[2]}`;
    assert.equal(await jwt.authenticate(headers(`JWT ${hs}`)), undefined);
  });

  it("checks exp and nbf with a minute of leeway, and the configured claims", async () => {
    const { privateKey, publicKey } = pairs.ES256 as { privateKey: KeyObject; publicKey: KeyObject };
    const check = (payload: Record<string, unknown>, extra: Partial<JwtOptions> = {}) =>
      authenticator(publicKey, extra).authenticate(headers(`JWT ${signJwt("ES256", privateKey, payload)}`));
    assert.notEqual(await check({ exp: NOW - 60 }), undefined);
    assert.equal(await check({ exp: NOW - 61 }), undefined);
    assert.equal(await check({ exp: "never" }), undefined);
    assert.notEqual(await check({ nbf: NOW + 60 }), undefined);
    assert.equal(await check({ nbf: NOW + 61 }), undefined);
    const claims = { issuer: "https://idp", subject: "svc", audiences: ["pennant", "flipt"] };
    assert.notEqual(await check({ iss: "https://idp", sub: "svc", aud: "flipt" }, claims), undefined);
    assert.notEqual(
      await check({ iss: "https://idp", sub: "svc", aud: ["x", "pennant"] }, claims),
      undefined,
    );
    assert.equal(await check({ iss: "https://other", sub: "svc", aud: "flipt" }, claims), undefined);
    assert.equal(await check({ iss: "https://idp", sub: "other", aud: "flipt" }, claims), undefined);
    assert.equal(await check({ iss: "https://idp", sub: "svc", aud: ["x"] }, claims), undefined);
    assert.equal(await check({ iss: "https://idp", sub: "svc" }, claims), undefined);
  });

  it("maps claims into the principal's metadata by JSON pointer", async () => {
    const { privateKey, publicKey } = pairs.EdDSA as { privateKey: KeyObject; publicKey: KeyObject };
    const token = signJwt("EdDSA", privateKey, {
      sub: "ci",
      pennant: { role: "read", "a/b": 7 },
      email: "ci@example.com",
    });
    const jwt = authenticator(publicKey, {
      claimsMapping: { role: "/pennant/role", weird: "/pennant/a~1b", email: "/email", missing: "/nope/x" },
    });
    assert.deepEqual(await jwt.authenticate(headers(`JWT ${token}`)), {
      name: "ci",
      metadata: { role: "read", weird: "7", email: "ci@example.com" },
    });
  });
});
