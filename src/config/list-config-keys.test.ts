import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { CONFIG_SCHEMA } from "./config-schema.js";
import { collectEnvOverrides } from "./env-overrides.js";
import { listConfigKeys } from "./list-config-keys.js";
import type { ObjectNode } from "./schema.js";
import { V1_CONFIG_SCHEMA } from "./v1-config-schema.js";

const DOCS = new URL("../../docs/configuration.md", import.meta.url);

/** Table rows of the docs whose second cell is a `FLIPT_*` variable, by their first cell. */
async function documentedRows(): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  for (const line of (await readFile(DOCS, "utf8")).split("\n")) {
    const match = /^\| `([^`]+)` \| `FLIPT_[^`]*` \|/.exec(line);
    if (match?.[1] !== undefined) rows.set(match[1], line);
  }
  return rows;
}

describe("listConfigKeys()", () => {
  // The v2 keys, then those only a Flipt v1 file has (`db`, v1's `storage`): the docs list both.
  const v2Keys = listConfigKeys(CONFIG_SCHEMA);
  const v2Names = new Set(v2Keys.map((key) => key.key));
  const v1Keys = listConfigKeys(V1_CONFIG_SCHEMA).filter((key) => !v2Names.has(key.key));
  const keys = [...v2Keys, ...v1Keys];

  it("lists map entries with placeholders and their variables", () => {
    const pollInterval = keys.find((key) => key.key === "storage.<id>.poll_interval");
    assert.deepEqual(pollInterval, {
      key: "storage.<id>.poll_interval",
      env: "FLIPT_STORAGE_<ID>_POLL_INTERVAL",
      type: "duration ≥ 1s",
      default: "30s, 1s for a database, 1m for an object store",
      doc: "How often the remote is fetched, a database checked for changes made by others, an object store listed, or an OCI bundle's tag resolved.",
    });
    assert.ok(keys.some((key) => key.key === "storage.read_only" && key.env === "FLIPT_STORAGE_READ_ONLY"));
    assert.ok(keys.some((key) => key.key === "db.url" && key.env === "FLIPT_DB_URL"));
  });

  it("names variables that map back to the key, for ids with underscores too", () => {
    const check = (schema: ObjectNode, list: typeof keys) => {
      for (const key of list) {
        const opaque = key.env.endsWith("_*");
        const env = key.env.replace(/<[A-Z]+>/g, "MY_ID").replace(/_\*$/, "_SOME_KEY");
        const expected = key.key.replace(/<[a-z]+>/g, "my_id") + (opaque ? ".some_key" : "");
        const { overrides, warnings } = collectEnvOverrides(schema, { [env]: "x" }, {});
        assert.deepEqual(warnings, [], env);
        assert.equal(overrides[0]?.path.join("."), expected, env);
      }
    };
    check(CONFIG_SCHEMA, v2Keys);
    check(V1_CONFIG_SCHEMA, v1Keys);
  });

  describe("docs/configuration.md", () => {
    it("documents every key with its variable and default", async () => {
      const rows = await documentedRows();
      for (const key of keys) {
        const row = rows.get(key.key);
        assert.ok(row !== undefined, `docs/configuration.md has no row for ${key.key}`);
        assert.ok(row.includes(`\`${key.env}\``), `the row for ${key.key} should name ${key.env}`);
        if (key.default !== undefined) {
          assert.ok(
            row.includes(key.default),
            `the row for ${key.key} should show the default ${key.default}`,
          );
        }
      }
    });

    it("documents no key that does not exist", async () => {
      const known = new Set(keys.map((key) => key.key));
      for (const documented of (await documentedRows()).keys()) {
        assert.ok(known.has(documented), `docs/configuration.md documents unknown key ${documented}`);
      }
    });
  });
});
