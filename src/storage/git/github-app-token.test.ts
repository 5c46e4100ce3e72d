import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  appKeyPair,
  type GitHubTokenEndpointFake,
  startGitHubTokenEndpointFake,
} from "../../../test/helpers/github-token-endpoint-fake.js";
import { RemoteCredentialsError, UnavailableError, ValidationError } from "../../domain/errors.js";
import { createGitHubAppTokens, TOKEN_REFRESH_MARGIN_MS } from "./github-app-token.js";

const { privateKey, publicKey } = appKeyPair();
const APP = { clientId: "Iv1.pennant-test", installationId: 4242 };

describe("createGitHubAppTokens", () => {
  let endpoint: GitHubTokenEndpointFake;
  before(async () => {
    endpoint = await startGitHubTokenEndpointFake({ ...APP, publicKey });
  });
  after(() => endpoint.stop());

  it("exchanges a signed app JWT for an installation token, and reuses it while it is fresh", async () => {
    const tokens = createGitHubAppTokens({ ...APP, privateKey, apiUrl: endpoint.apiUrl });
    const before = endpoint.issued.length;
    const [first, second] = await Promise.all([tokens.token(), tokens.token()]);
    assert.equal(first, second, "concurrent callers share one exchange");
    assert.equal(await tokens.token(), first);
    assert.equal(endpoint.issued.length, before + 1);
    assert.ok(endpoint.isValid(first));
    assert.deepEqual(tokens.issued, [first]);
  });

  it("fetches a new token when the cached one is within the refresh margin of its expiry", async () => {
    const shortLived = await startGitHubTokenEndpointFake({
      ...APP,
      publicKey,
      tokenLifetimeMs: TOKEN_REFRESH_MARGIN_MS - 1_000,
    });
    try {
      const tokens = createGitHubAppTokens({ ...APP, privateKey, apiUrl: shortLived.apiUrl });
      const first = await tokens.token();
      const second = await tokens.token();
      assert.notEqual(second, first);
      assert.deepEqual(tokens.issued, [first, second]);
      assert.equal(shortLived.issued.length, 2);
    } finally {
      await shortLived.stop();
    }
  });

  it("is refused as a credentials error when the key is not the app's, naming the endpoint's reason", async () => {
    const other = appKeyPair("pkcs8");
    const tokens = createGitHubAppTokens({ ...APP, privateKey: other.privateKey, apiUrl: endpoint.apiUrl });
    await assert.rejects(tokens.token(), (error: unknown) => {
      assert.ok(error instanceof RemoteCredentialsError);
      assert.match(error.message, /answered 401: A JSON web token could not be decoded \(bad signature\)/);
      return true;
    });
    assert.match(endpoint.refusals.at(-1) ?? "", /bad signature/);
  });

  it("is refused as a credentials error for another app's client id or installation", async () => {
    const wrongApp = createGitHubAppTokens({
      ...APP,
      clientId: "Iv1.other",
      privateKey,
      apiUrl: endpoint.apiUrl,
    });
    await assert.rejects(wrongApp.token(), /iss Iv1\.other is not the app's client id/);
    const wrongInstallation = createGitHubAppTokens({
      ...APP,
      installationId: 7,
      privateKey,
      apiUrl: endpoint.apiUrl,
    });
    await assert.rejects(wrongInstallation.token(), RemoteCredentialsError);
  });

  it("reports an unreachable API as Unavailable, naming it", async () => {
    const tokens = createGitHubAppTokens({ ...APP, privateKey, apiUrl: "http://127.0.0.1:1/api/v3/" });
    await assert.rejects(tokens.token(), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.match(
        error.message,
        /http:\/\/127\.0\.0\.1:1\/api\/v3\/app\/installations\/4242\/access_tokens failed/,
      );
      return true;
    });
  });

  it("rejects a key that is not an RSA private key", () => {
    const ed = generateKeyPairSync("ed25519", {
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    assert.throws(() => createGitHubAppTokens({ ...APP, privateKey: ed.privateKey }), /must be an RSA key/);
    assert.throws(() => createGitHubAppTokens({ ...APP, privateKey: "not a key" }), ValidationError);
  });
});
