import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConsoleBuild, ConsoleFile } from "../api/serve-console.js";

/** Where `npm run build` (run by `npm ci`) writes the console: `dist/console/` at the package's root. */
export const DEFAULT_CONSOLE_DIRECTORY = fileURLToPath(new URL("../../dist/console/", import.meta.url));

/** A console build larger than this is refused: it is held in memory, and ours is well under 1 MB. */
export const MAX_CONSOLE_BUILD_BYTES = 16 * 1024 * 1024;

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

/**
 * Reads the console's build into memory, by URL path. Undefined when the directory has no `index.html` (not
 * built: the server runs without a console). Only regular files are read; links and other kinds are skipped.
 */
export async function readConsoleBuild(directory: string): Promise<ConsoleBuild | undefined> {
  const files = new Map<string, ConsoleFile>();
  let total = 0;
  let entries: string[];
  try {
    entries = await listFiles(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  for (const path of entries) {
    const body = await readFile(path);
    total += body.byteLength;
    if (total > MAX_CONSOLE_BUILD_BYTES) {
      throw new Error(`the console build in ${directory} is over ${MAX_CONSOLE_BUILD_BYTES} bytes`);
    }
    const urlPath = `/${relative(directory, path).split(sep).join("/")}`;
    files.set(urlPath, {
      body,
      type: TYPES[extname(path).toLowerCase()] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
    });
  }
  return files.has("/index.html") ? files : undefined;
}

async function listFiles(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(path)));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort();
}
