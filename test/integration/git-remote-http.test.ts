import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createBareRepo, type GitHttpServer, startGitHttpServer } from "../helpers/git-http-server.js";
import {
  appKeyPair,
  type GitHubTokenEndpointFake,
  startGitHubTokenEndpointFake,
} from "../helpers/github-token-endpoint-fake.js";
import { createSelfSignedCert } from "../helpers/self-signed-cert.js";
import { SSHD_PATH, type SshGitServer, startSshGitServer } from "../helpers/ssh-git-server.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const PASSWORD = "pa55-w0rd-never-logged";

describe("a git remote over http with basic credentials", () => {
  let root: string;
  let bare: string;
  let http: GitHttpServer;
  let server: TestServer;
  const credentials = (password: string) => ({
    FLIPT_STORAGE_DEFAULT_REMOTE: http.url("flags.git"),
    FLIPT_STORAGE_DEFAULT_CREDENTIALS: "origin",
    FLIPT_CREDENTIALS_ORIGIN_TYPE: "basic",
    FLIPT_CREDENTIALS_ORIGIN_BASIC_USERNAME: "alice",
    FLIPT_CREDENTIALS_ORIGIN_BASIC_PASSWORD: password,
  });
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-http-remote-"));
    bare = await createBareRepo(root, "flags.git", {
      files: {
        "features.yaml":
          "flags:\n  - key: over-http\n    name: Over HTTP\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n",
      },
    });
    http = await startGitHttpServer({ root, auth: { basic: { username: "alice", password: PASSWORD } } });
    server = await startTestServer(credentials(PASSWORD));
  });
  after(async () => {
    await server?.stop();
    await http?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("clones with the credentials and serves the remote's state", async () => {
    const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ flagKey: "over-http", entityId: "e" }),
    });
    assert.equal(((await response.json()) as { enabled: boolean }).enabled, true);
    assert.ok(http.requests.some((request) => request.user === "alice" && request.status === 200));
  });

  it("pushes a write to the remote", async () => {
    const response = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`,
      {
        method: "POST",
        body: JSON.stringify({
          key: "pushed",
          payload: { "@type": "flipt.core.Flag", key: "pushed", name: "Pushed" },
        }),
      },
    );
    assert.equal(response.status, 200, await response.clone().text());
    const log = execFileSync("git", ["log", "-1", "--format=%s", "main"], {
      cwd: bare,
      encoding: "utf8",
    }).trim();
    assert.equal(log, "create flag default/pushed");
  });

  it("fails start-up with a clear error for a wrong password, without showing it", async () => {
    await assert.rejects(startTestServer(credentials("wrong-password")), (error: Error) => {
      assert.match(
        error.message,
        /initial fetch from http:\/\/127\.0\.0\.1:\d+\/flags\.git failed: .*Authentication failed/,
      );
      assert.doesNotMatch(error.message, /wrong-password/);
      assert.equal(error.name, "RemoteCredentialsError");
      return true;
    });
  });
});

describe("a git remote over http with GitHub App credentials", () => {
  const app = { clientId: "Iv1.pennant", installationId: 77 };
  const keys = appKeyPair("pkcs8");
  let root: string;
  let bare: string;
  let endpoint: GitHubTokenEndpointFake;
  let http: GitHttpServer;
  let server: TestServer;
  const credentials = (privateKey: string) => ({
    FLIPT_STORAGE_DEFAULT_REMOTE: http.url("flags.git"),
    FLIPT_STORAGE_DEFAULT_CREDENTIALS: "app",
    FLIPT_CREDENTIALS_APP_TYPE: "github_app",
    FLIPT_CREDENTIALS_APP_GITHUB_APP_CLIENT_ID: app.clientId,
    FLIPT_CREDENTIALS_APP_GITHUB_APP_INSTALLATION_ID: String(app.installationId),
    FLIPT_CREDENTIALS_APP_GITHUB_APP_PRIVATE_KEY_BYTES: privateKey,
    FLIPT_CREDENTIALS_APP_GITHUB_APP_API_URL: endpoint.apiUrl,
  });
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-app-remote-"));
    bare = await createBareRepo(root, "flags.git", {
      files: {
        "features.yaml":
          "flags:\n  - key: via-app\n    name: Via App\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n",
      },
    });
    endpoint = await startGitHubTokenEndpointFake({ ...app, publicKey: keys.publicKey });
    // The git server accepts exactly the installation tokens the endpoint issued, until they expire.
    http = await startGitHttpServer({ root, auth: { token: (token) => endpoint.isValid(token) } });
    server = await startTestServer(credentials(keys.privateKey));
  });
  after(async () => {
    await server?.stop();
    await http?.stop();
    await endpoint?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("clones with an installation token, pushes a write, and reuses the token", async () => {
    const response = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ flagKey: "via-app", entityId: "e" }),
    });
    assert.equal(((await response.json()) as { enabled: boolean }).enabled, true);
    const write = await fetch(`${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`, {
      method: "POST",
      body: JSON.stringify({
        key: "by-app",
        payload: { "@type": "flipt.core.Flag", key: "by-app", name: "By App" },
      }),
    });
    assert.equal(write.status, 200, await write.clone().text());
    const log = execFileSync("git", ["log", "-1", "--format=%s", "main"], {
      cwd: bare,
      encoding: "utf8",
    }).trim();
    assert.equal(log, "create flag default/by-app");
    assert.equal(endpoint.issued.length, 1, "one token served the clone and the push");
    assert.ok(http.requests.some((request) => request.user === "x-token-auth" && request.status === 200));
    assert.ok(http.requests.every((request) => !request.url.includes(endpoint.issued[0] ?? "<none>")));
  });

  it("fails start-up naming the credentials when GitHub refuses the app's JWT", async () => {
    const other = appKeyPair("pkcs8");
    await assert.rejects(startTestServer(credentials(other.privateKey)), (error: Error) => {
      assert.equal(error.name, "RemoteCredentialsError");
      assert.match(error.message, /answered 401: A JSON web token could not be decoded \(bad signature\)/);
      assert.doesNotMatch(error.message, /PRIVATE KEY/);
      return true;
    });
  });
});

describe("a git remote over SSH with key credentials", {
  skip: !existsSync(SSHD_PATH) && "sshd is not installed",
}, () => {
  let root: string;
  let bare: string;
  let ssh: SshGitServer;
  let server: TestServer;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-ssh-remote-"));
    bare = await createBareRepo(root, "flags.git", {
      files: {
        "features.yaml":
          "flags:\n  - key: over-ssh\n    name: Over SSH\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n",
      },
    });
    ssh = await startSshGitServer({ root });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_REMOTE: ssh.url(bare),
      FLIPT_STORAGE_DEFAULT_CREDENTIALS: "deploy",
      FLIPT_CREDENTIALS_DEPLOY_TYPE: "ssh",
      FLIPT_CREDENTIALS_DEPLOY_SSH_USER: ssh.user,
      FLIPT_CREDENTIALS_DEPLOY_SSH_PASSWORD: "unused-for-an-unencrypted-key",
      FLIPT_CREDENTIALS_DEPLOY_SSH_PRIVATE_KEY_PATH: ssh.clientKeyPath,
      FLIPT_CREDENTIALS_DEPLOY_SSH_KNOWN_HOSTS_PATH: ssh.knownHostsPath,
    });
  });
  after(async () => {
    await server?.stop();
    await ssh?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("clones, serves, and pushes a write over SSH", async () => {
    const evaluation = await fetch(`${server.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ flagKey: "over-ssh", entityId: "e" }),
    });
    assert.equal(((await evaluation.json()) as { enabled: boolean }).enabled, true);
    const response = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources`,
      {
        method: "POST",
        body: JSON.stringify({
          key: "via-ssh",
          payload: { "@type": "flipt.core.Flag", key: "via-ssh", name: "Via SSH" },
        }),
      },
    );
    assert.equal(response.status, 200, await response.clone().text());
    const log = execFileSync("git", ["log", "-1", "--format=%s", "main"], {
      cwd: bare,
      encoding: "utf8",
    }).trim();
    assert.equal(log, "create flag default/via-ssh");
  });
});

describe("a git remote over HTTPS with a private CA", () => {
  let root: string;
  let https: GitHttpServer;
  let certPath: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-https-remote-"));
    const generated = await createSelfSignedCert(root);
    certPath = generated.certPath;
    await createBareRepo(root, "flags.git", {
      files: { "features.yaml": "flags:\n  - key: over-tls\n    name: Over TLS\n" },
    });
    https = await startGitHttpServer({
      root,
      tls: { cert: await readFile(certPath), key: await readFile(generated.keyPath) },
    });
  });
  after(async () => {
    await https?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const flags = async (server: TestServer) => {
    const response = await fetch(
      `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag`,
    );
    return ((await response.json()) as { resources: { key: string }[] }).resources.map(
      (resource) => resource.key,
    );
  };

  it("refuses a certificate it cannot verify", async () => {
    await assert.rejects(
      startTestServer({ FLIPT_STORAGE_DEFAULT_REMOTE: https.url("flags.git") }),
      /initial fetch from https:\/\/127\.0\.0\.1:\d+\/flags\.git failed/,
    );
  });

  it("trusts ca_cert_path, ca_cert_bytes, and skips verification with insecure_skip_tls", async () => {
    const variants = [
      { FLIPT_STORAGE_DEFAULT_CA_CERT_PATH: certPath },
      { FLIPT_STORAGE_DEFAULT_CA_CERT_BYTES: await readFile(certPath, "utf8") },
      { FLIPT_STORAGE_DEFAULT_INSECURE_SKIP_TLS: "true" },
    ];
    for (const variant of variants) {
      const server = await startTestServer({
        FLIPT_STORAGE_DEFAULT_REMOTE: https.url("flags.git"),
        ...variant,
      });
      try {
        assert.deepEqual(await flags(server), ["over-tls"], JSON.stringify(Object.keys(variant)));
      } finally {
        await server.stop();
      }
    }
  });
});
