import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The web console's build: `npm run build` (so `npm ci`) writes it to `dist/console/`, where the server serves it
 * at `/`. Asset URLs are relative (`base: "./"`), so the console also works under a proxy's path prefix; hashed
 * files go under `assets/`, which the server marks immutable. JSX is compiled by oxc for Preact.
 */
// biome-ignore lint/style/noDefaultExport: Vite reads a config file's default export.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console/", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
