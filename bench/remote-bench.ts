import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import type { BenchResult } from "./result.js";
import { spawnServer } from "./spawn-server.js";
import { percentile } from "./stats.js";

const PUSHES = 20;
const WRITES = 100;
const SECRET = "bench-secret";

/**
 * Issue 6's measures: a commit pushed from outside to a file:// remote until the change is served, with
 * `poll_interval: 1s` and with the webhook; and a write through the API until it is on the remote, over file://
 * and over http (git http-backend behind a node:http server with basic auth, on this machine).
 */
export async function remoteBench(): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), "pennant-remote-bench-"));
  try {
    const bare = join(root, "flags.git");
    const outside = join(root, "outside");
    const git = (cwd: string, ...args: string[]) =>
      execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=b@example.com", ...args], {
        cwd,
        encoding: "utf8",
      });
    execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch", "main", bare]);
    execFileSync("git", ["clone", "--quiet", bare, outside], { stdio: "ignore" });
    const pushFlag = async (revision: number) => {
      await writeFile(
        join(outside, "features.yaml"),
        `flags:\n  - key: pushed\n    name: Pushed\n    description: "revision ${revision}"\n`,
      );
      git(outside, "add", "--all");
      git(outside, "commit", "--quiet", "--message", `revision ${revision}`);
      git(outside, "push", "--quiet", "origin", "HEAD:main");
    };
    await pushFlag(0);
    const server = await spawnServer({
      FLIPT_STORAGE_DEFAULT_REMOTE: `file://${bare}`,
      FLIPT_STORAGE_DEFAULT_POLL_INTERVAL: "1s",
      FLIPT_STORAGE_DEFAULT_WEBHOOK_SECRET: SECRET,
    });
    const polled: number[] = [];
    const hooked: number[] = [];
    let writes: number[] = [];
    try {
      const served = async (revision: number) => {
        const url = `${server.httpUrl}/api/v2/environments/default/namespaces/default/resources/flipt.core.Flag/pushed`;
        const body = (await (await fetch(url)).json()) as {
          resource?: { payload?: { description?: string } };
        };
        return body.resource?.payload?.description === `revision ${revision}`;
      };
      let revision = 0;
      for (let round = 0; round < PUSHES; round++) {
        revision++;
        let started = performance.now();
        await pushFlag(revision);
        while (!(await served(revision))) await new Promise((resolve) => setTimeout(resolve, 5));
        polled.push(performance.now() - started);

        revision++;
        started = performance.now();
        await pushFlag(revision);
        const payload = JSON.stringify({ ref: "refs/heads/main" });
        const signature = `sha256=${createHmac("sha256", SECRET).update(payload).digest("hex")}`;
        await fetch(`${server.httpUrl}/api/v2/environments/default/sync`, {
          method: "POST",
          headers: { "x-hub-signature-256": signature },
          body: payload,
        });
        while (!(await served(revision))) await new Promise((resolve) => setTimeout(resolve, 2));
        hooked.push(performance.now() - started);
      }
      writes = await measureWrites(server.httpUrl);
    } finally {
      await server.stop();
    }
    const httpWrites = await writesOverHttp(root);
    return [
      {
        name: `push to served, webhook, median of ${PUSHES}`,
        value: percentile(hooked, 50),
        unit: "ms",
        target: 300,
        lowerIsBetter: true,
      },
      {
        name: `push to served, webhook, max of ${PUSHES}`,
        value: percentile(hooked, 100),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `push to served, poll 1s, median of ${PUSHES}`,
        value: percentile(polled, 50),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `push to served, poll 1s, max of ${PUSHES}`,
        value: percentile(polled, 100),
        unit: "ms",
        target: 1300,
        lowerIsBetter: true,
      },
      {
        name: `write with push (file://), p50 of ${WRITES}`,
        value: percentile(writes, 50),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `write with push (file://), p99 of ${WRITES}`,
        value: percentile(writes, 99),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `write with push (http), p50 of ${WRITES}`,
        value: percentile(httpWrites, 50),
        unit: "ms",
        lowerIsBetter: true,
      },
      {
        name: `write with push (http), p99 of ${WRITES}`,
        value: percentile(httpWrites, 99),
        unit: "ms",
        lowerIsBetter: true,
      },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Write latency against a remote served by git http-backend with basic auth. */
async function writesOverHttp(root: string): Promise<number[]> {
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch", "main", join(root, "http.git")]);
  const http = await startGitHttpServer({ root, auth: { basic: { username: "bench", password: "pw" } } });
  try {
    const server = await spawnServer({
      FLIPT_STORAGE_DEFAULT_REMOTE: http.url("http.git"),
      FLIPT_STORAGE_DEFAULT_CREDENTIALS: "origin",
      FLIPT_CREDENTIALS_ORIGIN_TYPE: "basic",
      FLIPT_CREDENTIALS_ORIGIN_BASIC_USERNAME: "bench",
      FLIPT_CREDENTIALS_ORIGIN_BASIC_PASSWORD: "pw",
    });
    try {
      return await measureWrites(server.httpUrl);
    } finally {
      await server.stop();
    }
  } finally {
    await http.stop();
  }
}

/** Creates `WRITES` flags one after another and returns each write's latency until acknowledged. */
async function measureWrites(baseUrl: string): Promise<number[]> {
  const writes: number[] = [];
  for (let index = 0; index < WRITES; index++) {
    const key = `written-${index}`;
    const started = performance.now();
    const response = await fetch(`${baseUrl}/api/v2/environments/default/namespaces/default/resources`, {
      method: "POST",
      body: JSON.stringify({ key, payload: { "@type": "flipt.core.Flag", key, name: key } }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`write ${index} failed with ${response.status}`);
    writes.push(performance.now() - started);
  }
  return writes;
}
