/**
 * Credentials against real remotes: `git http-backend` behind node:http with basic authentication, and Debian's
 * sshd with key authentication. Every git command runs through the project's runner with `createGitAuth`'s
 * environment, and the tests check that secrets stay out of arguments, `.git/config` and error messages.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CredentialConfig, SshCredentialConfig } from "../../src/config/config.js";
import {
  createGitAuth,
  type GitAuth,
  normalizeSshRemote,
  redactSecrets,
} from "../../src/storage/git/credentials.js";
import { createGitRunner, GitError } from "../../src/storage/git/run-git.js";
import { createBareRepo, type GitHttpServer, startGitHttpServer } from "../helpers/git-http-server.js";
import {
  generateSshKey,
  SSHD_PATH,
  type SshGitServer,
  startSshGitServer,
} from "../helpers/ssh-git-server.js";

const git = createGitRunner(process.env);
const IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.com"];

/**
 * Samples the command lines of all processes (as `ps` shows them) until stopped, so a test can check that a
 * secret never appeared in any argument of git, its helpers, ssh or ssh-keygen while they ran.
 */
function watchCommandLines(): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const pids = await readdir("/proc").catch(() => []);
      await Promise.all(
        pids
          .filter((name) => /^\d+$/.test(name))
          .map(async (pid) => {
            const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
            if (text !== "") seen.add(text.replaceAll("\0", " "));
          }),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...seen];
    },
  };
}

function assertNoSecret(texts: readonly string[], secrets: readonly string[]): void {
  for (const text of texts) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `secret found in: ${text}`);
  }
}

/** Clones `url` into a new directory, commits one file and pushes it; returns the directory. */
async function cloneCommitPush(url: string, auth: GitAuth, work: string, name: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${name}-`));
  const cloneArgs = ["clone", "--quiet", url, dir];
  assertNoSecret(cloneArgs, auth.secrets);
  await git(work, cloneArgs, { env: await auth.env() });
  await writeFile(join(dir, `${name}.txt`), `${name}\n`);
  await git(dir, ["add", "--all"]);
  await git(dir, [...IDENTITY, "commit", "--quiet", "--message", `add ${name}`]);
  const pushArgs = ["push", "--quiet", "origin", "HEAD:refs/heads/main"];
  assertNoSecret(pushArgs, auth.secrets);
  await git(dir, pushArgs, { env: await auth.env() });
  // git keeps the URL it was given: nothing secret lands in the clone's configuration.
  assertNoSecret([await readFile(join(dir, ".git", "config"), "utf8")], auth.secrets);
  return dir;
}

/** The subjects of the bare repository's `main`, newest first. */
async function subjects(bareRepo: string): Promise<string[]> {
  const { stdout } = await git(bareRepo, ["log", "--format=%s", "main"]);
  return stdout.trim().split("\n");
}

/** Runs `action`, expects a GitError, and returns its message. */
async function gitFailure(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof GitError, `expected a GitError, got ${String(error)}`);
    return error.message;
  }
  assert.fail("the git command succeeded");
}

describe("git credentials over HTTP (git http-backend)", () => {
  let work: string;
  let root: string;
  let basicServer: GitHttpServer;
  let tokenServer: GitHttpServer;
  let basicRepo: string;
  let tokenRepo: string;
  const basic: CredentialConfig = {
    type: "basic",
    basic: { username: "alice", password: "s3cret-Pässword" },
  };
  const token: CredentialConfig = { type: "access_token", accessToken: "glpat-token-0123456789" };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "pennant-cred-http-"));
    root = join(work, "repos");
    basicRepo = await createBareRepo(root, "basic.git", { files: { "README.md": "basic\n" } });
    tokenRepo = await createBareRepo(root, "token.git", { files: { "README.md": "token\n" } });
    basicServer = await startGitHttpServer({
      root,
      auth: { basic: { username: "alice", password: "s3cret-Pässword" } },
    });
    tokenServer = await startGitHttpServer({ root, auth: { token: "glpat-token-0123456789" } });
  });
  after(async () => {
    await Promise.all([basicServer?.stop(), tokenServer?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it("clones and pushes with basic credentials, which never appear in a command line", async () => {
    const auth = await createGitAuth(basic, { tmpDir: work });
    const watch = watchCommandLines();
    try {
      await cloneCommitPush(basicServer.url("basic.git"), auth, work, "basic");
    } finally {
      const commandLines = await watch.stop();
      assert.ok(commandLines.some((line) => line.includes("git") && line.includes("basic.git")));
      assertNoSecret(commandLines, auth.secrets);
    }
    assert.deepEqual(await subjects(basicRepo), ["add basic", "initial files"]);
    // The header was sent with the first request: no 401 round trip.
    assert.ok(basicServer.requests.every((request) => request.user === "alice"));
    assertNoSecret(
      basicServer.requests.map((request) => request.url),
      auth.secrets,
    );
  });

  it("clones and pushes with an access token, sent as x-token-auth", async () => {
    const auth = await createGitAuth(token, { tmpDir: work });
    await cloneCommitPush(tokenServer.url("token.git"), auth, work, "token");
    assert.deepEqual(await subjects(tokenRepo), ["add token", "initial files"]);
    assert.ok(tokenServer.requests.length >= 4);
    assert.ok(tokenServer.requests.every((request) => request.user === "x-token-auth"));
  });

  it("fails with 'Authentication failed' on a wrong password, without revealing it", async () => {
    const auth = await createGitAuth(
      { type: "basic", basic: { username: "alice", password: "wrong-Pw-42" } },
      {
        tmpDir: work,
      },
    );
    const message = await gitFailure(async () =>
      git(work, ["ls-remote", basicServer.url("basic.git")], { env: await auth.env() }),
    );
    assert.match(message, /Authentication failed/);
    assertNoSecret([message, redactSecrets(message, auth)], auth.secrets);
  });

  it("fails with 'Authentication failed' on a wrong token", async () => {
    const auth = await createGitAuth(
      { type: "access_token", accessToken: "not-the-token" },
      { tmpDir: work },
    );
    const message = await gitFailure(async () =>
      git(work, ["ls-remote", tokenServer.url("token.git")], { env: await auth.env() }),
    );
    assert.match(message, /Authentication failed/);
    assert.ok(!message.includes("not-the-token"));
  });

  it("fails without prompting when no credentials are configured", async () => {
    const auth = await createGitAuth(undefined, { tmpDir: work });
    // git says it did not prompt; had it waited for an answer, the runner's timeout would fail the command instead.
    const message = await gitFailure(async () =>
      git(work, ["ls-remote", basicServer.url("basic.git")], { env: await auth.env() }),
    );
    assert.match(message, /could not read Username.*terminal prompts disabled/);
  });
});

describe("git credentials over SSH (sshd)", {
  skip: existsSync(SSHD_PATH) ? false : `${SSHD_PATH} missing`,
}, () => {
  let work: string;
  let root: string;
  let server: SshGitServer;
  let bareRepo: string;
  let encryptedKeyPath: string;
  let strangerKeyPath: string;
  const passphrase = "correct horse battery";

  before(async () => {
    // A space in every path checks the quoting of GIT_SSH_COMMAND and of ssh options.
    work = await mkdtemp(join(tmpdir(), "pennant cred-ssh-"));
    root = join(work, "repos");
    bareRepo = await createBareRepo(root, "flags.git", { files: { "README.md": "ssh\n" } });
    encryptedKeyPath = join(work, "encrypted_ed25519");
    strangerKeyPath = join(work, "stranger_ed25519");
    const [encryptedPublicKey] = await Promise.all([
      generateSshKey(encryptedKeyPath, passphrase),
      generateSshKey(strangerKeyPath),
    ]);
    server = await startSshGitServer({ root, authorizedKeys: [encryptedPublicKey] });
  });
  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** The server's client key and known_hosts, changed by `overrides`; key bytes replace the key path. */
  function sshCredential(overrides: Partial<SshCredentialConfig>): CredentialConfig {
    const ssh: SshCredentialConfig = {
      user: server.user,
      password: "unused for unencrypted keys",
      insecureIgnoreHostKey: false,
      knownHostsPath: server.knownHostsPath,
      ...(overrides.privateKeyBytes === undefined ? { privateKeyPath: server.clientKeyPath } : {}),
      ...overrides,
    };
    return { type: "ssh", ssh };
  }

  /** The remote as the storage would use it: normalised for the credential's user. */
  function remote(): string {
    return normalizeSshRemote(server.url("flags.git"), server.user);
  }

  it("keeps an ssh:// URL with a non-default port", () => {
    assert.equal(remote(), server.url(bareRepo));
  });

  it("clones and pushes with a key", async () => {
    const auth = await createGitAuth(sshCredential({}), { tmpDir: work });
    try {
      await cloneCommitPush(remote(), auth, work, "ssh-plain");
    } finally {
      await auth.close();
    }
    assert.equal((await subjects(bareRepo))[0], "add ssh-plain");
  });

  it("clones and pushes with an encrypted key given as bytes, the passphrase in no command line", async () => {
    const watch = watchCommandLines();
    let auth: GitAuth | undefined;
    try {
      auth = await createGitAuth(
        sshCredential({ password: passphrase, privateKeyBytes: await readFile(encryptedKeyPath, "utf8") }),
        { tmpDir: work, env: { PATH: process.env.PATH } },
      );
      await cloneCommitPush(remote(), auth, work, "ssh-encrypted");
    } finally {
      const commandLines = await watch.stop();
      assertNoSecret(commandLines, [passphrase]);
      await auth?.close();
    }
    assert.equal((await subjects(bareRepo))[0], "add ssh-encrypted");
  });

  it("is refused with 'Permission denied (publickey)' for a key the server does not know", async () => {
    const auth = await createGitAuth(sshCredential({ privateKeyPath: strangerKeyPath }), { tmpDir: work });
    try {
      const message = await gitFailure(async () =>
        git(work, ["ls-remote", remote()], { env: await auth.env() }),
      );
      assert.match(message, /Permission denied \(publickey\)/);
    } finally {
      await auth.close();
    }
  });

  it("refuses an unknown host key, and accepts it with insecure_ignore_host_key", async () => {
    const otherHosts = join(work, "other_known_hosts");
    await writeFile(
      otherHosts,
      `[127.0.0.1]:${server.port} ${(await readFile(`${strangerKeyPath}.pub`, "utf8")).trim()}\n`,
    );
    const emptyHosts = join(work, "empty_known_hosts");
    await writeFile(emptyHosts, "");
    for (const knownHostsPath of [emptyHosts, otherHosts]) {
      const strict = await createGitAuth(sshCredential({ knownHostsPath }), { tmpDir: work });
      try {
        const message = await gitFailure(async () =>
          git(work, ["ls-remote", remote()], { env: await strict.env() }),
        );
        assert.match(message, /Host key verification failed/);
      } finally {
        await strict.close();
      }
    }
    const insecure = await createGitAuth(
      sshCredential({ knownHostsPath: emptyHosts, insecureIgnoreHostKey: true }),
      {
        tmpDir: work,
      },
    );
    try {
      const { stdout } = await git(work, ["ls-remote", remote()], { env: await insecure.env() });
      assert.match(stdout, /refs\/heads\/main/);
      // The empty file stays empty: nothing is remembered.
      assert.equal(await readFile(emptyHosts, "utf8"), "");
    } finally {
      await insecure.close();
    }
  });
});
