/**
 * Issue 19's scenarios, through a real `pennant server` process per provider, against a real server that speaks the
 * provider's protocol: S3 (s3rver, in-process), Azure Blob Storage (Azurite, Microsoft's emulator, behind the
 * helper's counting proxy) and Google Cloud Storage (the GCS JSON API stand-in, driven by the real client). One
 * scenario table runs for each, through a small fixture per provider (store, bucket, objects, request counts,
 * the server's environment), so the three get the same checks:
 *
 *  1. default discovery: features files in nested "directories" and a multi-document file under the root (a prefix
 *     `flags/` for S3 and GCS, an environment `directory` for Azure, which has no prefix), served and evaluated over
 *     REST (boolean and variant); objects outside the root, and files no default pattern names, are not. GCS runs
 *     from Flipt v1's variables (`FLIPT_STORAGE_TYPE=object`, `FLIPT_STORAGE_OBJECT_*`), S3 and Azure from the v2
 *     shape (`FLIPT_STORAGE_DEFAULT_BACKEND_TYPE=s3 | azblob`), so both shapes are covered end to end;
 *  2. a `.flipt.yml` index at the root, with include and exclude, changes what is served (and which rule `/meta/status`
 *     names for each file); removing it brings the default patterns back;
 *  3. a changed object is served after a poll (`poll_interval: 1s`); with the v2 shape (S3, Azure), a second storage
 *     polled hourly serves a change at once on a signed `POST /api/v2/environments/hooked/sync`, and not before;
 *  4. a broken object (invalid YAML, then a flag naming a missing segment) keeps the last good state served, with the
 *     object's key below the root and the line in `/meta/status`; fixing it recovers;
 *  5. a deleted object: its flags and namespace are gone, the others stay;
 *  6. polls with no change make listings only (counted at the store over three polls), no download; a change of
 *     one object downloads that object once, and the next poll downloads nothing again;
 *  7. refused credentials at start (S3: an access key id s3rver does not know; Azure: a wrong account key; GCS: a
 *     credentials file whose token exchange the stand-in refuses): exit 1, `could not start:` naming the bucket and
 *     the provider's reason, and the secret in neither stdout nor stderr;
 *  8. a missing bucket (container) at start: exit 1, naming it and the provider's reason;
 *  9. writes through the environments API are refused as for read-only git storage (FailedPrecondition, HTTP 400,
 *     `storage default is read-only`), and `/meta/info` says `readOnly: true`;
 * 10. the store stopped while the server runs: evaluations keep answering from the last good state, `/meta/status`
 *     shows the listing error naming the bucket, and once the store is back the error clears on its own.
 * At the end no credential appears in anything the serving process wrote.
 *
 * Not testable here: s3rver checks no signature (only its one access key id, so a wrong secret cannot be refused),
 * and Flipt v1's variables have no `webhook_secret`, so GCS (the v1 provider here) has no webhook check.
 *
 * Cost: per provider one long-lived `pennant` process (scenarios 1-6, 9, 10) and two short-lived ones that fail to
 * start (7, 8), run one after the other while scenarios 1-5 mostly wait for polls (each start costs about 3 s of
 * CPU, so they are kept apart); Azurite started once and restarted once. The three providers run concurrently: about
 * 30-40 s in all on 2 cores, most of it process starts and 1 s polls. Timings are printed as diagnostics only.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAzurite } from "../helpers/azurite-server.js";
import { GcsJsonApiStandIn } from "../helpers/gcs-json-api-stand-in.js";
import { restJson, writeResource } from "../helpers/rest-json.js";
import { S3RVER_ACCESS_KEY_ID, startS3Server } from "../helpers/s3-server.js";
import {
  type PennantProcess,
  type PennantRun,
  runPennant,
  startPennantProcess,
} from "../helpers/start-pennant-process.js";
import { waitFor, within } from "../helpers/wait-for.js";

/** The bucket (container) every provider serves from, and one that does not exist. */
const BUCKET = "pennant-flags";
const MISSING_BUCKET = "no-such-bucket";
/** The root the default environment reads: a prefix `flags/` (S3, GCS) or a directory `flags` (Azure). */
const ROOT = "flags";
/** The root of the hooked environment (v2 shape only): its own storage, polled hourly, synced by webhook. */
const HOOKED_ROOT = "hooked";
const WEBHOOK_SECRET = `hook-${randomBytes(12).toString("hex")}`;
/** How long a change may take to be served, or an error to show, before the test fails: several 1 s polls. */
const POLL_DEADLINE_MS = 15_000;
/** How many polls with no change are counted. */
const IDLE_POLLS = 3;
/** How long a pennant process may take to serve, or to fail to start: seconds of CPU each, on a loaded machine. */
const START_DEADLINE_MS = 60_000;

/** What the store received from Pennant since the last reset. */
interface StoreRequests {
  readonly listings: number;
  /** One entry per download: the object's key where the store records it, else `?`. */
  readonly downloads: readonly string[];
  /** Anything else (a HEAD, a metadata call, a bucket call). */
  readonly other: readonly string[];
}

interface ServerOptions {
  readonly bucket: string;
  readonly pollInterval: string;
  /** With the v2 shape: add the storage and environment `hooked`, reading `hooked/`, polled hourly, with this secret. */
  readonly webhookSecret?: string;
}

/** One provider's store, as the scenario table uses it. */
interface ObjectStoreFixture {
  readonly provider: "s3" | "azblob" | "googlecloud";
  readonly shape: "v1" | "v2";
  /** Whether `StoreRequests.downloads` names keys. */
  readonly recordsKeys: boolean;
  /** How the provider's errors name a bucket: `s3 bucket "x"`, `azure blob container "x"`, `gcs bucket "x"`. */
  named(bucket: string): string;
  /** The provider's reasons for refused credentials and for a missing bucket, as the start failure names them. */
  readonly deniedReason: RegExp;
  readonly missingReason: RegExp;
  createBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  requests(): StoreRequests;
  resetRequests(): void;
  /** Stops the store (connections refused) and starts it again, on the same port, with its objects. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  dispose(): Promise<void>;
  /** The environment of a `pennant server` whose environment `default` reads `ROOT` of `bucket`. */
  serverEnv(options: ServerOptions): Record<string, string>;
  /** The same with credentials the store refuses (files written into `dir`), and the secrets that must not leak. */
  refusedCredentials(dir: string): Promise<{ env: Record<string, string>; secrets: string[] }>;
  /** Credentials that must never appear in what a process writes. */
  readonly secrets: readonly string[];
}

async function s3Fixture(): Promise<ObjectStoreFixture> {
  const s3 = await startS3Server();
  // s3rver checks the access key id alone, never the signature: a secret of the test's own is as good as its
  // documented one (which is also its public access key id), and can be looked for in what the server wrote.
  const secret = `s3-secret-${randomBytes(16).toString("hex")}`;
  const v2 = ({ bucket, pollInterval, webhookSecret }: ServerOptions): Record<string, string> => ({
    AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: secret,
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "s3",
    FLIPT_STORAGE_DEFAULT_BACKEND_BUCKET: bucket,
    FLIPT_STORAGE_DEFAULT_BACKEND_PREFIX: `${ROOT}/`,
    FLIPT_STORAGE_DEFAULT_BACKEND_ENDPOINT: s3.endpoint,
    FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: pollInterval,
    ...(webhookSecret === undefined
      ? {}
      : {
          FLIPT_STORAGE_HOOKED_BACKEND_TYPE: "s3",
          FLIPT_STORAGE_HOOKED_BACKEND_BUCKET: bucket,
          FLIPT_STORAGE_HOOKED_BACKEND_PREFIX: `${HOOKED_ROOT}/`,
          FLIPT_STORAGE_HOOKED_BACKEND_ENDPOINT: s3.endpoint,
          FLIPT_STORAGE_HOOKED_POLL_INTERVAL: "1h",
          FLIPT_STORAGE_HOOKED_WEBHOOK_SECRET: webhookSecret,
          FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "default",
          FLIPT_ENVIRONMENTS_DEFAULT_DEFAULT: "true",
          FLIPT_ENVIRONMENTS_HOOKED_STORAGE: "hooked",
        }),
  });
  return {
    provider: "s3",
    shape: "v2",
    recordsKeys: true,
    named: (bucket) => `s3 bucket "${bucket}"`,
    // s3rver knows one access key id and checks no signature: an unknown id is the only refusal it makes.
    deniedReason: /InvalidAccessKeyId/,
    missingReason: /NoSuchBucket/,
    createBucket: (bucket) => s3.createBucket(bucket),
    put: (bucket, key, body) => s3.put(bucket, key, body),
    remove: (bucket, key) => s3.remove(bucket, key),
    requests() {
      const all = s3.requests();
      return {
        listings: all.filter((request) => request.kind === "list").length,
        downloads: all.filter((request) => request.kind === "get").map((request) => request.key ?? "?"),
        other: all
          .filter((request) => request.kind !== "list" && request.kind !== "get")
          .map((request) => `${request.method} ${request.kind} ${request.key ?? ""}`),
      };
    },
    resetRequests: () => s3.resetRequests(),
    stop: () => s3.stop(),
    restart: () => s3.start(),
    dispose: () => s3.close(),
    serverEnv: v2,
    async refusedCredentials() {
      const wrongSecret = `wrong-secret-${randomBytes(16).toString("hex")}`;
      return {
        env: {
          ...v2({ bucket: BUCKET, pollInterval: "1s" }),
          AWS_ACCESS_KEY_ID: "AKIAPENNANTUNKNOWN00",
          AWS_SECRET_ACCESS_KEY: wrongSecret,
        },
        secrets: [wrongSecret],
      };
    },
    secrets: [secret],
  };
}

async function azureFixture(): Promise<ObjectStoreFixture> {
  const azurite = await startAzurite();
  const credentials = { AZURE_STORAGE_ACCOUNT: azurite.account, AZURE_STORAGE_KEY: azurite.accountKey };
  const v2 = ({ bucket, pollInterval, webhookSecret }: ServerOptions): Record<string, string> => ({
    ...credentials,
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "azblob",
    FLIPT_STORAGE_DEFAULT_BACKEND_CONTAINER: bucket,
    FLIPT_STORAGE_DEFAULT_BACKEND_ENDPOINT: azurite.endpoint,
    FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: pollInterval,
    // Azure Blob has no prefix: the environment's directory is the root.
    FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "default",
    FLIPT_ENVIRONMENTS_DEFAULT_DIRECTORY: ROOT,
    FLIPT_ENVIRONMENTS_DEFAULT_DEFAULT: "true",
    ...(webhookSecret === undefined
      ? {}
      : {
          FLIPT_STORAGE_HOOKED_BACKEND_TYPE: "azblob",
          FLIPT_STORAGE_HOOKED_BACKEND_CONTAINER: bucket,
          FLIPT_STORAGE_HOOKED_BACKEND_ENDPOINT: azurite.endpoint,
          FLIPT_STORAGE_HOOKED_POLL_INTERVAL: "1h",
          FLIPT_STORAGE_HOOKED_WEBHOOK_SECRET: webhookSecret,
          FLIPT_ENVIRONMENTS_HOOKED_STORAGE: "hooked",
          FLIPT_ENVIRONMENTS_HOOKED_DIRECTORY: HOOKED_ROOT,
        }),
  });
  /** The blob key of a request's path `/<account>/<container>/<key>`, or undefined for a container request. */
  const blobKey = (path: string) => {
    const [, , , ...key] = path.split("/");
    return key.length === 0 ? undefined : decodeURIComponent(key.join("/"));
  };
  return {
    provider: "azblob",
    shape: "v2",
    recordsKeys: true,
    named: (container) => `azure blob container "${container}"`,
    deniedReason: /AuthorizationFailure/,
    missingReason: /ContainerNotFound/,
    createBucket: (container) => azurite.createContainer(container),
    async put(container, key, body) {
      await azurite.putBlob(container, key, body);
    },
    remove: (container, key) => azurite.deleteBlob(container, key),
    requests() {
      const all = azurite.requests;
      const isListing = (query: string) => /(^|&)comp=list(&|$)/.test(query);
      return {
        listings: all.filter((request) => isListing(request.query)).length,
        downloads: all
          .filter((request) => request.method === "GET" && !isListing(request.query))
          .map((request) => blobKey(request.path) ?? "?"),
        other: all
          .filter((request) => request.method !== "GET")
          .map((request) => `${request.method} ${request.path}?${request.query}`),
      };
    },
    resetRequests: () => azurite.resetRequests(),
    stop: () => azurite.stop(),
    restart: () => azurite.start(),
    dispose: () => azurite.dispose(),
    serverEnv: v2,
    async refusedCredentials() {
      const key = randomBytes(64).toString("base64");
      return {
        env: { ...v2({ bucket: BUCKET, pollInterval: "1s" }), AZURE_STORAGE_KEY: key },
        secrets: [key],
      };
    },
    secrets: [azurite.accountKey],
  };
}

async function gcsFixture(): Promise<ObjectStoreFixture> {
  const standIn = await GcsJsonApiStandIn.start();
  const settings = standIn.processSettings();
  const storageKinds = ["bucket", "list", "metadata", "media"] as const;
  // Flipt v1's variables alone: one storage, one environment `default`, no webhook.
  const v1 = ({ bucket, pollInterval }: ServerOptions): Record<string, string> => ({
    ...settings.v1Env(bucket, `${ROOT}/`),
    FLIPT_STORAGE_OBJECT_GOOGLECLOUD_POLL_INTERVAL: pollInterval,
  });
  return {
    provider: "googlecloud",
    shape: "v1",
    // The stand-in counts requests by kind only.
    recordsKeys: false,
    named: (bucket) => `gcs bucket "${bucket}"`,
    deniedReason: /invalid_grant/,
    missingReason: /notFound|does not exist/,
    async createBucket(bucket) {
      standIn.createBucket(bucket);
    },
    async put(bucket, key, body) {
      standIn.putObject(bucket, key, body);
    },
    async remove(bucket, key) {
      standIn.deleteObject(bucket, key);
    },
    requests() {
      return {
        listings: standIn.count("list"),
        downloads: Array.from({ length: standIn.count("media") }, () => "?"),
        other: storageKinds
          .filter((kind) => kind !== "list" && kind !== "media")
          .flatMap((kind) => Array.from({ length: standIn.count(kind) }, () => kind)),
      };
    },
    resetRequests: () => standIn.resetCounts(),
    stop: () => standIn.stop(),
    restart: () => standIn.start(),
    dispose: () => standIn.stop(),
    serverEnv: v1,
    async refusedCredentials(dir) {
      const { STORAGE_EMULATOR_HOST: _emulator, ...withoutEmulator } = v1({
        bucket: BUCKET,
        pollInterval: "1s",
      });
      const refused = await settings.refusedCredentialsEnv(dir);
      // The subject token the credentials file points at is the secret.
      const file = JSON.parse(await readFile(refused.GOOGLE_APPLICATION_CREDENTIALS as string, "utf8")) as {
        credential_source: { file: string };
      };
      const token = await readFile(file.credential_source.file, "utf8");
      return { env: { ...withoutEmulator, ...refused }, secrets: [token] };
    },
    secrets: [],
  };
}

const PROVIDERS: readonly { readonly name: string; readonly open: () => Promise<ObjectStoreFixture> }[] = [
  { name: "S3 (s3rver)", open: s3Fixture },
  { name: "Azure Blob Storage (Azurite)", open: azureFixture },
  { name: "Google Cloud Storage (JSON API stand-in)", open: gcsFixture },
];

// --- flag files ---

function booleanFlags(flags: Readonly<Record<string, boolean>>): string {
  return Object.entries(flags)
    .map(
      ([key, enabled]) =>
        `  - key: ${key}\n    name: ${key}\n    type: BOOLEAN_FLAG_TYPE\n    enabled: ${enabled}\n`,
    )
    .join("");
}

function booleanFile(namespace: string, flags: Readonly<Record<string, boolean>>): string {
  return `version: "1.4"\nnamespace: ${namespace}\nflags:\n${booleanFlags(flags)}`;
}

/** `features.yml` at the root: a boolean flag and a variant flag whose one rule serves `color` to everyone. */
function rootFile(base: boolean, color: "blue" | "green"): string {
  return [
    'version: "1.4"',
    "namespace: default",
    "flags:",
    booleanFlags({ base }).trimEnd(),
    "  - key: color",
    "    name: color",
    "    type: VARIANT_FLAG_TYPE",
    "    enabled: true",
    "    variants:",
    "      - key: blue",
    "      - key: green",
    "    rules:",
    "      - segment: everyone",
    "        distributions:",
    `          - variant: ${color}`,
    "            rollout: 100",
    "segments:",
    "  - key: everyone",
    "    name: everyone",
    "    match_type: ALL_MATCH_TYPE",
    "",
  ].join("\n");
}

/** `team/a/features.yml`: two documents, namespaces `team` and `ops`. */
function teamFile(alpha: boolean): string {
  return `${booleanFile("team", { alpha })}---\n${booleanFile("ops", { pager: true })}`;
}

const TEAM_KEY = `${ROOT}/team/a/features.yml`;
/** Invalid YAML: the flow sequence is never closed. Line 6 is where the parser gives up. */
const TEAM_INVALID_YAML = 'version: "1.4"\nnamespace: team\nflags:\n  - key: alpha\n    name: [unclosed\n';
/** Valid YAML, but `alpha` rolls out to a segment no document defines: line 10 names it. */
const TEAM_MISSING_SEGMENT = [
  'version: "1.4"',
  "namespace: team",
  "flags:",
  "  - key: alpha",
  "    name: alpha",
  "    type: BOOLEAN_FLAG_TYPE",
  "    enabled: true",
  "    rollouts:",
  "      - segment:",
  "          key: nobody",
  "          value: false",
  "",
].join("\n");

/** `flags/.flipt.yml`: the root file and `notes/*.yml` (no default pattern names it), not `team/a`. */
const INDEX = [
  'version: "1.0"',
  "include:",
  '  - "features.yml"',
  '  - "notes/*.yml"',
  '  - "team/*/*.yml"',
  "exclude:",
  '  - "team/a/*"',
  "",
].join("\n");

/** The objects of the bucket at the start. */
function initialObjects(): Record<string, string> {
  return {
    [`${ROOT}/features.yml`]: rootFile(true, "blue"),
    [TEAM_KEY]: teamFile(true),
    [`${ROOT}/team/b/deep.features.yaml`]: booleanFile("deep", { deep: true }),
    // No default pattern names it; the index includes it.
    [`${ROOT}/notes/extra.yml`]: booleanFile("notes", { noted: true }),
    // Outside the root: never served.
    "elsewhere/features.yml": booleanFile("default", { outside: true }),
    [`${ROOT}-old/features.yml`]: booleanFile("default", { old: true }),
    // An index outside the root that would select nothing if it were read.
    ".flipt.yml": 'version: "1.0"\ninclude:\n  - "nothing-at-all"\n',
    [`${HOOKED_ROOT}/features.yml`]: booleanFile("default", { hooked: false }),
  };
}

// --- calls to the server ---

type Served<T> = T | "not found";

async function evaluate(
  server: PennantProcess,
  kind: "boolean" | "variant",
  namespaceKey: string,
  flagKey: string,
  environment?: string,
): Promise<Served<Record<string, unknown>>> {
  const response = await fetch(`${server.httpUrl}/evaluate/v1/${kind}`, {
    method: "POST",
    headers: environment === undefined ? {} : { "x-flipt-environment": environment },
    body: JSON.stringify({ namespaceKey, flagKey, entityId: "entity-1", context: {} }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status === 404) return "not found";
  assert.equal(response.status, 200, `${kind} ${namespaceKey}/${flagKey}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function enabled(
  server: PennantProcess,
  namespaceKey: string,
  flagKey: string,
  environment?: string,
): Promise<Served<boolean>> {
  const answer = await evaluate(server, "boolean", namespaceKey, flagKey, environment);
  return answer === "not found" ? answer : (answer.enabled as boolean);
}

async function variant(server: PennantProcess, flagKey: string): Promise<Served<string>> {
  const answer = await evaluate(server, "variant", "default", flagKey);
  if (answer === "not found") return answer;
  assert.equal(answer.match, true, JSON.stringify(answer));
  return answer.variantKey as string;
}

interface Issue {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

interface EnvironmentStatus {
  readonly key: string;
  readonly revision: string;
  readonly files: readonly { readonly path: string; readonly rule: string }[];
  readonly lastError?: { readonly message: string; readonly issues?: readonly Issue[] };
}

async function status(server: PennantProcess, environment = "default"): Promise<EnvironmentStatus> {
  const answer = await restJson(server, "GET", "/meta/status");
  assert.equal(answer.status, 200);
  const found = (answer.body.environments as EnvironmentStatus[]).find((entry) => entry.key === environment);
  assert.ok(found, `environment ${environment} in /meta/status: ${JSON.stringify(answer.body)}`);
  return found;
}

/** Waits until `probe` gives `expected` (deep-equal), through polls; resolves with the time it took. */
async function served<T>(probe: () => Promise<T>, expected: T, what: string): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      const value = await probe();
      assert.deepEqual(value, expected);
      return true;
    },
    { deadlineMs: POLL_DEADLINE_MS, intervalMs: 25, what },
  );
  return Date.now() - started;
}

/** The objects served: `enabled` (or the variant) of every flag the scenarios look at. */
async function servedFlags(server: PennantProcess): Promise<Record<string, Served<boolean | string>>> {
  const [base, color, alpha, pager, deep, noted, outside, old] = await Promise.all([
    enabled(server, "default", "base"),
    variant(server, "color"),
    enabled(server, "team", "alpha"),
    enabled(server, "ops", "pager"),
    enabled(server, "deep", "deep"),
    enabled(server, "notes", "noted"),
    enabled(server, "default", "outside"),
    enabled(server, "default", "old"),
  ]);
  return { base, color, alpha, pager, deep, noted, outside, old };
}

/** The flags of the initial objects under default discovery. */
const INITIAL_FLAGS = {
  base: true,
  color: "blue",
  alpha: true,
  pager: true,
  deep: true,
  noted: "not found",
  outside: "not found",
  old: "not found",
} as const;

/** The JSON log line of a process that failed to start: `could not start...`, at FATAL. */
function fatalLine(run: PennantRun): string {
  for (const line of run.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const parsed = JSON.parse(line) as { L?: string; M?: string };
    if (parsed.L === "FATAL") return parsed.M ?? "";
  }
  assert.fail(`no FATAL line:\n${run.stdout}\n${run.stderr}`);
}

const SERVER_DEFAULTS = {
  FLIPT_SERVER_HOST: "127.0.0.1",
  FLIPT_SERVER_HTTP_PORT: "0",
  FLIPT_SERVER_GRPC_PORT: "0",
  FLIPT_LOG_ENCODING: "json",
  FLIPT_LOG_LEVEL: "info",
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("object storage through a pennant server process, per provider", { concurrency: true }, () => {
  for (const { name, open } of PROVIDERS) {
    describe(name, { concurrency: 1, timeout: 120_000 }, () => {
      let store: ObjectStoreFixture;
      let server: PennantProcess;
      let dir: string;
      /** Start-up timings, printed by the first scenario. */
      let startup = "";
      /** The two processes that must fail to start (7, 8), run one after the other while 1-5 run. */
      let startFailures: Promise<{ refused: PennantRun; secrets: string[]; missing: PennantRun; ms: number }>;

      before(async () => {
        const started = Date.now();
        dir = await mkdtemp(join(tmpdir(), "pennant-object-storage-"));
        store = await open();
        const storeMs = Date.now() - started;
        await store.createBucket(BUCKET);
        for (const [key, body] of Object.entries(initialObjects())) await store.put(BUCKET, key, body);
        const serverStarted = Date.now();
        server = await startPennantProcess(
          store.serverEnv({
            bucket: BUCKET,
            pollInterval: "1s",
            ...(store.shape === "v2" ? { webhookSecret: WEBHOOK_SECRET } : {}),
          }),
          { deadlineMs: START_DEADLINE_MS },
        );
        startup = `store started in ${storeMs} ms, pennant in ${Date.now() - serverStarted} ms`;
        // Each pennant start costs seconds of CPU: these run while the scenarios mostly wait for polls.
        startFailures = (async () => {
          const failuresStarted = Date.now();
          const { env, secrets } = await store.refusedCredentials(dir);
          const refused = await runPennant(
            ["server"],
            { ...SERVER_DEFAULTS, ...env },
            { deadlineMs: START_DEADLINE_MS },
          );
          const missing = await runPennant(
            ["server"],
            { ...SERVER_DEFAULTS, ...store.serverEnv({ bucket: MISSING_BUCKET, pollInterval: "1s" }) },
            { deadlineMs: START_DEADLINE_MS },
          );
          return { refused, secrets, missing, ms: Date.now() - failuresStarted };
        })();
        // Awaited by the scenarios; a failure here must not be an unhandled rejection meanwhile.
        startFailures.catch(() => {});
      });

      after(async () => {
        if (server !== undefined) {
          server.signal("SIGTERM");
          const exit = await within(server.exited, 10_000, "exit on SIGTERM").catch(() => undefined);
          if (exit === undefined) await server.killHard();
        }
        await startFailures?.catch(() => {});
        await store?.dispose();
        if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      });

      it("1. serves the default discovery's files under the root, a multi-document file included", async (t) => {
        t.diagnostic(`config shape ${store.shape}; ${startup}`);
        assert.deepEqual(await servedFlags(server), INITIAL_FLAGS);
        const environment = await status(server);
        assert.equal(environment.lastError, undefined, JSON.stringify(environment.lastError));
        assert.deepEqual(
          environment.files.map((file) => [file.path, file.rule]),
          [
            ["features.yml", "**/features.yml"],
            ["team/a/features.yml", "**/features.yml"],
            ["team/b/deep.features.yaml", "**/*.features.yaml"],
          ],
        );
      });

      it("2. follows a .flipt.yml index at the root, with include and exclude, and the defaults once it is gone", async (t) => {
        await store.put(BUCKET, `${ROOT}/.flipt.yml`, INDEX);
        const indexMs = await served(
          () => servedFlags(server),
          { ...INITIAL_FLAGS, alpha: "not found", pager: "not found", deep: "not found", noted: true },
          "the index's selection served",
        );
        assert.deepEqual(
          (await status(server)).files.map((file) => [file.path, file.rule]),
          [
            ["features.yml", '.flipt.yml include "features.yml"'],
            ["notes/extra.yml", '.flipt.yml include "notes/*.yml"'],
          ],
        );
        await store.remove(BUCKET, `${ROOT}/.flipt.yml`);
        const defaultsMs = await served(
          () => servedFlags(server),
          INITIAL_FLAGS,
          "the defaults served again",
        );
        t.diagnostic(`index served after ${indexMs} ms, its removal after ${defaultsMs} ms`);
      });

      it("3. serves a changed object after a poll, and (v2) a change synced by webhook at once", async (t) => {
        await store.put(BUCKET, `${ROOT}/features.yml`, rootFile(false, "green"));
        const pollMs = await served(
          async () => [await enabled(server, "default", "base"), await variant(server, "color")],
          [false, "green"],
          "the changed object served",
        );
        t.diagnostic(`change served after ${pollMs} ms (poll_interval 1s)`);
        if (store.shape === "v1") {
          t.diagnostic("Flipt v1's variables have no webhook_secret: no webhook check for this provider");
          return;
        }
        // The hooked storage is polled hourly: it listed once, at start.
        assert.equal(await enabled(server, "default", "hooked", "hooked"), false);
        await store.put(BUCKET, `${HOOKED_ROOT}/features.yml`, booleanFile("default", { hooked: true }));
        assert.equal(
          await enabled(server, "default", "hooked", "hooked"),
          false,
          "not served before the sync",
        );
        const body = JSON.stringify({ ref: "refs/heads/main" });
        const unsigned = await fetch(`${server.httpUrl}/api/v2/environments/hooked/sync`, {
          method: "POST",
          body,
        });
        assert.equal(unsigned.status, 401);
        const syncStarted = Date.now();
        const synced = await fetch(`${server.httpUrl}/api/v2/environments/hooked/sync`, {
          method: "POST",
          headers: {
            "x-hub-signature-256": `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`,
          },
          body,
        });
        const syncMs = Date.now() - syncStarted;
        assert.equal(synced.status, 200, await synced.text());
        assert.equal(
          await enabled(server, "default", "hooked", "hooked"),
          true,
          "served once the sync answered",
        );
        // The other environment is untouched.
        assert.equal(await enabled(server, "default", "hooked"), "not found");
        t.diagnostic(`webhook sync answered in ${syncMs} ms`);
      });

      it("4. keeps the last good state while an object is broken, naming its key and line, and recovers", async (t) => {
        const before = await servedFlags(server);
        const { revision } = await status(server);
        const broken = async (matches: (issue: Issue) => boolean, what: string) =>
          waitFor(
            async () => {
              const environment = await status(server);
              return environment.lastError?.issues?.some(matches) === true ? environment : undefined;
            },
            { deadlineMs: POLL_DEADLINE_MS, intervalMs: 25, what },
          );

        await store.put(BUCKET, TEAM_KEY, TEAM_INVALID_YAML);
        const yamlError = await broken(
          (issue) => issue.file === "team/a/features.yml" && issue.line === 6 && /YAML/i.test(issue.message),
          "the invalid YAML in /meta/status",
        );
        assert.match(yamlError.lastError?.message ?? "", /team\/a\/features\.yml:6/);
        assert.equal(yamlError.revision, revision);
        assert.deepEqual(await servedFlags(server), before, "the last good state is served");

        await store.put(BUCKET, TEAM_KEY, TEAM_MISSING_SEGMENT);
        const segmentError = await broken(
          (issue) =>
            issue.file === "team/a/features.yml" && issue.line === 10 && /nobody/.test(issue.message),
          "the missing segment in /meta/status",
        );
        assert.equal(segmentError.revision, revision);
        assert.deepEqual(await servedFlags(server), before, "the last good state is served");

        const fixStarted = Date.now();
        await store.put(BUCKET, TEAM_KEY, teamFile(false));
        await served(() => servedFlags(server), { ...before, alpha: false }, "the fixed object served");
        await waitFor(async () => (await status(server)).lastError === undefined, {
          deadlineMs: POLL_DEADLINE_MS,
          what: "the error cleared",
        });
        t.diagnostic(`fix served after ${Date.now() - fixStarted} ms`);
      });

      it("5. drops the flags of a deleted object", async () => {
        const before = await servedFlags(server);
        assert.equal(before.deep, true);
        await store.remove(BUCKET, `${ROOT}/team/b/deep.features.yaml`);
        await served(
          () => servedFlags(server),
          { ...before, deep: "not found" },
          "the deleted object's flags gone",
        );
        assert.deepEqual(
          (await status(server)).files.map((file) => file.path),
          ["features.yml", "team/a/features.yml"],
        );
      });

      it("6. lists on every poll without downloading while nothing changes, and downloads a changed object once", async (t) => {
        // The failing starts list the same store: they must be over before requests are counted.
        await startFailures;
        store.resetRequests();
        const idleStarted = Date.now();
        await waitFor(() => store.requests().listings >= IDLE_POLLS, {
          deadlineMs: POLL_DEADLINE_MS,
          intervalMs: 25,
          what: `${IDLE_POLLS} idle polls`,
        });
        const idle = store.requests();
        t.diagnostic(`${idle.listings} listings in ${Date.now() - idleStarted} ms`);
        assert.deepEqual(idle.downloads, [], "no download on a poll that finds no change");
        assert.deepEqual(idle.other, [], "nothing but listings");

        store.resetRequests();
        await store.put(BUCKET, `${ROOT}/features.yml`, rootFile(true, "green"));
        await served(() => enabled(server, "default", "base"), true, "the changed object served");
        const changed = store.requests();
        assert.deepEqual(
          changed.downloads,
          [store.recordsKeys ? `${ROOT}/features.yml` : "?"],
          "the changed object alone is downloaded",
        );
        // The next poll finds nothing new: no download again.
        const listed = changed.listings;
        await waitFor(() => store.requests().listings > listed, {
          deadlineMs: POLL_DEADLINE_MS,
          intervalMs: 25,
          what: "the poll after the change",
        });
        assert.equal(store.requests().downloads.length, 1, "no download after the change was served");
        assert.deepEqual(store.requests().other, []);
      });

      it("7. refuses to start with credentials the store refuses, naming the bucket and the reason, never the secret", async (t) => {
        const { refused: refusedRun, secrets: refusedSecrets, ms } = await startFailures;
        t.diagnostic(`the two failed starts (7, 8) took ${ms} ms, one after the other`);
        assert.equal(refusedRun.code, 1, `${refusedRun.stdout}\n${refusedRun.stderr}`);
        const message = fatalLine(refusedRun);
        t.diagnostic(message);
        assert.match(message, new RegExp(`^could not start: ${escapeRegExp(store.named(BUCKET))}`));
        assert.match(message, store.deniedReason);
        const output = refusedRun.stdout + refusedRun.stderr;
        assert.ok(refusedSecrets.length > 0);
        for (const secret of refusedSecrets) assert.ok(!output.includes(secret), "the secret is not written");
        assert.ok(!output.includes("pennant is serving"));
      });

      it("8. refuses to start on a missing bucket, naming it and the reason", async (t) => {
        const { missing: missingRun } = await startFailures;
        assert.equal(missingRun.code, 1, `${missingRun.stdout}\n${missingRun.stderr}`);
        const message = fatalLine(missingRun);
        t.diagnostic(message);
        assert.match(message, new RegExp(`^could not start: ${escapeRegExp(store.named(MISSING_BUCKET))}`));
        assert.match(message, store.missingReason);
      });

      it("9. refuses writes as read-only git storage does, and /meta/info says read-only", async () => {
        const created = await writeResource(server, "POST", {
          "@type": "flipt.core.Flag",
          key: "written",
          name: "written",
          type: "BOOLEAN_FLAG_TYPE",
        });
        assert.equal(created.status, 400, JSON.stringify(created.body));
        assert.deepEqual(created.body, { code: 9, message: "storage default is read-only", details: [] });
        const updated = await writeResource(server, "PUT", {
          "@type": "flipt.core.Flag",
          key: "base",
          name: "base",
          type: "BOOLEAN_FLAG_TYPE",
          enabled: false,
        });
        assert.equal(updated.status, 400, JSON.stringify(updated.body));
        assert.equal(updated.body.message, "storage default is read-only");
        assert.equal(await enabled(server, "default", "written"), "not found");
        assert.equal(await enabled(server, "default", "base"), true);
        const info = await restJson(server, "GET", "/meta/info");
        assert.equal(info.body.readOnly, true);
      });

      it("10. keeps serving while the store is down, shows the error, and clears it once the store is back", async (t) => {
        const before = await servedFlags(server);
        const revision = (await status(server)).revision;
        const stopStarted = Date.now();
        await store.stop();
        const down = await waitFor(
          async () => {
            const environment = await status(server);
            return environment.lastError?.message.includes(store.named(BUCKET)) === true
              ? environment
              : undefined;
          },
          { deadlineMs: POLL_DEADLINE_MS, intervalMs: 25, what: "the listing error in /meta/status" },
        );
        const shownMs = Date.now() - stopStarted;
        assert.equal(down.revision, revision, "the last good revision is served");
        for (let round = 0; round < 3; round++) {
          assert.deepEqual(await servedFlags(server), before, "evaluations answer from the last good state");
        }
        const restartStarted = Date.now();
        await store.restart();
        const restartMs = Date.now() - restartStarted;
        await waitFor(async () => (await status(server)).lastError === undefined, {
          deadlineMs: POLL_DEADLINE_MS,
          intervalMs: 25,
          what: "the error cleared after the restart",
        });
        t.diagnostic(
          `error shown ${shownMs} ms after the stop (${down.lastError?.message}); store restarted in ${restartMs} ms, ` +
            `error cleared ${Date.now() - restartStarted} ms after the restart began`,
        );
        assert.deepEqual(await servedFlags(server), before);
        assert.equal((await status(server)).revision, revision);
      });

      it("never writes a credential, and is still running", async () => {
        const exit = await Promise.race([server.exited, Promise.resolve("running" as const)]);
        assert.equal(exit, "running");
        const output = server.output();
        for (const secret of store.secrets) assert.ok(!output.includes(secret), "a credential in the output");
        assert.ok(!output.includes(WEBHOOK_SECRET), "the webhook secret in the output");
      });
    });
  }
});
