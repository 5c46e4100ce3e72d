import { createHash } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { openRedisEnvelope, sealRedisEnvelope } from "./redis-envelope.js";
import { RedisStartError } from "./redis-start-error.js";
import { redisTlsOptions } from "./redis-tls-options.js";
import type { CacheFailure, PurgeMessage, SharedCache, SharedValue } from "./shared-cache.js";

/** What the Redis cache needs, from the `cache` section (spec v1-backends §1.4). */
export interface RedisCacheOptions {
  readonly host: string;
  readonly port: number;
  /** The ACL user; without it, the password is the `default` user's. */
  readonly username?: string | undefined;
  /** Never logged, and scrubbed from every message. */
  readonly password?: string | undefined;
  readonly db?: number | undefined;
  /** Physical keys are `<prefix>:<md5 hex of the logical key>`; `flipt` when undefined or empty. */
  readonly prefix?: string | undefined;
  readonly requireTls?: boolean | undefined;
  readonly insecureSkipTls?: boolean | undefined;
  readonly caCertPath?: string | undefined;
  readonly caCertBytes?: string | undefined;
  /** Connect timeout; commands time out after twice this. 0 or undefined: 5 s and 3 s (go-redis's defaults). */
  readonly netTimeoutMs?: number | undefined;
  /** `cache.ttl`: at least 1 s is used as it is; 0 or less than 1 s is 1 hour, as go-redis/cache does. */
  readonly ttlMs: number;
  readonly logger?: Logger | undefined;
}

/** ioredis's options, less one its constructor types without `| undefined` (which `exactOptionalPropertyTypes` minds). */
type ConnectionOptions = Omit<RedisOptions, "replyMapping">;

/** The key prefix when none is configured. */
export const DEFAULT_REDIS_PREFIX = "flipt";
/** The shortest time to live used as configured; a shorter one (0 included) becomes `FALLBACK_TTL_MS`. */
export const MIN_REDIS_TTL_MS = 1000;
export const FALLBACK_REDIS_TTL_MS = 3_600_000;
/** Connect and command timeouts without `net_timeout`. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 3000;
/** Reconnection backoff: doubles from the first delay up to the cap. */
const RECONNECT_FIRST_DELAY_MS = 50;
const RECONNECT_MAX_DELAY_MS = 1000;

/** The physical key of logical key `key`: `<prefix>:<md5 hex>`, as Flipt v1 (spec v1-backends §3.4). */
export function redisCacheKey(prefix: string, key: string): string {
  return `${prefix}:${createHash("md5").update(key).digest("hex")}`;
}

/** The time to live a value is written with, as go-redis/cache picks it. */
export function effectiveRedisTtlMs(ttlMs: number): number {
  return ttlMs >= MIN_REDIS_TTL_MS ? Math.floor(ttlMs) : FALLBACK_REDIS_TTL_MS;
}

/**
 * Opens the Redis cache (`cache.backend: redis`). It resolves once connected, and also when Redis cannot be reached
 * (warning in the log): the cache then keeps reconnecting, with a backoff, and serves misses meanwhile. It rejects
 * with a `RedisStartError` when Redis refuses the credentials or the database number, or the server's certificate
 * fails verification: those are configuration mistakes that do not heal. Commands never wait for a connection:
 * while Redis is unreachable they fail at once; a command without a reply fails after the command timeout, and
 * its connection is replaced, so that the next ones fail at once too until Redis answers again.
 */
export async function openRedisCache(options: RedisCacheOptions): Promise<SharedCache> {
  const tls = await redisTlsOptions(options);
  const netTimeoutMs = options.netTimeoutMs ?? 0;
  const base: ConnectionOptions = {
    host: options.host,
    port: options.port,
    db: options.db ?? 0,
    ...(options.username === undefined || options.username === "" ? {} : { username: options.username }),
    ...(options.password === undefined || options.password === "" ? {} : { password: options.password }),
    ...(tls === undefined ? {} : { tls }),
    lazyConnect: true,
    connectTimeout: netTimeoutMs > 0 ? netTimeoutMs : DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: netTimeoutMs > 0 ? 2 * netTimeoutMs : DEFAULT_COMMAND_TIMEOUT_MS,
    // Fail fast: no queue while disconnected, and what was in flight when the connection dropped fails at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (attempt) => {
      const delay = Math.min(
        RECONNECT_FIRST_DELAY_MS * 2 ** Math.min(attempt - 1, 16),
        RECONNECT_MAX_DELAY_MS,
      );
      return delay + Math.floor(Math.random() * (delay / 10));
    },
    maintNotifications: "disabled",
  };
  const cache = new RedisSharedCache(options, base);
  await cache.start();
  return cache;
}

/** How many different failures are logged at warn between two successes; the rest at debug. */
const MAX_DISTINCT_WARNINGS = 20;

/** The Redis client's message for a command without a reply within the command timeout. */
const TIMEOUT_MESSAGE = /^Command timed out/;
/** The Redis client's own message for a command refused while disconnected. */
const OFFLINE_MESSAGE = /enableOfflineQueue|Connection is closed|MaxRetriesPerRequest/;

/** OpenSSL's verification failures, as Node reports them in `code`. */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

class RedisSharedCache implements SharedCache {
  readonly backend = "redis";
  readonly #options: RedisCacheOptions;
  readonly #base: ConnectionOptions;
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #address: string;
  readonly #listeners = new Set<(message: PurgeMessage) => void>();
  #subscriber: Redis | undefined;
  #subscribed: Promise<void> | undefined;
  #errors = 0;
  #lastError: CacheFailure | undefined;
  /** The last connection error of the command connection while it is not ready, for the messages of commands. */
  #connectionError: string | undefined;
  /** The failures logged at warn since the last success. */
  readonly #warned = new Set<string>();
  #closing: Promise<void> | undefined;

  constructor(options: RedisCacheOptions, base: ConnectionOptions) {
    this.#options = options;
    this.#base = base;
    this.#prefix =
      options.prefix === undefined || options.prefix === "" ? DEFAULT_REDIS_PREFIX : options.prefix;
    this.#channel = `${this.#prefix}:purge`;
    this.#address = `${options.host}:${options.port}`;
    this.#client = new Redis({ ...base, connectionName: "pennant-cache" });
    this.#client.on("error", (error: unknown) => this.#onConnectionError("", error));
    this.#client.on("ready", () => {
      if (this.#connectionError !== undefined) {
        this.#options.logger?.info({ redis: this.#address }, "connected to the Redis cache again");
      }
      this.#connectionError = undefined;
      this.#succeed();
    });
    this.#client.on("close", () => {
      // A connection that was up and closed without an error (Redis shut down or was killed).
      if (this.#closing !== undefined || this.#connectionError !== undefined) return;
      this.#connectionError = "connection lost";
      this.#record("connection lost");
    });
  }

  get errors(): number {
    return this.#errors;
  }

  get lastError(): CacheFailure | undefined {
    return this.#lastError;
  }

  /** Connects, and settles as `openRedisCache` says. */
  async start(): Promise<void> {
    const client = this.#client;
    const outcome = await new Promise<{ error?: unknown }>((resolve) => {
      const done = (outcome: { error?: unknown }) => {
        client.off("ready", onReady);
        client.off("error", onError);
        clearTimeout(timer);
        resolve(outcome);
      };
      const onReady = () => done({});
      const onError = (error: unknown) => done({ error });
      client.once("ready", onReady);
      client.once("error", onError);
      // Bounded by the timeouts already; this is a backstop in case neither event comes.
      const timer = setTimeout(
        () => done({ error: new Error("no answer while connecting") }),
        (this.#base.connectTimeout ?? 0) + (this.#base.commandTimeout ?? 0) + 1000,
      );
      client.connect().catch(() => undefined);
    });
    if (!("error" in outcome)) return;
    const refusal = this.#configurationProblem(outcome.error);
    if (refusal !== undefined) {
      client.disconnect();
      throw refusal;
    }
    this.#options.logger?.warn(
      { redis: this.#address, err: this.#describe(outcome.error) },
      "the Redis cache is unreachable: serving without it and reconnecting",
    );
  }

  async get(key: string): Promise<SharedValue | undefined> {
    if (this.#closing !== undefined) return undefined;
    const physical = redisCacheKey(this.#prefix, key);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.#client.multi().get(physical).pttl(physical).exec();
    } catch (error) {
      this.#fail("get", error);
      return undefined;
    }
    const [stored, ttl] = replies ?? [];
    const failure = stored?.[0] ?? ttl?.[0];
    if (failure != null) {
      this.#fail("get", failure);
      return undefined;
    }
    const text = stored?.[1];
    const pttl = ttl?.[1];
    // PTTL 0: the value expires within this millisecond (Redis rounds down what is left, and answers 0 for a key
    // whose time is up but is not removed yet). A miss, as it is about to be one: handing it out with 0 ms to live
    // would read as "never expires" to a caller that takes 0 as no expiry, as `cache.ttl` does. It happens all the
    // time: a replica fills its memory and Redis at the same moment for the same TTL, so that its next miss comes
    // as the Redis value ends.
    if ((text === null || pttl === 0) && typeof pttl === "number") {
      this.#succeed();
      return undefined;
    }
    if (typeof text !== "string" || typeof pttl !== "number") {
      this.#fail("get", new Error("Redis answered GET and PTTL with values of the wrong types"));
      return undefined;
    }
    const opened = openRedisEnvelope(key, text);
    if ("problem" in opened) {
      this.#fail(
        "get",
        new Error(`the value of ${JSON.stringify(key)} failed its integrity check: ${opened.problem}`),
      );
      return undefined;
    }
    this.#succeed();
    return { value: opened.value, ttlMs: pttl >= 0 ? pttl : undefined };
  }

  async set(key: string, value: string): Promise<void> {
    if (this.#closing !== undefined) return;
    const physical = redisCacheKey(this.#prefix, key);
    const ttl = effectiveRedisTtlMs(this.#options.ttlMs);
    await this.#run("set", () => this.#client.set(physical, sealRedisEnvelope(key, value), "PX", ttl));
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (this.#closing !== undefined || keys.length === 0) return;
    const physical = keys.map((key) => redisCacheKey(this.#prefix, key));
    await this.#run("delete", () => this.#client.del(...physical));
  }

  async publish(message: PurgeMessage): Promise<void> {
    if (this.#closing !== undefined) return;
    const text = JSON.stringify({
      storage: message.storage,
      keys: message.keys,
      from: message.from,
      to: message.to,
    });
    await this.#run("publish", () => this.#client.publish(this.#channel, text));
  }

  async subscribe(listener: (message: PurgeMessage) => void): Promise<void> {
    if (this.#closing !== undefined) return;
    this.#listeners.add(listener);
    this.#subscribed ??= this.#startSubscriber();
    await this.#subscribed;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#listeners.clear();
      await Promise.all([
        quit(this.#client),
        this.#subscriber === undefined ? undefined : quit(this.#subscriber),
      ]);
    })();
    return this.#closing;
  }

  /**
   * A connection of its own for the purge channel (a subscribed connection serves nothing else). It subscribes
   * each time it becomes ready, so the subscription comes back after a reconnection; the promise settles at the
   * first subscription or the first failure.
   */
  #startSubscriber(): Promise<void> {
    const subscriber = new Redis({
      ...this.#base,
      connectionName: "pennant-cache-subscriber",
    });
    this.#subscriber = subscriber;
    subscriber.on("message", (channel: string, text: string) => this.#onMessage(channel, text));
    return new Promise<void>((resolve) => {
      subscriber.on("error", (error: unknown) => {
        this.#onConnectionError("subscriber ", error);
        resolve();
      });
      subscriber.on("end", () => resolve());
      let state: "never" | "subscribed" | "lost" = "never";
      subscriber.on("close", () => {
        if (this.#closing !== undefined || state !== "subscribed") return;
        state = "lost";
        this.#record("subscriber connection lost: purges published meanwhile are missed");
      });
      subscriber.on("ready", () => {
        if (this.#closing !== undefined) return;
        subscriber.subscribe(this.#channel).then(
          () => {
            const again = state === "lost";
            state = "subscribed";
            const log = { redis: this.#address, channel: this.#channel };
            if (again) this.#options.logger?.info(log, "subscribed to purges again");
            else this.#options.logger?.debug(log, "subscribed to purges");
            resolve();
          },
          (error: unknown) => {
            this.#fail("subscribe", error, subscriber);
            resolve();
            // Try again on a new connection.
            if (this.#closing === undefined && subscriber.status === "ready") subscriber.disconnect(true);
          },
        );
      });
      subscriber.connect().catch(() => undefined);
    });
  }

  #onMessage(channel: string, text: string): void {
    if (channel !== this.#channel || this.#closing !== undefined) return;
    const message = parsePurgeMessage(text);
    if (message === undefined) {
      this.#options.logger?.debug({ redis: this.#address, channel }, "ignored a malformed purge message");
      return;
    }
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        this.#options.logger?.error({ err: error }, "a purge listener failed");
      }
    }
  }

  async #run(operation: string, command: () => Promise<unknown>): Promise<void> {
    try {
      await command();
      this.#succeed();
    } catch (error) {
      this.#fail(operation, error);
    }
  }

  #succeed(): void {
    this.#lastError = undefined;
    this.#warned.clear();
  }

  #fail(operation: string, error: unknown, client: Redis = this.#client): void {
    this.#errors += 1;
    let reason = this.#describe(error);
    if (TIMEOUT_MESSAGE.test(reason) && client.status === "ready" && this.#closing === undefined) {
      // A server that stopped answering: reconnect (as go-redis drops a connection that timed out), so that the
      // next commands fail at once instead of each waiting for its timeout.
      if (client === this.#client) this.#connectionError = reason;
      client.disconnect(true);
      this.#record(`${operation} failed: ${reason}`);
      return;
    }
    if (OFFLINE_MESSAGE.test(reason) || client.status !== "ready") {
      reason = `not connected${this.#connectionError === undefined ? "" : ` (${this.#connectionError})`}`;
    }
    this.#record(`${operation} failed: ${reason}`);
  }

  #onConnectionError(which: string, error: unknown): void {
    if (this.#closing !== undefined) return;
    const reason = this.#describe(error);
    if (which === "") this.#connectionError = reason;
    const refusal = this.#configurationProblem(error);
    this.#record(`${which}connection: ${refusal?.message ?? reason}`);
  }

  /**
   * Sets `lastError`, and logs it: at warn the first time a message is seen since the last success, at debug when
   * it repeats (an outage would otherwise log each reconnection attempt and each operation).
   */
  #record(message: string): void {
    const full = `redis ${this.#address}: ${message}`;
    this.#lastError = { message: full, at: new Date().toISOString() };
    if (this.#warned.has(full) || this.#warned.size >= MAX_DISTINCT_WARNINGS) {
      this.#options.logger?.debug({ redis: this.#address, err: message }, "Redis cache error");
    } else {
      this.#warned.add(full);
      this.#options.logger?.warn({ redis: this.#address, err: message }, "Redis cache error");
    }
  }

  /** A RedisStartError when `error` is a mistake in the configuration rather than an outage. */
  #configurationProblem(error: unknown): RedisStartError | undefined {
    const reason = this.#describe(error);
    const code = (error as { code?: unknown } | undefined)?.code;
    const withUser = this.#options.username !== undefined && this.#options.username !== "";
    if (/^(WRONGPASS|ERR invalid password|ERR invalid username-password)/.test(reason)) {
      const key = withUser ? "cache.redis.username/password" : "cache.redis.password";
      return new RedisStartError(
        "cache.redis.password",
        `Redis at ${this.#address} refused the credentials: check ${key} (${reason})`,
      );
    }
    if (/^NOAUTH/.test(reason)) {
      return new RedisStartError(
        "cache.redis.password",
        `Redis at ${this.#address} requires a password: set cache.redis.password (${reason})`,
      );
    }
    if (/^ERR (DB index is out of range|invalid DB index)/.test(reason)) {
      return new RedisStartError(
        "cache.redis.db",
        `Redis at ${this.#address} has no database ${this.#options.db ?? 0}: check cache.redis.db (${reason})`,
      );
    }
    if (typeof code === "string" && CERTIFICATE_CODES.has(code)) {
      return new RedisStartError(
        "cache.redis.ca_cert_path",
        `the certificate of Redis at ${this.#address} failed verification (${reason}): trust its CA with ` +
          "cache.redis.ca_cert_path or cache.redis.ca_cert_bytes, or skip verification with cache.redis.insecure_skip_tls",
      );
    }
    return undefined;
  }

  /** The message of `error`, with the password taken out. */
  #describe(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const secret = this.#options.password;
    return secret === undefined || secret === "" ? message : message.split(secret).join("xxxxx");
  }
}

/** Closes a connection, politely when it is up. */
async function quit(client: Redis): Promise<void> {
  if (client.status === "ready") await client.quit().catch(() => undefined);
  client.disconnect();
}

/** A purge message read from the channel, or undefined when it is not one. */
function parsePurgeMessage(text: string): PurgeMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { storage, keys, from, to } = parsed as Record<string, unknown>;
  if (typeof storage !== "string" || !isCounter(from) || !isCounter(to)) return undefined;
  if (!Array.isArray(keys) || !keys.every((key): key is string => typeof key === "string")) return undefined;
  return { storage, keys, from, to };
}

function isCounter(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}
