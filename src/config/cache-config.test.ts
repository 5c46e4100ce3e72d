/**
 * `cache` (spec v1-backends §1.4): the same section in a Flipt v1 and a v2 file, with v1's defaults and
 * `FLIPT_CACHE_*` variables; Redis cluster mode and two CA sources refused, deprecated keys and a cache with no
 * database to sit in front of warned about.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configProblems, useConfigTextLoader } from "../../test/helpers/load-config-text.js";
import type { CacheConfig } from "./cache-schema.js";
import { DEFAULT_CONFIG } from "./config.js";

const configs = useConfigTextLoader("pennant-cache-config-");
const { load } = configs;

/** A v2 file with one database storage and its environment. */
const V2_DATABASE =
  "storage:\n  flags:\n    backend:\n      type: database\n      url: file:/tmp/flags.db\nenvironments:\n  production:\n    storage: flags\n";
/** A v1 file on a database. */
const V1_DATABASE = "db:\n  url: file:/tmp/flags.db\n";

/** Flipt v1's cache defaults: load-config.test.ts pins every value of DEFAULT_CONFIG. */
const DEFAULT_CACHE: CacheConfig = DEFAULT_CONFIG.cache;

/** Every key of a full section, as YAML under `cache:`, and what it decodes to. */
const FULL_SECTION = `cache:
  enabled: true
  backend: redis
  ttl: 90s
  memory:
    eviction_interval: 1m30s
  redis:
    host: redis.internal
    port: 6380
    username: pennant
    password: hunter2
    db: 3
    prefix: flags
    require_tls: true
    insecure_skip_tls: true
    ca_cert_path: /etc/ssl/redis-ca.pem
    pool_size: 20
    min_idle_conn: 2
    conn_max_idle_time: 5m
    net_timeout: 250ms
    mode: single
`;

const FULL_CACHE: CacheConfig = {
  enabled: true,
  backend: "redis",
  ttl: 90_000,
  memory: { evictionInterval: 90_000 },
  redis: {
    host: "redis.internal",
    port: 6380,
    username: "pennant",
    password: "hunter2",
    db: 3,
    prefix: "flags",
    requireTls: true,
    insecureSkipTls: true,
    caCertPath: "/etc/ssl/redis-ca.pem",
    poolSize: 20,
    minIdleConn: 2,
    connMaxIdleTime: 300_000,
    netTimeout: 250,
    mode: "single",
  },
};

describe("cache", () => {
  it("has Flipt v1's defaults, in a v2 and in a v1 configuration", async () => {
    assert.deepEqual((await load(V2_DATABASE)).config.cache, DEFAULT_CACHE);
    assert.deepEqual((await load(V1_DATABASE)).config.cache, DEFAULT_CACHE);
  });

  it("is carried from a v1 file into the configuration, durations in milliseconds", async () => {
    const { config, shape, warnings } = await load(V1_DATABASE + FULL_SECTION);
    assert.equal(shape.version, "v1");
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.cache, FULL_CACHE);
  });

  it("is read the same from a v2 file, with no warning on a database storage", async () => {
    const { config, warnings } = await load(V2_DATABASE + FULL_SECTION);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.cache, FULL_CACHE);
  });

  it("reads the CA as PEM text from ca_cert_bytes", async () => {
    const { config } = await load(
      `${V2_DATABASE}cache:\n  enabled: true\n  backend: redis\n  redis:\n    require_tls: true\n    ca_cert_bytes: |\n      -----BEGIN CERTIFICATE-----\n      MIIB\n      -----END CERTIFICATE-----\n`,
    );
    assert.equal(
      config.cache.redis.caCertBytes,
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    assert.equal(config.cache.redis.caCertPath, undefined);
  });

  it("reads an empty prefix and mode as Flipt v1 does: flipt and single", async () => {
    const { config } = await load(`${V1_DATABASE}cache:\n  redis:\n    prefix: ""\n    mode: ""\n`);
    assert.equal(config.cache.redis.prefix, "flipt");
    assert.equal(config.cache.redis.mode, "single");
  });

  it("is set by every FLIPT_CACHE_* variable, nested ones included", async () => {
    const env = {
      FLIPT_CACHE_ENABLED: "true",
      FLIPT_CACHE_BACKEND: "redis",
      FLIPT_CACHE_TTL: "2m",
      FLIPT_CACHE_MEMORY_EVICTION_INTERVAL: "10s",
      FLIPT_CACHE_REDIS_HOST: "cache",
      FLIPT_CACHE_REDIS_PORT: "7000",
      FLIPT_CACHE_REDIS_USERNAME: "u",
      FLIPT_CACHE_REDIS_PASSWORD: "p",
      FLIPT_CACHE_REDIS_DB: "5",
      FLIPT_CACHE_REDIS_PREFIX: "pennant",
      FLIPT_CACHE_REDIS_REQUIRE_TLS: "1",
      FLIPT_CACHE_REDIS_INSECURE_SKIP_TLS: "t",
      FLIPT_CACHE_REDIS_CA_CERT_BYTES: "-----BEGIN CERTIFICATE-----",
      FLIPT_CACHE_REDIS_POOL_SIZE: "4",
      FLIPT_CACHE_REDIS_MIN_IDLE_CONN: "1",
      FLIPT_CACHE_REDIS_CONN_MAX_IDLE_TIME: "30s",
      FLIPT_CACHE_REDIS_NET_TIMEOUT: "1s",
      FLIPT_CACHE_REDIS_MODE: "single",
    };
    const expected: CacheConfig = {
      enabled: true,
      backend: "redis",
      ttl: 120_000,
      memory: { evictionInterval: 10_000 },
      redis: {
        host: "cache",
        port: 7000,
        username: "u",
        password: "p",
        db: 5,
        prefix: "pennant",
        requireTls: true,
        insecureSkipTls: true,
        caCertBytes: "-----BEGIN CERTIFICATE-----",
        poolSize: 4,
        minIdleConn: 1,
        connMaxIdleTime: 30_000,
        netTimeout: 1000,
        mode: "single",
      },
    };
    // With variables alone (a Flipt v1 container), and over a v2 file's section.
    const v1 = await load(undefined, { FLIPT_DB_URL: "file:/tmp/flags.db", ...env });
    assert.equal(v1.shape.version, "v1");
    assert.deepEqual(v1.warnings, []);
    assert.deepEqual(v1.config.cache, expected);
    const v2 = await load(`${V2_DATABASE}cache:\n  ttl: 1s\n  redis:\n    host: other\n`, {
      ...env,
      FLIPT_CACHE_REDIS_CA_CERT_PATH: "",
    });
    assert.deepEqual(v2.warnings, []);
    assert.deepEqual(v2.config.cache, expected);
    const path = await load(V1_DATABASE, { FLIPT_CACHE_REDIS_CA_CERT_PATH: "/ca.pem" });
    assert.equal(path.config.cache.redis.caCertPath, "/ca.pem");
    // An empty CA key (an unset ${env:VAR}) is not set, as in Flipt v1: no conflict with the other.
    const empty = await load(
      `${V2_DATABASE}cache:\n  enabled: true\n  backend: redis\n  redis:\n    ca_cert_path: \${env:UNSET_CA}\n    ca_cert_bytes: PEM\n`,
    );
    assert.equal(Object.hasOwn(empty.config.cache.redis, "caCertPath"), false);
    assert.equal(empty.config.cache.redis.caCertBytes, "PEM");
  });

  it("refuses Redis cluster mode when the Redis cache is on, naming cache.redis.mode", async () => {
    const cluster = "cache:\n  enabled: true\n  backend: redis\n  redis:\n    mode: cluster\n";
    const expected = [
      "cache.redis.mode: Redis cluster mode is not supported: use a single Redis server (mode: single)",
    ];
    assert.deepEqual(await configProblems(load(V2_DATABASE + cluster)), expected);
    assert.deepEqual(await configProblems(load(V1_DATABASE + cluster)), expected);
    assert.deepEqual(
      await configProblems(
        load(V1_DATABASE, {
          FLIPT_CACHE_ENABLED: "true",
          FLIPT_CACHE_BACKEND: "redis",
          FLIPT_CACHE_REDIS_MODE: "cluster",
        }),
      ),
      expected,
    );
  });

  it("accepts cluster mode while the Redis cache is off, and refuses an unknown mode", async () => {
    for (const section of [
      "cache:\n  redis:\n    mode: cluster\n",
      "cache:\n  enabled: true\n  redis:\n    mode: cluster\n",
    ]) {
      assert.equal((await load(V1_DATABASE + section)).config.cache.redis.mode, "cluster", section);
    }
    assert.deepEqual(await configProblems(load(`${V1_DATABASE}cache:\n  redis:\n    mode: sentinel\n`)), [
      'cache.redis.mode: must be one of "single", "cluster", got "sentinel"',
    ]);
  });

  it("refuses both CA keys when the Redis cache is on (as Flipt v1), without showing the PEM text", async () => {
    const both = `cache:\n  enabled: true\n  backend: redis\n  redis:\n    ca_cert_path: /ca.pem\n    ca_cert_bytes: SECRET-PEM\n`;
    const found = await configProblems(load(V2_DATABASE + both));
    assert.deepEqual(found, ["cache.redis: ca_cert_path and ca_cert_bytes are mutually exclusive"]);
    assert.doesNotMatch(found.join("\n"), /SECRET-PEM/);
    // Off, or on with memory: not checked, as in Flipt v1.
    await load(V2_DATABASE + both.replace("enabled: true", "enabled: false"));
    await load(V2_DATABASE + both.replace("backend: redis", "backend: memory"));
  });

  it("accepts the deprecated memory keys with a warning saying what to use instead, and drops them", async () => {
    const { config, warnings } = await load(
      `${V1_DATABASE}cache:\n  memory:\n    enabled: true\n    expiration: 10m\n    eviction_interval: 1m\n`,
    );
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(
      warnings[0] ?? "",
      /^cache\.memory\.enabled is deprecated and ignored, as in Flipt v1: use cache\.enabled and cache\.backend instead \(from .*:\d+:\d+\)$/,
    );
    assert.match(
      warnings[1] ?? "",
      /^cache\.memory\.expiration is deprecated and ignored, as in Flipt v1: use cache\.ttl instead \(from .*:\d+:\d+\)$/,
    );
    // Ignored, as Flipt v1 ignores them: the cache stays off and its ttl is the default.
    assert.deepEqual(config.cache, { ...DEFAULT_CACHE, memory: { evictionInterval: 60_000 } });
    const fromVariable = await load(V1_DATABASE, { FLIPT_CACHE_MEMORY_EXPIRATION: "1m" });
    assert.deepEqual(fromVariable.warnings, [
      "cache.memory.expiration is deprecated and ignored, as in Flipt v1: use cache.ttl instead (from FLIPT_CACHE_MEMORY_EXPIRATION)",
    ]);
  });

  describe("enabled with no database storage", () => {
    const WARNING =
      "cache.enabled: the cache has no effect on git, local, memory or object storage: their flag state is already served from memory";

    it("is accepted with a warning naming cache.enabled, in v2 and v1 configurations", async () => {
      const cases: [string | undefined, Record<string, string>][] = [
        // The default memory storage.
        [undefined, { FLIPT_CACHE_ENABLED: "true" }],
        [
          "storage:\n  flags:\n    backend:\n      type: local\n      path: /srv/flags\n    remote: https://example.com/f.git\nenvironments:\n  default:\n    storage: flags\ncache:\n  enabled: true\n",
          {},
        ],
        ["storage:\n  type: local\n  local:\n    path: /srv/flags\ncache:\n  enabled: true\n", {}],
        [
          "storage:\n  type: git\n  git:\n    repository: https://example.com/f.git\ncache:\n  enabled: true\n  backend: redis\n",
          {},
        ],
      ];
      for (const [text, env] of cases) {
        const { config, warnings } = await load(text, env);
        assert.equal(config.cache.enabled, true);
        assert.equal(warnings.length, 1, `${text}\n${warnings.join("\n")}`);
        assert.ok(warnings[0]?.startsWith(`${WARNING} (from `), warnings[0]);
      }
    });

    it("is not warned about with a database among the storages, or with the cache off", async () => {
      const mixed = await load(
        "storage:\n  files:\n    backend:\n      type: memory\n  flags:\n    backend:\n      type: database\n      url: file:/tmp/f.db\nenvironments:\n  default:\n    storage: files\n  production:\n    storage: flags\ncache:\n  enabled: true\n",
      );
      assert.deepEqual(mixed.warnings, []);
      assert.deepEqual((await load("storage:\n  type: local\ncache:\n  ttl: 5m\n")).warnings, []);
    });
  });
});
