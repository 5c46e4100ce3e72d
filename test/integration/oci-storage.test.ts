/**
 * Issue 20, end to end: a real `pennant server` process serving a Flipt bundle from the local bundles directory.
 *
 * 1. Flipt v1's variables alone (`FLIPT_STORAGE_TYPE=oci`, `FLIPT_STORAGE_OCI_*`, `poll_interval: 1s`): a bundle
 *    built from files (`buildBundle`) and stored under `flags:v1` is served and evaluated over REST; `/meta/info`
 *    says `readOnly: true`; the tag moved to a bundle of other files is served after a poll.
 * 2. The v2 shape with a tag that is not there: exit 1, `could not start:` naming the reference.
 *
 * Registry scenarios (basic auth, bad layers, request counts) run in src/storage/oci/oci-source.test.ts against a
 * real docker-registry. Cost: one long-lived process and one that fails to start, about 5-10 s.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildBundle } from "../../src/storage/oci/build-bundle.js";
import { createLocalBundleStore, type LocalBundleStore } from "../../src/storage/oci/local-bundle-store.js";
import { flagFile } from "../helpers/outside-remote.js";
import { restJson } from "../helpers/rest-json.js";
import { type PennantProcess, runPennant, startPennantProcess } from "../helpers/start-pennant-process.js";
import { waitFor } from "../helpers/wait-for.js";

const START_DEADLINE_MS = 60_000;
const POLL_DEADLINE_MS = 15_000;

let root: string;
let store: LocalBundleStore;

/** Builds a bundle of `files` and tags it `tag` in the local repository `flags`. */
async function storeBundle(tag: string, files: Record<string, string>): Promise<void> {
  const directory = await mkdtemp(join(root, "files-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(directory, path)), { recursive: true });
    await writeFile(join(directory, path), text);
  }
  await store.putBundle("flags", await buildBundle({ directory }), tag);
}

async function enabled(server: PennantProcess, namespaceKey: string, flagKey: string) {
  const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
    method: "POST",
    body: JSON.stringify({ namespaceKey, flagKey, entityId: "entity-1", context: {} }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status === 404) return "not found";
  assert.equal(response.status, 200, text);
  return (JSON.parse(text) as { enabled: boolean }).enabled;
}

describe("pennant server over an OCI bundle (local bundles directory)", () => {
  let server: PennantProcess | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-oci-e2e-"));
    store = createLocalBundleStore({ directory: join(root, "bundles") });
  });
  after(async () => {
    if (server !== undefined) {
      server.signal("SIGTERM");
      await server.exited;
    }
    await rm(root, { recursive: true, force: true });
  });

  it("serves and evaluates flipt://local/flags:v1 from Flipt v1's variables, read-only, and follows the tag", async () => {
    await storeBundle("v1", {
      "features.yml": flagFile("default", "checkout", true),
      "team/features.yml": flagFile("team", "dark-mode", false),
    });
    server = await startPennantProcess(
      {
        FLIPT_STORAGE_TYPE: "oci",
        FLIPT_STORAGE_OCI_REPOSITORY: "flags:v1",
        FLIPT_STORAGE_OCI_BUNDLES_DIRECTORY: join(root, "bundles"),
        FLIPT_STORAGE_OCI_POLL_INTERVAL: "1s",
      },
      { deadlineMs: START_DEADLINE_MS },
    );
    assert.equal(await enabled(server, "default", "checkout"), true);
    assert.equal(await enabled(server, "team", "dark-mode"), false);
    const info = await restJson(server, "GET", "/meta/info");
    assert.equal(info.body.readOnly, true);

    await storeBundle("v1", { "features.yml": flagFile("default", "checkout", false) });
    const running = server;
    await waitFor(async () => (await enabled(running, "default", "checkout")) === false, {
      deadlineMs: POLL_DEADLINE_MS,
      intervalMs: 100,
      what: "the moved tag served",
    });
    assert.equal(await enabled(running, "team", "dark-mode"), "not found");
  });

  it("refuses to start on a tag that is not there, naming the reference", async () => {
    const run = await runPennant(["server"], {
      FLIPT_SERVER_HOST: "127.0.0.1",
      FLIPT_SERVER_HTTP_PORT: "0",
      FLIPT_SERVER_GRPC_PORT: "0",
      FLIPT_LOG_ENCODING: "json",
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "oci",
      FLIPT_STORAGE_DEFAULT_BACKEND_REPOSITORY: "flipt://local/flags:v9",
      FLIPT_STORAGE_DEFAULT_BACKEND_BUNDLES_DIRECTORY: join(root, "bundles"),
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /could not start: oci bundle \\"flipt:\/\/local\/flags:v9\\" cannot be read: no local bundle flags:v9/,
    );
  });
});
