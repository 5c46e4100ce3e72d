import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { type PrivateRedis, startPrivateRedis } from "../../../test/helpers/private-redis.js";
import { waitFor, within } from "../../../test/helpers/wait-for.js";
import {
  effectiveRedisTtlMs,
  openRedisCache,
  type RedisCacheOptions,
  redisCacheKey,
} from "./open-redis-cache.js";
import { sealRedisEnvelope } from "./redis-envelope.js";
import { RedisStartError } from "./redis-start-error.js";
import type { PurgeMessage, SharedCache } from "./shared-cache.js";

/** A bound for what must not hang; generous, so that a slow machine does not fail the test. */
const PROMPT_MS = 5000;

const opened: SharedCache[] = [];

/** Opens a cache on `redis` with a prefix of its own (unless given), closed after the file's tests. */
async function open(redis: PrivateRedis, options: Partial<RedisCacheOptions> = {}): Promise<SharedCache> {
  const cache = await openRedisCache({
    host: redis.host,
    port: redis.port,
    prefix: `t${randomBytes(4).toString("hex")}`,
    ttlMs: 60_000,
    ...options,
  });
  opened.push(cache);
  return cache;
}

/** A debug-level logger whose lines the test can read. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

function purge(keys: string[], from = 1, to = 2): PurgeMessage {
  return { storage: "default", keys, from, to };
}

after(async () => {
  await Promise.all(opened.map((cache) => cache.close()));
});

describe("openRedisCache", () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis();
  });
  after(async () => {
    await redis.dispose();
  });

  test("stores a value under <prefix>:<md5 of the key> and reads it back with its time to live", async () => {
    const cache = await open(redis, { prefix: "keys", ttlMs: 30_000 });
    const key = "s:ns:default:production";
    const value = JSON.stringify({ flags: ["a", "é", "🚩"] });
    await cache.set(key, value);
    const read = await cache.get(key);
    assert.equal(read?.value, value);
    assert.ok(read.ttlMs !== undefined && read.ttlMs > 0 && read.ttlMs <= 30_000, `ttl ${read.ttlMs}`);

    const physical = `keys:${md5(key)}`;
    assert.equal(redisCacheKey("keys", key), physical);
    assert.equal(await redis.command("EXISTS", physical), 1);
    const pttl = Number(await redis.command("PTTL", physical));
    assert.ok(pttl > 0 && pttl <= 30_000, `PTTL ${pttl}`);
    assert.match(String(await redis.command("GET", physical)), /^pennant1:[0-9a-f]{64}:\{"flags"/);
    assert.equal(cache.errors, 0);
    assert.equal(cache.lastError, undefined);
    assert.equal(cache.backend, "redis");
  });

  test("uses the prefix flipt when none is configured", async () => {
    const cache = await open(redis, { prefix: undefined });
    const key = `s:ns:${randomBytes(4).toString("hex")}`;
    await cache.set(key, "v");
    assert.equal(await redis.command("EXISTS", `flipt:${md5(key)}`), 1);
    const empty = await open(redis, { prefix: "" });
    assert.equal((await empty.get(key))?.value, "v");
  });

  test("a time to live of 0 or under a second is one hour, as go-redis/cache", async () => {
    assert.equal(effectiveRedisTtlMs(0), 3_600_000);
    assert.equal(effectiveRedisTtlMs(999), 3_600_000);
    assert.equal(effectiveRedisTtlMs(1000), 1000);
    assert.equal(effectiveRedisTtlMs(60_000), 60_000);
    for (const ttlMs of [0, 500]) {
      const cache = await open(redis, { ttlMs });
      await cache.set("k", "v");
      const read = await cache.get("k");
      assert.ok(read?.ttlMs !== undefined && read.ttlMs > 3_590_000 && read.ttlMs <= 3_600_000);
    }
  });

  test("a missing key is a miss, not an error", async () => {
    const cache = await open(redis);
    assert.equal(await cache.get("absent"), undefined);
    assert.equal(cache.errors, 0);
    assert.equal(cache.lastError, undefined);
  });

  test("delete removes the keys given", async () => {
    const cache = await open(redis);
    await cache.set("a", "1");
    await cache.set("b", "2");
    await cache.set("c", "3");
    await cache.delete(["a", "b"]);
    await cache.delete([]);
    assert.equal(await cache.get("a"), undefined);
    assert.equal(await cache.get("b"), undefined);
    assert.equal((await cache.get("c"))?.value, "3");
    assert.equal(cache.errors, 0);
  });

  test("a value that fails its integrity check is a miss and an error, never the value", async () => {
    const { logger, lines } = capturedLogger();
    const cache = await open(redis, { prefix: "integrity", logger });
    const physical = (key: string) => redisCacheKey("integrity", key);
    const secretish = "GARBAGE-VALUE-42";
    await cache.set("good", "the good value");
    const sealed = String(await redis.command("GET", physical("good")));
    const corruptions: [string, string][] = [
      ["garbage", secretish],
      ["flipped", sealed.replace("the good value", `the ${secretish} value`)],
      ["truncated", sealed.slice(0, -3)],
      ["copied", sealed], // another key's envelope: bound to "good", not to "copied"
      ["flipt-v1", `{"key":"flag","enabled":true,"note":"${secretish}"}`],
    ];
    let errors = 0;
    for (const [key, stored] of corruptions) {
      await redis.command("SET", physical(key), stored);
      assert.equal(await cache.get(key), undefined, key);
      errors += 1;
      assert.equal(cache.errors, errors, key);
      assert.match(cache.lastError?.message ?? "", /integrity check/);
      assert.ok(!cache.lastError?.message.includes(secretish));
    }
    // A key of another type: Redis answers WRONGTYPE.
    await redis.command("RPUSH", physical("list"), secretish);
    assert.equal(await cache.get("list"), undefined);
    assert.equal(cache.errors, errors + 1);
    assert.match(cache.lastError?.message ?? "", /WRONGTYPE/);
    assert.ok(lines.every((line) => !line.includes(secretish) && !line.includes("the good value")));

    // The next write replaces the bad value, and a success clears the error.
    await cache.set("garbage", "fresh");
    assert.equal((await cache.get("garbage"))?.value, "fresh");
    assert.equal(cache.lastError, undefined);
  });

  test("purge messages reach every replica of the same prefix, the publisher included", async () => {
    const a = await open(redis, { prefix: "replicas" });
    const b = await open(redis, { prefix: "replicas" });
    const other = await open(redis, { prefix: "other" });
    const seen = { a: [] as PurgeMessage[], b: [] as PurgeMessage[], other: [] as PurgeMessage[] };
    await a.subscribe((message) => seen.a.push(message));
    await b.subscribe((message) => seen.b.push(message));
    await other.subscribe((message) => seen.other.push(message));
    const message = purge(["s:ns:default:production", "s:ns:default:staging"], 7, 8);
    await a.publish(message);
    await waitFor(() => (seen.a.length === 1 && seen.b.length === 1 ? true : undefined), {
      what: "the purge on both replicas",
    });
    assert.deepEqual(seen.b[0], message);
    assert.deepEqual(seen.a[0], message);
    assert.equal(seen.other.length, 0);
  });

  test("a malformed purge message is ignored", async () => {
    const { logger, lines } = capturedLogger();
    const cache = await open(redis, { prefix: "malformed", logger });
    const seen: PurgeMessage[] = [];
    await cache.subscribe((message) => seen.push(message));
    for (const text of [
      "not json",
      "null",
      "[]",
      "{}",
      JSON.stringify({ storage: "default", keys: [1], from: 1, to: 2 }),
      JSON.stringify({ storage: "default", keys: ["k"], from: "1", to: 2 }),
      JSON.stringify({ keys: ["k"], from: 1, to: 2 }),
    ]) {
      await redis.command("PUBLISH", "malformed:purge", text);
    }
    const valid = purge(["k"]);
    await redis.command("PUBLISH", "malformed:purge", JSON.stringify(valid));
    // Redis delivers a channel's messages in order: once the valid one is here, the others were handled.
    await waitFor(() => (seen.length > 0 ? true : undefined), { what: "the valid message" });
    assert.deepEqual(seen, [valid]);
    assert.equal(lines.filter((line) => line.includes("ignored a malformed purge message")).length, 7);
    assert.equal(cache.errors, 0);
  });

  test("a database number the server does not have fails the start, naming cache.redis.db", async () => {
    const error = await open(redis, { db: 99 }).catch((error: unknown) => error);
    assert.ok(error instanceof RedisStartError);
    assert.equal(error.key, "cache.redis.db");
    assert.match(error.message, /has no database 99: check cache\.redis\.db/);
    const other = await open(redis, { db: 3, prefix: "db" });
    await other.set("k", "v");
    assert.equal((await other.get("k"))?.value, "v");
    assert.equal(await redis.command("EXISTS", redisCacheKey("db", "k")), 0); // not in database 0
  });

  test("close is idempotent, and operations after it do nothing", async () => {
    const cache = await openRedisCache({ host: redis.host, port: redis.port, ttlMs: 1000 });
    await cache.subscribe(() => undefined);
    await Promise.all([cache.close(), cache.close()]);
    await cache.close();
    await cache.set("k", "v");
    assert.equal(await cache.get("k"), undefined);
    await cache.publish(purge(["k"]));
    assert.equal(cache.errors, 0);
  });
});

describe("openRedisCache when Redis fails", () => {
  test("Redis down at start: opens, misses with an error, and works once Redis is up, subscription included", async () => {
    const redis = await startPrivateRedis({ started: false });
    try {
      const { logger, lines } = capturedLogger();
      const a = await within(open(redis, { prefix: "late", logger }), PROMPT_MS, "opening");
      const b = await open(redis, { prefix: "late" });
      assert.ok(lines.some((line) => line.includes("unreachable")));
      const seen: PurgeMessage[] = [];
      await within(
        b.subscribe((message) => seen.push(message)),
        PROMPT_MS,
        "subscribing",
      );
      assert.equal(await a.get("k"), undefined);
      await a.set("k", "v");
      await a.publish(purge(["k"]));
      assert.ok(a.errors >= 3, `errors ${a.errors}`);
      assert.match(a.lastError?.message ?? "", /not connected.*ECONNREFUSED/);
      assert.ok(!Number.isNaN(Date.parse(a.lastError?.at ?? "")));

      await redis.start();
      await waitFor(
        async () => {
          await a.set("k", "v");
          return (await a.get("k"))?.value;
        },
        { intervalMs: 50, what: "the cache after Redis started" },
      );
      assert.equal(a.lastError, undefined);
      await waitFor(
        async () => {
          await a.publish(purge(["k"]));
          return seen.length > 0 ? true : undefined;
        },
        { intervalMs: 100, what: "a purge after Redis started" },
      );
    } finally {
      await redis.dispose();
    }
  });

  test("Redis killed and restarted: operations fail fast, then the cache and its subscription come back", async () => {
    const redis = await startPrivateRedis();
    try {
      const a = await open(redis, { prefix: "restart" });
      const b = await open(redis, { prefix: "restart" });
      const seen: PurgeMessage[] = [];
      await b.subscribe((message) => seen.push(message));
      await a.set("k", "v");
      assert.equal((await a.get("k"))?.value, "v");

      await redis.stop("SIGKILL");
      assert.equal(await within(a.get("k"), PROMPT_MS, "get while Redis is down"), undefined);
      await within(a.set("k", "v2"), PROMPT_MS, "set while Redis is down");
      await within(a.delete(["k"]), PROMPT_MS, "delete while Redis is down");
      await within(a.publish(purge(["k"])), PROMPT_MS, "publish while Redis is down");
      assert.ok(a.errors >= 4, `errors ${a.errors}`);
      assert.ok(a.lastError !== undefined);

      await redis.start();
      await waitFor(
        async () => {
          await a.set("k", "v3");
          return (await a.get("k"))?.value;
        },
        { intervalMs: 50, what: "the cache after the restart" },
      );
      await waitFor(
        async () => {
          await a.publish(purge(["k"], 3, 4));
          return seen.length > 0 ? true : undefined;
        },
        { intervalMs: 100, what: "a purge after the restart" },
      );
      assert.deepEqual(seen[0], purge(["k"], 3, 4));

      // A clean shutdown too (SIGTERM: Redis closes the connections itself).
      await redis.stop("SIGTERM");
      assert.equal(await within(a.get("k"), PROMPT_MS, "get after a shutdown"), undefined);
      await redis.start();
      await waitFor(async () => (await a.get("k")) ?? (await a.set("k", "v4")), {
        intervalMs: 50,
        what: "the cache after the second restart",
      });
    } finally {
      await redis.dispose();
    }
  });

  test("a Redis that stops answering: operations time out after twice net_timeout, then work again", async () => {
    const redis = await startPrivateRedis();
    try {
      const cache = await open(redis, { netTimeoutMs: 250 });
      await cache.set("k", "v");
      redis.freeze();
      assert.equal(await within(cache.get("k"), PROMPT_MS, "get while Redis is frozen"), undefined);
      assert.equal(cache.errors, 1);
      assert.match(cache.lastError?.message ?? "", /get failed: Command timed out/);
      // The connection that timed out was dropped: until a new one is up, commands fail at once, unsent.
      await within(cache.set("k", "v2"), PROMPT_MS, "set while Redis is frozen");
      assert.equal(cache.errors, 2);
      assert.match(cache.lastError?.message ?? "", /set failed: not connected/);
      redis.thaw();
      await waitFor(async () => (await cache.get("k"))?.value, {
        intervalMs: 50,
        what: "a read after the thaw",
      });
      assert.equal(cache.lastError, undefined);

      // Frozen at start: the handshake times out, and the cache opens all the same.
      redis.freeze();
      const late = await within(open(redis, { netTimeoutMs: 250 }), PROMPT_MS, "opening while frozen");
      assert.match(late.lastError?.message ?? "", /timed out/);
      redis.thaw();
      await waitFor(
        async () => {
          await late.set("k", "v");
          return (await late.get("k"))?.value;
        },
        { intervalMs: 50, what: "a write and a read after the thaw" },
      );
    } finally {
      await redis.dispose();
    }
  });

  test("a value whose time to live is up (PTTL 0) is a miss, not a value that never expires", async () => {
    // A real Redis answers PTTL 0 only in the millisecond a key expires: a server of the test's own answers it
    // every time. (Misread, it made a replica keep the entry it read for ever.)
    const value = JSON.stringify({ counter: 1, value: ["default"] });
    const stored = sealRedisEnvelope("s:nl:default", value);
    let pttl = 0;
    const fake = await startFakeRedis((command) => {
      switch (command[0]?.toUpperCase()) {
        case "HELLO":
          return "-ERR unknown command 'HELLO'\r\n"; // a RESP2 server: the client falls back
        case "INFO":
          return bulk("loading:0\r\n");
        case "MULTI":
          return "+OK\r\n";
        case "GET":
        case "PTTL":
          return "+QUEUED\r\n";
        case "EXEC":
          return `*2\r\n${bulk(stored)}:${pttl}\r\n`;
        default:
          return "+OK\r\n";
      }
    });
    try {
      const cache = await within(
        openRedisCache({ host: "127.0.0.1", port: fake.port, ttlMs: 1000 }),
        PROMPT_MS,
        "opening",
      );
      opened.push(cache);
      assert.equal(await within(cache.get("s:nl:default"), PROMPT_MS, "get"), undefined);
      assert.equal(cache.errors, 0);
      assert.equal(cache.lastError, undefined);
      pttl = 1;
      // A millisecond left: the value, for that long.
      assert.deepEqual(await cache.get("s:nl:default"), { value, ttlMs: 1 });
      await cache.close();
    } finally {
      await fake.close();
    }
  });

  test("a server that answers garbage: opens, and every read is a miss", async () => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === "object");
    try {
      const cache = await within(
        openRedisCache({ host: "127.0.0.1", port: address.port, ttlMs: 1000 }),
        PROMPT_MS,
        "opening",
      );
      opened.push(cache);
      assert.equal(await within(cache.get("k"), PROMPT_MS, "get"), undefined);
      await within(cache.set("k", "v"), PROMPT_MS, "set");
      assert.ok(cache.errors >= 2);
      assert.ok(cache.lastError !== undefined);
      await cache.close();
    } finally {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    }
  });
});

describe("openRedisCache credentials", () => {
  const password = `pw-${randomBytes(8).toString("hex")}`;
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis({ password });
  });
  after(async () => {
    await redis.dispose();
  });

  test("a wrong password fails the start with a message naming cache.redis.password, without the password", async () => {
    const { logger, lines } = capturedLogger();
    const wrong = `wrong-${randomBytes(8).toString("hex")}`;
    const error = await within(
      open(redis, { password: wrong, logger }).then(
        () => assert.fail("opened with a wrong password"),
        (error: unknown) => error,
      ),
      PROMPT_MS,
      "opening",
    );
    assert.ok(error instanceof RedisStartError);
    assert.equal(error.key, "cache.redis.password");
    assert.match(error.message, /refused the credentials: check cache\.redis\.password \(WRONGPASS/);
    assert.ok(!error.message.includes(wrong) && !error.message.includes(password));
    assert.ok(lines.every((line) => !line.includes(wrong) && !line.includes(password)));

    const withUser = await open(redis, { username: "nobody", password }).catch((error: unknown) => error);
    assert.ok(withUser instanceof RedisStartError);
    assert.match(withUser.message, /check cache\.redis\.username\/password/);
    assert.ok(!withUser.message.includes(password));
  });

  test("no password for a server that requires one fails the start, naming cache.redis.password", async () => {
    const error = await open(redis).catch((error: unknown) => error);
    assert.ok(error instanceof RedisStartError);
    assert.equal(error.key, "cache.redis.password");
    assert.match(error.message, /requires a password: set cache\.redis\.password/);
  });

  test("the right password works, as the default user or by name, and is never logged", async () => {
    const { logger, lines } = capturedLogger();
    const cache = await open(redis, { password, logger });
    const named = await open(redis, { username: "default", password });
    await cache.set("k", "v");
    assert.equal((await named.get("k"))?.value, undefined); // another prefix
    assert.equal((await cache.get("k"))?.value, "v");
    await redis.stop("SIGKILL");
    await cache.get("k");
    await redis.start();
    await waitFor(async () => (await cache.set("k", "v")) ?? (await cache.get("k")), {
      intervalMs: 50,
      what: "the cache after the restart",
    });
    assert.ok(lines.length > 0);
    assert.ok(lines.every((line) => !line.includes(password)));
    assert.ok(!(cache.lastError?.message ?? "").includes(password));
  });
});

describe("openRedisCache over TLS", () => {
  let redis: PrivateRedis;
  let directory: string;
  before(async () => {
    redis = await startPrivateRedis({ tls: true });
    directory = await mkdtemp(join(tmpdir(), "pennant-redis-ca-"));
  });
  after(async () => {
    await redis.dispose();
    await rm(directory, { recursive: true, force: true });
  });

  test("works with the server's CA given as bytes or as a file", async () => {
    const caPem = redis.caPem ?? assert.fail("no CA");
    const caPath = join(directory, "ca.pem");
    await writeFile(caPath, caPem);
    for (const ca of [{ caCertBytes: caPem }, { caCertPath: caPath }]) {
      const cache = await open(redis, { requireTls: true, ...ca });
      await cache.set("k", "v");
      assert.equal((await cache.get("k"))?.value, "v");
      const seen: PurgeMessage[] = [];
      await cache.subscribe((message) => seen.push(message));
      await cache.publish(purge(["k"]));
      await waitFor(() => (seen.length > 0 ? true : undefined), { what: "a purge over TLS" });
      assert.equal(cache.errors, 0);
    }
  });

  test("without the CA, the certificate fails verification and the start fails, naming the CA keys", async () => {
    const error = await within(
      open(redis, { requireTls: true }).catch((error: unknown) => error),
      PROMPT_MS,
      "opening",
    );
    assert.ok(error instanceof RedisStartError);
    assert.equal(error.key, "cache.redis.ca_cert_path");
    assert.match(error.message, /failed verification \(self-signed certificate\)/);
    assert.match(error.message, /cache\.redis\.ca_cert_bytes/);
  });

  test("insecure_skip_tls connects without verifying", async () => {
    const cache = await open(redis, { requireTls: true, insecureSkipTls: true });
    await cache.set("k", "v");
    assert.equal((await cache.get("k"))?.value, "v");
  });

  test("a CA that is not PEM, or not there, fails the start", async () => {
    const bytes = await open(redis, { requireTls: true, caCertBytes: "not a certificate" }).catch(
      (error: unknown) => error,
    );
    assert.ok(bytes instanceof RedisStartError);
    assert.equal(bytes.message, "cache.redis.ca_cert_bytes: not a PEM certificate");
    const missing = join(directory, "missing.pem");
    const path = await open(redis, { requireTls: true, caCertPath: missing }).catch(
      (error: unknown) => error,
    );
    assert.ok(path instanceof RedisStartError);
    assert.equal(path.message, `cache.redis.ca_cert_path: cannot read ${missing} (ENOENT)`);
  });
});

/** A RESP bulk string. */
function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/**
 * A TCP server speaking just enough RESP2 for the client: each command (an array of bulk strings) is answered with
 * what `reply` returns, raw.
 */
async function startFakeRedis(
  reply: (command: string[]) => string,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const parsed = parseCommand(buffered);
        if (parsed === undefined) return;
        buffered = buffered.subarray(parsed.length);
        socket.write(reply(parsed.command));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return {
    port: address.port,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The first complete command in `buffer` and the bytes it takes, or undefined while it is incomplete. */
function parseCommand(buffer: Buffer): { command: string[]; length: number } | undefined {
  const line = (from: number) => {
    const end = buffer.indexOf("\r\n", from);
    return end < 0 ? undefined : { text: buffer.toString("latin1", from, end), next: end + 2 };
  };
  const header = line(0);
  if (header === undefined) return undefined;
  assert.match(header.text, /^\*\d+$/, "the client sends arrays");
  const command: string[] = [];
  let offset = header.next;
  for (let index = 0; index < Number(header.text.slice(1)); index++) {
    const size = line(offset);
    if (size === undefined) return undefined;
    const length = Number(size.text.slice(1));
    if (buffer.length < size.next + length + 2) return undefined;
    command.push(buffer.toString("utf8", size.next, size.next + length));
    offset = size.next + length + 2;
  }
  return { command, length: offset };
}
