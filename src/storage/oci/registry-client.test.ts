import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { type PrivateRegistry, startPrivateRegistry } from "../../../test/helpers/private-registry.js";
import {
  NotFoundError,
  RemoteCredentialsError,
  UnavailableError,
  ValidationError,
} from "../../domain/errors.js";
import { OCI_MANIFEST_MEDIA_TYPE } from "./bundle-media-types.js";
import { ociDigest } from "./oci-digest.js";
import { parseAuthChallenge, staticCredentials } from "./registry-auth.js";
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from "./registry-client.js";
import {
  isManifestFormatRefusal,
  parseRegistryErrors,
  RegistryManifestRefusedError,
} from "./registry-errors.js";

const ARTIFACT_TYPE = "application/vnd.io.flipt.features.v1";
const LAYER_MEDIA_TYPE = "application/vnd.io.flipt.features.namespace.v1";
const EMPTY_JSON = Buffer.from("{}");
const EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/** One namespace document as `flipt bundle build` stores it: compact JSON, one layer per document. */
function layerOf(namespace: string, flagKey: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: "1.4",
      namespace: { key: namespace, name: namespace },
      flags: [{ key: flagKey, name: flagKey, type: "BOOLEAN_FLAG_TYPE", enabled: true }],
    }),
  );
}

function layerDescriptor(namespace: string, bytes: Buffer) {
  return {
    mediaType: LAYER_MEDIA_TYPE,
    digest: ociDigest(bytes),
    size: bytes.byteLength,
    annotations: { "io.flipt.features.namespace": namespace },
  };
}

/** A Flipt `manifest_version: "1.1"` manifest: artifactType and the empty-JSON config with its data inline. */
function manifest11(layers: [string, Buffer][], created = "2024-05-01T10:00:00Z"): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: ARTIFACT_TYPE,
      config: {
        mediaType: "application/vnd.oci.empty.v1+json",
        digest: EMPTY_JSON_DIGEST,
        size: 2,
        data: "e30=",
      },
      layers: layers.map(([namespace, bytes]) => layerDescriptor(namespace, bytes)),
      annotations: { "org.opencontainers.image.created": created },
    }),
  );
}

/** A Flipt `manifest_version: "1.0"` manifest: no artifactType, the config media type is the artifact type. */
function manifest10(layers: [string, Buffer][], created = "2024-05-01T10:00:00Z"): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: ARTIFACT_TYPE, digest: EMPTY_JSON_DIGEST, size: 2 },
      layers: layers.map(([namespace, bytes]) => layerDescriptor(namespace, bytes)),
      annotations: { "org.opencontainers.image.created": created },
    }),
  );
}

async function pushBundle(
  client: RegistryClient,
  tag: string,
  layers: [string, Buffer][],
  version: "1.0" | "1.1",
) {
  await client.pushBlob(EMPTY_JSON);
  for (const [, bytes] of layers) await client.pushBlob(bytes);
  const manifest = version === "1.1" ? manifest11(layers) : manifest10(layers);
  const { digest } = await client.pushManifest(tag, manifest, OCI_MANIFEST_MEDIA_TYPE);
  return { digest, manifest };
}

function clientFor(
  host: string,
  repository: string,
  extra: Partial<RegistryClientOptions> = {},
): RegistryClient {
  return createRegistryClient({ scheme: "http", registry: host, repository, ...extra });
}

const registries: PrivateRegistry[] = [];
after(async () => {
  await Promise.all(registries.map((registry) => registry.dispose()));
});

async function registry(options: Parameters<typeof startPrivateRegistry>[0] = {}): Promise<PrivateRegistry> {
  const started = await startPrivateRegistry(options);
  registries.push(started);
  return started;
}

describe("registry client against docker-registry (anonymous, behind a counting proxy)", () => {
  let server: PrivateRegistry;
  let client: RegistryClient;
  const production = layerOf("production", "new-checkout");
  const staging = layerOf("staging", "dark-mode");

  before(async () => {
    server = await registry({ proxy: true });
    client = clientFor(server.proxy?.host ?? "", "team/flags");
  });

  test("pushes blobs and a 1.1 manifest (artifactType) and resolves it by tag and by digest", async () => {
    const first = await client.pushBlob(production);
    assert.deepEqual(first, { digest: ociDigest(production), size: production.byteLength, uploaded: true });
    const { digest, manifest } = await pushBundle(
      client,
      "v1",
      [
        ["production", production],
        ["staging", staging],
      ],
      "1.1",
    );
    assert.equal(digest, ociDigest(manifest));

    const byTag = await client.resolveManifest("v1");
    assert.equal(byTag.changed, true);
    if (!byTag.changed) return;
    assert.equal(byTag.digest, digest);
    assert.equal(byTag.mediaType, OCI_MANIFEST_MEDIA_TYPE);
    assert.deepEqual(Buffer.from(byTag.bytes), manifest);
    const parsed = JSON.parse(Buffer.from(byTag.bytes).toString("utf8"));
    assert.equal(parsed.artifactType, ARTIFACT_TYPE);
    assert.equal(parsed.config.data, "e30=");

    const byDigest = await client.resolveManifest(digest);
    assert.equal(byDigest.changed && byDigest.digest, digest);

    const layer = parsed.layers[0];
    assert.deepEqual(Buffer.from(await client.getBlob(layer.digest, { size: layer.size })), production);
  });

  test("skips a blob the registry has: one HEAD, no upload", async () => {
    server.proxy?.reset();
    const again = await client.pushBlob(production);
    assert.equal(again.uploaded, false);
    assert.deepEqual(
      server.proxy?.requests.map((request) => request.method),
      ["HEAD"],
    );
  });

  test("pushes and resolves a 1.0 manifest (config media type = artifact type)", async () => {
    const { digest } = await pushBundle(client, "v1.0-style", [["production", production]], "1.0");
    const resolved = await client.resolveManifest("v1.0-style");
    assert.equal(resolved.changed && resolved.digest, digest);
    if (!resolved.changed) return;
    const parsed = JSON.parse(Buffer.from(resolved.bytes).toString("utf8"));
    assert.equal(parsed.artifactType, undefined);
    assert.equal(parsed.config.mediaType, ARTIFACT_TYPE);
  });

  test("an unchanged manifest costs one request and fetches no blob; a moved tag gets the new digest", async () => {
    const { digest } = await pushBundle(client, "poll", [["production", production]], "1.1");
    server.proxy?.reset();
    const unchanged = await client.resolveManifest("poll", { lastDigest: digest });
    assert.deepEqual(unchanged, { changed: false, digest });
    assert.deepEqual(
      server.proxy?.requests.map(({ method, path, status }) => ({ method, path, status })),
      [{ method: "GET", path: "/v2/team/flags/manifests/poll", status: 304 }],
    );

    const moved = await pushBundle(client, "poll", [["production", layerOf("production", "moved")]], "1.1");
    server.proxy?.reset();
    const changed = await client.resolveManifest("poll", { lastDigest: digest });
    assert.equal(changed.changed, true);
    assert.equal(changed.digest, moved.digest);
    assert.notEqual(moved.digest, digest);
    assert.equal(server.proxy?.requests.length, 1);
  });

  test("a missing tag or repository is NotFoundError naming the repository", async () => {
    await assert.rejects(client.resolveManifest("no-such-tag"), (error: unknown) => {
      assert.ok(error instanceof NotFoundError, String(error));
      assert.match(error.message, /manifest no-such-tag not found in 127\.0\.0\.1:\d+\/team\/flags/);
      return true;
    });
    await assert.rejects(clientFor(server.host, "nobody/here").resolveManifest("v1"), NotFoundError);
    await assert.rejects(client.getBlob(ociDigest(Buffer.from("never pushed"))), NotFoundError);
  });

  test("a blob whose content does not match its digest is refused", async () => {
    // the registry serves what it has; ask for it under the digest of other content via a stand-in path
    const wrong = ociDigest(Buffer.from("other content"));
    const liar = await registry({
      proxy: true,
      standIn: ({ method, path }) =>
        method === "GET" && path.endsWith(`/blobs/${wrong}`)
          ? { status: 200, headers: { "content-type": "application/octet-stream" }, body: "tampered" }
          : undefined,
    });
    await assert.rejects(clientFor(liar.proxy?.host ?? "", "team/flags").getBlob(wrong), (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.match(error.message, /does not match its digest/);
      return true;
    });
  });

  test("a blob over the size limit is refused; one at the limit is read", async () => {
    const blob = Buffer.alloc(1000, 7);
    await client.pushBlob(blob);
    assert.equal((await client.getBlob(ociDigest(blob), { maxBytes: 1000 })).byteLength, 1000);
    await assert.rejects(client.getBlob(ociDigest(blob), { maxBytes: 999 }), /over the limit of 999/);
    await assert.rejects(client.getBlob(ociDigest(blob), { size: 10 }), /over the limit of 10/);
  });

  test("a reference that is neither tag nor digest is refused before any request", async () => {
    await assert.rejects(client.resolveManifest("../etc"), ValidationError);
    await assert.rejects(client.getBlob("md5:abc"), ValidationError);
  });

  test("docker-registry 2.8 accepts the 1.1 manifest; a registry stand-in that refuses it gets the hint", async () => {
    // docker-registry 2.8 accepted the 1.1 manifest above, so a stand-in answers as a registry without OCI 1.1
    // support does (older ECR: 400 MANIFEST_INVALID) for manifests carrying artifactType.
    const refusing = await registry({
      proxy: true,
      standIn: ({ method, path, body }) =>
        method === "PUT" && path.includes("/manifests/") && body.includes("artifactType")
          ? {
              status: 400,
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                errors: [
                  {
                    code: "MANIFEST_INVALID",
                    message: "manifest invalid",
                    detail: "unknown field artifactType",
                  },
                ],
              }),
            }
          : undefined,
    });
    const standIn = clientFor(refusing.proxy?.host ?? "", "team/flags");
    await assert.rejects(pushBundle(standIn, "v1", [["production", production]], "1.1"), (error: unknown) => {
      assert.ok(error instanceof RegistryManifestRefusedError, String(error));
      assert.equal(error.manifestVersionHint, true);
      assert.match(error.message, /MANIFEST_INVALID/);
      assert.match(error.message, /manifest_version: "1\.0"/);
      assert.match(error.message, /127\.0\.0\.1:\d+\/team\/flags/);
      return true;
    });
    // the 1.0 manifest goes through the same stand-in to the real registry
    const { digest } = await pushBundle(standIn, "v1", [["production", production]], "1.0");
    assert.equal((await standIn.resolveManifest("v1")).digest, digest);
  });

  test("a manifest naming a blob the registry lacks is not mistaken for a format refusal", async () => {
    const missing = Buffer.from("not pushed");
    const manifest = manifest11([["production", missing]]);
    await assert.rejects(
      client.pushManifest("broken", manifest, OCI_MANIFEST_MEDIA_TYPE),
      (error: unknown) => {
        assert.ok(!(error instanceof RegistryManifestRefusedError), String(error));
        assert.match(String(error), /MANIFEST_BLOB_UNKNOWN/);
        return true;
      },
    );
  });
});

describe("registry client with htpasswd basic auth", () => {
  const user = { username: "flipt", password: "s3cret-Pa55" };
  let server: PrivateRegistry;
  before(async () => {
    server = await registry({ basicAuth: user, proxy: true });
  });

  test("the right password pushes and resolves; later requests send it up front", async () => {
    const client = clientFor(server.proxy?.host ?? "", "auth/flags", {
      credentials: staticCredentials(server.proxy?.host ?? "", user),
    });
    const { digest } = await pushBundle(client, "v1", [["default", layerOf("default", "f")]], "1.1");
    server.proxy?.reset();
    assert.deepEqual(await client.resolveManifest("v1", { lastDigest: digest }), { changed: false, digest });
    assert.deepEqual(
      server.proxy?.requests.map((request) => request.status),
      [304],
    );
  });

  test("a wrong password is RemoteCredentialsError naming the registry, without the password", async () => {
    const client = clientFor(server.host, "auth/flags", {
      credentials: staticCredentials(server.host, { username: "flipt", password: "wrong-Pa55word" }),
    });
    await assert.rejects(client.resolveManifest("v1"), (error: unknown) => {
      assert.ok(error instanceof RemoteCredentialsError, String(error));
      assert.match(
        error.message,
        new RegExp(`registry ${server.host.replaceAll(".", "\\.")} refused the credentials`),
      );
      assert.doesNotMatch(error.message, /wrong-Pa55word|s3cret/);
      assert.doesNotMatch(JSON.stringify(error), /wrong-Pa55word/);
      return true;
    });
  });

  test("no credentials, or credentials for another host only, are RemoteCredentialsError", async () => {
    await assert.rejects(
      clientFor(server.host, "auth/flags").resolveManifest("v1"),
      /no credentials are configured/,
    );
    const elsewhere = clientFor(server.host, "auth/flags", {
      credentials: staticCredentials("registry.example.com", user),
    });
    await assert.rejects(elsewhere.resolveManifest("v1"), RemoteCredentialsError);
  });
});

describe("registry client redirects", () => {
  test("a blob redirected to another origin is fetched there without the registry's credentials", async () => {
    const user = { username: "flipt", password: "redirect-Pa55" };
    const content = Buffer.from("layer stored elsewhere");
    const digest = ociDigest(content);
    const seen: (string | undefined)[] = [];
    const storage = createHttpServer((request, response) => {
      seen.push(request.headers.authorization);
      response.end(content);
    });
    await new Promise<void>((resolve) => storage.listen(0, "127.0.0.1", resolve));
    const storagePort = (storage.address() as AddressInfo).port;
    try {
      const server = await registry({
        basicAuth: user,
        proxy: true,
        standIn: ({ method, path }) =>
          method === "GET" && path.endsWith(`/blobs/${digest}`)
            ? { status: 307, headers: { location: `http://127.0.0.1:${storagePort}/blob?sig=x` } }
            : undefined,
      });
      const host = server.proxy?.host ?? "";
      const client = clientFor(host, "redirect/flags", { credentials: staticCredentials(host, user) });
      await assert.rejects(client.resolveManifest("missing"), NotFoundError); // learns that Basic is wanted
      const recorded = server.proxy?.requests.length ?? 0;
      assert.deepEqual(Buffer.from(await client.getBlob(digest)), content);
      assert.equal(
        server.proxy?.requests.length,
        recorded + 1,
        "the registry was asked once, with credentials",
      );
      assert.deepEqual(seen, [undefined]);
    } finally {
      storage.closeAllConnections();
      await new Promise<void>((resolve) => storage.close(() => resolve()));
    }
  });
});

describe("registry client with Bearer token auth", () => {
  const user = { username: "flipt", password: "t0ken-Pa55" };
  let server: PrivateRegistry;
  before(async () => {
    server = await registry({ tokenAuth: user, proxy: true });
  });

  test("gets a token from the realm with basic credentials, caches it per scope, and polls in one request", async () => {
    const client = clientFor(server.proxy?.host ?? "", "bearer/flags", {
      credentials: staticCredentials(server.proxy?.host ?? "", user),
    });
    const { digest } = await pushBundle(client, "v1", [["default", layerOf("default", "f")]], "1.1");
    const tokensAfterPush = server.tokensIssued;
    assert.ok(tokensAfterPush >= 1);
    const first = await client.resolveManifest("v1");
    assert.equal(first.digest, digest);
    const tokensAfterPull = server.tokensIssued;
    assert.equal(tokensAfterPull, tokensAfterPush + 1, "one pull-scope token");
    server.proxy?.reset();
    assert.deepEqual(await client.resolveManifest("v1", { lastDigest: digest }), { changed: false, digest });
    assert.deepEqual(
      server.proxy?.requests.map((request) => request.status),
      [304],
    );
    assert.equal(server.tokensIssued, tokensAfterPull, "the cached token is reused");
  });

  test("a cached token is used until shortly before it expires, then a new one is got", async () => {
    let clock = Date.now();
    const client = clientFor(server.host, "bearer/flags", {
      credentials: staticCredentials(server.host, user),
      now: () => clock,
    });
    await pushBundle(client, "expiry", [["default", layerOf("default", "g")]], "1.0");
    await client.resolveManifest("expiry");
    const issued = server.tokensIssued;
    clock += 280_000; // the token service grants 300 s; the margin is 10 s
    await client.resolveManifest("expiry");
    assert.equal(server.tokensIssued, issued, "still valid");
    clock += 15_000;
    await client.resolveManifest("expiry");
    assert.equal(server.tokensIssued, issued + 1, "renewed before it expired");
  });

  test("a wrong password at the token service is RemoteCredentialsError without the password", async () => {
    const client = clientFor(server.host, "bearer/flags", {
      credentials: staticCredentials(server.host, { username: "flipt", password: "not-the-Pa55" }),
    });
    await assert.rejects(client.resolveManifest("v1"), (error: unknown) => {
      assert.ok(error instanceof RemoteCredentialsError, String(error));
      assert.match(error.message, /refused the credentials of flipt/);
      assert.doesNotMatch(error.message, /not-the-Pa55/);
      return true;
    });
  });

  test("an anonymous token without access is RemoteCredentialsError", async () => {
    await assert.rejects(
      clientFor(server.host, "bearer/flags").resolveManifest("v1"),
      RemoteCredentialsError,
    );
  });
});

describe("registry client when the registry is down", () => {
  test("a stopped registry is UnavailableError within a bound, and works again once restarted", async () => {
    const server = await registry();
    const client = clientFor(server.host, "down/flags", { timeoutMs: 2_000 });
    const { digest } = await pushBundle(client, "v1", [["default", layerOf("default", "f")]], "1.0");
    await server.stop();
    const started = Date.now();
    await assert.rejects(client.resolveManifest("v1", { lastDigest: digest }), (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.ok(!(error instanceof RemoteCredentialsError));
      assert.match(
        error.message,
        new RegExp(`registry ${server.host.replaceAll(".", "\\.")} cannot be reached`),
      );
      return true;
    });
    assert.ok(Date.now() - started < 2_500, `took ${Date.now() - started} ms`);
    await server.start();
    assert.deepEqual(await client.resolveManifest("v1", { lastDigest: digest }), { changed: false, digest });
  });

  test("a registry that answers 5xx is UnavailableError naming the status", async () => {
    // the registry behind the proxy is not started, so the proxy answers 502
    const down = await registry({ proxy: true, started: false });
    await assert.rejects(clientFor(down.proxy?.host ?? "", "x/y").resolveManifest("v1"), (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.match(error.message, /failed manifest v1 of 127\.0\.0\.1:\d+\/x\/y \(HTTP 502/);
      return true;
    });
  });

  test("a registry that accepts connections and never answers is UnavailableError after the timeout", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      await assert.rejects(
        clientFor(`127.0.0.1:${port}`, "x/y", { timeoutMs: 300 }).resolveManifest("v1"),
        (error: unknown) => {
          assert.ok(error instanceof UnavailableError, String(error));
          assert.match(error.message, /did not answer within 300 ms/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe("registry error bodies", () => {
  test("parse the distribution error format and tell format refusals from missing blobs", () => {
    const ecr = parseRegistryErrors(
      JSON.stringify({
        errors: [
          {
            code: "MANIFEST_INVALID",
            message:
              "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
          },
        ],
      }),
    );
    assert.equal(isManifestFormatRefusal(400, ecr), true);
    assert.equal(isManifestFormatRefusal(415, []), true);
    assert.equal(
      isManifestFormatRefusal(400, [{ code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown" }]),
      false,
    );
    assert.equal(isManifestFormatRefusal(404, ecr), false);
    assert.deepEqual(parseRegistryErrors("<html>bad gateway</html>"), []);
  });

  test("parse WWW-Authenticate challenges", () => {
    assert.deepEqual(
      parseAuthChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
      ),
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example.com/token",
          service: "registry.example.com",
          scope: "repository:a/b:pull,push",
        },
      },
    );
    assert.deepEqual(parseAuthChallenge('Basic realm="pennant-test"'), {
      scheme: "basic",
      params: { realm: "pennant-test" },
    });
    assert.equal(parseAuthChallenge(null), undefined);
  });

  test("digestOf is the sha256 of the content", () => {
    assert.equal(ociDigest(EMPTY_JSON), EMPTY_JSON_DIGEST);
    assert.equal(ociDigest(EMPTY_JSON), `sha256:${createHash("sha256").update("{}").digest("hex")}`);
  });
});
