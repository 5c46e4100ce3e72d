import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import {
  DEFAULT_ECR_PASSWORD,
  type EcrAnswer,
  type EcrStandIn,
  ecrToken,
  startEcrStandIn,
} from "../../../test/helpers/ecr-stand-in.js";
import { freePort } from "../../../test/helpers/free-port.js";
import { type PrivateRegistry, startPrivateRegistry } from "../../../test/helpers/private-registry.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import { RemoteCredentialsError, UnavailableError } from "../../domain/errors.js";
import { OCI_MANIFEST_MEDIA_TYPE } from "./bundle-media-types.js";
import { ECR_REFRESH_MARGIN_MS, type EcrCredentialsProvider, ecrCredentials } from "./ecr-credentials.js";
import { ociDigest } from "./oci-digest.js";
import { createRegistryClient } from "./registry-client.js";

// The ECR API is a STAND-IN (test/helpers/ecr-stand-in.ts): no ECR runs here. The clients are the real AWS SDK's.

const KEY = { accessKeyId: "AKIAPENNANTTEST00001", secretAccessKey: "pennant/Secret+Access/Key0001" };
const SESSION_TOKEN = "pennant-session-token-0001";
const ENV = {
  AWS_ACCESS_KEY_ID: KEY.accessKeyId,
  AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
  AWS_SESSION_TOKEN: SESSION_TOKEN,
  AWS_REGION: "eu-central-1",
};
const PRIVATE_HOST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
const PUBLIC_HOST = "public.ecr.aws";
const HOUR_MS = 60 * 60 * 1000;
const START = Date.UTC(2024, 4, 1, 12, 0, 0);

let standIn: EcrStandIn;
const providers: EcrCredentialsProvider[] = [];

/** A provider against the stand-in; `clock` is its clock. */
function provider(env: Record<string, string> = ENV, clock?: { now: number }): EcrCredentialsProvider {
  const created = ecrCredentials(env, {
    endpoint: standIn.endpoint,
    ...(clock === undefined ? {} : { now: () => clock.now }),
  });
  providers.push(created);
  return created;
}

/** A token of `password` that expires `lifetimeMs` after `clock.now`. */
function tokenAnswer(clock: { now: number }, lifetimeMs: number, password = DEFAULT_ECR_PASSWORD): EcrAnswer {
  return { authorizationToken: ecrToken(password), expiresAt: clock.now + lifetimeMs };
}

/** Asserts that `error` says nothing of the environment's secrets. */
function assertNoSecret(error: unknown): void {
  const texts = [String(error), JSON.stringify(error), String((error as Error).cause)];
  for (const text of texts) {
    assert.doesNotMatch(text, /Secret\+Access|pennant-session-token/, text);
  }
}

before(async () => {
  standIn = await startEcrStandIn({ credentials: [KEY] });
});

afterEach(() => {
  standIn.reset();
  standIn.answer = () => ({
    authorizationToken: ecrToken(DEFAULT_ECR_PASSWORD),
    expiresAt: Date.now() + 12 * HOUR_MS,
  });
  for (const created of providers.splice(0)) created.close();
});

after(async () => {
  await standIn.close();
});

describe("ecrCredentials: the token exchange", () => {
  test("private ECR: signed with the env's key and session token, no registry ids, token decoded", async () => {
    standIn.answer = () => ({ authorizationToken: ecrToken("pa:ss:word"), expiresAt: Date.now() + HOUR_MS });
    const credentials = await provider()(PRIVATE_HOST);
    assert.deepEqual(credentials, { username: "AWS", password: "pa:ss:word" }, "split at the first ':'");
    assert.deepEqual(standIn.refused, [], "the stand-in checked the SigV4 signature with the env's secret");
    assert.deepEqual(standIn.calls, [
      {
        api: "private",
        accessKeyId: KEY.accessKeyId,
        region: "eu-central-1",
        service: "ecr",
        sessionToken: SESSION_TOKEN,
        body: {},
      },
    ]);
  });

  test("a public.ecr.aws host asks ECR Public, in us-east-1 whatever the env's region", async () => {
    standIn.answer = (call) => ({
      authorizationToken: ecrToken(`${call.api}-password`),
      expiresAt: Date.now() + HOUR_MS,
    });
    const credentials = provider();
    assert.deepEqual(await credentials(PUBLIC_HOST), { username: "AWS", password: "public-password" });
    assert.deepEqual(await credentials(PRIVATE_HOST), { username: "AWS", password: "private-password" });
    assert.deepEqual(
      standIn.calls.map(({ api, region, service, accessKeyId }) => ({ api, region, service, accessKeyId })),
      [
        { api: "public", region: "us-east-1", service: "ecr-public", accessKeyId: KEY.accessKeyId },
        { api: "private", region: "eu-central-1", service: "ecr", accessKeyId: KEY.accessKeyId },
      ],
    );
  });

  test("region: the one the host names, whatever the env says; else AWS_REGION, else AWS_DEFAULT_REGION", async () => {
    const { AWS_REGION: _region, ...noRegion } = ENV;
    await provider({ ...noRegion, AWS_DEFAULT_REGION: "ap-south-1" })("registry.example.com");
    await provider({ ...ENV, AWS_REGION: "us-east-1" })("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
    await provider({ ...noRegion, AWS_REGION: "" })("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com");
    assert.deepEqual(
      standIn.calls.map((call) => call.region),
      ["ap-south-1", "eu-west-1", "us-gov-west-1"],
    );
  });

  test("a token is cached per host until 5 minutes before it expires", async () => {
    const clock = { now: START };
    standIn.answer = () => tokenAnswer(clock, 12 * HOUR_MS, `password-${standIn.calls.length}`);
    const credentials = provider(ENV, clock);
    for (let i = 0; i < 10; i += 1) {
      assert.equal((await credentials(PRIVATE_HOST))?.password, "password-1");
    }
    assert.equal(standIn.calls.length, 1, "ten calls, one request");
    clock.now = START + 12 * HOUR_MS - ECR_REFRESH_MARGIN_MS - 1;
    assert.equal((await credentials(PRIVATE_HOST))?.password, "password-1");
    assert.equal(standIn.calls.length, 1);
    clock.now += 1;
    assert.equal((await credentials(PRIVATE_HOST))?.password, "password-2", "refreshed 5 minutes early");
    assert.equal(
      (await credentials(PRIVATE_HOST.toUpperCase()))?.password,
      "password-2",
      "hosts ignore case",
    );
    assert.equal(standIn.calls.length, 2);
    assert.equal((await credentials(PUBLIC_HOST))?.password, "password-3", "another host, its own token");
    assert.equal((await credentials(PUBLIC_HOST))?.password, "password-3");
    assert.equal(standIn.calls.length, 3);
  });

  test("a short-lived token is refreshed at half its lifetime; one already expired is not kept", async () => {
    const clock = { now: START };
    standIn.answer = () => tokenAnswer(clock, 4 * 60_000);
    const credentials = provider(ENV, clock);
    await credentials(PRIVATE_HOST);
    clock.now = START + 2 * 60_000 - 1;
    await credentials(PRIVATE_HOST);
    assert.equal(standIn.calls.length, 1);
    clock.now += 1;
    await credentials(PRIVATE_HOST);
    assert.equal(standIn.calls.length, 2);

    standIn.answer = () => tokenAnswer(clock, -1);
    const expired = provider(ENV, clock);
    assert.equal((await expired(PUBLIC_HOST))?.password, DEFAULT_ECR_PASSWORD, "handed out once");
    await expired(PUBLIC_HOST);
    assert.equal(standIn.calls.length, 4, "and asked for again");
  });

  test("concurrent callers share one request", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    standIn.answer = async () => {
      await released;
      return { authorizationToken: ecrToken("shared"), expiresAt: Date.now() + HOUR_MS };
    };
    const credentials = provider();
    const waiting = Array.from({ length: 8 }, () => credentials(PRIVATE_HOST));
    await waitFor(() => standIn.calls.length > 0, { deadlineMs: 5_000, what: "the first token request" });
    release();
    const results = await Promise.all(waiting);
    assert.deepEqual(new Set(results.map((result) => result?.password)), new Set(["shared"]));
    assert.equal(standIn.calls.length, 1);
  });
});

describe("ecrCredentials: failures", () => {
  test("empty authorizationData: 'no ecr authorization data provided', for both APIs", async () => {
    standIn.answer = () => ({ empty: true });
    const credentials = provider();
    for (const host of [PRIVATE_HOST, PUBLIC_HOST]) {
      await assert.rejects(credentials(host), (error: unknown) => {
        assert.ok(error instanceof UnavailableError, String(error));
        assert.match(error.message, /no ecr authorization data provided/);
        assert.ok(error.message.includes(host), error.message);
        return true;
      });
    }
  });

  test("a token without ':' is 'basic credential not found', and the token is not in the message", async () => {
    const token = Buffer.from("AWS-without-a-colon-Tok3n").toString("base64");
    standIn.answer = () => ({ authorizationToken: token, expiresAt: Date.now() + HOUR_MS });
    await assert.rejects(provider()(PRIVATE_HOST), (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.match(error.message, /basic credential not found/);
      assert.ok(error.message.includes(PRIVATE_HOST), error.message);
      assert.doesNotMatch(error.message, /without-a-colon|Tok3n/);
      assert.ok(!error.message.includes(token));
      return true;
    });
  });

  test("a refused request is RemoteCredentialsError naming the host, without secrets; not cached", async () => {
    standIn.answer = () => ({
      error: "AccessDeniedException",
      message:
        "User: arn:aws:iam::123456789012:user/pennant is not authorized to perform: ecr:GetAuthorizationToken",
    });
    const credentials = provider();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await assert.rejects(credentials(PRIVATE_HOST), (error: unknown) => {
        assert.ok(error instanceof RemoteCredentialsError, String(error));
        assert.ok(error.message.includes(`registry ${PRIVATE_HOST}`), error.message);
        assert.match(error.message, /AccessDeniedException: User: .* is not authorized/);
        assertNoSecret(error);
        return true;
      });
    }
    assert.equal(standIn.calls.length, 2, "a refusal is not cached: each caller asks again");
    standIn.answer = () => ({ authorizationToken: ecrToken("granted"), expiresAt: Date.now() + HOUR_MS });
    assert.equal((await credentials(PRIVATE_HOST))?.password, "granted");
  });

  test("a wrong secret key (InvalidSignatureException) is RemoteCredentialsError without the secret", async () => {
    const wrong = { ...ENV, AWS_SECRET_ACCESS_KEY: "pennant/Secret+Access/WRONG" };
    await assert.rejects(provider(wrong)(PUBLIC_HOST), (error: unknown) => {
      assert.ok(error instanceof RemoteCredentialsError, String(error));
      assert.match(error.message, /registry public\.ecr\.aws failed: InvalidSignatureException/);
      assertNoSecret(error);
      assert.doesNotMatch(String(error), /WRONG/);
      return true;
    });
    assert.deepEqual(standIn.refused, ["InvalidSignatureException"]);
    assert.equal(standIn.calls.length, 0);
  });

  test("ECR that cannot be reached is UnavailableError, not a credentials problem", async () => {
    const port = await freePort();
    const credentials = ecrCredentials(ENV, {
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 1,
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    });
    providers.push(credentials);
    await assert.rejects(credentials(PRIVATE_HOST), (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.ok(!(error instanceof RemoteCredentialsError), String(error));
      assert.ok(error.message.includes(PRIVATE_HOST), error.message);
      assertNoSecret(error);
      return true;
    });
  });
});

describe("ecrCredentials with a real registry", () => {
  // docker-registry with htpasswd basic auth for user AWS and the password the ECR stand-in hands out: the whole
  // chain (AWS SDK → token → registry client's Basic credentials) against a real registry.
  const password = "eyJwYXlsb2FkIjoi-ecr-like-Pa55word";
  let registry: PrivateRegistry;
  before(async () => {
    registry = await startPrivateRegistry({ basicAuth: { username: "AWS", password }, proxy: true });
  });
  after(async () => {
    await registry.dispose();
  });

  test("pushes and resolves a manifest with the token got from ECR", async () => {
    standIn.answer = () => ({ authorizationToken: ecrToken(password), expiresAt: Date.now() + 12 * HOUR_MS });
    const host = registry.proxy?.host ?? "";
    const client = createRegistryClient({
      scheme: "http",
      registry: host,
      repository: "ecr/flags",
      credentials: provider(),
    });
    const config = Buffer.from("{}");
    const layer = Buffer.from('{"version":"1.4","namespace":{"key":"default"},"flags":[]}');
    await client.pushBlob(config);
    await client.pushBlob(layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST_MEDIA_TYPE,
        config: { mediaType: "application/vnd.io.flipt.features.v1", digest: ociDigest(config), size: 2 },
        layers: [
          {
            mediaType: "application/vnd.io.flipt.features.namespace.v1",
            digest: ociDigest(layer),
            size: layer.byteLength,
          },
        ],
      }),
    );
    const { digest } = await client.pushManifest("v1", manifest, OCI_MANIFEST_MEDIA_TYPE);
    const resolved = await client.resolveManifest("v1");
    assert.ok(resolved.changed);
    assert.equal(resolved.digest, digest);
    assert.deepEqual(Buffer.from(resolved.bytes), manifest);
    assert.deepEqual(Buffer.from(await client.getBlob(ociDigest(layer))), layer);
    assert.equal(standIn.calls.length, 1, "one token for the whole session");
    assert.equal(standIn.calls[0]?.region, "eu-central-1");
  });

  test("a token the registry does not accept is RemoteCredentialsError", async () => {
    standIn.answer = () => ({ authorizationToken: ecrToken("stale-Pa55"), expiresAt: Date.now() + HOUR_MS });
    const client = createRegistryClient({
      scheme: "http",
      registry: registry.host,
      repository: "ecr/flags",
      credentials: provider(),
    });
    await assert.rejects(client.resolveManifest("v1"), (error: unknown) => {
      assert.ok(error instanceof RemoteCredentialsError, String(error));
      assert.doesNotMatch(String(error), /stale-Pa55/);
      return true;
    });
  });
});
