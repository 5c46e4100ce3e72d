import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { flagFile } from "../../../test/helpers/outside-remote.js";
import { type S3TestServer, startS3Server } from "../../../test/helpers/s3-server.js";
import { waitFor } from "../../../test/helpers/wait-for.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../../format/limits.js";
import { contentHash } from "../content-hash.js";
import type { SourceState } from "../flag-source.js";
import type { ObjectBucket } from "./object-bucket.js";
import { ObjectSource } from "./object-source.js";
import { ObjectStoreError } from "./object-store-error.js";
import { openS3Bucket } from "./s3-bucket.js";

/** Polls this often: the config's floor is 1 s, but the source takes any interval. */
const POLL_MS = 40;

const paths = (state: SourceState) => state.files.map((file) => file.path);
const textOf = (state: SourceState, path: string) => {
  const file = state.files.find((candidate) => candidate.path === path);
  return file === undefined ? undefined : Buffer.from(file.bytes).toString("utf8");
};

describe("ObjectSource over an S3 bucket (s3rver)", () => {
  let s3: S3TestServer;
  let buckets = 0;
  const sources: ObjectSource[] = [];
  const stops: AbortController[] = [];

  before(async () => {
    s3 = await startS3Server();
  });
  after(async () => {
    for (const stop of stops) stop.abort();
    for (const source of sources) await source.close();
    await s3.close();
  });

  /** A bucket of its own for a test, holding `objects`. */
  const bucketWith = async (objects: Record<string, string>) => {
    const name = `bucket-${++buckets}`;
    await s3.createBucket(name);
    await s3.putMany(name, objects);
    return name;
  };
  const open = async (
    bucket: string,
    prefix = "",
    options: { limits?: FeaturesLimits; wrap?: (bucket: ObjectBucket) => ObjectBucket } = {},
  ) => {
    const s3Bucket = await openS3Bucket({ provider: "s3", bucket, prefix, endpoint: s3.endpoint }, s3.env);
    const source = await ObjectSource.open({
      bucket: options.wrap?.(s3Bucket) ?? s3Bucket,
      pollIntervalMs: POLL_MS,
      limits: options.limits ?? DEFAULT_FEATURES_LIMITS,
      logger: pino({ level: "silent" }),
    });
    sources.push(source);
    return source;
  };
  /** Watches `source`, counting the notifications. */
  const watch = async (source: ObjectSource) => {
    const stop = new AbortController();
    stops.push(stop);
    const heard = { count: 0, stop: () => stop.abort() };
    await source.watch(() => heard.count++, stop.signal);
    return heard;
  };
  /** The keys of the GET requests to `bucket` recorded since the last reset. */
  const gets = (bucket: string) =>
    s3
      .requests("get")
      .filter((request) => request.bucket === bucket)
      .map((request) => request.key);
  /** Resolves once `count` more listings of `bucket` reached the server (so at least `count - 1` polls are done). */
  const polls = async (bucket: string, count: number) => {
    const listings = () => s3.requests("list").filter((request) => request.bucket === bucket).length;
    const target = listings() + count;
    await waitFor(() => listings() >= target, { what: `${count} listings of ${bucket}` });
  };

  it("selects the default features files, and the repository settings file", async () => {
    const bucket = await bucketWith({
      "features.yml": flagFile("default", "root", true),
      "team/features.yaml": flagFile("team", "t", true),
      "a.features.yml": flagFile("a", "a", true),
      "flipt.yaml": 'version: "1.0"\n',
      "notes.txt": "not flags",
      "team/other.yml": flagFile("other", "o", true),
    });
    const source = await open(bucket);
    const state = await source.read("");
    assert.deepEqual(paths(state), ["a.features.yml", "features.yml", "team/features.yaml"]);
    assert.equal(textOf(state, "team/features.yaml"), flagFile("team", "t", true));
    assert.equal(state.revision, contentHash(state.files));
    assert.equal(state.settings?.path, "flipt.yaml");
    assert.deepEqual(state.refused, []);
    assert.equal(state.ruleFor?.("team/features.yaml"), "**/features.yaml");
    assert.equal(source.description, `s3 bucket "${bucket}" at ${s3.endpoint}`);
    assert.deepEqual(gets(bucket).sort(), [
      "a.features.yml",
      "features.yml",
      "flipt.yaml",
      "team/features.yaml",
    ]);
  });

  it("follows a .flipt.yml index at the root of the prefix, with include and exclude", async () => {
    const bucket = await bucketWith({
      "flags/.flipt.yml":
        'version: "1.0"\ninclude:\n  - "a.yml"\n  - "b/*.yml"\nexclude:\n  - "**/skip*.yml"\n',
      "flags/a.yml": flagFile("a", "a", true),
      "flags/b/c.yml": flagFile("c", "c", true),
      "flags/b/skip-me.yml": flagFile("skip", "s", true),
      "flags/features.yaml": flagFile("yaml", "y", true),
      "outside/x.yml": flagFile("x", "x", true),
      "features.yml": flagFile("root", "r", true),
    });
    const source = await open(bucket, "flags/");
    const state = await source.read("");
    assert.deepEqual(paths(state), ["a.yml", "b/c.yml"]);
    assert.equal(state.ruleFor?.("b/c.yml"), '.flipt.yml include "b/*.yml"');
    assert.equal(source.description, `s3 bucket "${bucket}" (prefix "flags/") at ${s3.endpoint}`);
  });

  it("reads an environment's directory as a further prefix", async () => {
    const bucket = await bucketWith({
      "flags/prod/features.yml": flagFile("default", "p", true),
      "flags/prod/.flipt.yml": 'include:\n  - "team/*.yml"\n',
      "flags/prod/team/t.yml": flagFile("team", "t", true),
      "flags/staging/features.yml": flagFile("default", "s", false),
      "flags/production/features.yml": flagFile("default", "not prod", false),
      "flags/features.yml": flagFile("default", "root", true),
    });
    const source = await open(bucket, "flags/");
    assert.deepEqual(paths(await source.read("prod")), ["team/t.yml"]);
    assert.deepEqual(paths(await source.read("prod/")), ["team/t.yml"]);
    const staging = await source.read("staging");
    assert.deepEqual(paths(staging), ["features.yml"]);
    assert.equal(textOf(staging, "features.yml"), flagFile("default", "s", false));
    assert.deepEqual(paths(await source.read("")), [
      "features.yml",
      "prod/features.yml",
      "production/features.yml",
      "staging/features.yml",
    ]);
  });

  it("downloads nothing and notifies no one on a poll that finds no change", async () => {
    const bucket = await bucketWith({
      "features.yml": flagFile("a", "a", true),
      "b/features.yml": flagFile("b", "b", true),
    });
    const source = await open(bucket);
    const first = await source.read("");
    const heard = await watch(source);
    s3.resetRequests();
    await polls(bucket, 4);
    assert.deepEqual(gets(bucket), [], "no object downloaded");
    assert.equal(heard.count, 0, "no notification");
    const again = await source.read("");
    assert.equal(again.revision, first.revision);
    assert.deepEqual(gets(bucket), [], "a read with nothing changed downloads nothing either");
    // One request per poll: only listings reached the server.
    assert.deepEqual(new Set(s3.requests().map((request) => request.kind)), new Set(["list"]));
  });

  it("downloads a changed object alone, and serves it", async () => {
    const bucket = await bucketWith({
      "a/features.yml": flagFile("a", "a", true),
      "b/features.yml": flagFile("b", "b", true),
      "c/features.yml": flagFile("c", "c", true),
    });
    const source = await open(bucket);
    const before = await source.read("");
    const heard = await watch(source);
    s3.resetRequests();
    await s3.put(bucket, "b/features.yml", flagFile("b", "b", false));
    await waitFor(() => heard.count > 0, { what: "a notification" });
    const changed = await waitFor(async () => {
      const state = await source.read("");
      return textOf(state, "b/features.yml") === flagFile("b", "b", false) && state;
    });
    assert.notEqual(changed.revision, before.revision);
    assert.equal(textOf(changed, "a/features.yml"), flagFile("a", "a", true));
    assert.deepEqual(gets(bucket), ["b/features.yml"]);
  });

  it("drops a deleted object", async () => {
    const bucket = await bucketWith({
      "a/features.yml": flagFile("a", "a", true),
      "b/features.yml": flagFile("b", "b", true),
    });
    const source = await open(bucket);
    assert.deepEqual(paths(await source.read("")), ["a/features.yml", "b/features.yml"]);
    const heard = await watch(source);
    s3.resetRequests();
    await s3.remove(bucket, "b/features.yml");
    await waitFor(() => heard.count > 0, { what: "a notification" });
    assert.deepEqual(paths(await source.read("")), ["a/features.yml"]);
    assert.deepEqual(gets(bucket), []);
  });

  it("refuses an object over limits.maxFileBytes without downloading it, and takes one at the limit", async () => {
    const limits = { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 100 };
    const bucket = await bucketWith({
      "big/features.yml": `# ${"x".repeat(98)}\n`, // 101 bytes
      "fits/features.yml": `# ${"x".repeat(97)}\n`, // 100 bytes
    });
    const source = await open(bucket, "", { limits });
    s3.resetRequests();
    const state = await source.read("");
    assert.deepEqual(paths(state), ["fits/features.yml"]);
    assert.deepEqual(
      state.refused?.map((issue) => [issue.file, issue.message]),
      [
        [
          "big/features.yml",
          "the file is larger than the 100-byte limit for a features file (limits.max_features_file_bytes)",
        ],
      ],
    );
    assert.deepEqual(gets(bucket), ["fits/features.yml"]);
  });

  it("refuses an index over the limit, selecting nothing", async () => {
    const limits = { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 60 };
    const bucket = await bucketWith({
      ".flipt.yml": `include:\n  - "**/*.yml"\n# ${"x".repeat(60)}\n`,
      "features.yml": "# small\n",
    });
    const source = await open(bucket, "", { limits });
    s3.resetRequests();
    const state = await source.read("");
    assert.deepEqual(paths(state), []);
    assert.deepEqual(
      state.refused?.map((issue) => issue.file),
      [".flipt.yml"],
    );
    assert.deepEqual(gets(bucket), []);
  });

  it("notifies once when listing fails, throws the store's error from read, and notifies again on recovery", async () => {
    const bucket = await bucketWith({ "features.yml": flagFile("a", "a", true) });
    const source = await open(bucket);
    const served = await source.read("");
    const heard = await watch(source);
    await s3.stop();
    try {
      await waitFor(() => heard.count === 1, { what: "the failure's notification" });
      await assert.rejects(source.read(""), (error: unknown) => {
        assert.ok(error instanceof ObjectStoreError);
        assert.equal(error.problem, "unreachable");
        assert.match(error.message, new RegExp(`^s3 bucket "${bucket}" at ${s3.endpoint}: .*ECONNREFUSED`));
        return true;
      });
      const errors = source.pollErrors;
      await waitFor(() => source.pollErrors >= errors + 3, { what: "three more failed polls" });
      assert.equal(heard.count, 1, "a failure goes on without further notifications");
    } finally {
      await s3.start();
    }
    await waitFor(() => heard.count === 2, { what: "the recovery's notification" });
    const recovered = await source.read("");
    assert.equal(recovered.revision, served.revision);
  });

  it("notifies every environment watching the storage of each change", async () => {
    const bucket = await bucketWith({
      "prod/features.yml": flagFile("p", "p", true),
      "dev/features.yml": "# dev\n",
    });
    const source = await open(bucket);
    const prod = await watch(source);
    const dev = await watch(source);
    await s3.put(bucket, "dev/features.yml", "# dev, changed\n");
    await waitFor(() => prod.count > 0 && dev.count > 0, { what: "both notified" });
    prod.stop();
    const heard = dev.count;
    await s3.put(bucket, "dev/features.yml", "# dev, changed again\n");
    await waitFor(() => dev.count > heard, { what: "the remaining watcher notified" });
  });

  it("notifies again at each poll while a read cannot download an object, until one can", async () => {
    let failGets = false;
    /** The real bucket, whose downloads fail while `failGets`: the listing works, the objects do not. */
    const failingDownloads = (bucket: ObjectBucket): ObjectBucket => ({
      description: bucket.description,
      list: () => bucket.list(),
      get: (key, maxBytes) =>
        failGets
          ? Promise.reject(new ObjectStoreError("download refused by the test", "unreachable"))
          : bucket.get(key, maxBytes),
      close: () => bucket.close(),
    });
    // The same length before and after, so that one listing shows the change whole (ETag and size at once).
    const bucket = await bucketWith({ "features.yml": flagFile("a", "b", true) });
    const source = await open(bucket, "", { wrap: failingDownloads });
    await source.read("");
    // As an environment does: read again on each notification.
    const reads: (string | Error)[] = [];
    const stop = new AbortController();
    stops.push(stop);
    await source.watch(() => {
      source.read("").then(
        (state) => reads.push(textOf(state, "features.yml") ?? "(none)"),
        (error: Error) => reads.push(error),
      );
    }, stop.signal);
    failGets = true;
    await s3.put(bucket, "features.yml", flagFile("a", "c", true));
    // One change, yet a failed read after each poll: each failure notifies again.
    await waitFor(() => reads.filter((read) => read instanceof ObjectStoreError).length >= 3, {
      what: "three failed reads",
    });
    failGets = false;
    await waitFor(() => reads.at(-1) === flagFile("a", "c", true), { what: "a read of the change" });
  });
});
