import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ValidationError } from "../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../format/limits.js";
import { Environment } from "./environment.js";
import { MemorySource } from "./memory/memory-source.js";
import { writeChanges } from "./write-changes.js";

const encode = (text: string) => new TextEncoder().encode(text);
const logger = pino({ level: "silent" });

function memoryEnvironment(source: MemorySource, directory = "", limits?: FeaturesLimits): Environment {
  return new Environment({
    key: "default",
    isDefault: true,
    storage: "default",
    directory,
    ref: "main",
    limits,
    source,
    logger,
  });
}

describe("Environment", () => {
  describe("on memory storage", () => {
    it("starts with only the empty default namespace and a content-hash revision", async () => {
      const environment = memoryEnvironment(new MemorySource());
      await environment.start();
      const { snapshot } = environment;
      assert.deepEqual([...snapshot.namespaces.keys()], ["default"]);
      assert.match(snapshot.revision, /^[0-9a-f]{40}$/);
      assert.equal(environment.status.lastError, undefined);
      await environment.stop();
    });

    it("swaps in a new snapshot when a file changes, and the revision moves", async () => {
      const source = new MemorySource();
      const environment = memoryEnvironment(source);
      await environment.start();
      const before = environment.snapshot;
      const swapped = new Promise<void>((resolve) =>
        environment.subscribe(() => resolve(), new AbortController().signal),
      );
      source.put("features.yaml", encode("flags:\n  - key: a\n    name: A\n    enabled: true\n"));
      await swapped;
      assert.notEqual(environment.snapshot, before, "a new snapshot object, not a mutation");
      assert.equal(before.namespaces.get("default")?.flags.size, 0, "the old snapshot is unchanged");
      assert.equal(environment.snapshot.namespaces.get("default")?.flags.get("a")?.enabled, true);
      assert.notEqual(environment.snapshot.revision, before.revision);
      await environment.stop();
    });

    it("keeps the last good snapshot and records the error when a change is invalid", async () => {
      const source = new MemorySource([["features.yaml", encode("flags:\n  - key: a\n    name: A\n")]]);
      const environment = memoryEnvironment(source);
      await environment.start();
      const good = environment.snapshot;
      source.put("features.yaml", encode("flags:\n  - key: a\n"));
      await environment.reload();
      assert.equal(environment.snapshot, good);
      const error = environment.status.lastError;
      assert.ok(error, "the failure is recorded");
      assert.equal(error.issues[0]?.file, "features.yaml");
      assert.equal(error.issues[0]?.line, 2);
      source.put("features.yaml", encode("flags:\n  - key: b\n    name: B\n"));
      await environment.reload();
      assert.equal(environment.status.lastError, undefined);
      assert.ok(environment.snapshot.namespaces.get("default")?.flags.has("b"));
      await environment.stop();
    });

    it("clears the error when a read that failed is put right and the served state is back", async () => {
      // A source whose read can fail outright (a broken `.flipt.yml`) and then give the very state it gave before.
      const files = [{ path: "features.yaml", bytes: encode("flags:\n  - key: a\n    name: A\n") }];
      let broken = false;
      const source = {
        description: "flaky",
        read: async () => {
          if (broken) throw new Error("invalid .flipt.yml: include: [");
          return { revision: "r1", files };
        },
        watch: async () => {},
        close: async () => {},
      };
      const environment = new Environment({
        key: "default",
        isDefault: true,
        storage: "default",
        directory: "",
        ref: "main",
        source,
        logger,
      });
      await environment.start();
      const good = environment.snapshot;
      broken = true;
      await environment.reload();
      assert.match(environment.status.lastError?.message ?? "", /flipt\.yml/);
      broken = false;
      await environment.reload();
      assert.equal(environment.status.lastError, undefined);
      assert.equal(environment.snapshot, good, "the same state: nothing rebuilt");
      await environment.stop();
    });

    it("reads only its own directory", async () => {
      const source = new MemorySource([
        ["prod/features.yaml", encode("flags:\n  - key: p\n    name: P\n")],
        ["staging/features.yaml", encode("flags:\n  - key: s\n    name: S\n")],
      ]);
      const environment = memoryEnvironment(source, "prod");
      await environment.start();
      assert.deepEqual([...(environment.snapshot.namespaces.get("default")?.flags.keys() ?? [])], ["p"]);
      await environment.stop();
    });

    it("merges reloads asked for while one runs", async () => {
      const source = new MemorySource();
      const environment = memoryEnvironment(source);
      await environment.start();
      source.put("features.yaml", encode("flags:\n  - key: a\n    name: A\n"));
      const first = environment.reload();
      const second = environment.reload();
      const third = environment.reload();
      assert.equal(second, third, "requests made while one load runs share the next load");
      await Promise.all([first, second, third]);
      assert.ok(environment.snapshot.namespaces.get("default")?.flags.has("a"));
      await environment.stop();
    });

    it("keeps to its own limits, beside an environment with other limits in the same process", async () => {
      const source = new MemorySource([["features.yaml", encode("flags:\n  - key: a\n    name: A\n")]]);
      const strict = memoryEnvironment(source, "", { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 40 });
      const roomy = memoryEnvironment(source);
      await Promise.all([strict.start(), roomy.start()]);
      const flag = {
        key: "a-flag-whose-key-is-long",
        name: "Long",
        type: "BOOLEAN_FLAG_TYPE" as const,
        enabled: true,
        variants: [],
        rules: [],
        rollouts: [],
      };
      const create = { kind: "create-flag" as const, namespaceKey: "default", flag };
      await assert.rejects(
        writeChanges(strict, [create], ""),
        (error) => error instanceof ValidationError && /40-byte limit/.test(error.message),
        "the write would leave a file over this environment's limit",
      );
      await writeChanges(roomy, [create], "");
      assert.ok(roomy.snapshot.namespaces.get("default")?.flags.has(flag.key));
      await strict.reload();
      assert.match(strict.status.lastError?.message ?? "", /larger than the 40-byte limit/);
      assert.deepEqual([...(strict.snapshot.namespaces.get("default")?.flags.keys() ?? [])], ["a"]);
      await Promise.all([strict.stop(), roomy.stop()]);
    });
  });
});
