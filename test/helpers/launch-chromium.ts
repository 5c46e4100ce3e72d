import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium, which `.ci/run` installs (apt-get install --no-install-recommends chromium). */
export const CHROMIUM = "/usr/bin/chromium";

/** The flags that keep Chromium off the closed network and out of the first-run machinery. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches headless Chromium for a browser test, driven by playwright-core. Fails with the way to install it when
 * it is missing, rather than skipping: a test that needs a browser must not pass without one.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: browser tests drive Debian's chromium, which .ci/run installs ` +
        "(apt-get install --no-install-recommends chromium).",
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
