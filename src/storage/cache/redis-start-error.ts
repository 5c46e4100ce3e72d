/**
 * The Redis cache cannot start because of its configuration: Redis refused the credentials, its certificate failed
 * verification, or the CA certificate given could not be read. Unlike an unreachable Redis (the cache starts and
 * keeps reconnecting), this does not heal on its own. `key` is the configuration key to look at, e.g.
 * `cache.redis.password`; the message names it too, and never holds a secret.
 */
export class RedisStartError extends Error {
  override readonly name = "RedisStartError";
  readonly key: string;

  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}
