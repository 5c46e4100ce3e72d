/**
 * The Google Cloud Storage provider, through the real `@google-cloud/storage` client, against a STAND-IN of the
 * GCS JSON API (test/helpers/gcs-json-api-stand-in.ts): no GCS emulator runs on this machine. The stand-in counts
 * requests by kind, can be stopped and restarted on its port, can hang, and can require bearer tokens from its own
 * Security Token Service, so refused credentials are tested with an `external_account` credentials file (workload
 * identity federation). Not covered against a server: service account keys, whose token request goes to Google's
 * fixed token URL (only keys that fail before any request are), and the GCE metadata server.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GcsJsonApiStandIn } from "../../../test/helpers/gcs-json-api-stand-in.js";
import { within } from "../../../test/helpers/wait-for.js";
import { type GcsBucketOptions, gcsEmulatorEndpoint, openGcsBucket, redactGcsSecrets } from "./gcs-bucket.js";
import type { ListedObject, ObjectBucket } from "./object-bucket.js";
import { ObjectStoreError, type ObjectStoreProblem } from "./object-store-error.js";

type Env = Record<string, string | undefined>;

const open = (bucket: string, prefix: string, env: Env, options?: GcsBucketOptions) =>
  openGcsBucket({ provider: "googlecloud", bucket, prefix }, env, options);

const keys = (objects: readonly ListedObject[]) => objects.map((object) => object.key).sort();

async function refusal(promise: Promise<unknown>, problem: ObjectStoreProblem): Promise<ObjectStoreError> {
  const error = await promise.then(
    () => assert.fail(`expected an ObjectStoreError (${problem})`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ObjectStoreError, `not an ObjectStoreError: ${String(error)}`);
  assert.equal(error.problem, problem, error.message);
  return error;
}

async function text(bucket: ObjectBucket, key: string): Promise<string | undefined> {
  const bytes = await bucket.get(key, 1_000_000);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");
}

describe("gcsEmulatorEndpoint", () => {
  it("reads STORAGE_EMULATOR_HOST as the Go library does: a host means http", () => {
    assert.equal(gcsEmulatorEndpoint("127.0.0.1:4443"), "http://127.0.0.1:4443");
    assert.equal(gcsEmulatorEndpoint("localhost:9199/"), "http://localhost:9199");
    assert.equal(gcsEmulatorEndpoint("https://gcs.internal:8443"), "https://gcs.internal:8443");
    assert.equal(gcsEmulatorEndpoint("http://127.0.0.1:4443//"), "http://127.0.0.1:4443");
  });
});

describe("redactGcsSecrets", () => {
  it("removes private keys, bearer and access tokens and token request parameters", () => {
    const out = redactGcsSecrets(
      'key "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n" ' +
        '{"private_key":"MIIsecret","private_key_id":"abc123def"} Authorization: Bearer ya29.tokenvalue ' +
        "ya29.other-token grant_type=x&assertion=eyJhbGciOi.payload.sig&subject_token=subj-secret " +
        '"access_token": "at-secret", refresh_token=rt-secret',
    );
    for (const secret of [
      "MIIEvQIBADANBg",
      "MIIsecret",
      "abc123def",
      "tokenvalue",
      "other-token",
      "eyJhbGciOi",
      "subj-secret",
      "at-secret",
      "rt-secret",
    ]) {
      assert.ok(!out.includes(secret), `${secret} in ${out}`);
    }
    assert.match(out, /grant_type=x/);
  });
});

describe("openGcsBucket against the GCS JSON API stand-in (unauthenticated, as an emulator)", () => {
  let store: GcsJsonApiStandIn;
  let env: Env;

  before(async () => {
    store = await GcsJsonApiStandIn.start();
    env = { STORAGE_EMULATOR_HOST: store.endpoint };
  });
  after(async () => {
    await store.stop();
  });

  it("describes the bucket, with the prefix when there is one", async () => {
    assert.equal((await open("flags", "", env)).description, 'gcs bucket "flags"');
    assert.equal((await open("flags", "prod/", env)).description, 'gcs bucket "flags" (prefix "prod/")');
  });

  it("lists the objects under the prefix, used literally, with keys relative to it", async () => {
    for (const name of [
      "prod/features.yml",
      "prod/team/a.features.yml",
      "prod/folder/",
      "prod.flipt.yml",
      "production/features.yml",
      "other/features.yml",
    ]) {
      store.putObject("literal", name, `# ${name}\n`);
    }
    const slash = await open("literal", "prod/", env);
    const listed = await slash.list();
    // The folder placeholder `prod/folder/` is no file.
    assert.deepEqual(keys(listed), ["features.yml", "team/a.features.yml"]);
    const features = listed.find((object) => object.key === "features.yml");
    assert.equal(features?.size, "# prod/features.yml\n".length);
    assert.match(features?.etag ?? "", /^\d+$/, "the generation");
    assert.equal(await text(slash, "features.yml"), "# prod/features.yml\n");

    // Without the slash, `prod` also matches `prod.flipt.yml` (read as `.flipt.yml`) and `production/...`.
    const bare = await open("literal", "prod", env);
    assert.deepEqual(keys(await bare.list()), [
      ".flipt.yml",
      "/features.yml",
      "/team/a.features.yml",
      "uction/features.yml",
    ]);
    assert.equal(await text(bare, ".flipt.yml"), "# prod.flipt.yml\n");

    const whole = await open("literal", "", env);
    assert.equal((await whole.list()).length, 5);
  });

  it("reads every page of a listing, one request per page", async () => {
    const names = ["a.yml", "b.yml", "c/d.yml", "e.yml", "f.yml"];
    for (const name of names) store.putObject("paged", `p/${name}`, name);
    store.putObject("paged", "q/outside.yml", "outside");

    store.resetCounts();
    const small = await open("paged", "p/", env, { listPageSize: 2 });
    assert.deepEqual(keys(await small.list()), names);
    assert.equal(store.count("list"), 3, "pages of 2, 2 and 1");
    assert.equal(store.count("media"), 0, "a listing downloads nothing");

    store.resetCounts();
    const usual = await open("paged", "p/", env);
    assert.deepEqual(keys(await usual.list()), names);
    assert.equal(store.count("list"), 1, "one page of up to 1000");
  });

  it("gives an object a new etag (its generation) when it is overwritten, and keeps the others'", async () => {
    store.putObject("changing", "features.yml", "version: 1\n");
    store.putObject("changing", "other.yml", "stays\n");
    const bucket = await open("changing", "", env);
    const before = new Map((await bucket.list()).map((object) => [object.key, object.etag]));

    const generation = store.putObject("changing", "features.yml", "version: 22\n");
    const later = await bucket.list();
    const changed = later.find((object) => object.key === "features.yml");
    assert.equal(changed?.etag, generation);
    assert.notEqual(changed?.etag, before.get("features.yml"));
    assert.equal(changed?.size, "version: 22\n".length);
    assert.equal(later.find((object) => object.key === "other.yml")?.etag, before.get("other.yml"));
    assert.equal(await text(bucket, "features.yml"), "version: 22\n");

    // The same bytes written again are a new generation too: GCS has no content ETag to compare.
    const again = store.putObject("changing", "other.yml", "stays\n");
    assert.equal((await bucket.list()).find((object) => object.key === "other.yml")?.etag, again);
  });

  it("answers undefined for an object that is not there, and for one deleted after the listing", async () => {
    store.putObject("gone", "dir/features.yml", "x");
    const bucket = await open("gone", "dir/", env);
    assert.equal(await bucket.get("missing.yml", 100), undefined);
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
    store.deleteObject("gone", "dir/features.yml");
    assert.equal(await bucket.get("features.yml", 100), undefined);
  });

  it("reads at most maxBytes + 1 bytes of an object", async () => {
    const big = Buffer.alloc(300_000, "abcdefghij");
    store.putObject("sized", "big.yml", big);
    const bucket = await open("sized", "", env);

    store.resetCounts();
    const cut = await bucket.get("big.yml", 10);
    assert.deepEqual(Buffer.from(cut ?? []), big.subarray(0, 11));
    assert.equal(store.mediaBytesSent(), 11, "the store sent maxBytes + 1 bytes, not the object");
    // The download ended by itself: the next request finds the client's connections intact (no retry, whose
    // first delay is a second).
    const started = Date.now();
    await bucket.list();
    assert.ok(Date.now() - started < 900, `a listing after a cut read took ${Date.now() - started} ms`);
    // At the limit: an object of exactly maxBytes comes whole, one byte over comes as maxBytes + 1.
    assert.equal((await bucket.get("big.yml", big.length))?.byteLength, big.length);
    assert.equal((await bucket.get("big.yml", big.length - 1))?.byteLength, big.length);
    const whole = await bucket.get("big.yml", 1_000_000);
    assert.ok(whole !== undefined && Buffer.from(whole).equals(big), "the whole object, checksum validated");

    store.putObject("sized", "empty.yml", "");
    assert.equal((await bucket.get("empty.yml", 10))?.byteLength, 0);
  });

  it("takes STORAGE_EMULATOR_HOST as host:port too, as the Go library does", async () => {
    store.putObject("hostport", "features.yml", "x");
    const bucket = await open("hostport", "", {
      STORAGE_EMULATOR_HOST: store.endpoint.replace("http://", ""),
    });
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
  });

  it("fails a listing of a bucket that does not exist as missing, naming the bucket and GCS's reason", async () => {
    const bucket = await open("no-such-bucket", "prod/", env);
    const error = await refusal(bucket.list(), "missing");
    assert.match(error.message, /^gcs bucket "no-such-bucket" \(prefix "prod\/"\): /);
    assert.match(error.message, /HTTP 404 notFound: The specified bucket does not exist\./);
  });

  it("refuses calls once closed", async () => {
    store.putObject("closing", "features.yml", "x");
    const bucket = await open("closing", "", env);
    await bucket.list();
    await bucket.close();
    const error = await refusal(bucket.list(), "unreachable");
    assert.match(error.message, /closed/);
  });
});

describe("openGcsBucket when the store is down", () => {
  let store: GcsJsonApiStandIn;
  let env: Env;

  before(async () => {
    store = await GcsJsonApiStandIn.start();
    env = { STORAGE_EMULATOR_HOST: store.endpoint };
    store.putObject("flags", "features.yml", "x");
  });
  after(async () => {
    await store.stop();
  });

  it("fails as unreachable within seconds while the store is stopped, and works again once it is back", async () => {
    const bucket = await open("flags", "", env);
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
    await store.stop();
    try {
      const started = Date.now();
      const error = await within(
        refusal(bucket.list(), "unreachable"),
        6_000,
        "a listing of a stopped store",
      );
      assert.match(
        error.message,
        /^gcs bucket "flags": listing: the store could not be reached \(.*ECONNREFUSED/,
      );
      const reading = await within(refusal(bucket.get("features.yml", 10), "unreachable"), 6_000, "a read");
      assert.match(reading.message, /reading "features\.yml"/);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await store.start();
    }
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
  });

  it("fails as unreachable after the request timeout when the store never answers", async () => {
    const bucket = await open("flags", "", env, { requestTimeoutMs: 300 });
    store.hold();
    try {
      const started = Date.now();
      const error = await within(refusal(bucket.list(), "unreachable"), 3_000, "a listing of a hung store");
      assert.match(error.message, /listing: no answer within 300 ms/);
      await within(refusal(bucket.get("features.yml", 10), "unreachable"), 3_000, "a read of a hung store");
      assert.ok(Date.now() - started >= 600, "both waited for the timeout");
    } finally {
      store.release();
    }
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
  });
});

describe("openGcsBucket with credentials (GOOGLE_APPLICATION_CREDENTIALS)", () => {
  const subjectToken = "stand-in-subject-token-0123456789";
  let store: GcsJsonApiStandIn;
  let dir: string;

  before(async () => {
    store = await GcsJsonApiStandIn.start({ subjectToken });
    store.putObject("secured", "prod/features.yml", "x");
    dir = await mkdtemp(join(tmpdir(), "pennant-gcs-"));
  });
  after(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists and reads with credentials the store accepts, asking for a token once", async () => {
    const file = await store.writeExternalAccountCredentials(dir, subjectToken);
    store.resetCounts();
    const bucket = await open(
      "secured",
      "prod/",
      { GOOGLE_APPLICATION_CREDENTIALS: file },
      {
        apiEndpoint: store.endpoint,
      },
    );
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
    assert.equal(await text(bucket, "features.yml"), "x");
    assert.deepEqual(keys(await bucket.list()), ["features.yml"]);
    assert.equal(store.count("token"), 1, "the token is kept");
    assert.equal(store.count("list"), 2);
  });

  it("fails as denied when the token exchange is refused, naming the bucket and the file, never the token", async () => {
    const wrong = "wrong-subject-token-9876543210";
    const other = await mkdtemp(join(dir, "wrong-"));
    const file = await store.writeExternalAccountCredentials(other, wrong);
    store.resetCounts();
    const bucket = await open(
      "secured",
      "prod/",
      { GOOGLE_APPLICATION_CREDENTIALS: file },
      {
        apiEndpoint: store.endpoint,
      },
    );
    const error = await refusal(bucket.list(), "denied");
    assert.match(error.message, /^gcs bucket "secured" \(prefix "prod\/"\): listing: access denied with /);
    assert.ok(error.message.includes(file), error.message);
    assert.match(error.message, /invalid_grant/);
    assert.ok(!error.message.includes(wrong) && !error.message.includes(subjectToken), error.message);
    assert.equal(store.storageRequests(), 0, "no storage call without a token");
    await refusal(bucket.get("features.yml", 10), "denied");
  });

  it("fails as denied when the store refuses an anonymous caller (401)", async () => {
    const bucket = await open("secured", "", { STORAGE_EMULATOR_HOST: store.endpoint });
    const error = await refusal(bucket.list(), "denied");
    assert.match(
      error.message,
      /HTTP 401 required: Anonymous caller does not have storage\.objects\.list access/,
    );
    assert.match(error.message, /with no credentials \(the emulator at STORAGE_EMULATOR_HOST/);
  });

  it("gives a pennant process refused credentials that never reach Google", async () => {
    const other = await mkdtemp(join(dir, "process-"));
    const processEnv = await store.processSettings().refusedCredentialsEnv(other);
    store.resetCounts();
    // No apiEndpoint: the client would talk to Google's endpoint, had the token exchange succeeded.
    const bucket = await open("secured", "", processEnv);
    await refusal(bucket.list(), "denied");
    assert.equal(store.count("token"), 1);
    assert.equal(store.storageRequests(), 0);
  });

  it("fails as denied, before any request, when the credentials file is missing or unusable", async () => {
    const missing = join(dir, "does-not-exist.json");
    const error = await refusal(
      open("secured", "", { GOOGLE_APPLICATION_CREDENTIALS: missing }).then((b) => b.list()),
      "denied",
    );
    assert.ok(error.message.includes(missing), error.message);
    assert.match(error.message, /ENOENT/);

    const keyMaterial = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC";
    const notJson = join(dir, "not-json.json");
    await writeFile(notJson, `private_key: -----BEGIN PRIVATE KEY-----\n${keyMaterial}\n`);
    const garbled = await refusal(
      open("secured", "", { GOOGLE_APPLICATION_CREDENTIALS: notJson }).then((b) => b.list()),
      "denied",
    );
    assert.ok(garbled.message.includes(notJson), garbled.message);
    assert.ok(!garbled.message.includes(keyMaterial), garbled.message);

    // A service account key that cannot sign: refused before the token request (which would go to Google).
    const badKey = join(dir, "bad-key.json");
    await writeFile(
      badKey,
      JSON.stringify({
        type: "service_account",
        project_id: "pennant-test",
        private_key_id: "0123456789abcdef",
        private_key: `-----BEGIN PRIVATE KEY-----\n${keyMaterial}\n-----END PRIVATE KEY-----\n`,
        client_email: "pennant@pennant-test.iam.gserviceaccount.com",
        client_id: "1234567890",
      }),
    );
    const unsigned = await refusal(
      open("secured", "", { GOOGLE_APPLICATION_CREDENTIALS: badKey }).then((b) => b.list()),
      "denied",
    );
    assert.ok(!unsigned.message.includes(keyMaterial), unsigned.message);
    assert.ok(!unsigned.message.includes("0123456789abcdef"), unsigned.message);
  });
});
