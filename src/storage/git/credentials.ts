/**
 * Credentials for git remotes (`credentials.<name>` in the configuration), turned into the environment variables
 * that make the system git authenticate. Secrets travel only in environment variables and in files of mode 0600:
 * never in command-line arguments (visible to every user through `ps`), never in a remote URL (git writes it to
 * `.git/config` and prints it in errors), and never in a message we build.
 *
 * - `basic` and `access_token`: an `Authorization: Basic …` header set with git's `GIT_CONFIG_COUNT` /
 *   `GIT_CONFIG_KEY_<n>` / `GIT_CONFIG_VALUE_<n>` variables (git ≥ 2.31), so it is sent with the first request.
 *   A credential helper that answers with the same username and password from environment variables backs it,
 *   so that a server which rejects them ends the command with git's usual "Authentication failed for '<url>'"
 *   rather than an attempt to prompt. Other credential helpers are switched off, so no helper can store the secret.
 * - `ssh`: the private key is copied to a 0600 file in a private temporary directory and, when it is encrypted,
 *   decrypted there once by `ssh-keygen -p`; git then runs `ssh -i <file>` through `GIT_SSH_COMMAND`. See
 *   `decryptKey` for how the passphrase reaches ssh-keygen without appearing in its arguments.
 * - `github_app`: an installation token (see `github-app-token.ts`), fetched before the first git command and again
 *   shortly before it expires, then sent as an access token.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CredentialConfig, SshCredentialConfig } from "../../config/config.js";
import { UnavailableError, ValidationError } from "../../domain/errors.js";
import { redactSecretValues, secretList } from "../redact-secrets.js";
import { createGitHubAppTokens } from "./github-app-token.js";

/** The username Flipt sends with an access token; GitHub, GitLab and Bitbucket accept it. */
export const ACCESS_TOKEN_USERNAME = "x-token-auth";

/** How long `ssh-keygen` may take to decrypt a private key before it is killed. */
export const KEY_DECRYPT_TIMEOUT_MS = 20_000;

/** Environment variables that carry the HTTP username and password to the credential helper. */
const USERNAME_VARIABLE = "PENNANT_GIT_USERNAME";
const PASSWORD_VARIABLE = "PENNANT_GIT_PASSWORD";
/** Environment variable that carries the key passphrase to the askpass script (see `decryptKey`). */
const PASSPHRASE_VARIABLE = "PENNANT_SSH_KEY_PASSPHRASE";

/**
 * A git credential helper run by git through `sh`: for `get` it prints the username and password from the
 * environment; `store` and `erase` are ignored. It contains no secret itself, so it may be shown anywhere.
 */
const CREDENTIAL_HELPER = `!f() { if test "$1" = get; then printf 'username=%s\\npassword=%s\\n' "$${USERNAME_VARIABLE}" "$${PASSWORD_VARIABLE}"; fi; }; f`;

/** What a git command that talks to the remote needs to authenticate. */
export interface GitAuth {
  /**
   * Environment variables to add to the next git command that fetches from or pushes to the remote. Ask again
   * for every command: a GitHub App's token is replaced before it expires.
   */
  env(): Promise<Readonly<Record<string, string>>>;
  /** The secret values (password, token, header, passphrase) that `redactSecrets` removes from text. */
  readonly secrets: readonly string[];
  /** Removes the temporary files (SSH keys). Safe to call more than once. */
  close(): Promise<void>;
}

export interface GitAuthOptions {
  /** Directory for temporary files (made if missing; a private subdirectory is made in it). */
  readonly tmpDir: string;
  /** How `github_app` credentials reach GitHub's API. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * The process environment as received by the CLI. `PATH` is used to find `ssh-keygen`; `SSH_KNOWN_HOSTS`
   * (a `:`-separated list of files, as go-git reads it) replaces the default known_hosts files when the
   * credential names none. @default {}
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The `GitAuth` of a remote that needs no credentials. */
export const NO_GIT_AUTH: GitAuth = Object.freeze({
  env: async () => ({}),
  secrets: Object.freeze([]),
  close: async () => {},
});

/**
 * Turns a configured credential into the environment git needs to authenticate against a remote.
 * Without a credential, git gets nothing extra (and, since the runner sets `GIT_TERMINAL_PROMPT=0`, a server
 * that wants credentials makes the command fail instead of prompting). Call `close()` when the storage stops.
 *
 * @throws ValidationError when the credential is incomplete or a private key cannot be read or decrypted.
 */
export async function createGitAuth(
  credential: CredentialConfig | undefined,
  options: GitAuthOptions,
): Promise<GitAuth> {
  if (credential === undefined) return NO_GIT_AUTH;
  switch (credential.type) {
    case "basic": {
      const username = credential.basic?.username ?? "";
      const password = credential.basic?.password ?? "";
      if (username === "" && password === "") return NO_GIT_AUTH;
      return httpBasicAuth(username, password);
    }
    case "access_token": {
      const token = credential.accessToken ?? "";
      if (token === "") throw new ValidationError("access_token credentials need a token");
      return httpBasicAuth(ACCESS_TOKEN_USERNAME, token);
    }
    case "ssh": {
      if (credential.ssh === undefined) throw new ValidationError("ssh credentials need an ssh block");
      return sshAuth(credential.ssh, options);
    }
    case "github_app": {
      const app = credential.githubApp;
      if (app?.clientId === undefined || app.installationId === undefined) {
        throw new ValidationError("github_app credentials need client_id and installation_id");
      }
      const privateKey = await privateKeyText("github_app", app.privateKeyPath, app.privateKeyBytes);
      const tokens = createGitHubAppTokens({
        clientId: app.clientId,
        installationId: app.installationId,
        privateKey,
        apiUrl: app.apiUrl,
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      });
      return {
        env: async () => httpBasicEnv(ACCESS_TOKEN_USERNAME, await tokens.token()),
        get secrets() {
          return secretList([privateKey.trimEnd(), ...tokens.issued.flatMap((token) => basicSecrets(token))]);
        },
        close: async () => {},
      };
    }
  }
}

/** Basic authentication: a preemptive header, backed by a helper that repeats the same credentials. */
function httpBasicAuth(username: string, password: string): GitAuth {
  const env = httpBasicEnv(username, password);
  return {
    env: async () => env,
    secrets: secretList(basicSecrets(password, username)),
    close: async () => {},
  };
}

function httpBasicEnv(username: string, password: string): Record<string, string> {
  const encoded = basicHeaderValue(username, password);
  return {
    ...gitConfigEnv([
      ["http.extraHeader", `Authorization: Basic ${encoded}`],
      // An empty value clears the helpers configured so far (system, global, repository) ...
      ["credential.helper", ""],
      // ... so only this one answers, and no helper is ever asked to store the password.
      ["credential.helper", CREDENTIAL_HELPER],
    ]),
    [USERNAME_VARIABLE]: username,
    [PASSWORD_VARIABLE]: password,
  };
}

function basicHeaderValue(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/** The forms in which a basic-auth password can show up in text: as is, URL-encoded, and inside the header. */
function basicSecrets(password: string, username = ACCESS_TOKEN_USERNAME): string[] {
  return [password, encodeURIComponent(password), basicHeaderValue(username, password)];
}

/** SSH public-key authentication through `GIT_SSH_COMMAND`. */
async function sshAuth(ssh: SshCredentialConfig, options: GitAuthOptions): Promise<GitAuth> {
  const baseEnv = options.env ?? {};
  const secrets = secretList([ssh.password ?? "", ssh.privateKeyBytes ?? ""]);
  await mkdir(options.tmpDir, { recursive: true });
  const dir = await mkdtemp(join(options.tmpDir, "pennant-ssh-"));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const keyFile = join(dir, "id");
    await writeFile(keyFile, await privateKeyText("ssh", ssh.privateKeyPath, ssh.privateKeyBytes), {
      mode: 0o600,
    });
    await decryptKey(keyFile, ssh.password ?? "", dir, baseEnv, secrets);

    const command = ["ssh", "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"];
    if (ssh.insecureIgnoreHostKey) {
      command.push(
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        // Keeps "Permanently added … to the list of known hosts" out of every command's stderr.
        "-o",
        "LogLevel=ERROR",
      );
    } else {
      command.push("-o", "StrictHostKeyChecking=yes");
      const knownHosts =
        ssh.knownHostsPath !== undefined
          ? [ssh.knownHostsPath]
          : (baseEnv.SSH_KNOWN_HOSTS ?? "").split(":").filter((path) => path !== "");
      // Named files replace ssh's defaults (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts), as in go-git.
      if (knownHosts.length > 0) {
        command.push(
          "-o",
          `UserKnownHostsFile=${knownHosts.map(sshConfigQuote).join(" ")}`,
          "-o",
          "GlobalKnownHostsFile=/dev/null",
        );
      }
    }
    const env = { GIT_SSH_COMMAND: command.map(shellQuote).join(" ") };
    return { env: async () => env, secrets, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A private key's text, from the configured bytes or file, with LF line ends and a final newline. */
async function privateKeyText(
  kind: "ssh" | "github_app",
  path: string | undefined,
  bytes: string | undefined,
): Promise<string> {
  let text: string;
  if (bytes !== undefined) {
    text = bytes;
  } else if (path !== undefined) {
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new ValidationError(`${kind} private key file "${path}" cannot be read (${reason})`, {
        cause: error,
      });
    }
  } else {
    throw new ValidationError(`${kind} credentials need private_key_path or private_key_bytes`);
  }
  text = text.replace(/\r\n/g, "\n");
  return text.endsWith("\n") ? text : `${text}\n`;
}

/**
 * Rewrites the key file without a passphrase, in place, with `ssh-keygen -p -N "" -f <file>`. ssh-keygen first
 * tries the empty passphrase, so an unencrypted key (for which Flipt accepts any configured password) is just
 * rewritten and the passphrase is never asked for.
 *
 * For an encrypted key the passphrase must not be an argument (`-P` would show it in `ps`), and ssh-keygen
 * reads it only from a terminal or an askpass program. So ssh-keygen runs in a new session (no controlling
 * terminal) with stdin closed, `SSH_ASKPASS_REQUIRE=force` and `SSH_ASKPASS` pointing at a two-line `sh` script,
 * written to the private directory for the duration of the call, that prints `$PENNANT_SSH_KEY_PASSPHRASE`.
 * The passphrase is thus only in the environment of ssh-keygen and the script, which only the same user (or
 * root) can read. Limits: the temporary directory must allow executing files, and a passphrase cannot contain
 * a newline. Decrypting once means git's many ssh runs need no agent and no prompt (ssh's BatchMode forbids
 * them); the decrypted key lives in a 0600 file in a 0700 directory until `close()`.
 */
async function decryptKey(
  keyFile: string,
  passphrase: string,
  dir: string,
  baseEnv: Readonly<Record<string, string | undefined>>,
  secrets: readonly string[],
): Promise<void> {
  const askpass = join(dir, "askpass");
  await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' "$${PASSPHRASE_VARIABLE}"\n`, { mode: 0o700 });
  const env: Record<string, string> = {
    SSH_ASKPASS: askpass,
    SSH_ASKPASS_REQUIRE: "force",
    [PASSPHRASE_VARIABLE]: passphrase,
  };
  if (baseEnv.PATH !== undefined) env.PATH = baseEnv.PATH;
  try {
    const { code, output } = await runQuietly("ssh-keygen", ["-q", "-p", "-N", "", "-f", keyFile], env);
    if (code !== 0) {
      const detail = redactSecretValues(output.trim().replaceAll(keyFile, "<key>"), secrets);
      throw new ValidationError(
        `ssh private key cannot be used: ${detail || `ssh-keygen exited with ${String(code)}`}`,
      );
    }
  } finally {
    await rm(askpass, { force: true });
  }
}

/** Runs a program without a terminal and stdin, and resolves with its exit code and combined output. */
function runQuietly(
  program: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      timeout: KEY_DECRYPT_TIMEOUT_MS,
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.once("error", (error) =>
      reject(new UnavailableError(`cannot run ${program}: ${error.message}`, { cause: error })),
    );
    child.once("close", (code) => resolve({ code, output }));
  });
}

/**
 * Converts a remote URL to the form used with SSH credentials, as Flipt does: SCP form `user@host:path` for
 * `https://host/p`, `http://host/p`, `host/p`, `ssh://host/p`, `ssh://host:22/p` and `host:p`; an `ssh://` URL
 * with another port stays a URL, `ssh://user@host:port/p`. A user already in the URL must be `user`.
 *
 * @throws ValidationError `conflicting SSH users` when the URL names another user, or for other schemes.
 */
export function normalizeSshRemote(url: string, user: string): string {
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url);
  if (schemeMatch) {
    const scheme = (schemeMatch[1] ?? "").toLowerCase();
    if (scheme !== "ssh" && scheme !== "git+ssh" && scheme !== "http" && scheme !== "https") {
      throw new ValidationError(`remote "${url}" cannot be used with ssh credentials`);
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new ValidationError(`remote "${url}" is not a valid URL`, { cause: error });
    }
    const decoded = (part: string, what: string) => {
      try {
        return decodeURIComponent(part);
      } catch (error) {
        throw new ValidationError(`remote "${url}": its ${what} is not valid percent-encoding`, {
          cause: error,
        });
      }
    };
    checkUser(decoded(parsed.username, "user"), user);
    const path = decoded(parsed.pathname, "path");
    const isSsh = scheme === "ssh" || scheme === "git+ssh";
    if (isSsh && parsed.port !== "" && parsed.port !== "22") {
      // Only the user changes: the path stays exactly as written (git decodes %-escapes in ssh:// paths itself).
      const afterScheme = url.slice(schemeMatch[0].length);
      const slash = afterScheme.indexOf("/");
      const writtenPath = slash < 0 ? "" : afterScheme.slice(slash);
      return `ssh://${encodeURIComponent(user)}@${parsed.hostname}:${parsed.port}${writtenPath}`;
    }
    return `${user}@${parsed.hostname}:${path.replace(/^\//, "")}`;
  }
  // SCP form: [user@]host:path, where the colon comes before any slash.
  const scp = /^(?:([^@/:]*)@)?(\[[^\]]+\]|[^/:]+):(.*)$/.exec(url);
  if (scp) {
    checkUser(scp[1] ?? "", user);
    return `${user}@${scp[2] ?? ""}:${scp[3] ?? ""}`;
  }
  // Schemeless host/path.
  const bare = /^(?:([^@/]*)@)?([^/]+)\/(.*)$/.exec(url);
  if (bare) {
    checkUser(bare[1] ?? "", user);
    return `${user}@${bare[2] ?? ""}:${bare[3] ?? ""}`;
  }
  throw new ValidationError(`remote "${url}" cannot be used with ssh credentials`);
}

function checkUser(found: string, expected: string): void {
  if (found !== "" && found !== expected) {
    throw new ValidationError(
      `conflicting SSH users: "${found}" in the remote URL, "${expected}" in the credentials`,
    );
  }
}

/**
 * Replaces every secret of `auth` (password, token, the encoded header, the key passphrase) in `text` with
 * `[redacted]`. For error messages and logs that may quote git's output or a URL.
 */
export function redactSecrets(text: string, auth: Pick<GitAuth, "secrets">): string {
  return redactSecretValues(text, auth.secrets);
}

/** The `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` variables for these settings, in order. */
export function gitConfigEnv(entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  return withGitConfig({}, entries);
}

/**
 * Adds git settings to an environment that may already carry some through `GIT_CONFIG_COUNT` (such as a
 * `GitAuth`'s), numbering the new ones after the existing ones. Returns a new object.
 */
export function withGitConfig(
  env: Readonly<Record<string, string>>,
  entries: ReadonlyArray<readonly [string, string]>,
): Record<string, string> {
  const result: Record<string, string> = { ...env };
  let count = Number.parseInt(env.GIT_CONFIG_COUNT ?? "0", 10) || 0;
  for (const [key, value] of entries) {
    result[`GIT_CONFIG_KEY_${count}`] = key;
    result[`GIT_CONFIG_VALUE_${count}`] = value;
    count += 1;
  }
  if (count > 0) result.GIT_CONFIG_COUNT = String(count);
  return result;
}

/** Quotes a word for `sh`, which is how git runs `GIT_SSH_COMMAND`. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quotes a file name inside an ssh `-o` option value, which ssh splits at spaces unless double-quoted. */
function sshConfigQuote(path: string): string {
  return /[\s"]/.test(path) ? `"${path.replaceAll('"', '\\"')}"` : path;
}
