import * as s from "./schema.js";

/** The error for `cache.redis.mode: cluster` on a Redis cache that is enabled: Pennant talks to one server. */
export const REDIS_CLUSTER_REFUSED =
  "Redis cluster mode is not supported: use a single Redis server (mode: single)";

/**
 * `cache.memory`: the janitor's interval, and two keys Flipt v1 deprecated and its code no longer reads, accepted
 * with a warning saying what replaced them. They are not part of the decoded value.
 */
const MEMORY_SCHEMA = s.object(
  "The `memory` backend.",
  {
    eviction_interval: s.duration("How often expired entries are removed from memory.", {
      default: "5m",
      min: "0s",
    }),
    enabled: s.boolean("Deprecated in Flipt v1 and ignored: use `cache.enabled` and `cache.backend`."),
    expiration: s.duration("Deprecated in Flipt v1 and ignored: use `cache.ttl`.", { min: "0s" }),
  },
  {
    finalize: ({ evictionInterval, enabled, expiration }, context) => {
      if (enabled !== undefined) {
        context.warn(
          "enabled",
          `${context.path}.enabled is deprecated and ignored, as in Flipt v1: use cache.enabled and cache.backend instead`,
        );
      }
      if (expiration !== undefined) {
        context.warn(
          "expiration",
          `${context.path}.expiration is deprecated and ignored, as in Flipt v1: use cache.ttl instead`,
        );
      }
      return { evictionInterval };
    },
  },
);

const REDIS_SCHEMA = s.object("The `redis` backend.", {
  host: s.string("Redis host.", { default: "localhost" }),
  port: s.integer("Redis port.", { default: 6379, min: 1, max: 65535 }),
  username: s.string("Redis ACL user."),
  password: s.string("Redis password (never logged).", { secret: true }),
  db: s.integer("Redis database number.", { default: 0, min: 0 }),
  prefix: s.string("Key prefix: entries are `<prefix>:<hex md5 of the key>`; empty is `flipt`.", {
    default: "flipt",
    // Flipt v1 uses its default keyer unless the prefix is set to something.
    normalize: (text) => (text === "" ? "flipt" : text),
  }),
  require_tls: s.boolean("Connect with TLS (1.2 or later).", { default: false }),
  insecure_skip_tls: s.boolean("With `require_tls`: do not verify the server's certificate.", {
    default: false,
  }),
  ca_cert_path: s.string("With `require_tls`: a CA bundle file to trust (exclusive with `ca_cert_bytes`)."),
  ca_cert_bytes: s.string("With `require_tls`: CA bundle PEM text (exclusive with `ca_cert_path`).", {
    secret: true,
  }),
  pool_size: s.integer("Accepted for Flipt v1 files: Pennant keeps one command connection.", {
    default: 0,
    min: 0,
  }),
  min_idle_conn: s.integer("Accepted for Flipt v1 files: Pennant keeps one command connection.", {
    default: 0,
    min: 0,
  }),
  conn_max_idle_time: s.duration("Accepted for Flipt v1 files: the connection is kept while serving.", {
    default: "0s",
    min: "0s",
  }),
  net_timeout: s.duration(
    "Connect timeout; commands time out after twice this. 0s for the defaults (5s and 3s).",
    { default: "0s", min: "0s" },
  ),
  mode: s.string(
    "`single` server, or `cluster` (not supported: refused at start when the Redis cache is on).",
    {
      values: ["single", "cluster"],
      default: "single",
      // Flipt v1's schema shows "" for the default, which its code reads as single.
      normalize: (text) => (text === "" ? "single" : text),
    },
  ),
});

const CACHE_FIELDS = {
  enabled: s.boolean("Serve database reads through the cache.", { default: false }),
  backend: s.string("Where entries live: `memory` (this process) or `redis` (shared by replicas).", {
    values: ["memory", "redis"],
    default: "memory",
  }),
  ttl: s.duration(
    "How long an entry is served before the database is read again. `memory`: 0s never expires; `redis`: under 1s is 1 hour, as in Flipt.",
    { default: "60s", min: "0s" },
  ),
  memory: MEMORY_SCHEMA,
  redis: REDIS_SCHEMA,
};

type Cache = s.InferFields<typeof CACHE_FIELDS>;

/**
 * Flipt v1's rules for a Redis cache, checked (as v1 checks them) only when the cache is on with `backend: redis`:
 * one CA source at most. And Pennant's: no cluster mode. An empty CA key is left out, as v1 reads it as not set.
 */
function checkCache(cache: Cache, context: s.NodeContext): Cache {
  const { caCertPath, caCertBytes, ...rest } = cache.redis;
  const redis = {
    ...rest,
    ...(given(caCertPath) ? { caCertPath } : {}),
    ...(given(caCertBytes) ? { caCertBytes } : {}),
  };
  if (cache.enabled && cache.backend === "redis") {
    if (redis.mode === "cluster") context.report("redis.mode", REDIS_CLUSTER_REFUSED);
    if (redis.caCertPath !== undefined && redis.caCertBytes !== undefined) {
      context.report("redis", "ca_cert_path and ca_cert_bytes are mutually exclusive");
    }
  }
  return { ...cache, redis };
}

/** Set to something: Flipt v1 reads an empty string (an unset `${env:VAR}`) as not set. */
function given(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}

/**
 * Flipt v1's `cache` section (spec v1-backends §1.4), the same in a v1 and a v2 file: a cache in front of database
 * storage, in process memory or shared in Redis. Names, defaults and `FLIPT_CACHE_*` variables are v1's.
 */
export const CACHE_SCHEMA = s.object(
  "Pennant (Flipt v1's `cache`): a cache in front of database storage; no effect on git, local, memory or object storage.",
  CACHE_FIELDS,
  { finalize: checkCache },
);

/** The decoded `cache` section: durations in milliseconds, the deprecated `memory` keys left out. */
export type CacheConfig = s.Infer<typeof CACHE_SCHEMA>;
