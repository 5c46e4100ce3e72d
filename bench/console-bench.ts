import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { launchChromium } from "../test/helpers/launch-chromium.js";
import { createTempRepo } from "../test/helpers/temp-repo.js";
import { generateNamespaceFile } from "./generate-state.js";
import { ms } from "./ms.js";
import type { BenchResult } from "./result.js";
import { spawnServer } from "./spawn-server.js";
import { median, medianBy } from "./stats.js";

/** The console as `npm run build` writes it, which the built server serves at `/`. */
const CONSOLE_DIRECTORY = fileURLToPath(new URL("../dist/console/", import.meta.url));
const FLAGS = 10_000;
const LOADS = 5;
const FIRST_LOAD_TARGET_KB = 300;
const FIRST_RENDER_TARGET_MS = 1000;

/** What one page load measured, in ms from the navigation's start (the page's `performance.timeOrigin`). */
interface Load {
  /** The first rows of the flag list in the DOM, at the next animation frame (painted). */
  readonly firstRows: number;
  /** Every flag listed (searchable, switches live), at the next animation frame. */
  readonly allRows: number;
  /** The end of the ListFlags answer that carried the first page of flags. */
  readonly firstPageArrived: number;
  /** The end of the ListResources answer that carried all the flags. */
  readonly flagsArrived: number;
  /** The end of the console's script download. */
  readonly scriptArrived: number;
  readonly rows: number;
}

/**
 * Issue 22's console measurements: the gzipped size of what a first visit downloads (index.html and the JS and CSS
 * it names), and, on a namespace of 10 000 flags served by the built server, the time from navigation start to the
 * first rows of the flags page in headless Chromium, each load in a fresh browser context (cold cache).
 */
export async function consoleBench(): Promise<BenchResult[]> {
  const firstLoad = await firstLoadBytes();
  console.log(
    `console first load: ${firstLoad.files.map((file) => `${file.path} ${(file.gzip / 1024).toFixed(1)} KB`).join(", ")}`,
  );

  const repo = await createTempRepo({ "default/features.yaml": generateNamespaceFile("default", FLAGS) });
  const server = await spawnServer({
    FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
    FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
  });
  const browser = await launchChromium();
  const loads: Load[] = [];
  try {
    for (let run = 0; run <= LOADS; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const page = await context.newPage();
        await page.addInitScript(FIRST_ROWS_PROBE);
        await page.goto(`${server.httpUrl}/#/default/default/flags`);
        const load = (await page.evaluate("window.__pennantFlagsPage")) as Load;
        if (load.rows === 0) throw new Error("the flags page rendered no rows");
        // The first load warms the server's JIT and the machine's caches; it is not counted.
        if (run > 0) loads.push(load);
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await server.stop();
    await repo.remove();
  }
  const typical = medianBy(loads, (load) => load.firstRows);
  console.log(
    `console flags page, ${FLAGS} flags: first rows ${loads.map((load) => ms(load.firstRows)).join(", ")}; ` +
      `all flags listed ${loads.map((load) => ms(load.allRows)).join(", ")}; median load: script ` +
      `${ms(typical.scriptArrived)}, first page arrived ${ms(typical.firstPageArrived)}, first rows painted ` +
      `${ms(typical.firstRows)} (${typical.rows} rows rendered), all flags arrived ${ms(typical.flagsArrived)}, ` +
      `all listed ${ms(typical.allRows)}`,
  );
  return [
    {
      name: "console first load, gzipped (HTML + JS + CSS)",
      value: firstLoad.total / 1024,
      unit: "KB",
      target: FIRST_LOAD_TARGET_KB,
      lowerIsBetter: true,
    },
    {
      name: `flags page, ${FLAGS.toLocaleString("en")} flags: navigation to first rows, median of ${LOADS}`,
      value: median(loads.map((load) => load.firstRows)),
      unit: "ms",
      target: FIRST_RENDER_TARGET_MS,
      lowerIsBetter: true,
    },
    {
      name: `flags page, ${FLAGS.toLocaleString("en")} flags: navigation to all flags listed, median of ${LOADS}`,
      value: median(loads.map((load) => load.allRows)),
      unit: "ms",
      lowerIsBetter: true,
    },
  ];
}

/**
 * Runs in the page before its scripts: resolves `window.__pennantFlagsPage` once the flag list shows its first rows
 * and once it lists every flag (each at the next animation frame, when it has been drawn), with the timings of the
 * downloads that led there.
 */
const FIRST_ROWS_PROBE = `
window.__pennantFlagsPage = new Promise((resolve) => {
  let firstRows = 0;
  let rows = 0;
  const end = (test) =>
    Math.max(0, ...performance.getEntriesByType("resource").filter((entry) => test(entry.name)).map((entry) => entry.responseEnd));
  const observer = new MutationObserver(() => {
    if (firstRows === 0 && document.querySelector(".virtual-row") !== null) {
      firstRows = -1;
      rows = document.querySelectorAll(".virtual-row").length;
      requestAnimationFrame(() => { firstRows = performance.now(); });
    }
    if (document.querySelector('[data-testid=flag-count][data-complete="true"]') !== null) {
      observer.disconnect();
      requestAnimationFrame(() => {
        const allRows = performance.now();
        resolve({
          firstRows: firstRows > 0 ? firstRows : allRows,
          allRows,
          firstPageArrived: end((name) => name.endsWith("/flipt.Flipt/ListFlags")),
          flagsArrived: end((name) => name.endsWith("/environments.EnvironmentsService/ListResources")),
          scriptArrived: end((name) => /\\/assets\\/[^/]+\\.js$/.test(name)),
          rows,
        });
      });
    }
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-complete"] });
});
`;

/** index.html and every script and stylesheet it names, each gzipped at level 9 as the server sends them. */
async function firstLoadBytes(): Promise<{ total: number; files: { path: string; gzip: number }[] }> {
  const html = await readFile(join(CONSOLE_DIRECTORY, "index.html"), "utf8").catch(() => {
    throw new Error(
      `${CONSOLE_DIRECTORY}index.html is missing: run npm run build first (npm run bench does)`,
    );
  });
  const paths = ["index.html"];
  for (const match of html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)) {
    if (match[1] !== undefined) paths.push(match[1]);
  }
  const files = await Promise.all(
    paths.map(async (path) => ({
      path,
      gzip: gzipSync(await readFile(join(CONSOLE_DIRECTORY, path)), { level: 9 }).byteLength,
    })),
  );
  return { total: files.reduce((sum, file) => sum + file.gzip, 0), files };
}
