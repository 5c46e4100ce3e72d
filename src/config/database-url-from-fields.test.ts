import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { databaseUrlFromFields } from "./database-url-from-fields.js";

describe("databaseUrlFromFields", () => {
  it("builds Flipt's URL", () => {
    assert.equal(
      databaseUrlFromFields({
        protocol: "postgres",
        host: "db",
        port: 5432,
        name: "flipt",
        user: "u",
        password: "p@ss",
      }),
      "postgres://u:p%40ss@db:5432/flipt",
    );
    assert.equal(
      databaseUrlFromFields({ protocol: "file", host: "h", name: "flipt.db" }),
      "sqlite://h/flipt.db",
    );
    assert.equal(
      databaseUrlFromFields({ protocol: "cockroach", host: "c", port: 0, name: "f" }),
      "cockroachdb://c/f",
    );
    assert.equal(
      databaseUrlFromFields({ protocol: "mysql", host: "m", name: "f", password: "x" }),
      "mysql://m/f",
    );
  });
});
