/**
 * Issue 15: Flipt v2 config files that Flipt starts with must start Pennant too, and the one Flipt setting Pennant
 * cannot honour, `authorization.required`, must stop it with a message naming the key.
 *
 * A table of config files, each in the shape Flipt's documentation and its config loader accept (durations as
 * bare nanoseconds, unset `${env:…}`, `${secret:…}` where nothing needs it and from the file provider, every log
 * level, free-form token roles, JSON and TOML files, `log.keys`), is loaded with `loadConfig`; a few are also
 * served by a real `pennant server --config <file>` process, whose JSON log lines are checked against Flipt's
 * shape (keys, level case, stream). Then the default limits: a batch and a context past the old 1 000, and one
 * client address holding more streams and connections than a per-address limit would allow.
 *
 * Cost: three `pennant` processes and one in-process server; about 10 s on 2 cores.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { ConfigError } from "../../src/config/config-error.js";
import { loadConfig } from "../../src/config/load-config.js";
import { createConnectionBudget } from "../../src/server/connection-budget.js";
import { flagFile } from "../helpers/outside-remote.js";
import { runPennant, startPennantProcess } from "../helpers/start-pennant-process.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";

let dir: string;
let secretsDir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "pennant-flipt-configs-"));
  secretsDir = join(dir, "secrets");
  await mkdir(secretsDir);
  await writeFile(
    join(secretsDir, "ci-token.json"),
    JSON.stringify({ data: { "ci-token": "from-a-secret" } }),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

let files = 0;
async function writeConfig(text: string, extension = "yml"): Promise<string> {
  files += 1;
  const path = join(dir, `flipt-${files}.${extension}`);
  await writeFile(path, text.replaceAll("@SECRETS@", secretsDir));
  return path;
}

interface Case {
  readonly name: string;
  readonly text: string;
  readonly extension?: string;
  /** Variables the case sets (none of FLIPT_* unless given). */
  readonly env?: Record<string, string>;
  /** Checks on the loaded config and its warnings. */
  readonly check: (loaded: Awaited<ReturnType<typeof loadConfig>>) => void;
}

const warned = (warnings: readonly string[], pattern: RegExp) =>
  assert.ok(
    warnings.some((warning) => pattern.test(warning)),
    `no warning matches ${pattern}:\n${warnings.join("\n")}`,
  );

/** Flipt config files Flipt v2 starts with. Each must load, with at most warnings. */
const STARTS: readonly Case[] = [
  {
    name: "a git storage with a remote, two environments and static tokens (Flipt's v2 layout)",
    text: `version: "2.0"
storage:
  flags:
    remote: https://github.com/acme/flags.git
    branch: main
    poll_interval: 30s
    credentials: github
environments:
  production:
    storage: flags
    directory: production
    default: true
  staging:
    storage: flags
    directory: staging
credentials:
  github:
    type: access_token
    access_token: \${env:GITHUB_TOKEN}
authentication:
  required: true
  methods:
    token:
      enabled: true
      storage:
        tokens:
          ci:
            credential: \${env:CI_TOKEN}
`,
    env: { GITHUB_TOKEN: "ghp_x", CI_TOKEN: "ci" },
    check: ({ config, warnings }) => {
      assert.equal(config.storage.flags?.pollInterval, 30_000);
      assert.equal(config.credentials.github?.accessToken, "ghp_x");
      assert.deepEqual(warnings, []);
    },
  },
  {
    name: "durations written as bare integers, read as nanoseconds as Flipt's decoder reads them",
    text: `storage:
  default:
    poll_interval: 30000000000
server:
  grpc_conn_max_idle_time: 300000000000
authentication:
  session:
    token_lifetime: 86400000000000
`,
    check: ({ config, warnings }) => {
      assert.equal(config.storage.default?.pollInterval, 30_000);
      assert.equal(config.server.grpcConnMaxIdleTime, 300_000);
      assert.equal(config.authentication.session.tokenLifetime, 86_400_000);
      warned(warnings, /storage\.default\.poll_interval: 30000000000 is read as 30s/);
    },
  },
  {
    name: `\${env:VAR} naming variables that are not set: an empty string, as in Flipt`,
    text: `authentication:
  required: \${env:PENNANT_TEST_UNSET_REQUIRED}
environments:
  default:
    storage: default
    directory: \${env:PENNANT_TEST_UNSET_DIRECTORY}
`,
    check: ({ config, warnings }) => {
      assert.equal(config.authentication.required, false);
      assert.equal(config.environments.default?.directory, "");
      warned(warnings, /environment variable PENNANT_TEST_UNSET_DIRECTORY is not set/);
    },
  },
  {
    name: `\${secret:…} where Pennant needs no value (OIDC, CSRF key, licence, signing key)`,
    text: `authentication:
  session:
    csrf:
      key: \${secret:vault:csrf-key}
  methods:
    oidc:
      enabled: true
      providers:
        google:
          client_id: abc
          client_secret: \${secret:vault:oidc-secret}
license:
  key: \${secret:file:license}
storage:
  default:
    signature:
      name: Flipt Bot
      email: bot@flipt.io
      key_ref:
        provider: vault
        path: secret/data/gpg
        key: private_key
      key_id: \${secret:vault:gpg-key-id}
`,
    check: ({ warnings }) => {
      warned(warnings, /authentication\.session\.csrf\.key: \$\{secret:vault:csrf-key\}/);
      warned(warnings, /client_secret: \$\{secret:vault:oidc-secret\}/);
      warned(warnings, /license\.key: \$\{secret:file:license\} needs the file secret provider/);
    },
  },
  {
    name: `\${secret:file:…} resolved by Flipt's file provider`,
    text: `secrets:
  providers:
    file:
      enabled: true
      base_path: @SECRETS@
authentication:
  methods:
    token:
      enabled: true
      storage:
        tokens:
          ci:
            credential: \${secret:file:ci-token}
`,
    check: ({ config, warnings }) => {
      assert.equal(config.authentication.methods.token.storage.tokens.ci?.credential, "from-a-secret");
      assert.deepEqual(warnings, []);
    },
  },
  ...["debug", "INFO", "warn", "ERROR", "dpanic", "panic", "FATAL"].map(
    (level): Case => ({
      name: `log.level: ${level}`,
      text: `log:\n  level: ${level}\n  grpc_level: ${level}\n`,
      check: ({ config, warnings }) => {
        assert.equal(config.log.level, level.toLowerCase());
        assert.deepEqual(warnings, []);
      },
    }),
  ),
  {
    name: "a log level zap does not know (Flipt warns and logs at info)",
    text: "log:\n  level: trace\n",
    check: ({ config, warnings }) => {
      assert.equal(config.log.level, "info");
      warned(warnings, /log\.level: unknown level "trace"/);
    },
  },
  {
    name: "token metadata with a role Pennant does not know (Flipt's metadata is free-form)",
    text: `authentication:
  methods:
    token:
      enabled: true
      storage:
        tokens:
          admin:
            credential: a
            metadata:
              role: admin
              team: platform
`,
    check: ({ config, warnings }) => {
      assert.equal(config.authentication.methods.token.storage.tokens.admin?.metadata.role, "admin");
      warned(warnings, /tokens\.admin\.metadata\.role: unknown role "admin" .*may read but not write/);
    },
  },
  {
    name: "log.encoding json with log.keys",
    text: "log:\n  encoding: json\n  keys:\n    time: time\n    level: level\n    message: msg\n",
    check: ({ config }) => {
      assert.equal(config.log.encoding, "json");
      assert.deepEqual(config.log.keys, { time: "time", level: "level", message: "msg" });
    },
  },
  {
    name: "an authorization section that is not required",
    text: "authorization:\n  required: false\n  backend: local\n  local:\n    policy:\n      path: /etc/flipt/policy.rego\n",
    check: ({ warnings }) => assert.deepEqual(warnings, []),
  },
  {
    name: "a JSON file, by its extension",
    extension: "json",
    text: JSON.stringify({
      log: { level: "WARN", encoding: "json" },
      server: { http_port: 8081 },
      storage: { default: { branch: "main", poll_interval: 5_000_000_000 } },
    }),
    check: ({ config }) => {
      assert.equal(config.log.level, "warn");
      assert.equal(config.server.httpPort, 8081);
      assert.equal(config.storage.default?.pollInterval, 5000);
    },
  },
  {
    name: "a TOML file, by its extension",
    extension: "toml",
    text: `version = "2.0"

[log]
level = "debug"
encoding = "json"

[storage.default]
branch = "main"
poll_interval = "10s"

[environments.default]
storage = "default"
default = true

[authentication]
required = false
`,
    check: ({ config, warnings }) => {
      assert.equal(config.log.level, "debug");
      assert.equal(config.storage.default?.pollInterval, 10_000);
      assert.equal(config.environments.default?.default, true);
      assert.deepEqual(warnings, []);
    },
  },
];

describe("Flipt v2 config files", () => {
  for (const testCase of STARTS) {
    it(`loads ${testCase.name}`, async () => {
      const path = await writeConfig(testCase.text, testCase.extension);
      const loaded = await loadConfig({ configPath: path, env: testCase.env ?? {}, defaultPaths: [] });
      testCase.check(loaded);
    });
  }

  it("refuses authorization.required: true, naming the key and saying what to use instead", async () => {
    const path = await writeConfig(
      "authentication:\n  required: true\nauthorization:\n  required: true\n  backend: local\n  local:\n    policy:\n      path: /etc/flipt/policy.rego\n",
    );
    await assert.rejects(loadConfig({ configPath: path, env: {}, defaultPaths: [] }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.issues.length, 1);
      assert.equal(error.issues[0]?.path, "authorization.required");
      assert.match(error.message, /Pennant does not evaluate Flipt's authorization policies \(Rego\)/);
      assert.match(error.message, /metadata\.role/);
      return true;
    });
  });
});

/** `pennant server --config <path>`, configured by the file alone (no FLIPT_* variables). */
const serveConfigFile = (path: string) =>
  startPennantProcess({}, { args: ["server", "--config", path], serverDefaults: false });

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;

describe("pennant server --config with Flipt config files", () => {
  it(`starts from a TOML file with \${env:UNSET}, a bare-nanosecond duration and an unknown role, logging Flipt's JSON lines on stdout`, async () => {
    const path = await writeConfig(
      `[log]
level = "INFO"
encoding = "json"

[server]
host = "127.0.0.1"
http_port = 0
grpc_port = 0
shutdown_grace_period = 2000000000

[environments.default]
storage = "default"
directory = "\${env:PENNANT_TEST_UNSET}"

[authentication.methods.token]
enabled = true

[authentication.methods.token.storage.tokens.ops]
credential = "ops-token"
metadata = { role = "operator" }
`,
      "toml",
    );
    const running = await serveConfigFile(path);
    try {
      const serving = await running.logLine((line) => line.M === "pennant is serving");
      assert.equal(serving.L, "INFO");
      assert.match(String(serving.T), RFC3339);
      assert.equal(typeof serving.httpPort, "number");
      assert.ok(
        !("msg" in serving) && !("level" in serving) && !("time" in serving),
        JSON.stringify(serving),
      );
      const warning = await running.logLine((line) => /unknown role "operator"/.test(String(line.M)));
      assert.equal(warning.L, "WARN");
      const health = await fetch(`http://127.0.0.1:${serving.httpPort}/health`);
      assert.equal(health.status, 200);
      // Every line is on standard output, each a JSON object in Flipt's shape; nothing on standard error.
      for (const text of running.stdout().trim().split("\n")) {
        const line = JSON.parse(text) as Record<string, unknown>;
        assert.match(String(line.L), /^(DEBUG|INFO|WARN|ERROR|FATAL)$/, text);
        assert.match(String(line.T), RFC3339, text);
        assert.equal(typeof line.M, "string", text);
      }
      assert.equal(running.stderr(), "");
    } finally {
      running.signal("SIGTERM");
    }
    assert.equal((await running.exited).code, 0);
  });

  it("names its JSON log fields after log.keys (a JSON config file)", async () => {
    const path = await writeConfig(
      JSON.stringify({
        log: { level: "info", encoding: "json", keys: { time: "ts", level: "severity", message: "message" } },
        server: { host: "127.0.0.1", http_port: 0, grpc_port: 0, shutdown_grace_period: "2s" },
      }),
      "json",
    );
    const running = await serveConfigFile(path);
    try {
      const serving = await running.logLine((line) => line.message === "pennant is serving");
      assert.equal(serving.severity, "INFO");
      assert.match(String(serving.ts), RFC3339);
      assert.ok(!("M" in serving) && !("L" in serving) && !("T" in serving), JSON.stringify(serving));
    } finally {
      running.signal("SIGTERM");
      await running.exited;
    }
  });

  it("exits 2 on authorization.required: true, naming the key on standard error", async () => {
    const path = await writeConfig("authentication:\n  required: true\nauthorization:\n  required: true\n");
    const run = await runPennant(["server", "--config", path]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /authorization\.required: Pennant does not evaluate Flipt's authorization policies/,
    );
    assert.match(run.stderr, /metadata\.role/);
  });
});

describe("default limits a Flipt deployment never meets", () => {
  let repo: TempRepo;
  let server: TestServer;
  before(async () => {
    repo = await createTempRepo({ "default/features.yaml": flagFile("default", "beta", true) });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      // Small enough to reach here; the per-address limits keep their defaults (off).
      FLIPT_LIMITS_MAX_STREAMS: "6",
    });
  });
  after(async () => {
    await server.stop();
    await repo.remove();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${server.httpUrl}${path}`, { method: "POST", body: JSON.stringify(body) });

  it("takes a batch of 1 001 requests and a context of 1 001 entries, as Flipt does", async () => {
    const context = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, "v"]));
    const single = await post("/evaluate/v1/boolean", {
      namespaceKey: "default",
      flagKey: "beta",
      entityId: "u",
      context,
    });
    assert.equal(single.status, 200, await single.text());
    const requests = Array.from({ length: 1001 }, (_, i) => ({
      namespaceKey: "default",
      flagKey: "beta",
      entityId: `u${i}`,
      context: {},
    }));
    const batch = await post("/evaluate/v1/batch", { requests });
    assert.equal(batch.status, 200);
    assert.equal(((await batch.json()) as { responses: unknown[] }).responses.length, 1001);
  });

  it("lets one client address (a load balancer, say) hold every stream, with no limit per address", async () => {
    const open = (): Promise<IncomingMessage> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          `${server.httpUrl}/client/v2/environments/default/namespaces/default/stream`,
          { localAddress: "127.0.0.1", agent: false },
          resolve,
        );
        req.on("error", reject);
        req.end();
      });
    const streams: IncomingMessage[] = [];
    try {
      for (let i = 0; i < 6; i++) streams.push(await open());
      assert.deepEqual(
        streams.map((stream) => stream.statusCode),
        [200, 200, 200, 200, 200, 200],
      );
      // The total still holds.
      const past = await open();
      streams.push(past);
      assert.equal(past.statusCode, 429);
    } finally {
      for (const stream of streams) stream.destroy();
    }
  });

  it("admits any number of connections from one address when max_connections_per_client is 0", () => {
    const budget = createConnectionBudget(0, pino({ level: "silent" }));
    const sockets = Array.from({ length: 5000 }, () => {
      let destroyed = false;
      const socket = {
        remoteAddress: "::ffff:10.0.0.1",
        once: () => socket,
        destroy: () => {
          destroyed = true;
        },
        resetAndDestroy: () => {
          destroyed = true;
        },
        get destroyed() {
          return destroyed;
        },
      };
      return socket;
    });
    for (const socket of sockets) assert.equal(budget.admit(socket as unknown as Socket), true);
    assert.ok(sockets.every((socket) => !socket.destroyed));
  });
});
