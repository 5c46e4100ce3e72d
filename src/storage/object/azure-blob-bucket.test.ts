/**
 * The Azure Blob provider against Azurite, Microsoft's own emulator, started by the test (test/helpers/azurite-
 * server.ts) with a counting proxy in front. Azurite checks shared-key and SAS signatures as Azure does, so wrong
 * credentials are refused for real. Not covered here: Microsoft Entra ID (a service principal, managed identity,
 * DefaultAzureCredential) against a store, since no Entra ID token service runs on this machine; only the choice
 * of that path and its failures (no token service, an http endpoint) are.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AzuriteServer, startAzurite } from "../../../test/helpers/azurite-server.js";
import { freePort } from "../../../test/helpers/free-port.js";
import { within } from "../../../test/helpers/wait-for.js";
import {
  AZURE_LIST_PAGE_SIZE,
  type AzureBlobBucketOptions,
  azureSecretRedactor,
  azureServiceUrl,
  openAzureBlobBucket,
} from "./azure-blob-bucket.js";
import type { ObjectBucket } from "./object-bucket.js";
import { ObjectStoreError, type ObjectStoreProblem } from "./object-store-error.js";

type Env = Record<string, string | undefined>;

describe("azureServiceUrl", () => {
  it("builds the service URL from the endpoint as Flipt v1 does", () => {
    assert.equal(azureServiceUrl("acct", undefined), "https://acct.blob.core.windows.net");
    assert.equal(azureServiceUrl("acct", ""), "https://acct.blob.core.windows.net");
    assert.equal(
      azureServiceUrl("acct", "https://blob.core.windows.net"),
      "https://acct.blob.core.windows.net",
    );
    assert.equal(
      azureServiceUrl("acct", "https://blob.core.chinacloudapi.cn/ignored/path"),
      "https://acct.blob.core.chinacloudapi.cn",
    );
    // An http endpoint is the local emulator: the account is the first path segment.
    assert.equal(azureServiceUrl("acct", "http://azurite:10000"), "http://azurite:10000/acct");
    assert.equal(azureServiceUrl("acct", "http://127.0.0.1:10000"), "http://127.0.0.1:10000/acct");
    // So is a domain starting localhost or 127.0.0.1, over https too.
    assert.equal(azureServiceUrl("acct", "https://localhost:10000"), "https://localhost:10000/acct");
    assert.equal(azureServiceUrl("acct", "https://127.0.0.1:8443"), "https://127.0.0.1:8443/acct");
    // AZURE_STORAGE_IS_CDN: the domain alone.
    assert.equal(azureServiceUrl("acct", "https://cdn.example.com", true), "https://cdn.example.com");
  });

  it("refuses an endpoint that is not an http(s) URL", () => {
    for (const endpoint of ["127.0.0.1:10000", "blob.core.windows.net", "ftp://example.com", "localhost:1"]) {
      assert.throws(
        () => azureServiceUrl("acct", endpoint),
        /is not an http:\/\/ or https:\/\/ URL/,
        endpoint,
      );
    }
  });
});

describe("azureSecretRedactor", () => {
  it("removes keys, SAS tokens and connection strings, wherever they appear", () => {
    const key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=";
    const sas = "sv=2024-01-01&sp=rl&sig=c2lnbmF0dXJlLXZhbHVl%3D";
    const env: Env = {
      AZURE_STORAGE_KEY: key,
      AZURE_STORAGE_SAS_TOKEN: `?${sas}`,
      AZURE_STORAGE_CONNECTION_STRING: `AccountName=a;AccountKey=b3RoZXIta2V5;BlobEndpoint=http://h/a`,
      AZURE_CLIENT_SECRET: "client-secret-value",
    };
    const redact = azureSecretRedactor(env);
    const text = redact(
      `failed GET https://acct.blob.core.windows.net/c?restype=container&${sas} with ${key}; ` +
        `signature c2lnbmF0dXJlLXZhbHVl= and b3RoZXIta2V5 and client-secret-value; ` +
        `other: sig=ZZZ&x=1 AccountKey=QQQ; SharedAccessSignature=sv=1&sig=WWW`,
    );
    for (const secret of [key, sas, "c2lnbmF0dXJlLXZhbHVl", "b3RoZXIta2V5", "client-secret-value"]) {
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
    for (const secret of ["ZZZ", "QQQ", "WWW", "restype"])
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /https:\/\/acct\.blob\.core\.windows\.net\/c with \[redacted\]/);
  });
});

describe("openAzureBlobBucket against Azurite", () => {
  let azurite: AzuriteServer;
  const opened: ObjectBucket[] = [];
  let containers = 0;

  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    for (const bucket of opened) await bucket.close();
    await azurite?.dispose();
  });

  const keyEnv = (): Env => ({
    AZURE_STORAGE_ACCOUNT: azurite.account,
    AZURE_STORAGE_KEY: azurite.accountKey,
  });
  const open = async (
    container: string,
    env: Env,
    options: AzureBlobBucketOptions = {},
    endpoint?: string,
  ) => {
    const bucket = await openAzureBlobBucket(
      { provider: "azblob", container, endpoint: endpoint ?? azurite.endpoint },
      env,
      options,
    );
    opened.push(bucket);
    return bucket;
  };
  /** A new container with `blobs` in it. */
  const container = async (blobs: Record<string, string> = {}) => {
    const name = `flags-${++containers}`;
    await azurite.createContainer(name);
    for (const [key, body] of Object.entries(blobs)) await azurite.putBlob(name, key, body);
    return name;
  };
  /** The ObjectStoreError `promise` rejects with, checked to be of `problem` and to name the container. */
  const refusal = async (promise: Promise<unknown>, problem: ObjectStoreProblem, name: string) => {
    const error = await promise.then(
      () => assert.fail("expected a failure"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof ObjectStoreError, String(error));
    assert.equal(error.problem, problem, error.message);
    assert.ok(error.message.includes(`azure blob container "${name}"`), error.message);
    return error;
  };
  const assertNoSecret = (error: Error, ...secrets: string[]) => {
    const shown = `${error.message}\n${error.stack ?? ""}\n${String(error.cause ?? "")}`;
    for (const secret of [azurite.accountKey, ...secrets]) {
      assert.ok(!shown.includes(secret), `a secret in: ${error.message}`);
    }
  };
  const calls = (bucket: ObjectBucket): (() => Promise<unknown>)[] => [
    () => bucket.list(),
    () => bucket.get("features.yml", 100),
  ];
  const sig = (sas: string) => new URLSearchParams(sas).get("sig") as string;

  it("describes the container and the endpoint", async () => {
    const name = await container();
    assert.equal(
      (await open(name, keyEnv())).description,
      `azure blob container "${name}" (endpoint "${azurite.endpoint}")`,
    );
    const plain = await openAzureBlobBucket({ provider: "azblob", container: name }, keyEnv());
    opened.push(plain);
    assert.equal(plain.description, `azure blob container "${name}"`);
  });

  it("lists every blob with its ETag and size, one request per page", async () => {
    const blobs: Record<string, string> = {};
    for (let i = 0; i < 25; i++) blobs[`dir/${String(i).padStart(2, "0")}/features.yml`] = "x".repeat(i);
    const name = await container();
    const etags = new Map<string, string>();
    for (const [key, body] of Object.entries(blobs)) etags.set(key, await azurite.putBlob(name, key, body));

    azurite.resetRequests();
    const listed = await (await open(name, keyEnv(), { listPageSize: 10 })).list();
    assert.deepEqual(
      [...listed].sort((a, b) => (a.key < b.key ? -1 : 1)),
      Object.entries(blobs).map(([key, body]) => ({ key, etag: etags.get(key), size: body.length })),
    );
    assert.ok(
      listed.every((object) => !object.etag.includes('"')),
      "ETags without quotes",
    );
    const pages = azurite.requests;
    assert.equal(pages.length, 3, JSON.stringify(pages));
    for (const page of pages) {
      assert.equal(page.method, "GET");
      assert.equal(page.path, `/${azurite.account}/${name}`);
      assert.match(page.query, /(^|&)comp=list(&|$)/);
      assert.match(page.query, /(^|&)maxresults=10(&|$)/);
    }

    azurite.resetRequests();
    assert.equal((await (await open(name, keyEnv())).list()).length, 25);
    assert.equal(azurite.requests.length, 1);
    assert.match(
      azurite.requests[0]?.query ?? "",
      new RegExp(`(^|&)maxresults=${AZURE_LIST_PAGE_SIZE}(&|$)`),
    );
  });

  it("lists an empty container as nothing", async () => {
    assert.deepEqual(await (await open(await container(), keyEnv())).list(), []);
  });

  it("shows a new ETag when a blob changes, and the same one when it does not", async () => {
    const name = await container({ "a/features.yml": "one", "b/features.yml": "same" });
    const bucket = await open(name, keyEnv());
    const before = new Map((await bucket.list()).map((object) => [object.key, object]));
    const changed = await azurite.putBlob(name, "a/features.yml", "two!");
    const after = new Map((await bucket.list()).map((object) => [object.key, object]));
    assert.notEqual(after.get("a/features.yml")?.etag, before.get("a/features.yml")?.etag);
    assert.equal(after.get("a/features.yml")?.etag, changed);
    assert.equal(after.get("a/features.yml")?.size, 4);
    assert.deepEqual(after.get("b/features.yml"), before.get("b/features.yml"));
  });

  it("gets a blob's bytes in one request, undefined for one that is gone", async () => {
    const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 256);
    const name = await container();
    await azurite.putBlob(name, "bin/features.json", bytes);
    await azurite.putBlob(name, "empty.yml", "");
    const bucket = await open(name, keyEnv());
    azurite.resetRequests();
    assert.deepEqual(await bucket.get("bin/features.json", 10_000), bytes);
    assert.equal(azurite.requests.length, 1);
    assert.deepEqual(await bucket.get("empty.yml", 10), new Uint8Array());
    assert.equal(await bucket.get("missing.yml", 10), undefined);
    // As many at once as object storage downloads, and more.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const many = await Promise.all(
        Array.from({ length: 24 }, () => bucket.get("bin/features.json", 10_000)),
      );
      for (const one of many) assert.deepEqual(one, bytes);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(
      warnings.map((warning) => warning.message),
      [],
    );
    await azurite.deleteBlob(name, "bin/features.json");
    assert.equal(await bucket.get("bin/features.json", 10_000), undefined);
  });

  it("reads at most maxBytes + 1 bytes of a blob", async () => {
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
    const name = await container();
    await azurite.putBlob(name, "big.yml", bytes);
    const bucket = await open(name, keyEnv());
    assert.deepEqual(await bucket.get("big.yml", 1000), bytes.subarray(0, 1001));
    assert.deepEqual(await bucket.get("big.yml", 199_999), bytes);
    assert.deepEqual(await bucket.get("big.yml", 200_000), bytes);
    // The bucket still works after a download it cut short.
    assert.equal((await bucket.list()).length, 1);
  });

  it("says a missing container is missing, naming it and Azure's reason", async () => {
    const bucket = await open("no-such-container", keyEnv());
    const error = await refusal(bucket.list(), "missing", "no-such-container");
    assert.match(
      error.message,
      /does not exist \(ContainerNotFound, HTTP 404: The specified container does not exist\.\)$/,
    );
    assert.doesNotMatch(error.message, /RequestId/);
    await refusal(bucket.get("features.yml", 100), "missing", "no-such-container");
  });

  it("says a wrong account key is denied, without the key", async () => {
    const name = await container({ "features.yml": "flags: []" });
    const wrongKey = Buffer.from("not the key of devstoreaccount1, not at all").toString("base64");
    const bucket = await open(name, { AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_KEY: wrongKey });
    const error = await refusal(bucket.list(), "denied", name);
    assert.match(
      error.message,
      /access denied with the shared key of account "devstoreaccount1" \(AZURE_STORAGE_KEY\)/,
    );
    assert.match(error.message, /AuthorizationFailure, HTTP 403/);
    assertNoSecret(error, wrongKey);
    assertNoSecret(await refusal(bucket.get("features.yml", 100), "denied", name), wrongKey);
  });

  it("reads with a SAS token, and says a wrong one is denied without it", async () => {
    const name = await container({ "features.yml": "flags: []" });
    const sas = azurite.containerSas(name);
    for (const token of [sas, `?${sas}`]) {
      azurite.resetRequests();
      const bucket = await open(name, {
        AZURE_STORAGE_ACCOUNT: azurite.account,
        AZURE_STORAGE_SAS_TOKEN: token,
      });
      assert.deepEqual(
        (await bucket.list()).map((object) => object.key),
        ["features.yml"],
      );
      assert.equal(new TextDecoder().decode(await bucket.get("features.yml", 100)), "flags: []");
      assert.ok(
        azurite.requests.every((request) => request.query.includes(`sig=${encodeURIComponent(sig(sas))}`)),
      );
    }

    const wrong = azurite.containerSas(await container()); // signed for another container
    const bucket = await open(name, {
      AZURE_STORAGE_ACCOUNT: azurite.account,
      AZURE_STORAGE_SAS_TOKEN: wrong,
    });
    const error = await refusal(bucket.list(), "denied", name);
    assert.match(error.message, /the SAS token AZURE_STORAGE_SAS_TOKEN/);
    assertNoSecret(error, wrong, sig(wrong), encodeURIComponent(sig(wrong)));
    assertNoSecret(await refusal(bucket.get("features.yml", 100), "denied", name), wrong, sig(wrong));
  });

  it("reads with a connection string (either variable), whose own endpoint wins over the config's", async () => {
    const name = await container({ "features.yml": "flags: []" });
    for (const variable of ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING"]) {
      const bucket = await open(name, { [variable]: azurite.connectionString }, {}, "http://127.0.0.1:1");
      assert.deepEqual(
        (await bucket.list()).map((object) => object.key),
        ["features.yml"],
      );
      assert.equal(new TextDecoder().decode(await bucket.get("features.yml", 100)), "flags: []");
    }
    const wrongKey = Buffer.from("a wrong key in a connection string").toString("base64");
    const wrong = azurite.connectionString.replace(azurite.accountKey, wrongKey);
    const bucket = await open(name, { AZURE_STORAGE_CONNECTION_STRING: wrong });
    const error = await refusal(bucket.list(), "denied", name);
    assert.match(error.message, /the connection string AZURE_STORAGE_CONNECTION_STRING/);
    assertNoSecret(error, wrong, wrongKey);

    const broken = await openAzureBlobBucket(
      { provider: "azblob", container: name },
      { AZURE_STORAGE_CONNECTION_STRING: `AccountKey=${wrongKey};garbage` },
    ).then(
      () => assert.fail("expected a failure"),
      (error: unknown) => error as Error,
    );
    assert.ok(broken instanceof ObjectStoreError && broken.problem === "denied", String(broken));
    assert.match(broken.message, /AZURE_STORAGE_CONNECTION_STRING is not a valid storage connection string/);
    assertNoSecret(broken, wrongKey);
  });

  it("takes credentials in Flipt v1's order: key, then SAS token, then connection string", async () => {
    const name = await container({ "features.yml": "flags: []" });
    const sas = azurite.containerSas(name);
    const brokenSas = azurite.containerSas(await container());
    const brokenConnection = azurite.connectionString.replace(azurite.accountKey, "d3Jvbmc=");

    // Key and account win over a SAS token and a connection string: no SAS in the requests.
    azurite.resetRequests();
    const keyFirst = await open(name, {
      ...keyEnv(),
      AZURE_STORAGE_SAS_TOKEN: brokenSas,
      AZURE_STORAGE_CONNECTION_STRING: brokenConnection,
    });
    assert.equal((await keyFirst.list()).length, 1);
    assert.ok(azurite.requests.every((request) => !request.query.includes("sig=")));

    // A key without an account is not used; the SAS token is.
    azurite.resetRequests();
    const sasNext = await open(name, {
      AZURE_STORAGE_ACCOUNT: azurite.account,
      AZURE_STORAGE_KEY: "",
      AZURE_STORAGE_SAS_TOKEN: sas,
      AZURE_STORAGE_CONNECTION_STRING: brokenConnection,
    });
    assert.equal((await sasNext.list()).length, 1);
    assert.ok(azurite.requests.every((request) => request.query.includes("sig=")));

    const noAccountKey = await open(name, {
      AZURE_STORAGE_KEY: "d3Jvbmc=",
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    });
    assert.equal((await noAccountKey.list()).length, 1);
  });

  it("refuses to start without an account name, or with Entra ID tokens to an http endpoint", async () => {
    const name = await container();
    const noAccount = await refusal(
      openAzureBlobBucket({ provider: "azblob", container: name }, {}),
      "denied",
      name,
    );
    assert.match(noAccount.message, /AZURE_STORAGE_ACCOUNT is not set/);
    // A SAS token needs the account too.
    await refusal(
      openAzureBlobBucket({ provider: "azblob", container: name }, { AZURE_STORAGE_SAS_TOKEN: "sv=1&sig=x" }),
      "denied",
      name,
    );

    azurite.resetRequests();
    const secret = "the-client-secret-value";
    for (const env of [
      { AZURE_STORAGE_ACCOUNT: azurite.account },
      {
        AZURE_STORAGE_ACCOUNT: azurite.account,
        AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000001",
        AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000002",
        AZURE_CLIENT_SECRET: secret,
      },
    ]) {
      const error = await refusal(
        openAzureBlobBucket({ provider: "azblob", container: name, endpoint: azurite.endpoint }, env),
        "denied",
        name,
      );
      assert.match(error.message, /Microsoft Entra ID tokens \(.+\) are only sent over https/);
      assertNoSecret(error, secret);
    }
    assert.equal(azurite.requests.length, 0, "nothing requested");

    const badEndpoint = await refusal(
      openAzureBlobBucket({ provider: "azblob", container: name, endpoint: "127.0.0.1:10000" }, keyEnv()),
      "unreachable",
      name,
    );
    assert.match(badEndpoint.message, /not an http:\/\/ or https:\/\/ URL/);
  });

  it("uses the service principal from the env given, and says a failed token request is denied", async () => {
    // No Entra ID token service is reachable from here: the token request fails (instance discovery at
    // login.microsoftonline.com), before anything is asked of the store, an https endpoint where nothing listens.
    const secret = "service-principal-secret-value";
    const bucket = await open(
      "flags",
      {
        AZURE_STORAGE_ACCOUNT: "acct",
        AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000001",
        AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000002",
        AZURE_CLIENT_SECRET: secret,
      },
      {},
      `https://127.0.0.1:${await freePort()}`,
    );
    const error = await refusal(within(bucket.list(), 20_000, "token failure"), "denied", "flags");
    assert.match(
      error.message,
      /access denied with the service principal AZURE_CLIENT_ID \(account "acct"\)/,
    );
    assert.match(
      error.message,
      /(CredentialUnavailableError|AuthenticationError|AuthenticationRequiredError): /,
    );
    assertNoSecret(error, secret);
  });

  it("says a stopped store is unreachable within seconds, without secrets, and works again once it is back", async () => {
    const name = await container({ "features.yml": "flags: []" });
    const sas = azurite.containerSas(name);
    const buckets = [
      await open(name, keyEnv()),
      await open(name, { AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_SAS_TOKEN: sas }),
      await open(name, { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString }),
    ];
    for (const bucket of buckets) assert.equal((await bucket.list()).length, 1);
    await azurite.stop();
    try {
      for (const bucket of buckets) {
        for (const call of calls(bucket)) {
          const started = Date.now();
          const error = await refusal(within(call(), 10_000, "failure"), "unreachable", name);
          const took = Date.now() - started;
          assert.ok(took < 5_000, `failed after ${took} ms`);
          assert.match(error.message, /the store could not be reached \(ECONNREFUSED/);
          assertNoSecret(error, sas, sig(sas), encodeURIComponent(sig(sas)), azurite.connectionString);
        }
      }
    } finally {
      await azurite.start();
    }
    for (const bucket of buckets) {
      assert.equal((await bucket.list()).length, 1);
      assert.equal(new TextDecoder().decode(await bucket.get("features.yml", 100)), "flags: []");
    }
  });

  it("says a failing store (5xx) failed, after a bounded number of tries", async () => {
    const name = await container({ "features.yml": "flags: []" });
    const bucket = await open(name, keyEnv());
    for (const failure of [
      { status: 503, code: "ServerBusy" },
      { status: 500, code: "InternalError" },
    ]) {
      azurite.failWith(failure);
      try {
        for (const call of calls(bucket)) {
          azurite.resetRequests();
          const started = Date.now();
          const error = await refusal(within(call(), 10_000, "failure"), "unreachable", name);
          assert.ok(Date.now() - started < 5_000, `failed after ${Date.now() - started} ms`);
          assert.match(
            error.message,
            new RegExp(
              `the store failed \\(${failure.code}, HTTP ${failure.status}: Failing on purpose \\(test\\)\\.\\)$`,
            ),
          );
          assert.equal(azurite.requests.length, 3, "three tries");
        }
      } finally {
        azurite.failWith(undefined);
      }
    }
    assert.equal((await bucket.list()).length, 1);
  });

  it("says a store that does not answer is unreachable after the request timeout, and close ends a call", async () => {
    const name = await container({ "features.yml": "flags: []" });
    const bucket = await open(name, keyEnv(), { requestTimeoutMs: 500 });
    assert.equal((await bucket.list()).length, 1);
    azurite.freeze();
    try {
      for (const call of calls(bucket)) {
        const started = Date.now();
        const error = await refusal(within(call(), 10_000, "timeout"), "unreachable", name);
        const took = Date.now() - started;
        assert.ok(took >= 450 && took < 3_000, `failed after ${took} ms`);
        assert.match(error.message, /no answer within 500 ms/);
      }
      const patient = await open(name, keyEnv(), { requestTimeoutMs: 60_000 });
      const pending = patient.list();
      await patient.close();
      const error = await refusal(within(pending, 2_000, "close"), "unreachable", name);
      assert.match(error.message, /the bucket is closed/);
      await refusal(patient.list(), "unreachable", name);
    } finally {
      azurite.thaw();
    }
    assert.equal((await bucket.list()).length, 1);
  });
});
