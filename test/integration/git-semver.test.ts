import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRemote, flagFile, type OutsideRemote } from "../helpers/outside-remote.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { waitFor } from "../helpers/wait-for.js";

interface RemoteStatus {
  ref: string;
  remoteRevision: string;
  lastFetchError?: string;
}

describe("a storage that follows the newest tag matching a semver constraint", () => {
  let remote: OutsideRemote;
  let server: TestServer;
  const tagged: Record<string, string> = {};
  before(async () => {
    remote = await createRemote({ "features.yaml": flagFile("default", "release", false) });
    tagged["v1.0.0"] = remote.tag("v1.0.0");
    await remote.push({ "features.yaml": flagFile("default", "release", true) });
    tagged["v1.0.1"] = remote.tag("v1.0.1");
    // Newer, but outside the constraint; and the branch moves on past every tag.
    await remote.push({ "features.yaml": flagFile("default", "next-major", true) });
    tagged["v2.0.0"] = remote.tag("v2.0.0");
    await remote.push({ "features.yaml": flagFile("default", "unreleased", true) });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_REMOTE: remote.url,
      FLIPT_STORAGE_DEFAULT_REF_TYPE: "semver",
      FLIPT_STORAGE_DEFAULT_REF: "v1.0.*",
      FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1s",
    });
  });
  after(async () => {
    await server?.stop();
    await remote?.remove();
  });

  const evaluate = async (key: string) => {
    const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ flagKey: key, entityId: "e" }),
    });
    return response.status === 200
      ? ((await response.json()) as { enabled: boolean }).enabled
      : response.status;
  };
  const status = async () => {
    const body = (await (await fetch(`${server.httpUrl}/meta/status`)).json()) as {
      environments: { revision: string; remote: RemoteStatus }[];
    };
    const [environment] = body.environments;
    assert.ok(environment);
    return environment;
  };

  it("serves the newest matching tag, not the branch or a newer major", async () => {
    assert.equal(await evaluate("release"), true);
    assert.equal(await evaluate("next-major"), 404);
    const environment = await status();
    assert.equal(environment.revision, tagged["v1.0.1"]);
    assert.equal(environment.remote.ref, "v1.0.1");
    assert.equal(environment.remote.remoteRevision, tagged["v1.0.1"]);
  });

  it("is read-only", async () => {
    const response = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`,
      {
        method: "POST",
        body: JSON.stringify({ key: "x", payload: { "@type": "flipt.core.Flag", key: "x", name: "x" } }),
      },
    );
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { message: string }).message, /read-only/);
    const info = (await (await fetch(`${server.httpUrl}/meta/info`)).json()) as { readOnly?: boolean };
    assert.equal(info.readOnly, true);
  });

  it("moves to a newer matching tag at the next poll", async () => {
    await remote.push({ "features.yaml": flagFile("default", "patched", true) });
    tagged["v1.0.2"] = remote.tag("v1.0.2");
    await waitFor(async () => ((await status()).revision === tagged["v1.0.2"] ? true : undefined), {
      deadlineMs: 10_000,
      what: "the v1.0.2 tag to be served",
    });
    assert.equal((await status()).remote.ref, "v1.0.2");
    assert.equal(await evaluate("patched"), true);
  });

  it("goes back to the newest remaining tag when that tag is deleted", async () => {
    remote.untag("v1.0.2");
    await waitFor(async () => ((await status()).revision === tagged["v1.0.1"] ? true : undefined), {
      deadlineMs: 10_000,
      what: "the v1.0.1 tag to be served again",
    });
    assert.equal((await status()).remote.ref, "v1.0.1");
    assert.equal(await evaluate("release"), true);
    assert.equal(await evaluate("patched"), 404);
  });
});

describe("semver references at start-up", () => {
  it("fails when no tag matches, naming the remote and the constraint", async () => {
    const remote = await createRemote({ "features.yaml": flagFile("default", "f", true) });
    try {
      remote.tag("v0.9.0");
      await assert.rejects(
        startTestServer({
          FLIPT_STORAGE_DEFAULT_REMOTE: remote.url,
          FLIPT_STORAGE_DEFAULT_REF_TYPE: "semver",
          FLIPT_STORAGE_DEFAULT_REF: "v1.0.*",
        }),
        new RegExp(`no tag of file://${remote.bare.replaceAll(".", "\\.")} matches "v1\\.0\\.\\*"`),
      );
    } finally {
      await remote.remove();
    }
  });

  it("rejects a constraint that is not one in the configuration", async () => {
    await assert.rejects(
      startTestServer({
        FLIPT_STORAGE_DEFAULT_REMOTE: "file:///nowhere.git",
        FLIPT_STORAGE_DEFAULT_REF_TYPE: "semver",
        FLIPT_STORAGE_DEFAULT_REF: "latest",
      }),
      /storage\.default\.ref: must be a semver constraint such as "v1\.0\.\*" when ref_type is semver, got "latest"/,
    );
  });
});
