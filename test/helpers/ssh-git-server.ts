import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { freePort } from "./free-port.js";

/** Where Debian's sshd lives; the tests that need it skip when it is missing. */
export const SSHD_PATH = "/usr/sbin/sshd";

/** A private sshd on 127.0.0.1 that lets one client key in and serves git over SSH for the current user. */
export interface SshGitServer {
  readonly port: number;
  /** The login user: the user running the tests, since sshd can only run commands as a real account. */
  readonly user: string;
  /** The `ssh://user@127.0.0.1:PORT/abs/path` URL of a repository, given by its path (relative to `root`). */
  url(repoPath: string): string;
  /** An unencrypted ed25519 private key that the server accepts. */
  readonly clientKeyPath: string;
  /** A known_hosts file holding this server's host key under `[127.0.0.1]:PORT`. */
  readonly knownHostsPath: string;
  /** The host's public key line (`ssh-ed25519 AAAA…`). */
  readonly hostPublicKey: string;
  /** The daemon's log so far (sshd -e), for diagnosing a failed test. */
  log(): string;
  /** Stops the daemon and removes its directory. */
  stop(): Promise<void>;
}

export interface SshGitServerOptions {
  /** Directory the repositories live in; `url()` resolves relative paths against it. */
  readonly root: string;
  /** More public keys (`ssh-ed25519 AAAA… comment` lines) to accept besides the generated client key. */
  readonly authorizedKeys?: readonly string[];
}

/** How long sshd may take to say it listens. */
const START_TIMEOUT_MS = 10_000;

function run(program: string, args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, [...args], { cwd }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${program} ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Generates an ed25519 key pair at `path` (and `path.pub`), with `passphrase` when given. */
export async function generateSshKey(path: string, passphrase = ""): Promise<string> {
  // Test keys only: a passphrase on the command line is fine here, never in src/.
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "pennant-test", "-f", path]);
  return (await readFile(`${path}.pub`, "utf8")).trim();
}

/**
 * Starts Debian's sshd in the foreground on a free port of 127.0.0.1 with its own configuration, host key and
 * authorized keys in a temporary directory: public-key authentication only, no PAM. Resolves once sshd says it
 * listens. Running as root, sshd needs `/run/sshd`, which this creates.
 */
export async function startSshGitServer(options: SshGitServerOptions): Promise<SshGitServer> {
  const dir = await mkdtemp(join(tmpdir(), "pennant-sshd-"));
  let child: ChildProcess | undefined;
  try {
    const hostKey = join(dir, "host_ed25519");
    const clientKeyPath = join(dir, "client_ed25519");
    const [hostPublicKeyLine, clientPublicKey] = await Promise.all([
      generateSshKey(hostKey),
      generateSshKey(clientKeyPath),
    ]);
    const hostPublicKey = hostPublicKeyLine.split(" ").slice(0, 2).join(" ");
    const authorizedKeys = join(dir, "authorized_keys");
    await writeFile(authorizedKeys, `${[clientPublicKey, ...(options.authorizedKeys ?? [])].join("\n")}\n`, {
      mode: 0o600,
    });
    if (process.getuid?.() === 0) await mkdir("/run/sshd", { recursive: true, mode: 0o755 });

    const port = await freePort();
    const config = join(dir, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "AcceptEnv GIT_PROTOCOL",
        "PrintMotd no",
        "",
      ].join("\n"),
    );
    await run(SSHD_PATH, ["-t", "-f", config]);

    const started = spawn(SSHD_PATH, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    child = started;
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${log}`)), START_TIMEOUT_MS);
      started.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        log = (log + chunk).slice(-64 * 1024);
        if (log.includes("Server listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${String(code)}:\n${log}`));
      });
    });

    const knownHostsPath = join(dir, "known_hosts");
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
    const exited = new Promise<void>((resolve) => {
      if (started.exitCode !== null || started.signalCode !== null) resolve();
      else started.once("exit", () => resolve());
    });
    const user = userInfo().username;
    return {
      port,
      user,
      url: (repoPath) => `ssh://${user}@127.0.0.1:${port}${resolvePath(options.root, repoPath)}`,
      clientKeyPath,
      knownHostsPath,
      hostPublicKey,
      log: () => log,
      stop: async () => {
        started.kill("SIGTERM");
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
