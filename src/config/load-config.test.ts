import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Config, DEFAULT_CONFIG } from "./config.js";
import { ConfigError, type ConfigIssue } from "./config-error.js";
import { type LoadConfigOptions, type LoadedConfig, loadConfig } from "./load-config.js";

type Env = Record<string, string | undefined>;

let dir: string;
let fileCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "pennant-config-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a config file into the test's temp dir and returns its path. */
async function configFile(text: string, extension = "yml"): Promise<string> {
  fileCount += 1;
  const path = join(dir, `config-${fileCount}.${extension}`);
  await writeFile(path, text);
  return path;
}

function load(env: Env = {}, options: Partial<LoadConfigOptions> = {}): Promise<LoadedConfig> {
  return loadConfig({ env, defaultPaths: [], ...options });
}

async function loadYaml(text: string, env: Env = {}): Promise<LoadedConfig> {
  return load(env, { configPath: await configFile(text) });
}

/** Loads and expects a ConfigError; returns its issues. */
async function issuesOf(loading: Promise<unknown>): Promise<readonly ConfigIssue[]> {
  try {
    await loading;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, "CONFIG_INVALID");
    return error.issues;
  }
  assert.fail("expected loading to fail");
}

/** Expects exactly one problem and returns its formatted line. */
async function problemOf(loading: Promise<unknown>): Promise<string> {
  try {
    await loading;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.issues.length, 1, error.message);
    return error.message.split("\n")[1] ?? "";
  }
  assert.fail("expected loading to fail");
}

describe("DEFAULT_CONFIG", () => {
  it("matches the documented built-in defaults (api.md §9.4)", () => {
    const expected: Config = {
      log: {
        level: "info",
        encoding: "console",
        grpcLevel: "error",
        keys: { time: "T", level: "L", message: "M" },
      },
      server: {
        protocol: "http",
        host: "0.0.0.0",
        httpPort: 8080,
        httpsPort: 443,
        grpcPort: 9000,
        maxRequestBytes: 4 * 1024 * 1024,
        shutdownGracePeriod: 10_000,
        workers: 0,
      },
      cors: {
        enabled: false,
        allowedOrigins: ["*"],
        allowedHeaders: [
          "Accept",
          "Authorization",
          "Content-Type",
          "X-CSRF-Token",
          "X-Flipt-Accept-Server-Version",
          "X-Flipt-Environment",
          "X-Flipt-Namespace",
          "If-None-Match",
        ],
      },
      storage: {
        default: {
          backend: { type: "memory" },
          branch: "main",
          refType: "static",
          pollInterval: 30_000,
          fetchPolicy: "strict",
          insecureSkipTls: false,
          readOnly: false,
          signature: { name: "flipt", email: "flipt[bot]@noreply.flipt.io", enabled: false, type: "gpg" },
        },
      },
      storageReadOnly: false,
      environments: { default: { name: "default", storage: "default", directory: "", default: true } },
      credentials: {},
      cache: {
        enabled: false,
        backend: "memory",
        ttl: 60_000,
        memory: { evictionInterval: 300_000 },
        redis: {
          host: "localhost",
          port: 6379,
          db: 0,
          prefix: "flipt",
          requireTls: false,
          insecureSkipTls: false,
          poolSize: 0,
          minIdleConn: 0,
          connMaxIdleTime: 0,
          netTimeout: 0,
          mode: "single",
        },
      },
      authentication: {
        required: false,
        exclude: { evaluation: false, ofrep: false },
        session: {
          secure: false,
          tokenLifetime: 86_400_000,
          stateLifetime: 600_000,
          csrf: { secure: true, trustedOrigins: [] },
          storage: {},
        },
        methods: {
          token: { enabled: false, storage: { type: "static", tokens: {} } },
          jwt: { enabled: false, validateClaims: { audiences: [] }, claimsMapping: {} },
          oidc: {},
          github: {},
          kubernetes: {},
        },
      },
      templates: {},
      evaluation: { includeFlagMetadata: false, maxBatchSize: 100_000 },
      limits: {
        maxContextEntries: 100_000,
        maxContextValueBytes: 65536,
        maxStreams: 10000,
        maxStreamsPerClient: 0,
        maxHealthWatches: 1000,
        maxHealthWatchesPerClient: 0,
        headerTimeout: 10_000,
        requestTimeout: 30_000,
        idleTimeout: 120_000,
        maxStreamsPerConnection: 10_000,
        maxHalfOpenStreams: 100,
        maxConnectionsPerClient: 0,
        maxFeaturesFileBytes: 8388608,
        maxYamlAliasNodes: 10000,
        maxFeaturesExpandedBytes: 16 * 1024 * 1024,
        maxSnapshotBytes: 128 * 1024 * 1024,
      },
      metrics: { enabled: true, exporter: "prometheus", otlp: {} },
      tracing: { enabled: false },
      ui: { enabled: true, defaultTheme: "system", topbar: { color: "" } },
      meta: { checkForUpdates: true, telemetryEnabled: true },
      analytics: {},
      authorization: {},
      secrets: {
        providers: {
          file: { enabled: false, basePath: "/etc/flipt/secrets" },
          vault: {},
          gcp: {},
          aws: {},
          azure: {},
        },
      },
      experimental: {},
      license: {},
      diagnostics: {},
    };
    assert.deepEqual(DEFAULT_CONFIG, expected);
  });

  it("is deeply frozen", () => {
    assert.ok(Object.isFrozen(DEFAULT_CONFIG));
    assert.ok(Object.isFrozen(DEFAULT_CONFIG.storage.default?.signature));
    assert.ok(Object.isFrozen(DEFAULT_CONFIG.cors.allowedOrigins));
  });
});

describe("loadConfig()", () => {
  describe("with nothing configured", () => {
    it("returns the built-in defaults, no path and no warnings", async () => {
      const loaded = await load();
      assert.deepEqual(loaded.config, DEFAULT_CONFIG);
      assert.equal(loaded.path, undefined);
      assert.deepEqual(loaded.warnings, []);
    });

    it("ignores variables without the FLIPT_ prefix and empty FLIPT_ values", async () => {
      const loaded = await load({
        HOME: "/nowhere",
        PATH: "/bin",
        FLIPT_SERVER_HTTP_PORT: "",
        FLIPT_LOG_LEVEL: undefined,
      });
      assert.deepEqual(loaded.config, DEFAULT_CONFIG);
      assert.deepEqual(loaded.warnings, []);
    });
  });

  describe("choosing the file", () => {
    it("fails when --config names a missing file, naming it", async () => {
      const missing = join(dir, "missing.yml");
      assert.equal(
        await problemOf(load({}, { configPath: missing })),
        `config file "${missing}" does not exist`,
      );
    });

    it("reads <userConfigDir>/flipt/config.yml from XDG_CONFIG_HOME", async () => {
      const base = await mkdtemp(join(dir, "xdg-"));
      await mkdir(join(base, "flipt"));
      await writeFile(join(base, "flipt", "config.yml"), "server:\n  http_port: 1234\n");
      const loaded = await loadConfig({ env: { XDG_CONFIG_HOME: base, HOME: "/nowhere" } });
      assert.equal(loaded.path, join(base, "flipt", "config.yml"));
      assert.equal(loaded.config.server.httpPort, 1234);
    });

    it("falls back to $HOME/.config when XDG_CONFIG_HOME is unset", async () => {
      const home = await mkdtemp(join(dir, "home-"));
      await mkdir(join(home, ".config", "flipt"), { recursive: true });
      await writeFile(join(home, ".config", "flipt", "config.yml"), "server:\n  grpc_port: 4321\n");
      const loaded = await loadConfig({ env: { HOME: home } });
      assert.equal(loaded.path, join(home, ".config", "flipt", "config.yml"));
      assert.equal(loaded.config.server.grpcPort, 4321);
    });

    it("takes the first existing default path", async () => {
      const second = await configFile("server:\n  http_port: 2222\n");
      const loaded = await load({}, { defaultPaths: [join(dir, "absent.yml"), second] });
      assert.equal(loaded.path, second);
      assert.equal(loaded.config.server.httpPort, 2222);
    });

    it("prefers --config over the default paths", async () => {
      const chosen = await configFile("server:\n  http_port: 3333\n");
      const other = await configFile("server:\n  http_port: 4444\n");
      const loaded = await load({}, { configPath: chosen, defaultPaths: [other] });
      assert.equal(loaded.config.server.httpPort, 3333);
    });
  });

  describe("with a YAML file", () => {
    it("reads every section", async () => {
      const { config, warnings } = await loadYaml(`
version: "2.0"
log:
  level: DEBUG
  encoding: json
server:
  http_port: 8081
  grpc_conn_max_age: 5m
  max_request_bytes: 1024
cors:
  enabled: true
  allowed_origins: [https://a.example, https://b.example]
storage:
  git:
    remote: https://github.com/acme/flags.git
    branch: release
    poll_interval: 10s
    fetch_policy: lenient
    credentials: gh
    read_only: true
  disk:
    backend:
      type: local
      path: /srv/flags
environments:
  production: {storage: git, directory: prod, default: true}
  staging: {storage: git, directory: staging}
  local: {storage: disk, name: dev}
credentials:
  gh:
    type: access_token
    access_token: s3cret
authentication:
  required: true
  exclude: {evaluation: true}
  methods:
    token:
      enabled: true
      storage:
        tokens:
          ci: {credential: abc, metadata: {team: platform}}
templates:
  commit_message: "update {{ .Namespace }}"
evaluation: {include_flag_metadata: true}
metrics: {exporter: otlp, otlp: {endpoint: "localhost:4317"}}
ui: {enabled: false, default_theme: dark}
analytics: {storage: {clickhouse: {enabled: false}}}
`);
      assert.deepEqual(
        warnings.map((warning) => warning.replace(/ \(from .*\)$/, "")),
        ["Pennant exports metrics for Prometheus only: GET /metrics serves them"],
      );
      assert.equal(config.version, "2.0");
      assert.deepEqual(config.log, {
        level: "debug",
        encoding: "json",
        grpcLevel: "error",
        keys: { time: "T", level: "L", message: "M" },
      });
      assert.equal(config.server.httpPort, 8081);
      assert.equal(config.server.grpcConnMaxAge, 300_000);
      assert.equal(config.server.maxRequestBytes, 1024);
      assert.deepEqual(config.cors.allowedOrigins, ["https://a.example", "https://b.example"]);
      assert.deepEqual(config.storage.git, {
        backend: { type: "memory" },
        remote: "https://github.com/acme/flags.git",
        branch: "release",
        refType: "static",
        pollInterval: 10_000,
        fetchPolicy: "lenient",
        credentials: "gh",
        insecureSkipTls: false,
        readOnly: true,
        signature: { name: "flipt", email: "flipt[bot]@noreply.flipt.io", enabled: false, type: "gpg" },
      });
      assert.deepEqual(config.storage.disk?.backend, { type: "local", path: "/srv/flags" });
      assert.equal(config.storage.disk?.readOnly, false);
      assert.deepEqual(Object.keys(config.storage).sort(), ["disk", "git"]);
      assert.deepEqual(config.environments.production, {
        name: "production",
        storage: "git",
        directory: "prod",
        default: true,
      });
      assert.equal(config.environments.staging?.default, false);
      assert.equal(config.environments.local?.name, "dev");
      assert.deepEqual(config.credentials.gh, { type: "access_token", accessToken: "s3cret" });
      assert.equal(config.authentication.required, true);
      assert.deepEqual(config.authentication.exclude, { evaluation: true, ofrep: false });
      assert.deepEqual(config.authentication.methods.token.storage.tokens, {
        ci: { credential: "abc", metadata: { team: "platform" } },
      });
      assert.deepEqual(config.templates, { commitMessage: "update {{ .Namespace }}" });
      assert.equal(config.evaluation.includeFlagMetadata, true);
      assert.deepEqual(config.metrics, {
        enabled: true,
        exporter: "otlp",
        otlp: { endpoint: "localhost:4317" },
      });
      assert.deepEqual(config.ui, { enabled: false, defaultTheme: "dark", topbar: { color: "" } });
      assert.deepEqual(config.analytics, { storage: { clickhouse: { enabled: false } } });
    });

    it("treats an empty file as no settings", async () => {
      const { config } = await loadYaml("");
      assert.deepEqual(config, DEFAULT_CONFIG);
    });

    it("accepts an unquoted version 2.0", async () => {
      assert.equal((await loadYaml("version: 2.0\n")).config.version, "2.0");
    });

    it("treats keys case-insensitively and lower-cases map ids, as Flipt does", async () => {
      const { config } = await loadYaml("Server:\n  HTTP_PORT: 1111\nEnvironments:\n  Prod: {}\n");
      assert.equal(config.server.httpPort, 1111);
      assert.deepEqual(Object.keys(config.environments), ["prod"]);
      assert.equal(config.environments.prod?.name, "prod");
    });

    it("defaults a local backend's path to '.'", async () => {
      const { config } = await loadYaml("storage:\n  default:\n    backend:\n      type: local\n");
      assert.deepEqual(config.storage.default?.backend, { type: "local", path: "." });
    });

    it("defaults storages and environments only when their maps are empty", async () => {
      const { config } = await loadYaml("storage: {}\nenvironments: {}\n");
      assert.deepEqual(config.storage, DEFAULT_CONFIG.storage);
      assert.deepEqual(config.environments, DEFAULT_CONFIG.environments);
    });

    it("gives each environment its key as name and storage 'default'", async () => {
      const { config } = await loadYaml("environments:\n  default:\n  other:\n    directory: other\n");
      assert.deepEqual(config.environments, {
        default: { name: "default", storage: "default", directory: "", default: true },
        other: { name: "other", storage: "default", directory: "other", default: false },
      });
    });

    it("makes the environment keyed 'default' the default, else the only one", async () => {
      const { config } = await loadYaml("environments:\n  prod: {}\n");
      assert.equal(config.environments.prod?.default, true);
    });

    it("defaults an ssh user to git", async () => {
      const { config } = await loadYaml(
        "credentials:\n  deploy:\n    type: ssh\n    ssh:\n      password: pw\n      private_key_path: /keys/id\n",
      );
      assert.deepEqual(config.credentials.deploy?.ssh, {
        user: "git",
        password: "pw",
        privateKeyPath: "/keys/id",
        insecureIgnoreHostKey: false,
      });
    });

    it("applies storage.read_only to every storage", async () => {
      const { config } = await loadYaml(
        "storage:\n  read_only: true\n  default: {}\n  b: {read_only: false}\n",
      );
      assert.equal(config.storageReadOnly, true);
      assert.deepEqual(Object.keys(config.storage).sort(), ["b", "default"]);
      assert.equal(config.storage.default?.readOnly, true);
      assert.equal(config.storage.b?.readOnly, true);
    });

    it("allows port 0", async () => {
      const { config } = await loadYaml("server:\n  http_port: 0\n  grpc_port: 0\n");
      assert.equal(config.server.httpPort, 0);
      assert.equal(config.server.grpcPort, 0);
    });

    it("resolves YAML anchors and merge keys", async () => {
      const { config } = await loadYaml(
        "x-common: &common {storage: default}\nenvironments:\n  a:\n    <<: *common\n    directory: a\n    default: true\n  b:\n    <<: *common\n    directory: b\n",
      );
      assert.equal(config.environments.b?.storage, "default");
    });

    it("freezes the result", async () => {
      const { config } = await loadYaml("server:\n  http_port: 1\n");
      assert.ok(Object.isFrozen(config.server));
    });
  });

  describe("with a JSON file", () => {
    it("reads it like YAML", async () => {
      const path = await configFile(
        JSON.stringify(
          {
            server: { http_port: 9999 },
            storage: { main: { backend: { type: "local", path: "/data" }, poll_interval: "1m" } },
            environments: { default: { storage: "main" } },
          },
          null,
          "\t",
        ),
        "json",
      );
      const { config, path: used } = await load({}, { configPath: path });
      assert.equal(used, path);
      assert.equal(config.server.httpPort, 9999);
      assert.deepEqual(config.storage.main?.backend, { type: "local", path: "/data" });
      assert.equal(config.storage.main?.pollInterval, 60_000);
      assert.equal(config.environments.default?.storage, "main");
    });

    it("lets a later duplicate key win, as Go's JSON decoder does, and keeps key locations", async () => {
      const path = await configFile('{"server": {"http_port": 1, "http_port": 2, "htp_port": 3}}', "json");
      const { config, warnings } = await load({}, { configPath: path });
      assert.equal(config.server.httpPort, 2);
      assert.deepEqual(warnings, [`unknown key "server.htp_port" (from ${path}:1:45)`]);
    });

    it("refuses a .json file that is not JSON", async () => {
      const problem = await problemOf(
        load({}, { configPath: await configFile("server:\n  http_port: 1\n", "json") }),
      );
      assert.match(problem, /^invalid JSON: /);
    });
  });

  describe("with FLIPT_ variables", () => {
    it("overrides the file", async () => {
      const { config } = await loadYaml("server:\n  http_port: 8081\nlog:\n  level: info\n", {
        FLIPT_SERVER_HTTP_PORT: "8082",
        FLIPT_LOG_LEVEL: "debug",
        FLIPT_AUTHENTICATION_REQUIRED: "true",
      });
      assert.equal(config.server.httpPort, 8082);
      assert.equal(config.log.level, "debug");
      assert.equal(config.authentication.required, true);
    });

    it("accepts Go's boolean spellings", async () => {
      for (const [text, value] of [
        ["1", true],
        ["t", true],
        ["T", true],
        ["TRUE", true],
        ["True", true],
        ["0", false],
        ["f", false],
        ["F", false],
        ["FALSE", false],
        ["False", false],
      ] as const) {
        const { config } = await load({ FLIPT_CORS_ENABLED: text });
        assert.equal(config.cors.enabled, value, text);
      }
    });

    it("splits lists on spaces", async () => {
      const { config } = await load({ FLIPT_CORS_ALLOWED_ORIGINS: "a.com b.com" });
      assert.deepEqual(config.cors.allowedOrigins, ["a.com", "b.com"]);
    });

    it("sets storage.read_only", async () => {
      const { config } = await load({ FLIPT_STORAGE_READ_ONLY: "true" });
      assert.equal(config.storageReadOnly, true);
      assert.equal(config.storage.default?.readOnly, true);
    });

    it("creates map entries from the variable names", async () => {
      const { config } = await load({
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
        FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "10s",
        FLIPT_CREDENTIALS_GH_TYPE: "basic",
        FLIPT_CREDENTIALS_GH_BASIC_USERNAME: "me",
        FLIPT_CREDENTIALS_GH_BASIC_PASSWORD: "pw",
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL: "token-1",
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_METADATA_TEAM: "platform",
      });
      assert.deepEqual(config.storage.default?.backend, { type: "local", path: "." });
      assert.equal(config.storage.default?.pollInterval, 10_000);
      assert.deepEqual(config.credentials.gh, { type: "basic", basic: { username: "me", password: "pw" } });
      assert.deepEqual(config.authentication.methods.token.storage.tokens.ci, {
        credential: "token-1",
        metadata: { team: "platform" },
      });
    });

    it("merges map entries with the file's entries of the same id", async () => {
      const { config } = await loadYaml(
        "storage:\n  Prod:\n    remote: https://example.com/flags.git\n    branch: main\nenvironments:\n  default:\n    storage: prod\n",
        { FLIPT_STORAGE_PROD_BRANCH: "release", FLIPT_ENVIRONMENTS_DEFAULT_DIRECTORY: "flags" },
      );
      assert.deepEqual(Object.keys(config.storage), ["prod"]);
      assert.equal(config.storage.prod?.remote, "https://example.com/flags.git");
      assert.equal(config.storage.prod?.branch, "release");
      assert.equal(config.environments.default?.directory, "flags");
    });

    it("handles ids containing underscores", async () => {
      const { config } = await load({
        FLIPT_STORAGE_MY_REPO_BACKEND_TYPE: "local",
        FLIPT_STORAGE_MY_BRANCH_REPO_BRANCH: "dev",
        FLIPT_ENVIRONMENTS_MY_ENV_STORAGE: "my_repo",
      });
      assert.deepEqual(Object.keys(config.storage).sort(), ["my_branch_repo", "my_repo"]);
      assert.equal(config.storage.my_branch_repo?.branch, "dev");
      assert.deepEqual(config.environments.my_env, {
        name: "my_env",
        storage: "my_repo",
        directory: "",
        default: true,
      });
    });

    it("prefers an id that exists in the file when a name splits two ways", async () => {
      const name = "FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_METADATA_CREDENTIAL";
      const fresh = await load({
        [name]: "x",
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL: "c",
      });
      assert.deepEqual(fresh.config.authentication.methods.token.storage.tokens, {
        ci: { credential: "c", metadata: { credential: "x" } },
      });
      const merged = await loadYaml(
        "authentication:\n  methods:\n    token:\n      storage:\n        tokens:\n          ci_metadata: {credential: old}\n",
        { [name]: "new" },
      );
      assert.deepEqual(merged.config.authentication.methods.token.storage.tokens, {
        ci_metadata: { credential: "new", metadata: {} },
      });
    });

    it("passes keys of uninterpreted sections through", async () => {
      const { config, warnings } = await load({
        FLIPT_AUTHORIZATION_REQUIRED: "false",
        FLIPT_AUTHORIZATION_BACKEND: "local",
        FLIPT_UI_DEFAULT_THEME: "dark",
      });
      assert.deepEqual(config.authorization, { required: "false", backend: "local" });
      assert.deepEqual(warnings, []);
    });

    it("warns about variables that match no key", async () => {
      const { warnings } = await load({ FLIPT_SERVER_HTP_PORT: "1", FLIPT_: "x", FLIPT_SERVER: "y" });
      assert.deepEqual(warnings, [
        "unknown environment variable FLIPT_ (matches no config key)",
        "unknown environment variable FLIPT_SERVER (matches no config key)",
        "unknown environment variable FLIPT_SERVER_HTP_PORT (matches no config key)",
      ]);
    });
  });

  describe(`\${env:VAR} references`, () => {
    it("are replaced from the given env, anywhere in a string", async () => {
      const { config } = await loadYaml(
        `credentials:\n  gh:\n    type: access_token\n    access_token: \${env:GH_TOKEN}\nserver:\n  host: "\${env:HOST_A}.\${env:HOST_B}"\n  http_port: \${env:PORT}\n`,
        { GH_TOKEN: "tok", HOST_A: "example", HOST_B: "com", PORT: "8123" },
      );
      assert.equal(config.credentials.gh?.accessToken, "tok");
      assert.equal(config.server.host, "example.com");
      assert.equal(config.server.httpPort, 8123);
    });

    it("give an empty string when the variable is not set, as Flipt does, with a warning naming it and the key", async () => {
      const path = await configFile(`environments:\n  default:\n    directory: \${env:FLAGS_DIR}\n`);
      const { config, warnings } = await load({}, { configPath: path });
      assert.equal(config.environments.default?.directory, "");
      assert.deepEqual(warnings, [
        `environments.default.directory: environment variable FLAGS_DIR is not set: \${env:FLAGS_DIR} is replaced by "" (as Flipt does) (from ${path}:3:5)`,
      ]);
    });

    it(`keep \${env:} (no name) as text, with a warning`, async () => {
      const { config, warnings } = await loadYaml(`templates:\n  commit_message: "a \${env:} b"\n`);
      assert.equal(config.templates.commitMessage, `a \${env:} b`);
      assert.equal(warnings.length, 1);
    });
  });

  describe(`\${env:VAR} references in typed keys`, () => {
    it("read an unset variable as Go's zero value in boolean and integer keys, as Flipt's weak decoding does", async () => {
      const { config } = await loadYaml(
        `authentication:\n  required: \${env:AUTH_REQUIRED}\nserver:\n  http_port: \${env:PORT}\ncors:\n  allowed_origins: \${env:ORIGINS}\n`,
      );
      assert.equal(config.authentication.required, false);
      assert.equal(config.server.httpPort, 0);
      assert.deepEqual(config.cors.allowedOrigins, []);
    });

    it("still refuse an unset variable in a duration, as Go's time.ParseDuration does", async () => {
      const problem = await problemOf(loadYaml(`storage:\n  default:\n    poll_interval: \${env:POLL}\n`));
      assert.match(
        problem,
        /^storage\.default\.poll_interval: must be a duration such as "30s" or "1m30s", got ""/,
      );
    });

    it("accept a variable set to the empty string", async () => {
      const { config } = await loadYaml(`environments:\n  default:\n    directory: "\${env:DIR}"\n`, {
        DIR: "",
      });
      assert.equal(config.environments.default?.directory, "");
    });
  });

  describe(`\${secret:…} references`, () => {
    it("are refused, with the reason, where Pennant needs the value", async () => {
      const problem = await problemOf(
        loadYaml(`credentials:\n  gh:\n    type: access_token\n    access_token: \${secret:vault:gh}\n`),
      );
      assert.match(
        problem,
        /^credentials\.gh\.access_token: \$\{secret:vault:gh\} names the secret provider "vault", which Pennant does not have: only "file" \(secrets\.providers\.file\); Pennant needs this value/,
      );
    });

    it("name the file provider when it is not enabled", async () => {
      const problem = await problemOf(
        loadYaml(`credentials:\n  gh:\n    type: access_token\n    access_token: \${secret:file:gh}\n`),
      );
      assert.match(problem, /needs the file secret provider: set secrets\.providers\.file\.enabled: true/);
    });

    it("only warn in uninterpreted sections and keys Pennant does not act on", async () => {
      const { warnings } = await loadYaml(
        `authentication:\n  methods:\n    oidc:\n      secret: \${secret:vault:x}\n  session:\n    csrf:\n      key: \${secret:vault:csrf}\n`,
      );
      assert.equal(warnings.length, 2, warnings.join("\n"));
      assert.match(
        warnings[0] ?? "",
        /authentication\.session\.csrf\.key: \$\{secret:vault:csrf\} names the secret provider "vault"/,
      );
      assert.match(
        warnings[1] ?? "",
        /authentication\.methods\.oidc\.secret: \$\{secret:vault:x\} names the secret provider "vault"/,
      );
    });

    it("are resolved from the file provider's JSON files, as Flipt resolves them", async () => {
      const secrets = join(dir, "secrets");
      await mkdir(secrets, { recursive: true });
      await writeFile(join(secrets, "gh-token.json"), JSON.stringify({ data: { "gh-token": "from-file" } }));
      const { config, warnings } = await loadYaml(
        `secrets:\n  providers:\n    file:\n      enabled: true\n      base_path: ${secrets}\ncredentials:\n  gh:\n    type: access_token\n    access_token: \${secret:file:gh-token}\n`,
      );
      assert.equal(config.credentials.gh?.accessToken, "from-file");
      assert.deepEqual(warnings, []);
    });

    it("resolve references given in FLIPT_ variables too, and refuse a missing secret file", async () => {
      const secrets = join(dir, "secrets-env");
      await mkdir(secrets, { recursive: true });
      await writeFile(join(secrets, "tok.json"), JSON.stringify({ data: { tok: "t0k" } }));
      const env = {
        FLIPT_SECRETS_PROVIDERS_FILE_ENABLED: "true",
        FLIPT_SECRETS_PROVIDERS_FILE_BASE_PATH: secrets,
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL: `\${secret:file:tok}`,
      };
      const { config } = await load(env);
      assert.equal(config.authentication.methods.token.storage.tokens.ci?.credential, "t0k");
      const problem = await problemOf(
        load({
          ...env,
          FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL: `\${secret:file:nope}`,
        }),
      );
      assert.match(problem, /credential: \$\{secret:file:nope\}: secret file .*nope\.json does not exist/);
    });

    it("are only whole values, as in Flipt: a reference inside a longer string is text", async () => {
      const { config } = await loadYaml(`templates:\n  commit_message: "x \${secret:file:a}"\n`);
      assert.equal(config.templates.commitMessage, `x \${secret:file:a}`);
    });
  });

  describe("durations written as bare numbers", () => {
    it("are nanoseconds, as Flipt's decoder reads them, with a warning", async () => {
      const { config, warnings } = await loadYaml(
        "server:\n  grpc_conn_max_age: 300000000000\n  shutdown_grace_period: 1500000000.9\nlimits:\n  idle_timeout: 0\n",
      );
      assert.equal(config.server.grpcConnMaxAge, 300_000);
      assert.equal(config.server.shutdownGracePeriod, 1500);
      assert.equal(config.limits.idleTimeout, 0);
      assert.equal(warnings.length, 2, warnings.join("\n"));
      assert.match(
        warnings[0] ?? "",
        /server\.grpc_conn_max_age: 300000000000 is read as 5m0s: a bare number is nanoseconds/,
      );
    });

    it("say so when one falls below a minimum", async () => {
      const problem = await problemOf(loadYaml("storage:\n  default:\n    poll_interval: 30\n"));
      assert.match(
        problem,
        /must be at least 1s, got 30 \(a bare number is nanoseconds, as in Flipt: write "30s" for seconds\)/,
      );
    });
  });

  describe("log levels", () => {
    it("accept every level Flipt's logger reads, in any case", async () => {
      for (const level of ["debug", "INFO", "Warn", "error", "DPANIC", "panic", "fatal"]) {
        const { config, warnings } = await load({ FLIPT_LOG_LEVEL: level, FLIPT_LOG_GRPC_LEVEL: level });
        assert.equal(config.log.level, level.toLowerCase());
        assert.equal(config.log.grpcLevel, level.toLowerCase());
        assert.deepEqual(warnings, []);
      }
    });

    it("log at info for an unknown level, with a warning, as Flipt does", async () => {
      const { config, warnings } = await loadYaml("log:\n  level: verbose\n");
      assert.equal(config.log.level, "info");
      assert.match(warnings[0] ?? "", /log\.level: unknown level "verbose" .*logging at info, as Flipt does/);
    });

    it("read log.keys", async () => {
      const { config } = await loadYaml(
        "log:\n  encoding: json\n  keys:\n    time: ts\n    level: severity\n    message: msg\n",
      );
      assert.deepEqual(config.log.keys, { time: "ts", level: "severity", message: "msg" });
    });
  });

  describe("authorization", () => {
    it("refuses authorization.required, naming the key and what to use instead", async () => {
      for (const loading of [
        () =>
          loadYaml("authentication:\n  required: true\nauthorization:\n  required: true\n  backend: local\n"),
        () => load({ FLIPT_AUTHORIZATION_REQUIRED: "true" }),
      ]) {
        const problem = await problemOf(loading());
        assert.match(
          problem,
          /^authorization\.required: Pennant does not evaluate Flipt's authorization policies \(Rego\)/,
        );
        assert.match(problem, /metadata\.role/);
      }
    });

    it("accepts an authorization section that is not required", async () => {
      const { warnings } = await loadYaml(
        "authorization:\n  required: false\n  local:\n    policy:\n      path: /p.rego\n",
      );
      assert.deepEqual(warnings, []);
    });
  });

  describe("token roles", () => {
    it("accept a role Pennant does not know, with a warning that it may only read", async () => {
      const { config, warnings } = await loadYaml(
        "authentication:\n  methods:\n    token:\n      storage:\n        tokens:\n          ci: {credential: a, metadata: {role: admin}}\n",
      );
      assert.equal(config.authentication.methods.token.storage.tokens.ci?.metadata.role, "admin");
      assert.match(
        warnings[0] ?? "",
        /authentication\.methods\.token\.storage\.tokens\.ci\.metadata\.role: unknown role "admin" .*may read but not write/,
      );
    });
  });

  describe("with a TOML file", () => {
    it("reads it by its extension", async () => {
      const path = await configFile(
        '[log]\nlevel = "debug"\n\n[server]\nhttp_port = 9999\n\n[storage.main]\npoll_interval = "1m"\nbackend = { type = "local", path = "/data" }\n\n[environments.default]\nstorage = "main"\n',
        "toml",
      );
      const { config, warnings } = await load({}, { configPath: path });
      assert.deepEqual(warnings, []);
      assert.equal(config.log.level, "debug");
      assert.equal(config.server.httpPort, 9999);
      assert.deepEqual(config.storage.main?.backend, { type: "local", path: "/data" });
      assert.equal(config.storage.main?.pollInterval, 60_000);
    });

    it("reports TOML syntax errors with line and column", async () => {
      const problem = await problemOf(
        load({}, { configPath: await configFile("[log\nlevel = 1\n", "toml") }),
      );
      assert.match(problem, /^invalid TOML at line \d+, column \d+/);
    });
  });

  describe("with a file of a format Pennant does not read", () => {
    it("names the formats it reads", async () => {
      const problem = await problemOf(load({}, { configPath: await configFile("a = 1\n", "hcl") }));
      assert.match(
        problem,
        /Pennant reads YAML \(\.yml, \.yaml\), JSON \(\.json\) and TOML \(\.toml\) config files, not \.hcl/,
      );
    });
  });

  describe("features Pennant accepts and does not provide", () => {
    it("warn when they are turned on", async () => {
      const { warnings } = await load({ FLIPT_TRACING_ENABLED: "true", FLIPT_METRICS_EXPORTER: "otlp" });
      assert.deepEqual(warnings.map((warning) => warning.replace(/ \(from .*\)$/, "")).sort(), [
        "Pennant does not export traces: tracing is ignored",
        "Pennant exports metrics for Prometheus only: GET /metrics serves them",
      ]);
      assert.deepEqual((await load({ FLIPT_TRACING_ENABLED: "false" })).warnings, []);
    });
  });

  describe("unknown keys", () => {
    it("produce warnings naming the key path and location", async () => {
      const path = await configFile("server:\n  htp_port: 1\nnope: true\nui:\n  anything: 1\n");
      const { warnings } = await load({}, { configPath: path });
      assert.deepEqual(warnings, [
        `unknown key "server.htp_port" (from ${path}:2:3)`,
        `unknown key "nope" (from ${path}:3:1)`,
      ]);
    });
  });

  describe("invalid values", () => {
    const cases: [name: string, yaml: string, env: Env, expected: string][] = [
      [
        "a port that is not a number (env)",
        "",
        { FLIPT_SERVER_HTTP_PORT: "abc" },
        'server.http_port: must be an integer between 0 and 65535, got "abc" (from FLIPT_SERVER_HTTP_PORT)',
      ],
      [
        "a port out of range",
        "server:\n  grpc_port: 70000\n",
        {},
        "server.grpc_port: must be an integer between 0 and 65535, got 70000",
      ],
      [
        "a fractional port",
        "server:\n  http_port: 80.5\n",
        {},
        "server.http_port: must be an integer between 0 and 65535, got 80.5",
      ],
      [
        "an integer with junk (env)",
        "",
        { FLIPT_SERVER_MAX_REQUEST_BYTES: "10kb" },
        'server.max_request_bytes: must be an integer of at least 1, got "10kb" (from FLIPT_SERVER_MAX_REQUEST_BYTES)',
      ],
      [
        "max_request_bytes of 0",
        "server:\n  max_request_bytes: 0\n",
        {},
        "server.max_request_bytes: must be an integer of at least 1, got 0",
      ],
      [
        "a bad boolean",
        "",
        { FLIPT_AUTHENTICATION_REQUIRED: "yes" },
        'authentication.required: must be a boolean (true or false), got "yes" (from FLIPT_AUTHENTICATION_REQUIRED)',
      ],
      [
        "a bad duration",
        "",
        { FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "5" },
        'storage.default.poll_interval: must be a duration such as "30s" or "1m30s", got "5" (from FLIPT_STORAGE_DEFAULT_POLL_INTERVAL)',
      ],
      [
        "a poll interval under 1s",
        "",
        { FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "500ms" },
        'storage.default.poll_interval: must be at least 1s, got "500ms" (from FLIPT_STORAGE_DEFAULT_POLL_INTERVAL)',
      ],
      [
        "an unknown enum value",
        "",
        { FLIPT_SERVER_PROTOCOL: "ftp" },
        'server.protocol: must be one of "http", "https", got "ftp" (from FLIPT_SERVER_PROTOCOL)',
      ],
      ["version 3.0", "", { FLIPT_VERSION: "3.0" }, 'version: must be "2.0", got "3.0" (from FLIPT_VERSION)'],
      [
        "a reference to an undefined storage",
        "",
        { FLIPT_ENVIRONMENTS_PROD_STORAGE: "x" },
        'environments.prod.storage: environment "prod" references undefined storage "x" (from FLIPT_ENVIRONMENTS_PROD_STORAGE)',
      ],
      [
        "a reference to undefined credentials",
        "",
        { FLIPT_STORAGE_DEFAULT_CREDENTIALS: "gh" },
        'storage.default.credentials: storage "default" references undefined credentials "gh" (from FLIPT_STORAGE_DEFAULT_CREDENTIALS)',
      ],
      [
        "several environments and no default",
        "environments:\n  a: {directory: a}\n  b: {directory: b}\n",
        {},
        "environments: explicit default environment required: set default: true on one of [a, b]",
      ],
      [
        "two default environments",
        "environments:\n  a: {directory: a, default: true}\n  b: {directory: b, default: true}\n",
        {},
        "environments: only one environment can be the default, found [a, b]",
      ],
      [
        "environments sharing a storage and directory",
        "environments:\n  a: {default: true}\n  b: {directory: ./}\n",
        {},
        'environments: environments [a, b] share the same storage "default" and directory ""',
      ],
      [
        "both ca_cert_path and ca_cert_bytes",
        "storage:\n  default:\n    ca_cert_path: /ca.pem\n    ca_cert_bytes: PEM\n",
        {},
        "storage.default: ca_cert_path and ca_cert_bytes are mutually exclusive",
      ],
      [
        "an ssh credential with both key forms",
        "credentials:\n  c:\n    type: ssh\n    ssh: {password: pw, private_key_path: /k, private_key_bytes: KEY}\n",
        {},
        "credentials.c.ssh: exactly one of private_key_path and private_key_bytes is required",
      ],
      [
        "an ssh credential without a password",
        "credentials:\n  c:\n    type: ssh\n    ssh: {private_key_path: /k}\n",
        {},
        "credentials.c.ssh.password: is required",
      ],
      [
        "basic credentials with only a username",
        "credentials:\n  c:\n    type: basic\n    basic: {username: me}\n",
        {},
        "credentials.c.basic: username and password must be given together",
      ],
      [
        "an empty access token",
        "credentials:\n  c:\n    type: access_token\n",
        {},
        "credentials.c.access_token: is required when type is access_token",
      ],
      [
        "a credential of unknown type",
        "credentials:\n  c:\n    type: kerberos\n",
        {},
        'credentials.c.type: must be one of "basic", "ssh", "access_token", "github_app", got "kerberos"',
      ],
      [
        "a static token without a credential",
        "authentication:\n  methods:\n    token:\n      storage:\n        tokens:\n          ci: {}\n",
        {},
        "authentication.methods.token.storage.tokens.ci: exactly one of credential and credential_file is required",
      ],
      [
        "a static token with both a credential and a file",
        "authentication:\n  methods:\n    token:\n      storage:\n        tokens:\n          ci: {credential: a, credential_file: /etc/hostname}\n",
        {},
        "authentication.methods.token.storage.tokens.ci: exactly one of credential and credential_file is required",
      ],
      [
        "a static token file that does not exist",
        "",
        { FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL_FILE: "/no/such/token" },
        'authentication.methods.token.storage.tokens.ci.credential_file: file "/no/such/token" does not exist (from FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_CI_CREDENTIAL_FILE)',
      ],
      [
        "https without certificate files",
        "",
        { FLIPT_SERVER_PROTOCOL: "https", FLIPT_SERVER_CERT_FILE: "/cert.pem" },
        "server.cert_key: is required when protocol is https",
      ],
      [
        "jwt enabled without a key source",
        "",
        { FLIPT_AUTHENTICATION_METHODS_JWT_ENABLED: "true" },
        "authentication.methods.jwt: exactly one of jwks_url and public_key_file is required when enabled (from FLIPT_AUTHENTICATION_METHODS_JWT_ENABLED)",
      ],
      ["a section that is not a mapping", "server: 8080\n", {}, "server: must be a mapping, got 8080"],
      [
        "two environments with the same name",
        "environments:\n  a: {name: x, directory: a, default: true}\n  b: {name: x, directory: b}\n",
        {},
        'environments: environments [a, b] have the same name "x"',
      ],
      [
        "an SCM reference to undefined credentials",
        "environments:\n  default:\n    scm: {type: github, credentials: gh}\n",
        {},
        'environments.default.scm.credentials: environment "default" references undefined credentials "gh"',
      ],
      [
        "a header timeout longer than the request timeout",
        "limits:\n  header_timeout: 20s\n  request_timeout: 5s\n",
        {},
        "limits.header_timeout: must not be longer than limits.request_timeout",
      ],
      [
        "a storage id that is not lower-case-unique",
        "storage:\n  Prod: {}\n  prod: {}\nenvironments:\n  default: {storage: prod}\n",
        {},
        "storage.prod: is given more than once (keys are case-insensitive)",
      ],
    ];
    for (const [name, yaml, env, expected] of cases) {
      it(`reports ${name}`, async () => {
        const options: Partial<LoadConfigOptions> = yaml === "" ? {} : { configPath: await configFile(yaml) };
        const problem = await problemOf(
          load(env, { ...options, fileExists: (path) => path === "/cert.pem" }),
        );
        assert.equal(problem.replace(/ \(from [^)]*config-\d+\.yml:\d+:\d+\)$/, ""), expected);
      });
    }

    it("reports certificate files that do not exist", async () => {
      const issues = await issuesOf(
        load({
          FLIPT_SERVER_PROTOCOL: "https",
          FLIPT_SERVER_CERT_FILE: "/no/cert",
          FLIPT_SERVER_CERT_KEY: "/no/key",
        }),
      );
      assert.deepEqual(
        issues.map((issue) => `${issue.path}: ${issue.message}`),
        [
          'server.cert_file: file "/no/cert" does not exist',
          'server.cert_key: file "/no/key" does not exist',
        ],
      );
    });

    it("never echoes secret values", async () => {
      const problem = await problemOf(
        loadYaml("credentials:\n  c:\n    type: access_token\n    access_token: [hunter2]\n"),
      );
      assert.match(problem, /^credentials\.c\.access_token: must be a string, got a list/);
      assert.doesNotMatch(problem, /hunter2/);
    });
  });

  describe("with several problems", () => {
    it("reports them all at once, one per line", async () => {
      const path = await configFile("server:\n  http_port: abc\ncors:\n  enabled: maybe\n");
      const loading = load(
        { FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1x", FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "gone" },
        {
          configPath: path,
        },
      );
      await assert.rejects(loading, (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, [
          {
            path: "server.http_port",
            message: 'must be an integer between 0 and 65535, got "abc"',
            source: `${path}:2:3`,
          },
          {
            path: "cors.enabled",
            message: 'must be a boolean (true or false), got "maybe"',
            source: `${path}:4:3`,
          },
          {
            path: "storage.default.poll_interval",
            message: 'must be a duration such as "30s" or "1m30s", got "1x"',
            source: "FLIPT_STORAGE_DEFAULT_POLL_INTERVAL",
          },
          {
            path: "environments.default.storage",
            message: 'environment "default" references undefined storage "gone"',
            source: "FLIPT_ENVIRONMENTS_DEFAULT_STORAGE",
          },
        ]);
        assert.equal(
          error.message,
          [
            "invalid configuration (4 problems):",
            `server.http_port: must be an integer between 0 and 65535, got "abc" (from ${path}:2:3)`,
            `cors.enabled: must be a boolean (true or false), got "maybe" (from ${path}:4:3)`,
            'storage.default.poll_interval: must be a duration such as "30s" or "1m30s", got "1x" (from FLIPT_STORAGE_DEFAULT_POLL_INTERVAL)',
            'environments.default.storage: environment "default" references undefined storage "gone" (from FLIPT_ENVIRONMENTS_DEFAULT_STORAGE)',
          ].join("\n"),
        );
        return true;
      });
    });
  });

  describe("with a broken file", () => {
    it("reports YAML syntax errors with line and column", async () => {
      const path = await configFile("server:\n  http_port: 8080\n  bad: [1,\n");
      const problem = await problemOf(load({}, { configPath: path }));
      assert.match(problem, /^invalid YAML at line 4, column 1: /);
      assert.ok(problem.endsWith(`(from ${path})`), problem);
    });

    it("reports duplicate keys", async () => {
      const problem = await problemOf(loadYaml("log:\n  level: info\nlog:\n  level: debug\n"));
      assert.match(problem, /^invalid YAML at line 3, column 1: Map keys must be unique/);
    });

    it("rejects a top level that is not a mapping", async () => {
      const problem = await problemOf(loadYaml("- a\n- b\n"));
      assert.match(problem, /^the config file must contain a mapping at the top level/);
    });

    it("rejects alias bombs", async () => {
      const bomb = [
        "a: &a [x, x, x, x, x, x, x, x, x]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      ].join("\n");
      const problem = await problemOf(loadYaml(bomb));
      assert.match(problem, /^invalid YAML: Excessive alias count/);
    });
  });
});

describe("ui", () => {
  it("takes Flipt's default theme and a hex top bar colour, and refuses another colour with Flipt's message", async () => {
    const { config } = await loadConfig({
      env: { FLIPT_UI_DEFAULT_THEME: "dark", FLIPT_UI_TOPBAR_COLOR: "#1a2b3c" },
      defaultPaths: [],
    });
    assert.deepEqual(config.ui, { enabled: true, defaultTheme: "dark", topbar: { color: "#1a2b3c" } });
    await assert.rejects(
      loadConfig({ env: { FLIPT_UI_TOPBAR_COLOR: "blue" }, defaultPaths: [] }),
      (error: Error) => /ui\.topbar\.color: expected valid hex color, got "blue"/.test(error.message),
    );
  });
});
