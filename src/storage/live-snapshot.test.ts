import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withTestDatabase } from "../../test/helpers/test-databases.js";
import { waitFor } from "../../test/helpers/wait-for.js";
import { ValidationError } from "../domain/errors.js";
import type { Flag } from "../domain/flag-state.js";
import { DEFAULT_FEATURES_LIMITS } from "../format/limits.js";
import { DatabaseSource } from "./database/database-source.js";
import { migrateDatabase } from "./database/migrations/migrate-database.js";
import { openDatabase } from "./database/open-database.js";
import type { FlagSource, SourceState } from "./flag-source.js";
import { type BuildOutcome, LiveSnapshot, type LiveSnapshotOptions } from "./live-snapshot.js";
import { MemorySource } from "./memory/memory-source.js";

const encode = (text: string) => new TextEncoder().encode(text);
const FLAG_A = encode("flags:\n  - key: a\n    name: A\n");
const FLAG_B = encode("flags:\n  - key: b\n    name: B\n");
const BROKEN = encode("flags:\n  - key: a\n");

/** A live snapshot of `source`'s root, counting its builds and failures. */
function live(source: FlagSource, options: Partial<LiveSnapshotOptions> = {}) {
  const builds: BuildOutcome[] = [];
  const failures: Error[] = [];
  const snapshot = new LiveSnapshot({
    source,
    directory: "",
    limits: DEFAULT_FEATURES_LIMITS,
    onBuild: (build) => builds.push(build),
    onFailure: (error) => failures.push(error),
    ...options,
  });
  return { snapshot, builds, failures };
}

/** A source whose reads wait until the test lets each one finish, so a test decides when a load is in flight. */
function gatedSource(state: () => SourceState) {
  const waiting: (() => void)[] = [];
  let reads = 0;
  const source: FlagSource = {
    description: "gated",
    read: () => {
      reads += 1;
      return new Promise((resolve) => waiting.push(() => resolve(state())));
    },
    watch: async () => {},
    close: async () => {},
  };
  return {
    source,
    reads: () => reads,
    /** Lets the oldest waiting read finish; resolves once one was waiting. */
    async release(): Promise<void> {
      const finish = await waitFor(() => waiting.shift(), { intervalMs: 1, what: "a read waiting" });
      finish();
    },
  };
}

const flagKeys = (holder: LiveSnapshot) => [
  ...(holder.snapshot.namespaces.get("default")?.flags.keys() ?? []),
];

describe("LiveSnapshot", () => {
  it("serves only an empty default namespace before the first load", () => {
    const { snapshot } = live(new MemorySource());
    assert.deepEqual([...snapshot.snapshot.namespaces.keys()], ["default"]);
    assert.equal(snapshot.loadedAt, undefined);
    assert.equal(snapshot.lastError, undefined);
  });

  it("merges the reloads asked for while one runs into one that starts after it", async () => {
    let files = [{ path: "features.yaml", bytes: FLAG_A }];
    const gate = gatedSource(() => ({ revision: String(files.length), files }));
    const { snapshot } = live(gate.source);
    const first = snapshot.reload();
    await gate.release();
    await first;
    assert.deepEqual(flagKeys(snapshot), ["a"]);

    const running = snapshot.reload();
    // Wait until the load is reading: asks from now on cannot join it.
    await waitFor(() => (gate.reads() >= 2 ? true : undefined), { intervalMs: 1, what: "the load reading" });
    files = [...files, { path: "b.features.yaml", bytes: FLAG_B }];
    const second = snapshot.reload();
    const third = snapshot.reload();
    assert.equal(second, third, "asks made while a load runs share the next load");
    assert.notEqual(second, running);
    await gate.release();
    await running;
    await gate.release();
    await second;
    assert.equal(gate.reads(), 3, "one read for the running load, one for the merged asks");
    assert.deepEqual(flagKeys(snapshot).sort(), ["a", "b"]);
  });

  it("builds nothing when the state read is the one served", async () => {
    const source = new MemorySource([["features.yaml", FLAG_A]]);
    const { snapshot, builds } = live(source);
    await snapshot.reload();
    const served = snapshot.snapshot;
    await snapshot.reload();
    assert.equal(builds.length, 1);
    assert.equal(snapshot.snapshot, served);
  });

  it("keeps the last good snapshot and the error, reports it once, and clears it when the state is fixed", async () => {
    const source = new MemorySource([["features.yaml", FLAG_A]]);
    const { snapshot, builds, failures } = live(source);
    await snapshot.reload();
    const good = snapshot.snapshot;
    const loadedAt = snapshot.loadedAt;
    source.put("features.yaml", BROKEN);
    await snapshot.reload();
    await snapshot.reload();
    assert.equal(snapshot.snapshot, good);
    assert.equal(snapshot.loadedAt, loadedAt);
    assert.ok(snapshot.lastError?.error instanceof ValidationError);
    assert.equal(failures.length, 1, "the unchanged broken state is not reported again");
    assert.deepEqual(
      builds.map((build) => build.ok),
      [true, false],
    );
    source.put("features.yaml", FLAG_B);
    await snapshot.reload();
    assert.equal(snapshot.lastError, undefined);
    assert.deepEqual(flagKeys(snapshot), ["b"]);
  });

  it("with serveLoadable, serves what loads of a broken first state and keeps the error", async () => {
    const source = new MemorySource([
      ["a.features.yaml", FLAG_A],
      ["b.features.yaml", BROKEN],
    ]);
    const swaps: (readonly string[] | undefined)[] = [];
    const { snapshot } = live(source, { serveLoadable: true, onSwap: (swap) => swaps.push(swap.left) });
    await snapshot.reload();
    assert.deepEqual(flagKeys(snapshot), ["a"]);
    assert.deepEqual(swaps, [["b.features.yaml"]]);
    assert.ok(snapshot.lastError?.error instanceof ValidationError);
    await snapshot.reload();
    assert.ok(snapshot.lastError !== undefined, "reading the same broken state again does not clear it");

    const strict = live(source);
    await strict.snapshot.reload();
    assert.deepEqual(flagKeys(strict.snapshot), [], "without it, nothing of a broken state is served");
    assert.equal(strict.snapshot.loadedAt, undefined);
  });

  it("serves a write from what it wrote, at the new revision, without building it again", async () => {
    const source = new MemorySource([["features.yaml", FLAG_A]]);
    const { snapshot, builds } = live(source);
    await snapshot.reload();
    const revision = await snapshot.write({
      baseRevision: snapshot.snapshot.revision,
      author: { name: "test", email: "test@example.com" },
      prepare: () => ({
        writes: [{ path: "features.yaml", text: "flags:\n  - key: w\n    name: W\n" }],
        message: "write",
      }),
    });
    assert.equal(snapshot.snapshot.revision, revision);
    assert.deepEqual(flagKeys(snapshot), ["w"]);
    await snapshot.reload();
    assert.equal(builds.length, 2, "the reload after the write finds the state it serves");

    const refused = snapshot.write({
      baseRevision: revision,
      author: { name: "test", email: "test@example.com" },
      prepare: () => ({ writes: [{ path: "features.yaml", text: "flags:\n  - key: x\n" }], message: "bad" }),
    });
    await assert.rejects(refused, ValidationError);
    assert.equal(snapshot.snapshot.revision, revision, "a refused write changes nothing");
    assert.equal(snapshot.lastError, undefined, "nor does it count as a failed load");
  });

  it("builds a write of documents from the documents, and a read of the rows it wrote builds nothing more", () =>
    withTestDatabase("sqlite", async ({ url }) => {
      const database = openDatabase(url);
      await migrateDatabase(database);
      const source = new DatabaseSource({ database, pollIntervalMs: 1_000 });
      const { snapshot, builds } = live(source);
      try {
        await snapshot.reload();
        const flag: Flag = {
          key: "w",
          name: "W",
          type: "BOOLEAN_FLAG_TYPE",
          enabled: true,
          variants: [],
          rules: [],
          rollouts: [],
        };
        const write = (flags: readonly Flag[]) => ({
          baseRevision: "",
          author: { name: "test", email: "test@example.com" },
          prepare: (state: SourceState) => {
            const document = state.files[0]?.documents?.[0];
            assert.ok(document !== undefined);
            const documents = [{ ...document, flags }];
            return {
              writes: [{ path: "default/features.yaml", documents }],
              message: "write",
            };
          },
        });
        const revision = await snapshot.write(write([flag]));
        assert.equal(snapshot.snapshot.revision, revision);
        // The document's own flag object: nothing was parsed.
        assert.equal(snapshot.snapshot.namespaces.get("default")?.flags.get("w"), flag);
        assert.equal(builds.length, 2);
        await snapshot.reload();
        assert.equal(builds.length, 2, "the rows read back encode to the bytes the write built");

        const dangling: Flag = {
          ...flag,
          key: "x",
          rollouts: [{ segment: { keys: ["nowhere"], operator: "OR_SEGMENT_OPERATOR", value: true } }],
        };
        await assert.rejects(snapshot.write(write([flag, dangling])), /unknown segment "nowhere"/);
        assert.equal(snapshot.snapshot.revision, revision, "a refused write changes nothing");
      } finally {
        await source.close();
      }
    }));

  it("keeps each holder to its own limits, side by side in one process", async () => {
    const source = new MemorySource([["features.yaml", FLAG_A]]);
    const small = live(source, { limits: { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 10 } });
    const roomy = live(source);
    await Promise.all([small.snapshot.reload(), roomy.snapshot.reload()]);
    assert.match(small.snapshot.lastError?.error.message ?? "", /larger than the 10-byte limit/);
    assert.deepEqual(flagKeys(roomy.snapshot), ["a"]);
    assert.equal(roomy.snapshot.lastError, undefined);
  });
});
