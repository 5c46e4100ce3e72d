import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { type S3TestServer, startS3Server } from "../../../test/helpers/s3-server.js";
import { waitFor, within } from "../../../test/helpers/wait-for.js";
import type { ObjectBucket } from "./object-bucket.js";
import { ObjectStoreError, type ObjectStoreProblem } from "./object-store-error.js";
import { openS3Bucket, S3_MAX_ATTEMPTS, type S3Timeouts } from "./s3-bucket.js";

/** s3rver checks the access key id only, so the secret and token here are accepted, and must show nowhere. */
const SECRET = "wJalrXUtnFEMI-pennant-test-secret-K7MDENG";
const SESSION_TOKEN = "FwoGZXIvYXdzEPennantTestSessionToken0123456789";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");

/** Asserts that `promise` rejects with an ObjectStoreError of `problem` whose message matches, and no secret. */
async function rejectsWith(promise: Promise<unknown>, problem: ObjectStoreProblem, message: RegExp) {
  const error = await promise.then(
    () => assert.fail(`expected a "${problem}" ObjectStoreError`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ObjectStoreError, `not an ObjectStoreError: ${inspect(error)}`);
  assert.equal(error.problem, problem, error.message);
  assert.match(error.message, message);
  const everything = inspect(error, { depth: null, showHidden: true });
  assert.ok(!everything.includes(SECRET), `the secret key shows in ${everything}`);
  assert.ok(!everything.includes(SESSION_TOKEN), `the session token shows in ${everything}`);
  return error;
}

/**
 * A stand-in for S3 that answers every request the same way, for what s3rver cannot produce (a bucket policy's
 * AccessDenied, a 503, a store that accepts connections and never answers). It counts the requests.
 */
async function startCannedServer(answer: ((response: ServerResponse) => void) | "never") {
  let requests = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests++;
    request.resume();
    if (answer !== "never") answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

const s3Error = (status: number, code: string, message: string) => (response: ServerResponse) => {
  response.writeHead(status, { "content-type": "application/xml" });
  response.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>r1</RequestId></Error>`,
  );
};

describe("openS3Bucket against s3rver", () => {
  let s3: S3TestServer;
  const buckets: ObjectBucket[] = [];
  const env = () => ({ ...s3.env, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: SESSION_TOKEN });
  const open = async (
    bucket: string,
    prefix = "",
    extra: { env?: Record<string, string | undefined>; region?: string; timeouts?: S3Timeouts } = {},
  ) => {
    const opened = await openS3Bucket(
      { provider: "s3", bucket, prefix, endpoint: s3.endpoint, region: extra.region },
      extra.env ?? env(),
      extra.timeouts,
    );
    buckets.push(opened);
    return opened;
  };

  before(async () => {
    s3 = await startS3Server({ buckets: ["flags"] });
    await s3.putMany("flags", {
      "features.yml": "root",
      "flags/features.yml": "in flags/",
      "flags/team/a.features.yml": "team a",
      "flags/": "",
      "flags.flipt.yml": "index of prefix flags",
      "other/features.yml": "other",
    });
  });
  after(async () => {
    for (const bucket of buckets) await bucket.close();
    await s3.close();
  });

  it("lists every object under the prefix, used literally, with keys relative to it, and skips directory markers", async () => {
    const list = async (prefix: string) =>
      (await (await open("flags", prefix)).list())
        .map(({ key, etag, size }) => `${key} ${etag} ${size}`)
        .sort();
    assert.deepEqual(await list("flags/"), [
      `features.yml ${md5("in flags/")} 9`,
      `team/a.features.yml ${md5("team a")} 6`,
    ]);
    // Without the slash, `flags.flipt.yml` is under the prefix (as `.flipt.yml`), and `flags/` is a directory.
    assert.deepEqual(await list("flags"), [
      `.flipt.yml ${md5("index of prefix flags")} 21`,
      `/features.yml ${md5("in flags/")} 9`,
      `/team/a.features.yml ${md5("team a")} 6`,
    ]);
    assert.deepEqual(
      (await list("")).map((line) => line.split(" ")[0]),
      [
        "features.yml",
        "flags.flipt.yml",
        "flags/features.yml",
        "flags/team/a.features.yml",
        "other/features.yml",
      ],
    );
    assert.deepEqual(await list("nothing/"), []);
  });

  it("follows continuation tokens over more than 1000 keys, one list request per page", async () => {
    await s3.createBucket("many");
    const objects: Record<string, string> = {};
    for (let index = 0; index < 1003; index++)
      objects[`p/${String(index).padStart(4, "0")}.yml`] = `n: ${index}`;
    await s3.putMany("many", { ...objects, "q/outside.yml": "no" });
    const bucket = await open("many", "p/");
    s3.resetRequests();
    const listed = await bucket.list();
    assert.equal(listed.length, 1003);
    assert.deepEqual(new Set(listed.map((object) => object.key)).size, 1003);
    assert.equal(listed.find((object) => object.key === "1002.yml")?.etag, md5("n: 1002"));
    const requests = s3.requests();
    assert.deepEqual(
      requests.map((request) => `${request.kind} ${request.bucket}`),
      ["list many", "list many"],
    );
  });

  it("shows a changed object with a new ETag, and an unchanged one with the same", async () => {
    await s3.put("flags", "change/features.yml", "version: 1");
    const bucket = await open("flags", "change/");
    const etag = async () => (await bucket.list()).find((object) => object.key === "features.yml")?.etag;
    const first = await etag();
    assert.equal(first, md5("version: 1"));
    assert.equal(await etag(), first);
    await s3.put("flags", "change/features.yml", "version: 2");
    assert.equal(await etag(), md5("version: 2"));
  });

  it("gets an object by its key under the prefix, and undefined for a key that is not there", async () => {
    const bucket = await open("flags", "flags/");
    assert.equal(text(await bucket.get("team/a.features.yml", 1000)), "team a");
    assert.equal(await bucket.get("team/missing.yml", 1000), undefined);
    const literal = await open("flags", "flags");
    assert.equal(text(await literal.get(".flipt.yml", 1000)), "index of prefix flags");
  });

  it("reads at most maxBytes + 1 bytes of an object, and stops reading there", async () => {
    const big = "0123456789".repeat(400_000); // 4 MB
    await s3.put("flags", "big/features.yml", big);
    await s3.put("flags", "big/ten.yml", "0123456789");
    const bucket = await open("flags", "big/");
    assert.equal(text(await bucket.get("ten.yml", 10)), "0123456789", "exactly at the limit: whole");
    assert.equal(text(await bucket.get("ten.yml", 9)), "0123456789", "one over: limit + 1 bytes");
    assert.equal(text(await bucket.get("ten.yml", 5)), "012345");
    const cut = await bucket.get("features.yml", 1000);
    assert.equal(cut?.byteLength, 1001);
    assert.equal(text(cut), big.slice(0, 1001));
    // The connection dropped mid-body leaves the client working.
    assert.equal(text(await bucket.get("ten.yml", 100)), "0123456789");
    assert.equal((await bucket.get("features.yml", big.length))?.byteLength, big.length);
  });

  it("describes the bucket with its prefix and endpoint, without the endpoint's user info", async () => {
    assert.equal((await open("flags", "")).description, `s3 bucket "flags" at ${s3.endpoint}`);
    assert.equal(
      (await open("flags", "prod/")).description,
      `s3 bucket "flags" (prefix "prod/") at ${s3.endpoint}`,
    );
    const withUser = await openS3Bucket(
      { provider: "s3", bucket: "flags", prefix: "", endpoint: `http://user:${SECRET}@127.0.0.1:9/` },
      env(),
    );
    buckets.push(withUser);
    assert.equal(withUser.description, `s3 bucket "flags" at http://127.0.0.1:9`);
    const aws = await openS3Bucket({ provider: "s3", bucket: "flags", prefix: "" }, env());
    buckets.push(aws);
    assert.equal(aws.description, `s3 bucket "flags"`);
  });

  it("signs with the credentials and region from the environment, the config's region first", async () => {
    const signed = async (
      region: string | undefined,
      vars: Record<string, string | undefined>,
    ): Promise<[string | undefined, string | undefined, boolean]> => {
      s3.resetRequests();
      await (await open("flags", "", { env: vars, ...(region === undefined ? {} : { region }) })).list();
      const [request] = s3.requests("list");
      return [request?.accessKeyId, request?.region, request?.sessionToken ?? false];
    };
    const keys = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: SECRET };
    assert.deepEqual(await signed(undefined, keys), ["S3RVER", "us-east-1", false]);
    assert.deepEqual(await signed(undefined, { ...keys, AWS_DEFAULT_REGION: "eu-west-3" }), [
      "S3RVER",
      "eu-west-3",
      false,
    ]);
    assert.deepEqual(
      await signed(undefined, { ...keys, AWS_REGION: "eu-central-1", AWS_DEFAULT_REGION: "eu-west-3" }),
      ["S3RVER", "eu-central-1", false],
    );
    assert.deepEqual(await signed("ap-south-1", { ...keys, AWS_REGION: "eu-central-1" }), [
      "S3RVER",
      "ap-south-1",
      false,
    ]);
    assert.deepEqual(await signed(undefined, { ...keys, AWS_SESSION_TOKEN: SESSION_TOKEN }), [
      "S3RVER",
      "us-east-1",
      true,
    ]);
  });

  it("fails on a missing bucket as 'missing', naming the bucket and S3's reason", async () => {
    const bucket = await open("no-such-bucket", "prod/");
    await rejectsWith(
      bucket.list(),
      "missing",
      new RegExp(
        `^s3 bucket "no-such-bucket" \\(prefix "prod/"\\) at ${s3.endpoint}: NoSuchBucket: The specified bucket does not exist$`,
      ),
    );
    await rejectsWith(bucket.get("features.yml", 100), "missing", /NoSuchBucket/);
  });

  it("fails on an access key id the store does not know as 'denied', without the secret", async () => {
    const bucket = await open("flags", "", {
      env: {
        AWS_ACCESS_KEY_ID: "AKIAPENNANTUNKNOWN",
        AWS_SECRET_ACCESS_KEY: SECRET,
        AWS_SESSION_TOKEN: SESSION_TOKEN,
      },
    });
    await rejectsWith(
      bucket.list(),
      "denied",
      /^s3 bucket "flags" at .*: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records\.$/,
    );
    await rejectsWith(bucket.get("features.yml", 100), "denied", /InvalidAccessKeyId/);
  });

  it("fails as 'unreachable' within a bound while the server is stopped, and works again once it is back", async () => {
    const bucket = await open("flags", "flags/");
    assert.equal((await bucket.list()).length, 2);
    await s3.stop();
    try {
      const started = Date.now();
      await within(
        rejectsWith(bucket.list(), "unreachable", /^s3 bucket "flags" .*ECONNREFUSED/),
        3_000,
        "list",
      );
      await within(rejectsWith(bucket.get("features.yml", 100), "unreachable", /ECONNREFUSED/), 3_000, "get");
      assert.ok(Date.now() - started < 3_000);
    } finally {
      await s3.start();
    }
    assert.equal((await bucket.list()).length, 2);
    assert.equal(text(await bucket.get("features.yml", 100)), "in flags/");
  });
});

describe("openS3Bucket against a stand-in answering errors s3rver cannot produce", () => {
  const open = (endpoint: string, timeouts?: S3Timeouts) =>
    openS3Bucket(
      { provider: "s3", bucket: "flags", prefix: "p/", endpoint },
      { AWS_ACCESS_KEY_ID: "AKIAPENNANT", AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: SESSION_TOKEN },
      timeouts,
    );

  for (const [status, code, problem] of [
    [403, "AccessDenied", "denied"],
    [403, "SignatureDoesNotMatch", "denied"],
    [400, "ExpiredToken", "denied"],
    [503, "SlowDown", "unreachable"],
    [500, "InternalError", "unreachable"],
  ] as const) {
    it(`maps ${status} ${code} to '${problem}'`, async () => {
      const server = await startCannedServer(s3Error(status, code, `canned ${code}`));
      const bucket = await open(server.endpoint);
      try {
        await rejectsWith(
          bucket.list(),
          problem,
          new RegExp(`^s3 bucket "flags" \\(prefix "p/"\\) at .*: ${code}: canned ${code}$`),
        );
        // 5xx are retried, up to the bound; the others are not.
        assert.equal(server.requests, status >= 500 ? S3_MAX_ATTEMPTS : 1);
      } finally {
        await bucket.close();
        await server.close();
      }
    });
  }

  it("maps a 401 without an S3 error document to 'denied', showing the HTTP status", async () => {
    const server = await startCannedServer((response) => {
      response.writeHead(401, { "content-type": "text/plain" });
      response.end("no");
    });
    const bucket = await open(server.endpoint);
    try {
      await rejectsWith(bucket.list(), "denied", /HTTP 401/);
    } finally {
      await bucket.close();
      await server.close();
    }
  });

  it("stops reading a body that never ends once more than maxBytes arrived", async () => {
    let closed = false;
    const server = await startCannedServer((response) => {
      response.writeHead(200, { "content-type": "binary/octet-stream", etag: '"e"' });
      const chunk = Buffer.alloc(64 * 1024, "x");
      const write = () => {
        while (!response.destroyed && response.write(chunk));
      };
      response.on("drain", write);
      response.on("close", () => {
        closed = true;
      });
      write();
    });
    const bucket = await open(server.endpoint);
    try {
      const bytes = await within(bucket.get("features.yml", 100_000), 5_000, "get");
      assert.equal(bytes?.byteLength, 100_001);
      await waitFor(() => closed, { what: "the connection dropped", deadlineMs: 5_000 });
    } finally {
      await bucket.close();
      await server.close();
    }
  });

  it("gives up on a body that stalls, after the idle timeout", async () => {
    const server = await startCannedServer((response) => {
      response.writeHead(200, {
        "content-type": "binary/octet-stream",
        "content-length": "1000",
        etag: '"e"',
      });
      response.write("only the start");
    });
    const timeouts = {
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
      idleTimeoutMs: 300,
      maxAttempts: 1,
    };
    const bucket = await open(server.endpoint, timeouts);
    try {
      await within(rejectsWith(bucket.get("features.yml", 10_000), "unreachable", /timed out/), 5_000, "get");
    } finally {
      await bucket.close();
      await server.close();
    }
  });

  it("gives up on a store that never answers within the request timeout, per attempt", async () => {
    const server = await startCannedServer("never");
    const timeouts = {
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 300,
      idleTimeoutMs: 300,
      maxAttempts: 2,
    };
    const bucket = await open(server.endpoint, timeouts);
    try {
      const started = Date.now();
      await within(
        rejectsWith(bucket.list(), "unreachable", /TimeoutError|timed out|exceeded/),
        5_000,
        "list",
      );
      const took = Date.now() - started;
      assert.ok(took >= 2 * 300, `gave up after ${took} ms, before two attempts could time out`);
      assert.equal(server.requests, 2);
    } finally {
      await bucket.close();
      await server.close();
    }
  });
});
