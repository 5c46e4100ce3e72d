/** `ui.default_theme` values that pin the console's colours; `system` (or anything else) follows the browser. */
const PINNED_THEMES = new Set(["light", "dark"]);
/** What Flipt accepts as `ui.topbar.color` (the server refuses anything else at start). */
const HEX_COLOUR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * Applies the server's `ui` settings, as `/meta/info` reports them (`ui.theme`, `ui.topbarColor`): a pinned theme
 * sets `data-theme` on the document (the stylesheet switches `color-scheme`), a top bar colour becomes the header's
 * `--topbar` strip. Anything missing or malformed leaves the defaults.
 */
export function applyUiSettings(info: unknown, root: HTMLElement = document.documentElement): void {
  const ui = typeof info === "object" && info !== null && "ui" in info ? info.ui : undefined;
  if (typeof ui !== "object" || ui === null) return;
  const theme = "theme" in ui && typeof ui.theme === "string" ? ui.theme : "";
  if (PINNED_THEMES.has(theme)) root.dataset.theme = theme;
  else delete root.dataset.theme;
  const colour = "topbarColor" in ui && typeof ui.topbarColor === "string" ? ui.topbarColor : "";
  if (HEX_COLOUR.test(colour)) root.style.setProperty("--topbar", colour);
  else root.style.removeProperty("--topbar");
}
