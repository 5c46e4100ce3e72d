/**
 * Runs every command in the documentation against a real Pennant, so that the docs cannot rot.
 *
 * The convention (also in docs/development.md, "Commands in the docs"):
 * - Every fenced block whose info string is `sh` in README.md and docs/*.md is run, file by file (README.md,
 *   then docs/ in name order) and block by block, each as one `bash -euo pipefail` script with a timeout, and
 *   must exit 0. Blocks run one after another in one scratch directory, so a block may use what an earlier
 *   block of the same page made.
 * - `<!-- not run: <reason> -->` on the line before the fence skips the block; the test lists each skipped
 *   block with its reason. Blocks that are not commands are fenced as `text`, `yaml`, `ts`, ...
 * - `<!-- stream -->` before the fence: the block is one command that does not end by itself (a server
 *   stream). It passes once it has printed something, and is then stopped.
 * - `<!-- output -->` before a `json` or `text` block that directly follows a run block: what the run block
 *   prints. JSON: the output parses as JSON and contains the expected value (objects may have more keys,
 *   arrays have the same length, the string "…" matches any value). Text: every expected line appears in the
 *   output, in order, where "…" stands for any text.
 *
 * What a block runs against: a Pennant started in-process on port 0, with the environment `default` on a
 * local git directory `flags/` (watched live) and the environment `production` on a clone of the bare
 * repository `$FLAGS_REMOTE` (poll interval 10 minutes, so only the sync webhook and writes move it). The
 * scratch directory, the block's working directory, holds `flags/`. Addresses `127.0.0.1:8080`,
 * `localhost:8080` and `replica-<n>:8080` are rewritten to the HTTP port, and the same hosts with `:9000` to the
 * gRPC port. In each script, `pennant` (and `npx pennant`) runs `node --import tsx src/cli/main.ts` from this
 * checkout, `npx <tool>` runs the checkout's `node_modules/.bin/<tool>`, and `curl` fails on HTTP errors
 * (`--fail-with-body`; `--fail` in stream blocks, so that an error body does not pass for the stream's output).
 * Variables: `PENNANT_TOKEN` (an API token without a role: it may read and write), `WEBHOOK_SECRET` (the
 * `webhook_secret` of `production`'s storage), `FLAGS_REMOTE` (its remote's URL); no `FLIPT_*` variable is set.
 * Authentication is not required, so only the sync webhook uses the token.
 *
 * Every `yaml` block of docs/configuration.md is also loaded as a config file, and must load without problems
 * or warnings.
 *
 * `PENNANT_DOCS_ROOT=<dir>` reads README.md and docs/ from another directory (to check a doc change before it
 * lands); the commands still run this checkout's code.
 *
 * Cost: one in-process server and one bash per block, serially: about 20 s on 2 cores, most of it `buf curl`
 * and `pennant` process starts.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/load-config.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DOCS_ROOT = resolve(process.env.PENNANT_DOCS_ROOT ?? REPO_ROOT);
const BLOCK_TIMEOUT_MS = 20_000;
const STREAM_DEADLINE_MS = 10_000;
const RUN_LANGUAGES = new Set(["sh"]);
/** Other names for shell code: refused, so that no command escapes the test by its fence. */
const SHELL_LANGUAGES = new Set(["bash", "shell", "console", "zsh", "shell-session"]);

/** A fenced block of a Markdown page, with the marker comment that precedes it, if any. */
interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly text: string;
  readonly marker?: Marker;
}

type Marker =
  | { readonly kind: "not run"; readonly reason: string }
  | { readonly kind: "stream" }
  | { readonly kind: "output" };

const MARKER = /^<!--\s*(not run|stream|output)\s*(?::\s*(.*?))?\s*-->$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;

/** Splits a Markdown page into its fenced blocks. */
function fencedBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (open === null) continue;
    const [, indent = "", fence = "", language = ""] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] as string;
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, "") === "") break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    let previous = i - 1;
    while (previous >= 0 && (lines[previous] as string).trim() === "") previous--;
    const comment = previous >= 0 ? MARKER.exec((lines[previous] as string).trim()) : null;
    let marker: Marker | undefined;
    if (comment !== null) {
      const [, kind, reason = ""] = comment;
      if (kind === "not run") {
        if (reason === "") throw new Error(`${file}:${previous + 1}: "not run" needs a reason`);
        marker = { kind, reason };
      } else if (kind === "stream" || kind === "output") {
        marker = { kind };
      }
    }
    blocks.push({
      file,
      line: i + 1,
      language,
      text: body.join("\n"),
      ...(marker === undefined ? {} : { marker }),
    });
    i = j;
  }
  return blocks;
}

/** Whether `actual` holds everything `expected` shows (see the convention above). */
function jsonContains(expected: unknown, actual: unknown): boolean {
  if (expected === "…") return true;
  if (Array.isArray(expected)) {
    if (expected.length === 1 && expected[0] === "…") return Array.isArray(actual);
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, index) => jsonContains(item, actual[index]))
    );
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    return Object.entries(expected).every(
      ([key, value]) =>
        Object.hasOwn(actual, key) && jsonContains(value, (actual as Record<string, unknown>)[key]),
    );
  }
  return expected === actual;
}

/** Whether every non-empty line of `expected` matches a line of `actual`, in order; "…" matches any text. */
function textContains(expected: string, actual: string): boolean {
  const outputLines = actual.split("\n");
  let at = 0;
  for (const line of expected.split("\n").map((l) => l.trimEnd())) {
    if (line.trim() === "") continue;
    const pattern = new RegExp(
      `^${line
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    while (at < outputLines.length && !pattern.test((outputLines[at] as string).trimEnd())) at++;
    if (at === outputLines.length) return false;
    at++;
  }
  return true;
}

const FEATURES = `version: "1.4"
namespace:
  key: default
flags:
  - key: new-ui
    name: New UI
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts:
      - segment:
          key: pro-users
          value: true
  - key: button-color
    name: Button color
    type: VARIANT_FLAG_TYPE
    enabled: true
    variants:
      - key: blue
        attachment: {hex: "#00f"}
      - key: green
    rules:
      - segment: pro-users
        distributions:
          - variant: blue
            rollout: 100
segments:
  - key: pro-users
    name: Pro users
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: eq
        value: pro
`;

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "docs",
  GIT_AUTHOR_EMAIL: "docs@example.com",
  GIT_COMMITTER_NAME: "docs",
  GIT_COMMITTER_EMAIL: "docs@example.com",
};

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", args, { cwd, env: { ...process.env, ...GIT_IDENTITY }, stdio: "ignore" });
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Runs one script with bash in its own process group. With `stopAfterOutput`, stops it (SIGTERM to the
 * group) as soon as it has printed something on standard output.
 */
function runScript(
  script: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; stopAfterOutput: boolean },
): Promise<RunResult & { stopped: boolean }> {
  return new Promise((resolvePromise) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let stopped = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.stopAfterOutput && !stopped && stdout.length > 0) {
        stopped = true;
        kill();
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut, stopped });
    });
  });
}

async function pages(): Promise<Block[]> {
  const files = [
    "README.md",
    ...(await readdir(join(DOCS_ROOT, "docs")))
      .filter((name) => name.endsWith(".md"))
      .sort()
      .map((name) => `docs/${name}`),
  ];
  const blocks: Block[] = [];
  for (const file of files) blocks.push(...fencedBlocks(file, await readFile(join(DOCS_ROOT, file), "utf8")));
  return blocks;
}

const blocks = await pages();

describe("commands in the docs", () => {
  let server: TestServer;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let rewrite: (script: string) => string;
  const skipped: string[] = [];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "pennant-docs-"));
    const flags = join(scratch, "flags");
    await mkdir(flags);
    await writeFile(join(flags, "features.yaml"), FEATURES);
    git(flags, "init", "--quiet", "--initial-branch", "main");
    git(flags, "add", "--all");
    git(flags, "commit", "--quiet", "--message", "add flags");
    const remote = join(scratch, ".remote", "flags.git");
    git(scratch, "clone", "--quiet", "--bare", flags, remote);
    await mkdir(join(scratch, ".config"));
    const token = randomBytes(16).toString("hex");
    const secret = randomBytes(16).toString("hex");
    server = await startTestServer({
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "local",
      FLIPT_STORAGE_FLAGS_BACKEND_PATH: flags,
      FLIPT_STORAGE_UPSTREAM_REMOTE: `file://${remote}`,
      FLIPT_STORAGE_UPSTREAM_POLL_INTERVAL: "10m",
      FLIPT_STORAGE_UPSTREAM_WEBHOOK_SECRET: secret,
      FLIPT_ENVIRONMENTS_DEFAULT_STORAGE: "flags",
      FLIPT_ENVIRONMENTS_DEFAULT_DEFAULT: "true",
      FLIPT_ENVIRONMENTS_PRODUCTION_STORAGE: "upstream",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_DOCS_CREDENTIAL: token,
    });
    const httpHost = new URL(server.httpUrl).host;
    const grpcHost = new URL(server.grpcUrl).host;
    rewrite = (script) =>
      script
        .replace(/\b(?:127\.0\.0\.1|localhost|replica-\d+):8080\b/g, httpHost)
        .replace(/\b(?:127\.0\.0\.1|localhost|replica-\d+):9000\b/g, grpcHost);
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("FLIPT_") && key !== "PENNANT_DOCS_ROOT"),
    );
    env = {
      ...inherited,
      ...GIT_IDENTITY,
      PATH: `${join(REPO_ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
      XDG_CONFIG_HOME: join(scratch, ".config"),
      PENNANT_DOCS_REPO: REPO_ROOT,
      PENNANT_DOCS_TSX: import.meta.resolve("tsx"),
      PENNANT_TOKEN: token,
      WEBHOOK_SECRET: secret,
      FLAGS_REMOTE: `file://${remote}`,
    };
  });

  after(async () => {
    await server?.stop();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    if (skipped.length > 0) console.log(`skipped ${skipped.length} block(s):\n${skipped.join("\n")}`);
  });

  /**
   * Defined before each block. In a stream block, curl fails without printing the body, so that an HTTP error
   * is not taken for the stream's first output.
   */
  const prelude = (stream: boolean) =>
    [
      'pennant() { node --import "$PENNANT_DOCS_TSX" "$PENNANT_DOCS_REPO/src/cli/main.ts" "$@"; }',
      'npx() { "$@"; }',
      `curl() { command curl ${stream ? "--fail" : "--fail-with-body"} "$@"; }`,
      "",
    ].join("\n");

  it("finds the commands, and no block that would be skipped silently", () => {
    assert.ok(blocks.some((block) => RUN_LANGUAGES.has(block.language) && block.marker === undefined));
    for (const [index, block] of blocks.entries()) {
      assert.ok(
        !SHELL_LANGUAGES.has(block.language),
        `${block.file}:${block.line}: fence commands as \`sh\` (they are run), or as \`text\``,
      );
      if (block.marker?.kind === "output") {
        assert.ok(
          block.language === "json" || block.language === "text",
          `${block.file}:${block.line}: an output block must be json or text`,
        );
        const previous = blocks[index - 1];
        assert.ok(
          previous?.file === block.file &&
            RUN_LANGUAGES.has(previous.language) &&
            previous.marker === undefined,
          `${block.file}:${block.line}: an output block must follow a block that is run`,
        );
      }
      if (block.marker?.kind === "stream") {
        assert.ok(RUN_LANGUAGES.has(block.language), `${block.file}:${block.line}: only sh blocks stream`);
      }
    }
  });

  // Every yaml block of configuration.md is a config file: it must load without problems or warnings.
  // Files it names are taken to exist, and each ${env:VAR} it uses is set.
  for (const block of blocks.filter((b) => b.file === "docs/configuration.md" && b.language === "yaml")) {
    it(`${block.file}:${block.line} (config)`, async () => {
      const path = join(scratch, "config-example.yml");
      await writeFile(path, block.text);
      const variables = Object.fromEntries(
        [...block.text.matchAll(/\$\{env:(\w+)\}/g)].map(([, name]) => [name as string, "example"]),
      );
      const { warnings } = await loadConfig({ configPath: path, env: variables, fileExists: () => true });
      assert.deepEqual(warnings, [], `${block.file}:${block.line}: warnings`);
    });
  }

  for (const [index, block] of blocks.entries()) {
    if (!RUN_LANGUAGES.has(block.language)) continue;
    const name = `${block.file}:${block.line}`;
    if (block.marker?.kind === "not run") {
      it(name, { skip: `not run: ${block.marker.reason}` }, () => {});
      skipped.push(`  ${name}: ${block.marker.reason}`);
      continue;
    }
    const next = blocks[index + 1];
    const expected = next?.marker?.kind === "output" ? next : undefined;
    it(name, async () => {
      const stream = block.marker?.kind === "stream";
      const result = await runScript(prelude(stream) + rewrite(block.text), {
        cwd: scratch,
        env,
        timeoutMs: stream ? STREAM_DEADLINE_MS : BLOCK_TIMEOUT_MS,
        stopAfterOutput: stream,
      });
      const report = `\n--- script\n${block.text}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
      if (stream) {
        assert.ok(result.stopped, `${name}: printed nothing within ${STREAM_DEADLINE_MS} ms${report}`);
        // Stopped by us (killed by the signal), or ended by itself successfully; not failed on its own.
        assert.ok(result.code === null || result.code === 0, `${name}: exit code ${result.code}${report}`);
        return;
      }
      assert.ok(!result.timedOut, `${name}: still running after ${BLOCK_TIMEOUT_MS} ms${report}`);
      assert.equal(
        result.code,
        0,
        `${name}: exit code ${result.code} (${result.signal ?? "no signal"})${report}`,
      );
      if (expected === undefined) return;
      if (expected.language === "json") {
        let actual: unknown;
        try {
          actual = JSON.parse(result.stdout);
        } catch (error) {
          assert.fail(`${name}: output is not JSON (${(error as Error).message})${report}`);
        }
        assert.ok(
          jsonContains(JSON.parse(expected.text), actual),
          `${name}: output does not match ${expected.file}:${expected.line}${report}`,
        );
      } else {
        assert.ok(
          textContains(expected.text, result.stdout),
          `${name}: output does not match ${expected.file}:${expected.line}${report}`,
        );
      }
    });
  }
});
