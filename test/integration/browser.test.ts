import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { launchChromium } from "../helpers/launch-chromium.js";
import { type StaticServer, startStaticServer } from "../helpers/start-static-server.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";

/**
 * The page in test/fixtures/browser-page/ (built here with Vite) calls a real Pennant from headless Chromium with
 * @connectrpc/connect-web, from another origin, so every call goes through CORS. Debian's chromium is driven by
 * playwright-core (test/helpers/launch-chromium.ts); `.ci/run` installs it. Costs about 3 s: one Vite build
 * (~0.5 s), one browser, five page loads. The web console (web/) has its own test: console.test.ts.
 */
const DEADLINE_MS = 15_000;
const WEB_ROOT = fileURLToPath(new URL("../fixtures/browser-page/", import.meta.url));

/*
 * By Flipt's rules (spec/evaluation.md): a boolean flag's first matching rollout gives its value with
 * MATCH_EVALUATION_REASON; when none matches, the flag's own `enabled` is the value, with
 * DEFAULT_EVALUATION_REASON. `new-checkout` is off, and on for the `pro` segment (plan eq pro).
 */
const TEAM_FEATURES = `version: "1.6"
namespace:
  key: team
  name: Team
flags:
  - key: new-checkout
    name: New checkout
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts:
      - segment:
          key: pro
          value: true
  - key: dark-mode
    name: Dark mode
    type: BOOLEAN_FLAG_TYPE
    enabled: true
  - key: banner
    name: Banner
    enabled: true
    variants:
      - key: blue
        default: true
segments:
  - key: pro
    name: Pro
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: eq
        value: pro
`;
const DEFAULT_FEATURES = `version: "1.6"
namespace: default
flags:
  - key: only-in-default
    name: Only in default
    type: BOOLEAN_FLAG_TYPE
    enabled: true
`;

interface Evaluation {
  state: string | undefined;
  flag: string;
  enabled: string;
  reason: string;
  errorCode: string | undefined;
  error: string;
}

interface PageResult {
  pageError: string;
  flagsState: string | undefined;
  flagKeys: string[];
  flagsError: string;
  connect: Evaluation;
  grpcWeb: Evaluation;
}

describe("a browser page calling Pennant with connect-web", () => {
  let outDir: string;
  let repo: TempRepo;
  let allowedSite: StaticServer;
  let otherSite: StaticServer;
  let pennant: TestServer;
  let browser: Browser;
  /** One tab for all the tests (a new tab costs up to seconds on a busy machine); each test navigates it. */
  let page: Page;
  /** Console errors of the current navigation. */
  let consoleErrors: string[] = [];
  /** Flag keys of namespace `team`, read back from the committed file, in ListFlags' order (by key). */
  let teamFlagKeys: string[];

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), "pennant-web-"));
    await build({
      root: WEB_ROOT,
      configFile: false,
      logLevel: "silent",
      build: { outDir, emptyOutDir: true },
    });
    repo = await createTempRepo({
      "team/features.yaml": TEAM_FEATURES,
      "default/features.yaml": DEFAULT_FEATURES,
    });
    const committed = yaml.load(await readFile(join(repo.path, "team/features.yaml"), "utf8")) as {
      flags: { key: string }[];
    };
    teamFlagKeys = committed.flags.map((flag) => flag.key).sort();

    allowedSite = await startStaticServer(outDir);
    otherSite = await startStaticServer(outDir);
    pennant = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
      FLIPT_CORS_ENABLED: "true",
      FLIPT_CORS_ALLOWED_ORIGINS: allowedSite.origin,
    });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    await pennant?.stop();
    await allowedSite?.stop();
    await otherSite?.stop();
    await repo?.remove();
    if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
  });

  /** Opens the page from `origin`, waits until it has finished its calls, and reads what it shows. */
  async function openPage(
    origin: string,
    query: { namespace: string; flag: string; entity: string; context: Record<string, string> },
  ): Promise<PageResult> {
    const search = new URLSearchParams({
      server: pennant.httpUrl,
      namespace: query.namespace,
      flag: query.flag,
      entity: query.entity,
      context: JSON.stringify(query.context),
    });
    consoleErrors = [];
    await page.goto(`${origin}/?${search}`, { timeout: DEADLINE_MS });
    await page.waitForSelector('body[data-done="true"]', { timeout: DEADLINE_MS });
    return await readPage();
  }

  async function readPage(): Promise<PageResult> {
    /** The text the page put into an element (empty when it put none). */
    const text = async (selector: string) => (await page.locator(selector).textContent()) ?? "";
    const evaluation = async (id: string): Promise<Evaluation> => ({
      state: await page.locator(id).evaluate((section) => (section as HTMLElement).dataset.state),
      flag: await text(`${id} .flag`),
      enabled: await text(`${id} .enabled`),
      reason: await text(`${id} .reason`),
      errorCode: await page.locator(`${id} .error`).evaluate((error) => (error as HTMLElement).dataset.code),
      error: await text(`${id} .error`),
    });
    return {
      pageError: await text("#page-error"),
      flagsState: await page.locator("#flags").evaluate((section) => (section as HTMLElement).dataset.state),
      flagKeys: await page
        .locator("#flags li")
        .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.key ?? "")),
      flagsError: await text("#flags .error"),
      connect: await evaluation("#connect-evaluation"),
      grpcWeb: await evaluation("#grpc-web-evaluation"),
    };
  }

  it("lists the namespace's flags and evaluates a matching boolean flag, over Connect and gRPC-Web", async () => {
    const result = await openPage(allowedSite.origin, {
      namespace: "team",
      flag: "new-checkout",
      entity: "user-1",
      context: { plan: "pro" },
    });
    assert.equal(result.pageError, "");
    assert.equal(result.flagsState, "ok", result.flagsError);
    assert.deepEqual(result.flagKeys, teamFlagKeys);
    assert.deepEqual(result.flagKeys, ["banner", "dark-mode", "new-checkout"]);
    for (const evaluation of [result.connect, result.grpcWeb]) {
      assert.equal(evaluation.state, "ok", evaluation.error);
      assert.equal(evaluation.flag, "new-checkout");
      assert.equal(evaluation.enabled, "true");
      assert.equal(evaluation.reason, "MATCH_EVALUATION_REASON");
    }
  });

  it("shows the flag's default when no rollout matches", async () => {
    const result = await openPage(allowedSite.origin, {
      namespace: "team",
      flag: "new-checkout",
      entity: "user-2",
      context: { plan: "free" },
    });
    for (const evaluation of [result.connect, result.grpcWeb]) {
      assert.equal(evaluation.state, "ok", evaluation.error);
      assert.equal(evaluation.enabled, "false");
      assert.equal(evaluation.reason, "DEFAULT_EVALUATION_REASON");
    }
  });

  it("shows Pennant's error codes and messages, which CORS lets the page read", async () => {
    const result = await openPage(allowedSite.origin, {
      namespace: "nope",
      flag: "missing",
      entity: "user-1",
      context: {},
    });
    assert.equal(result.flagsState, "error");
    assert.deepEqual(result.flagKeys, []);
    assert.match(result.flagsError, /^NotFound: .*nope/);
    for (const evaluation of [result.connect, result.grpcWeb]) {
      assert.equal(evaluation.state, "error");
      assert.equal(evaluation.errorCode, "NotFound", evaluation.error);
      assert.match(evaluation.error, /^NotFound: .*nope/);
    }
  });

  it("fails every call from an origin that is not in cors.allowed_origins", async () => {
    const result = await openPage(otherSite.origin, {
      namespace: "team",
      flag: "new-checkout",
      entity: "user-1",
      context: { plan: "pro" },
    });
    assert.ok(otherSite.requests.includes("/"), "the page was served by the second origin");
    assert.equal(result.pageError, "");
    assert.equal(result.flagsState, "error");
    assert.deepEqual(result.flagKeys, []);
    assert.match(result.flagsError, /^Unknown: Failed to fetch/);
    for (const evaluation of [result.connect, result.grpcWeb]) {
      assert.equal(evaluation.state, "error");
      assert.equal(evaluation.errorCode, "Unknown", evaluation.error);
      assert.equal(evaluation.enabled, "");
    }
    const blocked = consoleErrors.filter((text) =>
      text.includes(`from origin '${otherSite.origin}' has been blocked by CORS policy`),
    );
    assert.equal(blocked.length, 3, `three calls blocked by CORS, console: ${consoleErrors.join("\n")}`);
  });

  describe("a preflight, sent with Node's fetch", () => {
    const preflight = (origin: string) =>
      fetch(`${pennant.httpUrl}/flipt.evaluation.EvaluationService/Boolean`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version",
        },
      });

    it("is answered 204 with the origin, methods and Connect headers for an allowed origin", async () => {
      const response = await preflight(allowedSite.origin);
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-origin"), allowedSite.origin);
      assert.match(response.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
      const allowed = (response.headers.get("access-control-allow-headers") ?? "")
        .toLowerCase()
        .split(/,\s*/);
      assert.ok(allowed.includes("content-type"), allowed.join());
      assert.ok(allowed.includes("connect-protocol-version"), allowed.join());
    });

    it("gets no CORS headers for a disallowed origin, and Connect's 405 for OPTIONS", async () => {
      const response = await preflight(otherSite.origin);
      // cors.ts adds nothing, so the request reaches the Connect router, which serves only POST (and GET).
      assert.equal(response.status, 405);
      assert.equal(response.headers.get("access-control-allow-credentials"), null);
      assert.equal(response.headers.get("access-control-allow-origin"), null);
      assert.equal(response.headers.get("access-control-allow-methods"), null);
      assert.equal(response.headers.get("access-control-allow-headers"), null);
    });
  });
});
