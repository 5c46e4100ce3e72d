/**
 * DatabaseSource on the real servers, each test on a database of its own: the conformance flag state written
 * and read back gives every expected answer; replicas agree on the revision; a stale revision is refused;
 * two sources writing at once lose nothing; the change counter moves on a change made by hand, and PostgreSQL
 * says so by NOTIFY.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import pg from "pg";
import { TEST_DATABASE_KINDS, withTestDatabase } from "../../../test/helpers/test-databases.js";
import { waitFor, within } from "../../../test/helpers/wait-for.js";
import { ConflictError, UnavailableError } from "../../domain/errors.js";
import { evaluateFlag } from "../../engine/evaluate-flag.js";
import type { FeaturesDocument } from "../../format/features-document.js";
import { parseFeatures } from "../../format/parse-features.js";
import { buildSnapshot } from "../build-snapshot.js";
import type { FileWrite, SourceState, WriteTransaction } from "../flag-source.js";
import { DatabaseSource } from "./database-source.js";
import { migrateDatabase } from "./migrations/migrate-database.js";
import { openDatabase } from "./open-database.js";
import { readChangeCounter } from "./read-database-state.js";

interface ConformanceCase {
  readonly namespace: string;
  readonly features_yaml: string;
  readonly requests: readonly { flag_key: string; entity_id: string; context: Record<string, string> }[];
  readonly expected: readonly Record<string, unknown>[];
}

const cases: readonly ConformanceCase[] = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/engine/evaluation.json", import.meta.url), "utf8"),
).cases;

/** A write of `documents` as a database storage takes it. */
function documentsWrite(path: string, documents: readonly FeaturesDocument[]): FileWrite {
  return { path, documents };
}

/** A conformance case's YAML as the documents write-changes would hand a database storage. */
function caseWrite({ namespace, features_yaml }: ConformanceCase): FileWrite {
  const path = `${namespace}/features.yaml`;
  const parsed = parseFeatures(features_yaml, path);
  assert.deepEqual(parsed.issues, []);
  return documentsWrite(path, parsed.documents);
}

/** The flags of the default namespace's document. */
function defaultFlags(state: SourceState | undefined) {
  const file = state?.files.find((candidate) => candidate.path === "default/features.yaml");
  return file?.documents?.flatMap((document) => document.flags) ?? [];
}

function transaction(
  prepare: (state: SourceState) => readonly FileWrite[],
  baseRevision = "",
): WriteTransaction {
  return {
    directory: "",
    baseRevision,
    author: { name: "test", email: "test@example.com" },
    prepare: (state) => ({ writes: prepare(state), message: "test write" }),
  };
}

async function openSource(url: string, pollIntervalMs = 1_000): Promise<DatabaseSource> {
  return new DatabaseSource({ database: openDatabase(url), pollIntervalMs });
}

async function migrated(url: string): Promise<void> {
  const database = openDatabase(url);
  try {
    await migrateDatabase(database);
  } finally {
    await database.close();
  }
}

/** Evaluates every conformance request against a snapshot, in the conformance file's result shape. */
function answers(state: SourceState): unknown[] {
  const build = buildSnapshot(state, new Date());
  assert.ok(build.ok, build.ok ? "" : build.error.message);
  return cases.flatMap((testCase) =>
    testCase.requests.map((request) => {
      const flag = build.snapshot.namespaces.get(testCase.namespace)?.evaluation.get(request.flag_key);
      if (flag === undefined) return { kind: "error", flag_key: request.flag_key };
      const result = evaluateFlag(flag, {
        flagKey: request.flag_key,
        entityId: request.entity_id,
        context: request.context,
      });
      if (!result.ok) return { kind: "error", flag_key: request.flag_key };
      const { segmentKeys, ...rest } = result.value;
      return { ...rest, segmentKeys: [...segmentKeys].sort() };
    }),
  );
}

/** Adds flag `key` to the default namespace's document. */
function addFlag(state: SourceState, key: string): FileWrite[] {
  const path = "default/features.yaml";
  const file = state.files.find((candidate) => candidate.path === path);
  const document = file?.documents?.[0];
  assert.ok(document !== undefined);
  const flag = {
    key,
    name: key,
    type: "BOOLEAN_FLAG_TYPE" as const,
    enabled: true,
    variants: [],
    rules: [],
    rollouts: [],
  };
  return [documentsWrite(path, [{ ...document, flags: [...document.flags, flag] }])];
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`DatabaseSource on ${kind}`, () => {
    it("serves the conformance flag state written into it with every expected answer", () =>
      withTestDatabase(kind, async ({ url }) => {
        await migrated(url);
        const writer = await openSource(url);
        const reader = await openSource(url);
        try {
          const revision = await writer.write(transaction(() => cases.map(caseWrite)));
          const state = await reader.read("");
          assert.equal(state.revision, revision, "a replica reading the rows agrees on the revision");
          assert.equal(state.files.length, cases.length + 1);
          assert.equal(state.structured, true);
          assert.ok(state.files.every((file) => file.documents !== undefined));

          const fromYaml = answers({
            revision: "yaml",
            files: cases.map((c) => ({
              path: `${c.namespace}/features.yaml`,
              bytes: new TextEncoder().encode(c.features_yaml),
            })),
          });
          const fromDatabase = answers(state);
          assert.deepEqual(fromDatabase, fromYaml);
          const expected = cases.flatMap((c) => c.expected);
          assert.equal(fromDatabase.length, expected.length);
          for (const [index, answer] of fromDatabase.entries()) {
            const want = expected[index] as Record<string, unknown>;
            const got = answer as Record<string, unknown>;
            assert.equal(got.kind === "error" ? "error" : got.kind, want.kind, JSON.stringify(want));
            if (want.kind === "variant") assert.equal(got.variantKey, want.variant_key, JSON.stringify(want));
            if (want.kind === "boolean") assert.equal(got.enabled, want.enabled, JSON.stringify(want));
            if (want.kind !== "error") assert.equal(got.reason, want.reason, JSON.stringify(want));
          }

          // Writing the documents read back changes nothing, and keeps the revision: no row is touched, so the
          // change counter (moved by the triggers on any INSERT, UPDATE or DELETE) stays where it was.
          const counter = () => readChangeCounter(probe);
          const probe = openDatabase(url);
          try {
            const before = await counter();
            const again = await writer.write(
              transaction((current) =>
                current.files.map((file) => documentsWrite(file.path, file.documents ?? [])),
              ),
            );
            assert.equal(again, revision);
            assert.equal(await counter(), before);
          } finally {
            await probe.close();
          }
          // A deleted namespace file removes the namespace, its flags and segments.
          const deleted = await writer.write(
            transaction(() => [{ path: `${cases[0]?.namespace}/features.yaml`, text: undefined }]),
          );
          const after = await reader.read("");
          assert.equal(after.revision, deleted);
          assert.equal(after.files.length, cases.length);
        } finally {
          await writer.close();
          await reader.close();
        }
      }));

    it("refuses a stale revision and a directory", () =>
      withTestDatabase(kind, async ({ url }) => {
        await migrated(url);
        const source = await openSource(url);
        try {
          const first = (await source.read("")).revision;
          const second = await source.write(transaction((state) => addFlag(state, "one"), first));
          assert.notEqual(second, first);
          await assert.rejects(
            source.write(transaction((state) => addFlag(state, "two"), first)),
            ConflictError,
          );
          await assert.rejects(source.read("team"), /no directories/);
          assert.equal((await source.read("")).revision, second);
        } finally {
          await source.close();
        }
      }));

    it("two sources writing at once lose nothing", () =>
      withTestDatabase(kind, async ({ url }) => {
        await migrated(url);
        const sources = [await openSource(url), await openSource(url)];
        try {
          await Promise.all(
            sources.flatMap((source, s) =>
              Array.from({ length: 5 }, (_, i) =>
                source.write(transaction((state) => addFlag(state, `f-${s}-${i}`))),
              ),
            ),
          );
          const keys = new Set(defaultFlags(await sources[0]?.read("")).map((flag) => flag.key));
          for (let s = 0; s < 2; s++) {
            for (let i = 0; i < 5; i++) assert.ok(keys.has(`f-${s}-${i}`), `f-${s}-${i}`);
          }
          assert.equal((await sources[0]?.read(""))?.revision, (await sources[1]?.read(""))?.revision);
        } finally {
          await Promise.all(sources.map((source) => source.close()));
        }
      }));

    it("hears a change made by hand in SQL", () =>
      withTestDatabase(kind, async ({ url }) => {
        await migrated(url);
        // On PostgreSQL the poll is too slow to matter: the notification must bring the change.
        const source = await openSource(url, kind === "postgres" ? 60_000 : 50);
        const writer = await openSource(url);
        const database = openDatabase(url);
        const stop = new AbortController();
        try {
          await writer.write(transaction((state) => addFlag(state, "by-hand")));
          const before = await source.read("");
          let heard!: () => void;
          const changed = new Promise<void>((resolve) => {
            heard = resolve;
          });
          await source.watch(() => heard(), stop.signal);
          await database.exec(`UPDATE flags SET enabled = ? WHERE "key" = 'by-hand'`, [false]);
          // The deadline's timer keeps the process alive: the source's poll timer does not.
          await within(changed, 5_000, "the change heard");
          const after = await source.read("");
          assert.notEqual(after.revision, before.revision);
          const flag = defaultFlags(after).find((candidate) => candidate.key === "by-hand");
          assert.equal(flag?.type, "BOOLEAN_FLAG_TYPE");
          assert.equal(flag?.enabled, false);
        } finally {
          stop.abort();
          await database.close();
          await writer.close();
          await source.close();
        }
      }));
  });
}

describe("DatabaseSource on postgres, its notification connection lost", () => {
  it("polls at once: a database gone is heard without waiting for the poll, and so is its return", () =>
    withTestDatabase("postgres", async ({ url, name }) => {
      await migrated(url);
      const source = await openSource(url, 3_600_000);
      const admin = new pg.Client({ connectionString: url.replace(`/${name}?`, "/postgres?") });
      await admin.connect();
      const stop = new AbortController();
      let heard = 0;
      const times = (count: number, what: string) =>
        waitFor(() => (heard >= count ? true : undefined), { deadlineMs: 10_000, what });
      try {
        // Resolves once it listens.
        await source.watch(() => heard++, stop.signal);
        assert.equal(heard, 0);
        // The database refuses new connections, and every connection to it is ended: the LISTEN one among them.
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [
          name,
        ]);
        await times(1, "the failure heard, with an hour to the next poll");
        await assert.rejects(source.read(""), UnavailableError);
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
        await times(2, "the database's return heard");
        await source.read("");
      } finally {
        stop.abort();
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
        await admin.end();
        await source.close();
      }
    }));
});
