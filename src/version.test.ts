import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { readBuildStamp } from "./version.js";

describe("the build stamp", () => {
  it("is written by the build script and read back for /meta/info", () => {
    const directory = mkdtempSync(join(tmpdir(), "pennant-build-"));
    try {
      execFileSync(process.execPath, ["scripts/write-build-info.mjs", directory], {
        env: { PENNANT_BUILD_COMMIT: "0123abc", SOURCE_DATE_EPOCH: "1767225600" },
      });
      assert.deepEqual(readBuildStamp(pathToFileURL(join(directory, "build-info.json"))), {
        commit: "0123abc",
        buildDate: "2026-01-01T00:00:00Z",
      });
      execFileSync(process.execPath, ["scripts/write-build-info.mjs", directory]);
      const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
      assert.equal(readBuildStamp(pathToFileURL(join(directory, "build-info.json"))).commit, head);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("is empty when nothing was built", () => {
    assert.deepEqual(readBuildStamp(new URL("file:///nonexistent/build-info.json")), {
      commit: "",
      buildDate: "",
    });
  });
});
