import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

/**
 * How the server serves the web console's build (a small stand-in build written here; the real one is tested in
 * console.test.ts): cache headers, ETags, compression, HEAD, the API's precedence, `ui.enabled`, and the console's
 * sign-in cookie.
 */
const INDEX = `<!doctype html><html lang="en"><head><title>Pennant</title></head><body><div id="app"></div>
<script type="module" src="./assets/index-0a1b2c.js"></script></body></html>`;
const SCRIPT = `console.log(${JSON.stringify("x".repeat(4000))});\n`;
const ICON = "<svg xmlns='http://www.w3.org/2000/svg'/>";
const TOKEN = "console-test-token";
const READER = "console-read-token";

describe("the web console's files", () => {
  let build: string;
  let server: TestServer;

  before(async () => {
    build = await mkdtemp(join(tmpdir(), "pennant-console-build-"));
    await mkdir(join(build, "assets"));
    await writeFile(join(build, "index.html"), INDEX);
    await writeFile(join(build, "assets", "index-0a1b2c.js"), SCRIPT);
    await writeFile(join(build, "favicon.svg"), ICON);
    // A file where an API route is: the API must answer there.
    await writeFile(join(build, "health"), "not the health check");
    server = await startTestServer(
      {
        FLIPT_AUTHENTICATION_REQUIRED: "true",
        FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_ADMIN_CREDENTIAL: TOKEN,
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_VIEWER_CREDENTIAL: READER,
        FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_VIEWER_METADATA_ROLE: "read",
        FLIPT_AUTHENTICATION_SESSION_TOKEN_LIFETIME: "2h",
      },
      undefined,
      { consoleDirectory: build },
    );
  });

  after(async () => {
    await server?.stop();
    await rm(build, { recursive: true, force: true });
  });

  it("serves index.html at / without authentication, revalidated on every use, with a strict policy", async () => {
    const response = await fetch(`${server.httpUrl}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.match(
      response.headers.get("content-security-policy") ?? "",
      /default-src 'self'.*connect-src 'self'/,
    );
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await response.text(), INDEX);
    const named = await fetch(`${server.httpUrl}/index.html`);
    assert.equal(await named.text(), INDEX);
  });

  it("serves hashed assets as immutable, compressed as the client accepts, and 304 for a known ETag", async () => {
    const url = `${server.httpUrl}/assets/index-0a1b2c.js`;
    const plain = await fetch(url, { headers: { "accept-encoding": "identity" } });
    assert.equal(plain.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(plain.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(await plain.text(), SCRIPT);
    const etag = plain.headers.get("etag") ?? "";
    assert.ok(etag.startsWith('"'), etag);

    for (const [accept, encoding, decode] of [
      ["gzip, deflate", "gzip", gunzipSync],
      ["gzip, br", "br", brotliDecompressSync],
      ["br;q=0, gzip", "gzip", gunzipSync],
    ] as const) {
      const response = await rawGet(url, { "accept-encoding": accept });
      assert.equal(response.headers.get("content-encoding"), encoding, accept);
      assert.ok(response.body.byteLength < SCRIPT.length / 4, `${encoding} made it smaller`);
      assert.equal(decode(response.body).toString("utf8"), SCRIPT, accept);
    }

    const again = await fetch(url, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    const other = await fetch(url, { headers: { "if-none-match": '"something-else"' } });
    assert.equal(other.status, 200);
  });

  it("answers HEAD with the length and no body", async () => {
    const response = await fetch(`${server.httpUrl}/favicon.svg`, {
      method: "HEAD",
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "image/svg+xml");
    assert.equal(response.headers.get("content-length"), String(ICON.length));
    assert.equal(response.headers.get("cache-control"), "no-cache");
  });

  it("keeps API routes first, answers unknown paths as the API does, and serves no other method", async () => {
    const health = await fetch(`${server.httpUrl}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "SERVING" });
    const missing = await fetch(`${server.httpUrl}/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/json");
    const posted = await fetch(`${server.httpUrl}/index.html`, { method: "POST", body: "{}" });
    assert.equal(posted.status, 404);
  });

  it("signs in with a known static token: an HttpOnly SameSite=Strict cookie that then authenticates calls", async () => {
    const unauthenticated = await fetch(`${server.httpUrl}/auth/v1/self`);
    assert.equal(unauthenticated.status, 401);

    const signIn = await fetch(`${server.httpUrl}/pennant/v1/console/session`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(signIn.status, 204);
    const cookie = signIn.headers.get("set-cookie") ?? "";
    assert.match(cookie, new RegExp(`^flipt_client_token=${TOKEN}; `));
    assert.match(cookie, /; HttpOnly(;|$)/);
    assert.match(cookie, /; SameSite=Strict(;|$)/);
    assert.match(cookie, /; Path=\/(;|$)/);
    assert.match(cookie, /; Max-Age=7200(;|$)/, "authentication.session.token_lifetime");
    assert.doesNotMatch(cookie, /Secure/, "authentication.session.secure is false");

    const self = await fetch(`${server.httpUrl}/auth/v1/self`, {
      headers: { cookie: `flipt_client_token=${TOKEN}` },
    });
    assert.equal(self.status, 200);
    assert.equal(((await self.json()) as { id: string }).id, "admin");

    const signOut = await fetch(`${server.httpUrl}/pennant/v1/console/session`, { method: "DELETE" });
    assert.equal(signOut.status, 204);
    assert.match(signOut.headers.get("set-cookie") ?? "", /^flipt_client_token=; Max-Age=0; /);
  });

  it("refuses to sign in with an unknown token or none, saying why, and sets no cookie", async () => {
    for (const [authorization, reason] of [
      ["Bearer not-a-token", /not one this server knows/],
      [undefined, /Authorization: Bearer <token>/],
      [`Basic ${TOKEN}`, /Authorization: Bearer <token>/],
    ] as const) {
      const response = await fetch(`${server.httpUrl}/pennant/v1/console/session`, {
        method: "POST",
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(response.status, 401, String(authorization));
      assert.equal(response.headers.get("set-cookie"), null);
      const body = (await response.json()) as { code: number; message: string };
      assert.equal(body.code, 16);
      assert.match(body.message, reason);
    }
  });

  it("signs a read-role token in too: its cookie reads, and writes are refused by role", async () => {
    const signIn = await fetch(`${server.httpUrl}/pennant/v1/console/session`, {
      method: "POST",
      headers: { authorization: `Bearer ${READER}` },
    });
    assert.equal(signIn.status, 204);
    const cookie = { cookie: `flipt_client_token=${READER}`, "content-type": "application/json" };
    const list = await fetch(`${server.httpUrl}/api/v1/namespaces/default/flags`, { headers: cookie });
    assert.equal(list.status, 200);
    const write = await fetch(`${server.httpUrl}/api/v1/namespaces/default/flags`, {
      method: "POST",
      headers: cookie,
      body: JSON.stringify({ key: "x", name: "X", type: "BOOLEAN_FLAG_TYPE" }),
    });
    assert.equal(write.status, 403);
  });
});

describe("ui.enabled: false", () => {
  it("serves no console, whatever is built", async () => {
    const build = await mkdtemp(join(tmpdir(), "pennant-console-build-"));
    await writeFile(join(build, "index.html"), INDEX);
    const server = await startTestServer({ FLIPT_UI_ENABLED: "false" }, undefined, {
      consoleDirectory: build,
    });
    try {
      assert.equal((await fetch(`${server.httpUrl}/`)).status, 404);
      assert.equal((await fetch(`${server.httpUrl}/health`)).status, 200);
    } finally {
      await server.stop();
      await rm(build, { recursive: true, force: true });
    }
  });

  it("a directory without index.html is not a build: nothing is served", async () => {
    const build = await mkdtemp(join(tmpdir(), "pennant-console-build-"));
    await writeFile(join(build, "other.html"), INDEX);
    const server = await startTestServer({}, undefined, { consoleDirectory: build });
    try {
      assert.equal((await fetch(`${server.httpUrl}/`)).status, 404);
      assert.equal((await fetch(`${server.httpUrl}/other.html`)).status, 404);
    } finally {
      await server.stop();
      await rm(build, { recursive: true, force: true });
    }
  });
});

/** A GET whose body is returned as sent (fetch would decompress it). */
async function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ headers: Headers; body: Buffer }>((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const response = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === "string") response.set(name, value);
        }
        resolve({ headers: response, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}
