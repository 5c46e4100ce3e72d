/**
 * `storage.<id>.backend.type: database` in the v2 shape: v1's `db` keys under `backend`, a poll interval of 1 s
 * by default, no directories and none of git's keys.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configProblems, useConfigTextLoader } from "../../test/helpers/load-config-text.js";

const configs = useConfigTextLoader("pennant-database-config-");
const { load } = configs;

const ONE_ENVIRONMENT = "environments:\n  production:\n    storage: flags\n";

describe("a database storage", () => {
  it("takes v1's db keys under backend, and polls every second unless told otherwise", async () => {
    const { config, warnings } = await load(
      `storage:\n  flags:\n    backend:\n      type: database\n      url: postgres://pennant@db/flags\n      max_open_conn: 8\n${ONE_ENVIRONMENT}`,
    );
    assert.deepEqual(warnings, []);
    const storage = config.storage.flags;
    assert.deepEqual(storage?.backend, {
      type: "database",
      url: "postgres://pennant@db/flags",
      maxIdleConn: 2,
      maxOpenConn: 8,
      connMaxLifetime: 0,
      preparedStatementsEnabled: true,
    });
    assert.equal(storage?.pollInterval, 1000);
    assert.equal(storage?.readOnly, false);
    assert.equal(config.environments.production?.directory, "");
  });

  it("is set by FLIPT_STORAGE_<ID>_BACKEND_* variables, poll interval and read-only mode included", async () => {
    const { config } = await load(ONE_ENVIRONMENT, {
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "database",
      FLIPT_STORAGE_FLAGS_BACKEND_PROTOCOL: "cockroach",
      FLIPT_STORAGE_FLAGS_BACKEND_HOST: "crdb",
      FLIPT_STORAGE_FLAGS_BACKEND_PORT: "26257",
      FLIPT_STORAGE_FLAGS_BACKEND_NAME: "flipt",
      FLIPT_STORAGE_FLAGS_BACKEND_USER: "root",
      FLIPT_STORAGE_FLAGS_BACKEND_PASSWORD: "pw",
      FLIPT_STORAGE_FLAGS_BACKEND_MAX_IDLE_CONN: "1",
      FLIPT_STORAGE_FLAGS_BACKEND_CONN_MAX_LIFETIME: "30m",
      FLIPT_STORAGE_FLAGS_BACKEND_PREPARED_STATEMENTS_ENABLED: "false",
      FLIPT_STORAGE_FLAGS_POLL_INTERVAL: "5s",
      FLIPT_STORAGE_READ_ONLY: "true",
    });
    const storage = config.storage.flags;
    assert.deepEqual(storage?.backend, {
      type: "database",
      // Built from the fields, as Flipt v1 builds it.
      url: "cockroachdb://root:pw@crdb:26257/flipt",
      protocol: "cockroach",
      host: "crdb",
      port: 26257,
      name: "flipt",
      user: "root",
      password: "pw",
      maxIdleConn: 1,
      maxOpenConn: 0,
      connMaxLifetime: 1_800_000,
      preparedStatementsEnabled: false,
    });
    assert.equal(storage?.pollInterval, 5000);
    assert.equal(storage?.readOnly, true);
  });

  it("defaults to Flipt v1's SQLite file with no address at all", async () => {
    const { config } = await load(
      `storage:\n  flags:\n    backend:\n      type: database\n${ONE_ENVIRONMENT}`,
    );
    assert.equal(config.storage.flags?.backend.url, "file:/home/u/.config/flipt/flipt.db");
  });

  it("needs protocol, host and name without a url, and hides the password", async () => {
    const found = await configProblems(
      load(
        `storage:\n  flags:\n    backend:\n      type: database\n      password: hunter2\n${ONE_ENVIRONMENT}`,
      ),
    );
    assert.deepEqual(found, [
      "storage.flags.backend.host: is required when url is not set",
      "storage.flags.backend.name: is required when url is not set",
      "storage.flags.backend.protocol: is required when url is not set",
    ]);
    assert.doesNotMatch(found.join("\n"), /hunter2/);
  });

  it("refuses git's keys, naming each", async () => {
    const found = await configProblems(
      load(`storage:
  flags:
    backend:
      type: database
      url: file:/tmp/flags.db
    remote: https://example.com/flags.git
    credentials: gh
    ref_type: semver
    ref: v1.*
credentials:
  gh:
    type: access_token
    access_token: t
${ONE_ENVIRONMENT}`),
    );
    assert.deepEqual(found, [
      "storage.flags.credentials: does not apply to a storage of backend.type database",
      "storage.flags.ref: does not apply to a storage of backend.type database",
      "storage.flags.ref_type: does not apply to a storage of backend.type database",
      "storage.flags.remote: does not apply to a storage of backend.type database",
    ]);
  });

  it("has no directories: an environment naming one is refused, naming the key", async () => {
    const found = await configProblems(
      load(
        "storage:\n  flags:\n    backend:\n      type: database\n      url: file:/tmp/f.db\nenvironments:\n  production:\n    storage: flags\n    directory: prod\n",
      ),
    );
    assert.deepEqual(found, [
      'environments.production.directory: must be empty: storage "flags" is a database, which has no directories (got "prod")',
    ]);
  });

  it("serves one environment: two on the same database are refused", async () => {
    const found = await configProblems(
      load(
        "storage:\n  flags:\n    backend:\n      type: database\n      url: file:/tmp/f.db\nenvironments:\n  a:\n    storage: flags\n    default: true\n  b:\n    storage: flags\n",
      ),
    );
    assert.deepEqual(found, [
      'environments: environments [a, b] share the same storage "flags" and directory ""',
    ]);
  });
});
