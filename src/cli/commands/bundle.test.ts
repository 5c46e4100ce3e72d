import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatBundleTable } from "./bundle.js";

describe("formatBundleTable", () => {
  it("pads every column as Go's tabwriter (padding 3), the last one included, and cuts digests to 7", () => {
    const table = formatBundleTable([
      {
        digest: `sha256:${"ab".repeat(32)}`,
        repository: "team/flags",
        tag: "v1",
        created: "2024-05-01T10:00:00Z",
      },
      { digest: `sha256:${"0".repeat(64)}`, repository: "x", tag: "", created: "2024-05-01T10:00:00Z" },
    ]);
    assert.equal(
      table,
      [
        "DIGEST    REPO         TAG   CREATED                         ",
        "abababa   team/flags   v1    2024-05-01 10:00:00 +0000 UTC   ",
        "0000000   x                  2024-05-01 10:00:00 +0000 UTC   ",
        "",
      ].join("\n"),
    );
  });

  it("shows a creation time that is not RFC 3339 as it is", () => {
    const table = formatBundleTable([
      { digest: `sha256:${"1".repeat(64)}`, repository: "r", tag: "t", created: "yesterday" },
    ]);
    assert.match(table, /^1111111 +r +t +yesterday +$/m);
  });
});
