import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../domain/errors.js";
import { selectFeaturePaths } from "./select-feature-paths.js";

describe("selectFeaturePaths", () => {
  const paths = [".flipt.yml", "flags/a.yml", "flags/internal/b.yml", "features.yaml", "README.md"];

  it("selects by the index's include and exclude, and never the index itself", () => {
    const index = 'include:\n  - "**/*.yml"\nexclude:\n  - "flags/internal/*"\n';
    assert.deepEqual(selectFeaturePaths(paths, index).selected, ["flags/a.yml"]);
  });

  it("selects by the default globs without an index", () => {
    assert.deepEqual(selectFeaturePaths(paths, undefined).selected, ["features.yaml"]);
  });

  it("refuses a malformed index, naming it", () => {
    assert.throws(
      () => selectFeaturePaths(paths, "include: 3\n"),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.match(error.message, /\.flipt\.yml/);
        return true;
      },
    );
  });
});
