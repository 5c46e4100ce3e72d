import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { build } from "vite";
import { booleanBucket } from "../../src/engine/bucketing.js";
import { launchChromium } from "../helpers/launch-chromium.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { createTestDatabase } from "../helpers/test-databases.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * The web console (web/), built here with Vite's API into a temporary directory and served by a real Pennant over
 * a real git repository, driven in headless Chromium: every write is checked in git and over REST. One browser,
 * one build; each server gets its own browser context (cookies apart). Screenshots of each page go to
 * test-results/console-*.png; two of them are in docs/images/.
 */
const DEADLINE_MS = 15_000;
const WEB_CONFIG = fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url));
const RESULTS = fileURLToPath(new URL("../../test-results/", import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };
const FEATURES_FILE = "default/features.yaml";
const READER_TOKEN = "reader-token-3f9a";
const WRITER_TOKEN = "writer-token-8c1d";

/** Written in the layout Pennant writes, so that a commit's diff holds only what the console changed. */
const FEATURES = `version: "1.6"
namespace:
    key: default
    name: Default
flags:
    - key: new-checkout
      name: New checkout
      type: BOOLEAN_FLAG_TYPE
      description: The redesigned checkout flow
      enabled: false
      rollouts:
        - segment:
            keys:
                - pro
            operator: OR_SEGMENT_OPERATOR
            value: true
        - threshold:
            percentage: 25
            value: true
    - key: button-color
      name: Button color
      type: VARIANT_FLAG_TYPE
      description: The call-to-action colour
      enabled: true
      variants:
        - default: true
          key: blue
          attachment:
            hex: '#00f'
        - key: green
          attachment:
            hex: '#0a0'
      rules:
        - segment:
            keys:
                - pro
            operator: OR_SEGMENT_OPERATOR
          distributions:
            - variant: blue
              rollout: 50
            - variant: green
              rollout: 50
    - key: dark-mode
      name: Dark mode
      type: BOOLEAN_FLAG_TYPE
      enabled: false
    - key: banner
      name: Banner
      type: BOOLEAN_FLAG_TYPE
      enabled: true
segments:
    - key: pro
      name: Pro users
      constraints:
        - type: STRING_COMPARISON_TYPE
          property: plan
          operator: eq
          value: pro
        - type: NUMBER_COMPARISON_TYPE
          property: age
          operator: gte
          value: "18"
      match_type: ALL_MATCH_TYPE
    - key: beta
      name: Beta testers
      constraints:
        - type: STRING_COMPARISON_TYPE
          property: email
          operator: suffix
          value: '@example.com'
      match_type: ANY_MATCH_TYPE
`;

interface FeaturesDocument {
  flags: {
    key: string;
    name: string;
    description?: string;
    enabled: boolean;
    rollouts?: { threshold?: { percentage: number } }[];
    rules?: { distributions: { variant: string; rollout: number }[] }[];
  }[];
  segments: { key: string; constraints: { type: string; operator: string; value: unknown }[] }[];
}

/** A Pennant on its own repository, with a browser context of its own. */
/** A server and the browser page that shows its console. */
interface Served {
  readonly pennant: TestServer;
  readonly page: Page;
}

/** A server over a local git repository, with its own browser context. */
interface Site extends Served {
  readonly repo: TempRepo;
  readonly context: BrowserContext;
}

describe("the web console", () => {
  let outDir: string;
  let browser: Browser;
  let main: Site;
  let readOnly: Site;
  let guarded: Site;
  /** Every URL the main site's page requested: the console must fetch nothing from elsewhere. */
  const requested: string[] = [];
  const pageErrors: string[] = [];

  async function startSite(env: Record<string, string>): Promise<Site> {
    const repo = await createTempRepo({ [FEATURES_FILE]: FEATURES });
    const pennant = await startTestServer(
      {
        FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
        FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
        FLIPT_STORAGE_DEFAULT_SIGNATURE_NAME: "Console Test",
        FLIPT_STORAGE_DEFAULT_SIGNATURE_EMAIL: "console@pennant.test",
        ...env,
      },
      undefined,
      { consoleDirectory: outDir },
    );
    const context = await browser.newContext({
      viewport: VIEWPORT,
      colorScheme: "light",
      reducedMotion: "reduce",
    });
    const page = await context.newPage();
    page.setDefaultTimeout(DEADLINE_MS);
    page.on("pageerror", (error) => pageErrors.push(`${pennant.httpUrl}: ${error.message}`));
    return { repo, pennant, context, page };
  }

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), "pennant-console-"));
    await build({ configFile: WEB_CONFIG, logLevel: "silent", build: { outDir, emptyOutDir: true } });
    await mkdir(RESULTS, { recursive: true });
    browser = await launchChromium();
    main = await startSite({});
    // Also the `ui` settings: a dark theme pinned (the browser prefers light) and a top bar colour.
    readOnly = await startSite({
      FLIPT_STORAGE_READ_ONLY: "true",
      FLIPT_UI_DEFAULT_THEME: "dark",
      FLIPT_UI_TOPBAR_COLOR: "#aa3300",
    });
    guarded = await startSite({
      FLIPT_AUTHENTICATION_REQUIRED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_ENABLED: "true",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_READER_CREDENTIAL: READER_TOKEN,
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_READER_METADATA_ROLE: "read",
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_WRITER_CREDENTIAL: WRITER_TOKEN,
      FLIPT_AUTHENTICATION_METHODS_TOKEN_STORAGE_TOKENS_WRITER_METADATA_ROLE: "write",
    });
    main.page.on("request", (request) => requested.push(request.url()));
  });

  after(async () => {
    await browser?.close();
    for (const site of [main, readOnly, guarded]) {
      await site?.pennant.stop();
      await site?.repo.remove();
    }
    if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
  });

  /** Loads a page of the console afresh and waits until it is shown (or the sign-in form). */
  async function open(site: Served, hash: string): Promise<Page> {
    // A fresh load each time: going to another hash of the same document would keep the page's state.
    await site.page.goto("about:blank");
    await site.page.goto(`${site.pennant.httpUrl}/${hash}`);
    await site.page.locator("main#main:not([aria-busy])").waitFor();
    return site.page;
  }

  /** Waits until an input shows `value` (Preact sets the property, not the attribute). */
  const waitForValue = (locator: Locator, value: string) =>
    waitFor(async () => (await locator.inputValue()) === value, {
      deadlineMs: DEADLINE_MS,
      what: `value "${value}"`,
    });

  /** A screenshot of the viewport into test-results/, scrolled to `start` when given. */
  async function shot(page: Page, name: string, start?: Locator): Promise<void> {
    await start?.evaluate((element) => element.scrollIntoView({ block: "start" }));
    await page.screenshot({ path: join(RESULTS, `console-${name}.png`) });
  }

  /** The features file as committed at `revision`. */
  const committed = (site: Site, revision = "HEAD") =>
    yaml.load(site.repo.git("show", `${revision}:${FEATURES_FILE}`)) as FeaturesDocument;
  const flagIn = (document: FeaturesDocument, key: string) => {
    const flag = document.flags.find((candidate) => candidate.key === key);
    assert.ok(flag, `flag ${key} in the committed file`);
    return flag;
  };
  /** The lines a commit added and removed in the features file. */
  const changedLines = (site: Site) =>
    site.repo
      .git("show", "--format=", "HEAD", "--", FEATURES_FILE)
      .split("\n")
      .filter((line) => /^[-+](?![-+])/.test(line));

  async function evaluateBoolean(
    site: Served,
    flagKey: string,
    entityId: string,
    context: Record<string, string> = {},
  ) {
    const response = await fetch(`${site.pennant.httpUrl}/evaluate/v1/boolean`, {
      method: "POST",
      body: JSON.stringify({ namespaceKey: "default", flagKey, entityId, context }),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as { enabled: boolean; reason: string };
  }

  async function servedRevision(site: Served): Promise<string> {
    const status = (await (await fetch(`${site.pennant.httpUrl}/meta/status`)).json()) as {
      environments: { revision: string }[];
    };
    return status.environments[0]?.revision ?? "";
  }

  it("serves the console at / and lists a namespace's flags, searchable and filtered, from this server only", async () => {
    const index = await fetch(`${main.pennant.httpUrl}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("cache-control"), "no-cache");
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(await index.text())?.[1];
    assert.ok(asset, "index.html names its script under assets/ with a relative URL");
    const script = await fetch(`${main.pennant.httpUrl}/${asset}`);
    assert.equal(script.headers.get("cache-control"), "public, max-age=31536000, immutable");

    const page = await open(main, "");
    await page.waitForURL(/#\/default\/default\/flags$/);
    const rows = page.getByRole("list", { name: "Flags in default" }).getByRole("listitem");
    await page
      .locator('[data-testid=flag-count][data-complete="true"]')
      .filter({ hasText: "4 flags" })
      .waitFor();
    assert.deepEqual(await rows.locator(".flag-key").allTextContents(), [
      "banner",
      "button-color",
      "dark-mode",
      "new-checkout",
    ]);
    assert.equal(await rows.first().getAttribute("aria-setsize"), "4");
    await shot(page, "flags");

    await page.getByLabel("Search").fill("call-to-action"); // in button-color's description only
    await page.getByTestId("flag-count").filter({ hasText: "1 of 4 flags" }).waitFor();
    assert.deepEqual(await rows.locator(".flag-key").allTextContents(), ["button-color"]);
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Type", { exact: true }).selectOption("variant");
    await page.getByTestId("flag-count").filter({ hasText: "1 of 4 flags" }).waitFor();
    assert.deepEqual(await rows.locator(".flag-key").allTextContents(), ["button-color"]);
    await page.getByLabel("Type", { exact: true }).selectOption("all");
    await page.getByLabel("Enabled", { exact: true }).selectOption("disabled");
    await page.getByTestId("flag-count").filter({ hasText: "2 of 4 flags" }).waitFor();
    assert.deepEqual(await rows.locator(".flag-key").allTextContents(), ["dark-mode", "new-checkout"]);
    await page.getByLabel("Enabled", { exact: true }).selectOption("all");

    const origin = new URL(main.pennant.httpUrl).origin;
    const elsewhere = requested.filter((url) => new URL(url).origin !== origin);
    assert.deepEqual(elsewhere, [], "the console fetched nothing from another origin");
  });

  it("toggles a flag: one commit changes its `enabled`, and evaluation over REST follows", async () => {
    assert.equal((await evaluateBoolean(main, "dark-mode", "user-1")).enabled, false);
    const before = main.repo.git("rev-parse", "HEAD");
    const page = await open(main, "#/default/default/flags");
    await page.getByRole("switch", { name: "dark-mode enabled" }).click();
    await page
      .locator('[role=switch][aria-label="dark-mode enabled"][aria-checked="true"]:not([aria-busy="true"])')
      .waitFor();

    assert.equal(main.repo.git("rev-parse", "HEAD~1"), before, "exactly one commit");
    assert.equal(main.repo.git("log", "-1", "--format=%s"), "update flag default/dark-mode");
    assert.equal(main.repo.git("log", "-1", "--format=%an <%ae>"), "Console Test <console@pennant.test>");
    assert.deepEqual(changedLines(main), ["-      enabled: false", "+      enabled: true"]);
    assert.equal(flagIn(committed(main), "dark-mode").enabled, true);
    const answer = await evaluateBoolean(main, "dark-mode", "user-1");
    assert.equal(answer.enabled, true);
    assert.equal(answer.reason, "DEFAULT_EVALUATION_REASON");
  });

  it("edits a threshold rollout: the commit has the new percentage, and an entity in between now matches", async () => {
    // An entity whose boolean bucket is in [25, 60): outside the 25 % before, inside the 60 % after.
    const entity = Array.from({ length: 500 }, (_, index) => `user-${index}`).find((candidate) => {
      const bucket = booleanBucket(candidate, "new-checkout");
      return bucket >= 25 && bucket < 60;
    });
    assert.ok(entity);
    const before = await evaluateBoolean(main, "new-checkout", entity);
    assert.equal(before.enabled, false);
    assert.equal(before.reason, "DEFAULT_EVALUATION_REASON");

    const page = await open(main, "#/default/default/flags/new-checkout");
    const rollout = page.getByTestId("rollout").nth(1);
    await rollout.getByLabel("Percentage of entities", { exact: true }).fill("60");
    await rollout.getByText("Entities whose bucket (0–99) is below 60 get true").waitFor();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").filter({ hasText: "Saved flag new-checkout." }).waitFor();

    assert.equal(main.repo.git("log", "-1", "--format=%s"), "update flag default/new-checkout");
    assert.deepEqual(changedLines(main), ["-            percentage: 25", "+            percentage: 60"]);
    const answer = await evaluateBoolean(main, "new-checkout", entity);
    assert.equal(answer.enabled, true);
    assert.equal(answer.reason, "MATCH_EVALUATION_REASON");
  });

  it("checks that a rule's distributions add up to 100 before it saves them", async () => {
    const page = await open(main, "#/default/default/flags/button-color");
    const rule = page.getByTestId("rule").first();
    const save = page.getByRole("button", { name: "Save changes" });
    await rule.getByLabel("Rollout %").first().fill("70");
    await rule
      .getByTestId("distribution-total")
      .filter({ hasText: "Total 120%: must be exactly 100% to save (20% over)" })
      .waitFor();
    assert.equal(await save.isDisabled(), true);
    await page
      .getByTestId("draft-problems")
      .filter({ hasText: "Rule 1: the distributions add up to 120%, not 100%." })
      .waitFor();
    await shot(page, "flag", rule);
    await rule.getByLabel("Rollout %").nth(1).fill("30");
    await rule.getByTestId("distribution-total").filter({ hasText: "Total 100% ✓" }).waitFor();
    await save.click();
    await page.getByRole("status").filter({ hasText: "Saved flag button-color." }).waitFor();

    const rules = flagIn(committed(main), "button-color").rules;
    assert.deepEqual(rules?.[0]?.distributions, [
      { variant: "blue", rollout: 70 },
      { variant: "green", rollout: 30 },
    ]);
  });

  it("shows a conflict after an outside edit, overwrites nothing, and saves once reloaded", async () => {
    const page = await open(main, "#/default/default/flags/banner");
    await waitForValue(page.locator("#flag-name"), "Banner");

    // Someone commits to the repository behind the console's back; the server serves it within milliseconds.
    const path = join(main.repo.path, FEATURES_FILE);
    await main.repo.write(
      FEATURES_FILE,
      (await readFile(path, "utf8")).replace("name: Banner", "name: Site banner"),
    );
    main.repo.git("commit", "--quiet", "-am", "outside edit");
    const outside = main.repo.git("rev-parse", "HEAD");
    await waitFor(async () => (await servedRevision(main)) === outside, {
      what: "the outside commit served",
    });

    await page.getByLabel("Description").fill("Shown on every page");
    await page.getByRole("button", { name: "Save changes" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "This flag changed since you loaded it" });
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /Aborted/);
    await shot(page, "conflict");
    assert.equal(main.repo.git("rev-parse", "HEAD"), outside, "nothing was committed over the outside edit");

    await alert.getByRole("button", { name: "Reload" }).click();
    await waitForValue(page.locator("#flag-name"), "Site banner");
    assert.equal(await page.getByLabel("Description").inputValue(), "", "the unsaved edit was discarded");
    await page.getByLabel("Description").fill("Shown on every page");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").filter({ hasText: "Saved flag banner." }).waitFor();
    assert.equal(main.repo.git("rev-parse", "HEAD~1"), outside);
    const banner = flagIn(committed(main), "banner");
    assert.equal(banner.name, "Site banner");
    assert.equal(banner.description, "Shown on every page");
  });

  it("creates a flag, and deletes it only once the dialog is confirmed (Escape cancels)", async () => {
    const page = await open(main, "#/default/default/flags");
    await page.getByRole("link", { name: "New flag" }).click();
    await page.getByRole("heading", { name: "New flag" }).waitFor();
    await page.getByLabel("Key", { exact: true }).fill("summer-sale");
    await page.getByLabel("Name", { exact: true }).fill("Summer sale");
    await page.getByRole("radio", { name: /^Variant/ }).check();
    await page.getByRole("button", { name: "Add variant" }).click();
    await page.getByTestId("variant").getByLabel("Key").fill("banner-a");
    await page.getByRole("button", { name: "Create flag" }).click();
    await page.getByRole("status").filter({ hasText: "Created flag summer-sale." }).waitFor();
    await page.waitForURL(/#\/default\/default\/flags\/summer-sale$/);
    assert.equal(main.repo.git("log", "-1", "--format=%s"), "create flag default/summer-sale");
    const created = flagIn(committed(main), "summer-sale");
    assert.equal(created.name, "Summer sale");

    await page.getByRole("button", { name: "Delete flag" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete flag summer-sale?" });
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    assert.equal(main.repo.git("log", "-1", "--format=%s"), "create flag default/summer-sale");

    await page.getByRole("button", { name: "Delete flag" }).click();
    await dialog.getByRole("button", { name: "Delete flag" }).click();
    await page.waitForURL(/#\/default\/default\/flags$/);
    await page.getByTestId("flag-count").filter({ hasText: "4 flags" }).waitFor();
    assert.equal(main.repo.git("log", "-1", "--format=%s"), "delete flag default/summer-sale");
    assert.equal(
      committed(main).flags.some((flag) => flag.key === "summer-sale"),
      false,
    );
  });

  it("spells out a constraint's value rules and saves a segment only with a valid value", async () => {
    const page = await open(main, "#/default/default/segments/beta");
    await page.getByRole("button", { name: "Add constraint" }).click();
    const constraint = page.getByTestId("constraint").nth(1);
    await constraint.getByLabel("Type").selectOption({ label: "Number" });
    await constraint.getByLabel("Property (context key)").fill("age");
    await constraint.getByLabel("Operator").selectOption("isoneof");
    await constraint.getByText("A JSON array of numbers: [18, 21, 65].").waitFor();
    await constraint.getByLabel("Values (JSON array)").fill('[18, "21"]');
    await constraint.getByText("The value must be a JSON array of numbers only.").waitFor();
    assert.equal(await page.getByRole("button", { name: "Save changes" }).isDisabled(), true);
    await constraint.getByLabel("Values (JSON array)").fill("[18, 21]");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").filter({ hasText: "Saved segment beta." }).waitFor();
    await shot(page, "segment", constraint);

    const beta = committed(main).segments.find((segment) => segment.key === "beta");
    assert.deepEqual(beta?.constraints[1], {
      type: "NUMBER_COMPARISON_TYPE",
      property: "age",
      operator: "isoneof",
      value: [18, 21],
    });
    assert.equal(main.repo.git("log", "-1", "--format=%s"), "update segment default/beta");
  });

  it("renders the explain trace of an evaluation as a timeline", async () => {
    const request = {
      namespaceKey: "default",
      flagKey: "button-color",
      entityId: "user-7",
      context: { plan: "pro", age: "30" },
    };
    const response = await fetch(`${main.pennant.httpUrl}/pennant/v1/explain`, {
      method: "POST",
      body: JSON.stringify(request),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const explained = (await response.json()) as {
      steps: { rule?: { bucket?: { bucket?: number; selectedVariantKey: string } } }[];
    };
    const bucket = explained.steps[0]?.rule?.bucket;
    assert.ok(bucket, "rule 1 matched and took a bucket");

    const page = await open(main, "#/default/default/console/button-color");
    await page.getByLabel("Entity ID").fill(request.entityId);
    await page.getByRole("radio", { name: "JSON" }).check();
    await page.getByLabel("Context as JSON").fill(JSON.stringify(request.context));
    await page.getByRole("button", { name: "Evaluate and explain" }).click();
    const timeline = page.getByTestId("explain");
    await timeline.waitFor();
    const steps = timeline.getByRole("list", { name: "Evaluation steps" }).getByRole("listitem");
    await steps.first().getByRole("heading", { name: "Rule 1: matched" }).waitFor();
    await steps
      .first()
      .getByText(`Bucket ${bucket.bucket ?? 0} (crc32 of flag key and entity id, mod 1000)`)
      .waitFor();
    await steps.first().getByText(`fell in variant ${bucket.selectedVariantKey}'s range.`).waitFor();
    const constraintRows = steps.first().getByRole("row").filter({ hasText: "✓ matched" });
    assert.equal(await constraintRows.count(), 2, "both constraints of segment pro compared and matched");
    await page
      .getByTestId("results")
      .getByRole("row", { name: /button-color/ })
      .getByText(bucket.selectedVariantKey)
      .waitFor();
    await timeline.getByRole("heading", { name: "Answer", exact: true }).waitFor();
    await shot(page, "explain", timeline);

    // Every flag of the namespace at once (EvaluationService.Batch), each answer with its own Explain button.
    await page.getByRole("radio", { name: /^all 4 flags of/ }).check();
    await page.getByRole("button", { name: "Evaluate all" }).click();
    const results = page.getByTestId("results").getByRole("row");
    await page.getByRole("button", { name: "Explain dark-mode" }).waitFor();
    assert.equal(await results.count(), 5, "a header row and one row per flag");
    await page.getByRole("button", { name: "Explain dark-mode" }).click();
    await timeline.getByRole("heading", { name: "Why dark-mode answered this" }).waitFor();
  });

  it("lists the namespace's segments with the flags that use them", async () => {
    const page = await open(main, "#/default/default/segments");
    await page
      .getByRole("row")
      .filter({ hasText: "Pro users" })
      .getByText("button-color, new-checkout")
      .waitFor();
    await page.getByRole("row").filter({ hasText: "Beta testers" }).getByText("no flag").waitFor();
    await shot(page, "segments");
  });

  it("shows every environment's status", async () => {
    const page = await open(main, "#/default/default/status");
    const card = page.getByTestId("environment-status");
    await card.getByText(main.repo.git("rev-parse", "--short=8", "HEAD")).waitFor();
    await card.getByText("1 file loaded").waitFor();
    await shot(page, "status");
    assert.deepEqual(pageErrors, []);
  });

  it("works on database storage too: a toggle is a transaction, and evaluation follows", async () => {
    const database = await createTestDatabase("sqlite");
    const pennant = await startTestServer(
      { FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "database", FLIPT_STORAGE_DEFAULT_BACKEND_URL: database.url },
      undefined,
      { consoleDirectory: outDir },
    );
    const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light" });
    try {
      const created = await fetch(`${pennant.httpUrl}/api/v1/namespaces/default/flags`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: "in-the-database", name: "In the database", type: "BOOLEAN_FLAG_TYPE" }),
      });
      assert.equal(created.status, 200);
      const site = {
        repo: undefined as unknown as TempRepo,
        pennant,
        context,
        page: await context.newPage(),
      };
      site.page.setDefaultTimeout(DEADLINE_MS);
      const before = await servedRevision(site);
      assert.equal((await evaluateBoolean(site, "in-the-database", "user-1")).enabled, false);
      const page = await open(site, "#/default/default/flags");
      await page.getByRole("switch", { name: "in-the-database enabled" }).click();
      await page
        .locator(
          '[role=switch][aria-label="in-the-database enabled"][aria-checked="true"]:not([aria-busy="true"])',
        )
        .waitFor();
      assert.notEqual(await servedRevision(site), before, "a new database revision");
      assert.equal((await evaluateBoolean(site, "in-the-database", "user-1")).enabled, true);
    } finally {
      await context.close();
      await pennant.stop();
      await database.drop();
    }
  });

  it("offers no changes on read-only storage, and says why", async () => {
    const page = await open(readOnly, "#/default/default/flags");
    await page
      .getByTestId("read-only-note")
      .filter({ hasText: 'Environment "default" is read-only' })
      .waitFor();
    assert.equal(await page.getByRole("switch", { name: "dark-mode enabled" }).isDisabled(), true);
    assert.equal(await page.getByRole("link", { name: "New flag" }).count(), 0);
    await page.getByRole("link", { name: "Read-only" }).first().waitFor();
    // ui.default_theme: dark, whatever the browser prefers; ui.topbar.color as the header's strip.
    const looks = await page.evaluate(() => ({
      theme: document.documentElement.dataset.theme,
      background: getComputedStyle(document.documentElement).backgroundColor,
      strip: getComputedStyle(document.querySelector(".app-header") as Element).borderTopColor,
    }));
    assert.deepEqual(looks, { theme: "dark", background: "rgb(15, 20, 27)", strip: "rgb(170, 51, 0)" });
    await shot(page, "read-only");

    await open(readOnly, "#/default/default/flags/button-color");
    await page.getByTestId("read-only-note").waitFor();
    assert.equal(await page.locator("#flag-name").isDisabled(), true);
    assert.equal(await page.getByRole("button", { name: "Save changes" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Add rule" }).isDisabled(), true);
  });

  it("asks for a token when authentication is required: a read token reads, a write token writes", async () => {
    const { page, context } = guarded;
    await open(guarded, "");
    const tokenField = page.getByLabel("API token or JWT");
    await tokenField.waitFor();
    await shot(page, "sign-in");

    await tokenField.fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "The server did not accept this token" }).waitFor();

    // The read token, remembered: the server sets it as an HttpOnly cookie that page scripts cannot read.
    await tokenField.fill(READER_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("read-only-note").filter({ hasText: 'Token "reader" has role "read"' }).waitFor();
    assert.equal(await page.getByRole("switch", { name: "dark-mode enabled" }).isDisabled(), true);
    const cookie = (await context.cookies()).find((candidate) => candidate.name === "flipt_client_token");
    assert.equal(cookie?.value, READER_TOKEN);
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, "Strict");
    assert.doesNotMatch(await page.evaluate(() => document.cookie), /flipt_client_token/);

    // Signing out clears the cookie: the next load asks again.
    await page.getByRole("button", { name: "Sign out" }).click();
    await tokenField.waitFor();
    assert.equal(
      (await context.cookies()).find((candidate) => candidate.name === "flipt_client_token"),
      undefined,
    );

    // The write token, in memory only: writes are offered and land; no cookie, and a reload forgets it.
    const before = guarded.repo.git("rev-parse", "HEAD");
    await tokenField.fill(WRITER_TOKEN);
    await page.getByRole("radio", { name: /Only in this tab's memory/ }).check();
    await page.getByRole("button", { name: "Sign in" }).click();
    const toggle = page.getByRole("switch", { name: "banner enabled" });
    await toggle.and(page.locator(":enabled")).waitFor();
    assert.equal(await page.getByTestId("read-only-note").count(), 0);
    await toggle.click();
    await page
      .locator('[role=switch][aria-label="banner enabled"][aria-checked="false"]:not([aria-busy="true"])')
      .waitFor();
    assert.equal(guarded.repo.git("rev-parse", "HEAD~1"), before);
    assert.equal(flagIn(committed(guarded), "banner").enabled, false);
    assert.equal(
      (await context.cookies()).find((candidate) => candidate.name === "flipt_client_token"),
      undefined,
    );
    await page.reload();
    await tokenField.waitFor();
  });
});
