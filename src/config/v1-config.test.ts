/**
 * Flipt v1 configuration files and variables (spec v1-backends §1): how one is told from a v2 one, its `db` and
 * `storage` keys with their defaults and `FLIPT_*` variables, and what it becomes: one storage and one
 * environment `default`. Errors name v1's keys, and never show a password.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configProblemLines, useConfigTextLoader } from "../../test/helpers/load-config-text.js";
import { DEFAULT_CONFIG } from "./config.js";

const configs = useConfigTextLoader("pennant-v1-config-");
const { load } = configs;

const SIGNATURE = { name: "flipt", email: "flipt[bot]@noreply.flipt.io", enabled: false, type: "gpg" };

describe("a Flipt v1 configuration", () => {
  describe("is told from a v2 one", () => {
    it("by a top-level db key, a storage.type that is not a mapping, or version 1.0", async () => {
      for (const [text, reason] of [
        ["db:\n  url: file:/tmp/x.db\n", "db"],
        ["storage:\n  type: database\n", "storage.type"],
        ['version: "1.0"\n', 'version "1.0"'],
        ["version: 1\nlog:\n  level: debug\n", 'version "1.0"'],
      ] as const) {
        const { shape, config } = await load(text);
        assert.deepEqual(shape, { version: "v1", reason }, text);
        assert.equal(config.storage.default?.backend.type, "database", text);
      }
    });

    it("by FLIPT_DB_* or FLIPT_STORAGE_TYPE when the file does not say", async () => {
      assert.deepEqual((await load(undefined, { FLIPT_DB_URL: "file:/tmp/a.db" })).shape, {
        version: "v1",
        reason: "FLIPT_DB_URL",
      });
      const local = await load("log:\n  level: warn\n", { FLIPT_STORAGE_TYPE: "local" });
      assert.deepEqual(local.shape, { version: "v1", reason: "FLIPT_STORAGE_TYPE" });
      assert.deepEqual(local.config.storage.default?.backend, { type: "local", path: "." });
    });

    it("stays v2 with no file and no variables, and when a v2 file says so", async () => {
      const nothing = await load(undefined);
      assert.deepEqual(nothing.shape, { version: "v2", reason: undefined });
      assert.deepEqual(nothing.config, DEFAULT_CONFIG);
      const v2 = await load("environments:\n  default:\n    storage: default\n", {
        FLIPT_DB_URL: "file:/x.db",
      });
      assert.deepEqual(v2.shape, { version: "v2", reason: "environments" });
      assert.match(v2.warnings.join("\n"), /unknown environment variable FLIPT_DB_URL/);
    });

    it("keeps a v2 storage named local or git a v2 storage", async () => {
      const { shape, config } = await load(
        "storage:\n  local:\n    backend:\n      type: local\n      path: /srv\n  git:\n    remote: https://example.com/f.git\nenvironments:\n  default:\n    storage: local\n  prod:\n    storage: git\n",
      );
      assert.equal(shape.version, "v2");
      assert.deepEqual(Object.keys(config.storage).sort(), ["git", "local"]);
    });

    it("refuses a file that mixes both, naming the keys", async () => {
      assert.deepEqual(await configProblemLines(load("db:\n  url: file:/x.db\nenvironments:\n  a: {}\n")), [
        'the file mixes Flipt v1 configuration (db) with v2 configuration (environments): write it in one of the two (see docs/configuration.md, "Flipt v1 configuration files")',
      ]);
    });
  });

  describe("db", () => {
    it("becomes the storage default, read by the environment default, with v1's defaults", async () => {
      const { config, warnings } = await load(
        "db:\n  url: postgres://flipt:pw@db:5432/flipt\ncache:\n  enabled: true\n  ttl: 5m\n",
      );
      assert.deepEqual(warnings, [], "cache is accepted");
      assert.deepEqual(config.storage, {
        default: {
          backend: {
            type: "database",
            url: "postgres://flipt:pw@db:5432/flipt",
            maxIdleConn: 2,
            maxOpenConn: 0,
            connMaxLifetime: 0,
            preparedStatementsEnabled: true,
          },
          branch: "main",
          refType: "static",
          pollInterval: 1000,
          fetchPolicy: "strict",
          insecureSkipTls: false,
          readOnly: false,
          signature: SIGNATURE,
        },
      });
      assert.deepEqual(config.environments, {
        default: { name: "default", storage: "default", directory: "", default: true },
      });
      assert.deepEqual(config.credentials, {});
      assert.equal(config.storageReadOnly, false);
    });

    it("reads every key from FLIPT_DB_* variables, over the file", async () => {
      const { config } = await load("db:\n  host: file-host\n", {
        FLIPT_DB_PROTOCOL: "MySQL",
        FLIPT_DB_HOST: "db.internal",
        FLIPT_DB_PORT: "3307",
        FLIPT_DB_NAME: "flipt",
        FLIPT_DB_USER: "flipt",
        FLIPT_DB_PASSWORD: "s3cret",
        FLIPT_DB_MAX_IDLE_CONN: "5",
        FLIPT_DB_MAX_OPEN_CONN: "20",
        FLIPT_DB_CONN_MAX_LIFETIME: "1h",
        FLIPT_DB_PREPARED_STATEMENTS_ENABLED: "f",
      });
      assert.deepEqual(config.storage.default?.backend, {
        type: "database",
        url: "mysql://flipt:s3cret@db.internal:3307/flipt",
        protocol: "mysql",
        host: "db.internal",
        port: 3307,
        name: "flipt",
        user: "flipt",
        password: "s3cret",
        maxIdleConn: 5,
        maxOpenConn: 20,
        connMaxLifetime: 3_600_000,
        preparedStatementsEnabled: false,
      });
    });

    it("defaults url to /var/opt/flipt/flipt.db when that directory exists, else under the user config dir", async () => {
      const existing = await load("db: {}\n", {}, { fileExists: (path) => path === "/var/opt/flipt" });
      const expected = process.platform === "linux" ? "file:/var/opt/flipt/flipt.db" : undefined;
      if (expected !== undefined) assert.equal(existing.config.storage.default?.backend.url, expected);
      const fallback = await load(undefined, { FLIPT_STORAGE_TYPE: "database" });
      assert.equal(fallback.config.storage.default?.backend.url, "file:/home/u/.config/flipt/flipt.db");
      const fromXdg = await load(
        undefined,
        { FLIPT_STORAGE_TYPE: "database", XDG_CONFIG_HOME: "/xdg" },
        { userConfigDir: undefined },
      );
      assert.equal(fromXdg.config.storage.default?.backend.url, "file:/xdg/flipt/flipt.db");
    });

    it("requires protocol, host and name when url is not set, never showing the password", async () => {
      const found = await configProblemLines(load("db:\n  user: flipt\n  password: hunter2\n  port: 5432\n"));
      assert.deepEqual(found.sort(), [
        "db.host: is required when url is not set",
        "db.name: is required when url is not set",
        "db.protocol: is required when url is not set",
      ]);
      const bad = await configProblemLines(
        load(undefined, {
          FLIPT_DB_PROTOCOL: "oracle",
          FLIPT_DB_URL: `\${secret:vault:x}`,
          FLIPT_DB_PORT: "x",
        }),
      );
      assert.match(bad.join("\n"), /db\.protocol: must be one of "file", "sqlite", "libsql", "postgres"/);
      assert.match(
        bad.join("\n"),
        /db\.port: must be an integer between 0 and 65535, got "x" \(from FLIPT_DB_PORT\)/,
      );
      const secret = await configProblemLines(load("db:\n  url: [postgres://u:hunter2@h/d]\n"));
      assert.equal(secret.length, 1);
      assert.match(secret[0] ?? "", /^db\.url: must be a string, got a list \(from .*config-\d+\.yml:2:3\)$/);
      assert.doesNotMatch(secret.join("\n"), /hunter2/);
    });
  });

  describe("storage", () => {
    it("type local serves storage.local.path, read-only", async () => {
      const { config } = await load("storage:\n  type: local\n  local:\n    path: /srv/flags\n");
      assert.deepEqual(config.storage.default?.backend, { type: "local", path: "/srv/flags" });
      assert.equal(config.storage.default?.readOnly, true);
      assert.equal(config.environments.default?.directory, "");
    });

    it("type git maps onto a remote storage with credentials, read-only", async () => {
      const { config } = await load(`storage:
  type: git
  git:
    repository: https://github.com/acme/flags.git
    ref: release
    directory: prod
    poll_interval: 1m
    insecure_skip_tls: true
    ca_cert_path: /etc/ca.pem
    backend:
      type: local
      path: /var/clone
    authentication:
      basic:
        username: bot
        password: pw
`);
      assert.deepEqual(config.storage.default, {
        backend: { type: "local", path: "/var/clone" },
        remote: "https://github.com/acme/flags.git",
        branch: "release",
        refType: "static",
        pollInterval: 60_000,
        fetchPolicy: "strict",
        insecureSkipTls: true,
        caCertPath: "/etc/ca.pem",
        credentials: "default",
        readOnly: true,
        signature: SIGNATURE,
      });
      assert.deepEqual(config.credentials, {
        default: { type: "basic", basic: { username: "bot", password: "pw" } },
      });
      assert.equal(config.environments.default?.directory, "prod");
    });

    it("type git from variables: semver refs, token and ssh credentials, a temporary clone", async () => {
      const semver = await load(undefined, {
        FLIPT_STORAGE_TYPE: "git",
        FLIPT_STORAGE_GIT_REPOSITORY: "https://example.com/f.git",
        FLIPT_STORAGE_GIT_REF_TYPE: "semver",
        FLIPT_STORAGE_GIT_REF: "v1.*",
        FLIPT_STORAGE_GIT_BACKEND_TYPE: "local",
        FLIPT_STORAGE_GIT_AUTHENTICATION_TOKEN_ACCESS_TOKEN: "tok",
      });
      const storage = semver.config.storage.default;
      assert.deepEqual(
        [storage?.backend, storage?.branch, storage?.refType, storage?.ref],
        [{ type: "memory" }, "main", "semver", "v1.*"],
      );
      assert.deepEqual(semver.config.credentials.default, { type: "access_token", accessToken: "tok" });
      const ssh = await load(undefined, {
        FLIPT_STORAGE_TYPE: "git",
        FLIPT_STORAGE_GIT_REPOSITORY: "git@github.com:acme/flags.git",
        FLIPT_STORAGE_GIT_AUTHENTICATION_SSH_PASSWORD: "pass",
        FLIPT_STORAGE_GIT_AUTHENTICATION_SSH_PRIVATE_KEY_PATH: "/keys/id",
        FLIPT_STORAGE_GIT_AUTHENTICATION_SSH_INSECURE_IGNORE_HOST_KEY: "true",
      });
      assert.deepEqual(ssh.config.credentials.default, {
        type: "ssh",
        ssh: { user: "git", password: "pass", privateKeyPath: "/keys/id", insecureIgnoreHostKey: true },
      });
    });

    it("type git reports v1's rules under v1's keys", async () => {
      const found = await configProblemLines(
        load(
          "storage:\n  type: git\n  git:\n    directory: ../up\n    authentication:\n      ssh:\n        user: me\n",
        ),
      );
      assert.deepEqual(found.map((line) => line.replace(/ \(from [^)]*\)$/, "")).sort(), [
        "storage.git.authentication.ssh.password: is required",
        "storage.git.authentication.ssh: exactly one of private_key_path and private_key_bytes is required",
        'storage.git.directory: must be a relative path inside the repository (no leading "/", "..", "\\" or NUL), got "../up"',
        "storage.git.repository: is required when storage.type is git",
      ]);
    });

    it("read_only: true makes a database read-only; false with another type is refused, as in Flipt v1", async () => {
      const readOnly = await load("db:\n  url: file:/tmp/x.db\nstorage:\n  read_only: true\n");
      assert.equal(readOnly.config.storage.default?.readOnly, true);
      assert.equal(readOnly.config.storageReadOnly, true);
      const writable = await load(undefined, {
        FLIPT_STORAGE_TYPE: "database",
        FLIPT_STORAGE_READ_ONLY: "false",
      });
      assert.equal(writable.config.storage.default?.readOnly, false);
      assert.deepEqual(
        await configProblemLines(
          load(undefined, { FLIPT_STORAGE_TYPE: "local", FLIPT_STORAGE_READ_ONLY: "false" }),
        ),
        [
          'storage.read_only: setting read only mode is only supported with database storage (storage.type is "local", which is always read-only) (from FLIPT_STORAGE_READ_ONLY)',
        ],
      );
    });

    it("type oci becomes an oci storage (see oci-storage-config.test.ts); an unknown type is refused", async () => {
      const { config } = await load("storage:\n  type: oci\n  oci:\n    repository: flipt://local/b:v1\n");
      assert.equal(config.storage.default?.backend.type, "oci");
      assert.match(
        (await configProblemLines(load("storage:\n  type: s3\n")))[0] ?? "",
        /^storage\.type: must be one of "database", "local", "git", "object", "oci", got "s3"/,
      );
    });
  });
});
