/**
 * writeChanges on a storage that holds documents (a database, on SQLite) beside one that holds text (memory): the
 * same changes serve the same flag state, the database gets documents and never text, and the text storage gets
 * text as before.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { withTestDatabase } from "../../test/helpers/test-databases.js";
import { AlreadyExistsError, NotFoundError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE, type Flag, type Segment } from "../domain/flag-state.js";
import type { Snapshot } from "../domain/snapshot.js";
import { DatabaseSource } from "./database/database-source.js";
import { migrateDatabase } from "./database/migrations/migrate-database.js";
import { openDatabase } from "./database/open-database.js";
import { Environment } from "./environment.js";
import type { FileWrite, WritableFlagSource } from "./flag-source.js";
import { MemorySource } from "./memory/memory-source.js";
import { type ChangeRequest, writeChanges } from "./write-changes.js";

const logger = pino({ level: "silent" });

const BETA: Segment = {
  key: "beta",
  name: "Beta",
  description: "Early users",
  matchType: "ANY_MATCH_TYPE",
  constraints: [{ type: "STRING_COMPARISON_TYPE", property: "plan", operator: "eq", value: "beta" }],
};

const CHECKOUT: Flag = {
  key: "checkout",
  name: "Checkout",
  type: "VARIANT_FLAG_TYPE",
  description: "The new checkout",
  enabled: true,
  metadata: { owner: "payments" },
  variants: [{ key: "blue", name: "Blue", attachment: { color: "blue" } }, { key: "control" }],
  defaultVariant: "control",
  rules: [
    {
      segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR" },
      distributions: [
        { variant: "blue", rollout: 30 },
        { variant: "control", rollout: 70 },
      ],
    },
  ],
  rollouts: [],
};

const GATE: Flag = {
  key: "gate",
  name: "Gate",
  type: "BOOLEAN_FLAG_TYPE",
  enabled: false,
  variants: [],
  rules: [],
  rollouts: [{ threshold: { percentage: 25, value: true } }],
};

/** Each step is one write; together they make, change, import over and delete every kind of thing. */
const STEPS: readonly (readonly ChangeRequest[])[] = [
  [{ kind: "create-namespace", namespace: { key: "team", name: "Team" } }],
  [
    { kind: "create-segment", namespaceKey: "team", segment: BETA },
    { kind: "create-flag", namespaceKey: "team", flag: CHECKOUT },
  ],
  [{ kind: "create-flag", namespaceKey: DEFAULT_NAMESPACE, flag: GATE }],
  [{ kind: "update-flag", namespaceKey: "team", flag: { ...CHECKOUT, enabled: false, name: "Checkout v2" } }],
  [
    {
      kind: "put",
      create: { kind: "create-flag", namespaceKey: "team", flag: CHECKOUT },
      update: { kind: "update-flag", namespaceKey: "team", flag: CHECKOUT },
    },
    { kind: "update-segment", namespaceKey: "team", segment: { ...BETA, matchType: "ALL_MATCH_TYPE" } },
  ],
  [{ kind: "update-namespace", namespace: { key: "team", name: "Team", description: "Renamed" } }],
  [
    { kind: "delete-flag", namespaceKey: "team", key: "checkout" },
    { kind: "delete-segment", namespaceKey: "team", key: "beta" },
  ],
  [{ kind: "delete-namespace", key: "team" }],
];

/** A source whose writes are recorded as they are handed to it. */
function recording(source: WritableFlagSource): { source: WritableFlagSource; writes: FileWrite[] } {
  const writes: FileWrite[] = [];
  return {
    writes,
    source: {
      description: source.description,
      read: (directory) => source.read(directory),
      watch: (onChange, signal) => source.watch(onChange, signal),
      close: () => source.close(),
      write: (transaction) =>
        source.write({
          ...transaction,
          prepare: (state) => {
            const prepared = transaction.prepare(state);
            writes.push(...prepared.writes);
            return prepared;
          },
        }),
    },
  };
}

function environmentOf(source: WritableFlagSource): Environment {
  return new Environment({
    key: "default",
    isDefault: true,
    storage: "default",
    directory: "",
    ref: "main",
    source,
    logger,
  });
}

/** What a snapshot serves: each namespace's flags and segments (and the name of those other than default). */
function served(snapshot: Snapshot): unknown {
  return JSON.parse(
    JSON.stringify(
      [...snapshot.namespaces.values()]
        .filter((state) => state.flags.size > 0 || state.namespace.key !== DEFAULT_NAMESPACE)
        .map(({ namespace, flags, segments }) => ({
          namespace: namespace.key === DEFAULT_NAMESPACE ? DEFAULT_NAMESPACE : namespace,
          flags: [...flags.values()],
          segments: [...segments.values()],
        })),
    ),
  );
}

describe("writeChanges() on a storage that holds documents", () => {
  it("serves what the same changes serve on text storage, writing documents and never YAML", () =>
    withTestDatabase("sqlite", async ({ url }) => {
      const migration = openDatabase(url);
      await migrateDatabase(migration);
      await migration.close();
      const database = recording(new DatabaseSource({ database: openDatabase(url), pollIntervalMs: 1_000 }));
      const memory = recording(new MemorySource());
      const structured = environmentOf(database.source);
      const text = environmentOf(memory.source);
      await structured.start();
      await text.start();
      try {
        for (const [index, changes] of STEPS.entries()) {
          await writeChanges(structured, changes, "");
          await writeChanges(text, changes, "");
          assert.deepEqual(served(structured.snapshot), served(text.snapshot), `after step ${index + 1}`);
          // Read back from the rows, the state is the same again.
          await structured.reload();
          assert.deepEqual(
            served(structured.snapshot),
            served(text.snapshot),
            `step ${index + 1}, read back`,
          );
        }
        assert.ok(database.writes.length > 0);
        for (const write of database.writes) {
          assert.equal(write.text, undefined, `${write.path} was written as text`);
        }
        assert.ok(
          database.writes.some((write) => write.documents === undefined),
          "a namespace was deleted",
        );
        assert.ok(memory.writes.every((write) => write.documents === undefined));
        assert.match(memory.writes[0]?.text ?? "", /^version: "1\.\d"\nnamespace:\n {2}key: team\n/);
      } finally {
        await structured.stop();
        await text.stop();
        await database.source.close();
      }
    }));

  it("refuses as text storage does", () =>
    withTestDatabase("sqlite", async ({ url }) => {
      const migration = openDatabase(url);
      await migrateDatabase(migration);
      await migration.close();
      const source = new DatabaseSource({ database: openDatabase(url), pollIntervalMs: 1_000 });
      const environment = environmentOf(source);
      await environment.start();
      try {
        await writeChanges(environment, [{ kind: "create-flag", namespaceKey: "default", flag: GATE }], "");
        await assert.rejects(
          writeChanges(environment, [{ kind: "create-flag", namespaceKey: "default", flag: GATE }], ""),
          AlreadyExistsError,
        );
        await assert.rejects(
          writeChanges(environment, [{ kind: "create-flag", namespaceKey: "nowhere", flag: GATE }], ""),
          new NotFoundError('namespace "nowhere" not found'),
        );
        await assert.rejects(
          writeChanges(environment, [{ kind: "create-flag", namespaceKey: "default", flag: CHECKOUT }], ""),
          /flag default\/checkout rule 1 references unknown segment "beta"/,
        );
        assert.deepEqual([...(environment.snapshot.namespaces.get("default")?.flags.keys() ?? [])], ["gate"]);
      } finally {
        await environment.stop();
        await source.close();
      }
    }));
});
