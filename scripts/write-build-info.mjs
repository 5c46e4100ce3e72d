// Writes dist/build-info.json after the TypeScript build: the commit built and when, for GET /meta/info.
// The commit comes from PENNANT_BUILD_COMMIT, else `git rev-parse HEAD` when the source is a git checkout, else "".
// The date comes from SOURCE_DATE_EPOCH (reproducible builds), else now. Usage: node scripts/write-build-info.mjs [DIR]
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const directory = process.argv[2] ?? "dist";
const commit =
  process.env.PENNANT_BUILD_COMMIT ??
  (() => {
    try {
      return execFileSync("git", ["rev-parse", "HEAD"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return "";
    }
  })();
const epoch = process.env.SOURCE_DATE_EPOCH;
const buildDate = (epoch === undefined ? new Date() : new Date(Number(epoch) * 1000))
  .toISOString()
  .replace(/\.\d{3}Z$/, "Z");
mkdirSync(directory, { recursive: true });
writeFileSync(join(directory, "build-info.json"), `${JSON.stringify({ commit, buildDate })}\n`);
