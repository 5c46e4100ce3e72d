import * as s from "./schema.js";

/** HTTP basic authentication's keys, here and in a Flipt v1 file's `storage.git.authentication.basic`. */
export const BASIC_AUTH_FIELDS = {
  username: s.string("User name (both or neither of username and password)."),
  password: s.string("Password (both or neither of username and password).", { secret: true }),
};

/** SSH key authentication's keys, here and in a Flipt v1 file's `storage.git.authentication.ssh`. */
export const SSH_AUTH_FIELDS = {
  user: s.string("SSH user.", { default: "git" }),
  password: s.string("Private key passphrase (required; any value for unencrypted keys).", {
    secret: true,
  }),
  private_key_path: s.string("Private key file (exactly one of path and bytes)."),
  private_key_bytes: s.string("Private key PEM text (exactly one of path and bytes).", { secret: true }),
  insecure_ignore_host_key: s.boolean("Do not verify the host key.", { default: false }),
};

const CREDENTIAL_FIELDS = {
  type: s.string("Which block below applies.", {
    values: ["basic", "ssh", "access_token", "github_app"],
    required: true,
  }),
  basic: s.object("HTTP basic authentication.", BASIC_AUTH_FIELDS, { optional: true }),
  ssh: s.object(
    "SSH public-key authentication.",
    {
      ...SSH_AUTH_FIELDS,
      known_hosts_path: s.string("Pennant: known_hosts file to verify host keys against."),
    },
    { optional: true },
  ),
  access_token: s.string("Token, sent as HTTP basic `x-token-auth:<token>`.", { secret: true }),
  github_app: s.object(
    "GitHub App installation token.",
    {
      client_id: s.string("GitHub App client id."),
      installation_id: s.integer("Installation id.", { min: 1 }),
      private_key_path: s.string("App private key file (exactly one of path and bytes)."),
      private_key_bytes: s.string("App private key PEM text (exactly one of path and bytes).", {
        secret: true,
      }),
      api_url: s.string("GitHub Enterprise API URL."),
    },
    { optional: true },
  ),
};

type Credential = s.InferFields<typeof CREDENTIAL_FIELDS>;

export function checkCredential(credential: Credential, context: s.NodeContext): Credential {
  switch (credential.type) {
    case "basic": {
      const basic = credential.basic;
      if (basic === undefined) {
        context.report("basic", "is required when type is basic");
      } else if ((basic.username === undefined) !== (basic.password === undefined)) {
        context.report("basic", "username and password must be given together");
      }
      break;
    }
    case "ssh": {
      const ssh = credential.ssh;
      if (ssh === undefined) {
        context.report("ssh", "is required when type is ssh");
        break;
      }
      if (ssh.password === undefined || ssh.password === "") context.report("ssh.password", "is required");
      exactlyOne(context, "ssh", ssh.privateKeyPath, ssh.privateKeyBytes);
      break;
    }
    case "access_token":
      if (credential.accessToken === undefined || credential.accessToken === "") {
        context.report("access_token", "is required when type is access_token");
      }
      break;
    case "github_app": {
      const app = credential.githubApp;
      if (app === undefined) {
        context.report("github_app", "is required when type is github_app");
        break;
      }
      if (app.clientId === undefined || app.clientId === "")
        context.report("github_app.client_id", "is required");
      if (app.installationId === undefined) context.report("github_app.installation_id", "is required");
      exactlyOne(context, "github_app", app.privateKeyPath, app.privateKeyBytes);
      break;
    }
  }
  return credential;
}

function exactlyOne(
  context: s.NodeContext,
  block: string,
  path: string | undefined,
  bytes: string | undefined,
): void {
  if ((path === undefined) === (bytes === undefined)) {
    context.report(block, "exactly one of private_key_path and private_key_bytes is required");
  }
}

/** `credentials.<name>`: for git remotes and SCM APIs. */
export const CREDENTIALS_SCHEMA = s.map(
  "Credentials by name, referenced from storages and SCM settings.",
  "name",
  s.object("Credentials for a git remote or SCM API.", CREDENTIAL_FIELDS, { finalize: checkCredential }),
);
