import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.js";
import { buildBundle } from "./build-bundle.js";

describe("buildBundle (flipt bundle build)", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pennant-bundle-build-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const tree = async (name: string, files: Record<string, string>) => {
    const directory = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(directory, path, ".."), { recursive: true });
      await writeFile(join(directory, path), text);
    }
    return directory;
  };

  it("bundles the documents discovery selects, in path then document order", async () => {
    const directory = await tree("ok", {
      "b/features.yml": "namespace: b1\n---\nnamespace: b2\n",
      "a.features.yaml": "namespace: a\n",
      "notes.yaml": "namespace: ignored\n",
    });
    const bundle = await buildBundle({ directory, created: new Date("2024-05-01T10:00:00Z") });
    assert.deepEqual(
      bundle.manifest.layers.map((layer) => layer.annotations?.["io.flipt.features.namespace"]),
      ["a", "b1", "b2"],
    );
    assert.equal(bundle.manifest.annotations?.["org.opencontainers.image.created"], "2024-05-01T10:00:00Z");
  });

  it("follows the .flipt.yml index", async () => {
    const directory = await tree("indexed", {
      ".flipt.yml": 'version: "1.0"\ninclude:\n  - "flags/*.json"\n',
      "flags/x.json": '{"namespace":"x"}',
      "features.yaml": "namespace: not-included\n",
    });
    const bundle = await buildBundle({ directory, manifestVersion: "1.0" });
    assert.deepEqual(
      bundle.manifest.layers.map((layer) => layer.annotations?.["io.flipt.features.namespace"]),
      ["x"],
    );
    assert.equal(bundle.manifest.config.mediaType, "application/vnd.io.flipt.features.v1");
  });

  it("refuses invalid flag state with every problem's file and line", async () => {
    const directory = await tree("broken", {
      "features.yaml": "namespace: a\nflags:\n  - key: f\n    name: F\n    type: NOPE_FLAG_TYPE\n",
      "z/features.yaml":
        "namespace: z\nflags:\n  - key: g\n    name: G\n    type: VARIANT_FLAG_TYPE\n    rules:\n      - segment: missing\n",
    });
    await assert.rejects(buildBundle({ directory }), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /features\.yaml:5: /);
      assert.deepEqual(
        error.issues.map((issue) => [issue.file, issue.line]),
        [["features.yaml", 5]],
      );
      return true;
    });
  });
});
