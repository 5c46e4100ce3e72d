import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newestTag } from "./newest-tag.js";

describe("newestTag", () => {
  const tags = ["v1.0.0", "v1.0.2", "v1.0.10", "v1.1.0", "v2.0.0", "v1.0.11-rc.1", "release-7", "latest"];

  it("picks the newest tag in a wildcard range, comparing versions, not strings", () => {
    assert.equal(newestTag(tags, "v1.0.*"), "v1.0.10");
    assert.equal(newestTag(tags, "1.x"), "v1.1.0");
    assert.equal(newestTag(tags, "*"), "v2.0.0");
  });

  it("reads comparison constraints, with commas as in Masterminds' syntax", () => {
    assert.equal(newestTag(tags, ">=1.0.2, <1.1"), "v1.0.10");
    assert.equal(newestTag(tags, "~1.0.1"), "v1.0.10");
    assert.equal(newestTag(tags, "^1"), "v1.1.0");
  });

  it("leaves pre-releases out unless the constraint names one", () => {
    assert.equal(newestTag(["v1.0.11-rc.1", "v1.0.10"], "v1.0.*"), "v1.0.10");
    assert.equal(newestTag(["v1.0.11-rc.1", "v1.0.10"], ">=1.0.11-rc.0"), "v1.0.11-rc.1");
  });

  it("accepts tags with and without the v prefix, ignoring other names", () => {
    assert.equal(newestTag(["1.0.3", "v1.0.2", "nightly"], "v1.0.*"), "1.0.3");
  });

  it("answers undefined when nothing matches or the constraint is not one", () => {
    assert.equal(newestTag(tags, "v3.*"), undefined);
    assert.equal(newestTag([], "*"), undefined);
    assert.equal(newestTag(tags, "not a range"), undefined);
  });
});
