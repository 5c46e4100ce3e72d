/**
 * Differential test: random flag state evaluated by Flipt's official client engine (@flipt-io/flipt-client-js,
 * Rust compiled to WASM) fed from Pennant's client snapshot endpoint, and by Pennant's server over REST. Both
 * must agree on every request. The generator stays clear of the corners where Flipt's own Go server and Rust
 * engine disagree (spec/evaluation.md §10), so any difference is Pennant's: distribution splits whose float32
 * boundaries are exact (truncation and rounding agree), integer numbers only (the Rust engine parses i32),
 * `true`/`false` booleans, whole-second RFC 3339 datetimes in UTC, no whitespace around values (Go trims for
 * empty/present/prefix/suffix, Rust does not), valid set values, no unknown comparison types, no missing flags.
 * Segment keys are compared as sets (both engines list them in map order).
 *
 * Seeds: PENNANT_DIFF_SEEDS="7,8" replaces the fixed ones; PENNANT_DIFF_RANDOM=<n> adds n random seeds.
 * A failure names its seed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FliptClient } from "@flipt-io/flipt-client-js";
import { bucketBounds } from "../../src/engine/bucketing.js";
import { createEvaluator } from "../../src/index.js";
import { createSeededRandom, type SeededRandom } from "../helpers/seeded-random.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";

const FLAGS = 30;
const CONTEXTS = 40;
const SEGMENTS = 12;

const FIXED_SEEDS = [20240501, 7, 424242, 90210, 31337];
const seeds = [
  ...(process.env.PENNANT_DIFF_SEEDS?.split(",").map(Number) ?? FIXED_SEEDS),
  ...Array.from({ length: Number(process.env.PENNANT_DIFF_RANDOM ?? 0) }, () =>
    Math.floor(Math.random() * 2 ** 31),
  ),
];

type Random = SeededRandom;

const PLANS = ["free", "pro", "beta", "enterprise"];
const EMAILS = ["alice@example.com", "bob@corp.io", "carol@example.org", "dave@corp.io"];
const DATES = [
  "2023-01-01T00:00:00Z",
  "2023-06-15T12:30:00Z",
  "2024-01-01T00:00:00Z",
  "2024-09-30T23:59:59Z",
];
const ENTITY_IDS = Array.from({ length: 24 }, (_, index) => `e-${(index * 7919).toString(36)}`);

/**
 * Splits whose float32 boundaries are the plain 10 × cumulative ones, so Flipt's truncation and the Rust
 * engine's rounding agree (§10: they differ on splits such as 53/47). Checked below with our own bucketBounds.
 */
const SAFE_SPLITS: readonly (readonly number[])[] = [
  [100],
  [50, 50],
  [50, 30, 20],
  [25, 25, 25, 25],
  [20, 80],
  [75, 25],
  [40, 60],
  [50, 0, 50],
];

interface Constraint {
  type: string;
  property: string;
  operator: string;
  value?: string | string[] | number[];
}

/** One constraint of a type and operator both engines treat alike, over values both parse alike. */
function randomConstraint(random: Random): Constraint {
  switch (random.int(0, 5)) {
    case 0: {
      const operator = random.pick(["eq", "neq", "isoneof", "isnotoneof", "empty", "notempty"]);
      return {
        type: "STRING_COMPARISON_TYPE",
        property: "plan",
        operator,
        ...(operator === "empty" || operator === "notempty"
          ? {}
          : operator.includes("oneof")
            ? { value: random.sample(PLANS, random.int(1, 3)) }
            : { value: random.pick(PLANS) }),
      };
    }
    case 1: {
      const operator = random.pick(["prefix", "suffix", "contains", "notcontains", "eq", "neq"]);
      const value =
        operator === "prefix"
          ? random.pick(["alice", "bob", "c", "dave@"])
          : operator === "suffix"
            ? random.pick(["example.com", "corp.io", ".org"])
            : operator.includes("contains")
              ? random.pick(["@corp", "example", "o"])
              : random.pick(EMAILS);
      return { type: "STRING_COMPARISON_TYPE", property: "email", operator, value };
    }
    case 2: {
      const operator = random.pick([
        "eq",
        "neq",
        "lt",
        "lte",
        "gt",
        "gte",
        "isoneof",
        "isnotoneof",
        "present",
        "notpresent",
      ]);
      return {
        type: "NUMBER_COMPARISON_TYPE",
        property: "age",
        operator,
        ...(operator === "present" || operator === "notpresent"
          ? {}
          : operator.includes("oneof")
            ? { value: Array.from({ length: random.int(1, 4) }, () => random.int(0, 99)) }
            : { value: String(random.int(0, 99)) }),
      };
    }
    case 3:
      return {
        type: "BOOLEAN_COMPARISON_TYPE",
        property: "beta",
        operator: random.pick(["true", "false", "present", "notpresent"]),
      };
    case 4: {
      const operator = random.pick(["eq", "neq", "lt", "lte", "gt", "gte", "present", "notpresent"]);
      return {
        type: "DATETIME_COMPARISON_TYPE",
        property: "signup",
        operator,
        ...(operator === "present" || operator === "notpresent" ? {} : { value: random.pick(DATES) }),
      };
    }
    default: {
      const operator = random.pick(["eq", "neq", "isoneof", "isnotoneof", "prefix"]);
      return {
        type: "ENTITY_ID_COMPARISON_TYPE",
        property: "entity",
        operator,
        value: operator.includes("oneof")
          ? random.sample(ENTITY_IDS, random.int(1, 6))
          : operator === "prefix"
            ? random.pick(["e-", "e-1", "e-a"])
            : random.pick(ENTITY_IDS),
      };
    }
  }
}

/** Several segments with an operator (rules and rollouts). */
function segmentKeysRef(random: Random, segmentKeys: readonly string[]) {
  return {
    keys: random.sample(segmentKeys, random.int(1, 3)),
    operator: random.pick(["OR_SEGMENT_OPERATOR", "AND_SEGMENT_OPERATOR"]),
  };
}

/** A features document (JSON, version 1.6) for one namespace. */
function generateDocument(random: Random, namespace: string) {
  const segments = Array.from({ length: SEGMENTS }, (_, index) => ({
    key: `seg-${index}`,
    name: `Segment ${index}`,
    match_type: random.pick(["ALL_MATCH_TYPE", "ANY_MATCH_TYPE"]),
    constraints: Array.from({ length: random.int(0, 3) }, () => randomConstraint(random)),
  }));
  const segmentKeys = segments.map((segment) => segment.key);
  const flags = Array.from({ length: FLAGS }, (_, index) => {
    const key = `flag-${String(index).padStart(2, "0")}`;
    if (random.chance(0.5)) {
      return {
        key,
        name: key,
        type: "BOOLEAN_FLAG_TYPE",
        enabled: random.chance(0.5),
        rollouts: Array.from({ length: random.int(0, 3) }, () =>
          random.chance(0.4)
            ? {
                threshold: {
                  percentage: random.pick([0, 10, 25, 50, 65, 90, 100]),
                  value: random.chance(0.5),
                },
              }
            : {
                segment: {
                  ...(random.chance(0.4)
                    ? { key: random.pick(segmentKeys) }
                    : segmentKeysRef(random, segmentKeys)),
                  value: random.chance(0.6),
                },
              },
        ),
      };
    }
    const variantKeys = ["a", "b", "c", "d"].slice(0, random.int(1, 4));
    const defaultVariant = random.chance(0.5) ? random.pick(variantKeys) : undefined;
    return {
      key,
      name: key,
      type: "VARIANT_FLAG_TYPE",
      enabled: random.chance(0.85),
      variants: variantKeys.map((variant) => ({
        key: variant,
        ...(variant === defaultVariant ? { default: true } : {}),
        ...(random.chance(0.5)
          ? { attachment: { variant, weight: random.int(1, 9), tags: ["x", "y"] } }
          : {}),
      })),
      rules: Array.from({ length: random.int(0, 3) }, () => {
        const splits = SAFE_SPLITS.filter((split) => split.length <= variantKeys.length);
        const split = random.chance(0.2) ? [] : random.pick(splits);
        const chosen = random.sample(variantKeys, split.length);
        return {
          // A rule's segment is a bare key or {keys, operator}.
          segment: random.chance(0.4) ? random.pick(segmentKeys) : segmentKeysRef(random, segmentKeys),
          distributions: split.map((rollout, position) => ({ variant: chosen[position], rollout })),
        };
      }),
    };
  });
  return { version: "1.6", namespace: { key: namespace, name: namespace }, flags, segments };
}

function generateContexts(random: Random) {
  return Array.from({ length: CONTEXTS }, () => {
    const context: Record<string, string> = {};
    if (random.chance(0.8)) context.plan = random.pick(PLANS);
    if (random.chance(0.7)) context.email = random.pick(EMAILS);
    if (random.chance(0.7)) context.age = String(random.int(0, 99));
    if (random.chance(0.6)) context.beta = random.pick(["true", "false"]);
    if (random.chance(0.6)) context.signup = random.pick(DATES);
    return { entityId: random.pick(ENTITY_IDS), context };
  });
}

interface Outcome {
  type: "boolean" | "variant";
  enabled?: boolean;
  match?: boolean;
  reason: string;
  variantKey?: string;
  attachment?: unknown;
  segmentKeys: string[];
}

const parseAttachment = (text: string | undefined): unknown =>
  text === undefined || text === "" ? undefined : JSON.parse(text);

describe("differential: Pennant's server vs Flipt's client engine on random flag state", () => {
  let repo: TempRepo;
  let server: TestServer;
  const documents = new Map<number, ReturnType<typeof generateDocument>>();
  const contexts = new Map<number, ReturnType<typeof generateContexts>>();

  before(async () => {
    const files: Record<string, string> = {};
    for (const seed of seeds) {
      const random = createSeededRandom(seed);
      const document = generateDocument(random, `seed-${seed}`);
      documents.set(seed, document);
      contexts.set(seed, generateContexts(random));
      files[`seed-${seed}.features.json`] = JSON.stringify(document, null, 2);
    }
    // The generator must produce valid state; a schema problem would otherwise show up as a 404 from the client.
    await (await createEvaluator({ documents: files })).close();
    repo = await createTempRepo(files);
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
    });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  it("uses only splits whose boundaries Flipt's Go and Rust engines compute alike", () => {
    for (const split of SAFE_SPLITS) {
      const valid = split.filter((rollout) => rollout > 0);
      const total = valid.reduce((sum, rollout) => sum + rollout, 0);
      let cumulative = 0;
      const plain = valid.map((rollout) => {
        cumulative += rollout;
        return Math.round((cumulative / total) * 1000);
      });
      assert.deepEqual(bucketBounds(valid), plain, `split ${split.join("/")}`);
    }
  });

  for (const seed of seeds) {
    it(`agrees on ${FLAGS} flags × ${CONTEXTS} contexts (seed ${seed})`, async (t) => {
      const namespace = `seed-${seed}`;
      const document = documents.get(seed) as ReturnType<typeof generateDocument>;
      const cases = contexts.get(seed) as ReturnType<typeof generateContexts>;
      const client = await FliptClient.init({ url: server.httpUrl, namespace, updateInterval: 0 });
      const mismatches: string[] = [];
      let evaluated = 0;
      const tally = new Map<string, number>();
      try {
        for (const { entityId, context } of cases) {
          const requests = document.flags.map((flag) => ({
            namespaceKey: namespace,
            flagKey: flag.key,
            entityId,
            context,
          }));
          const response = await fetch(`${server.httpUrl}/evaluate/v1/batch`, {
            method: "POST",
            body: JSON.stringify({ requests }),
          });
          assert.equal(response.status, 200, `seed ${seed}: batch answered ${response.status}`);
          const batch = (await response.json()) as {
            responses: {
              type: string;
              booleanResponse?: { enabled: boolean; reason: string; segmentKeys: string[] };
              variantResponse?: {
                match: boolean;
                reason: string;
                variantKey: string;
                variantAttachment: string;
                segmentKeys: string[];
              };
            }[];
          };
          document.flags.forEach((flag, index) => {
            const item = batch.responses[index];
            let pennant: Outcome | undefined;
            let official: Outcome;
            if (flag.type === "BOOLEAN_FLAG_TYPE") {
              const ours = item?.booleanResponse;
              if (ours !== undefined) {
                pennant = {
                  type: "boolean",
                  enabled: ours.enabled,
                  reason: ours.reason,
                  segmentKeys: [...ours.segmentKeys].sort(),
                };
              }
              const theirs = client.evaluateBoolean({ flagKey: flag.key, entityId, context });
              official = {
                type: "boolean",
                enabled: theirs.enabled,
                reason: theirs.reason,
                segmentKeys: [...(theirs.segmentKeys ?? [])].sort(),
              };
            } else {
              const ours = item?.variantResponse;
              if (ours !== undefined) {
                pennant = {
                  type: "variant",
                  match: ours.match,
                  reason: ours.reason,
                  variantKey: ours.variantKey,
                  attachment: parseAttachment(ours.variantAttachment),
                  segmentKeys: [...ours.segmentKeys].sort(),
                };
              }
              const theirs = client.evaluateVariant({ flagKey: flag.key, entityId, context });
              official = {
                type: "variant",
                match: theirs.match,
                reason: theirs.reason,
                variantKey: theirs.variantKey,
                attachment: parseAttachment(theirs.variantAttachment),
                segmentKeys: [...(theirs.segmentKeys ?? [])].sort(),
              };
            }
            evaluated++;
            const outcome = `${official.type} ${official.reason.replace("_EVALUATION_REASON", "")}${
              official.segmentKeys.length > 0 ? " +segments" : ""
            }${official.variantKey ? " +variant" : ""}`;
            tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
            try {
              assert.deepEqual(pennant, official);
            } catch {
              mismatches.push(
                `${flag.key} entity ${JSON.stringify(entityId)} context ${JSON.stringify(context)}\n` +
                  `  pennant:  ${JSON.stringify(pennant ?? item)}\n  official: ${JSON.stringify(official)}\n` +
                  `  flag: ${JSON.stringify(flag)}`,
              );
            }
          });
        }
      } finally {
        client.close();
      }
      t.diagnostic(`outcomes: ${[...tally].map(([outcome, count]) => `${outcome}: ${count}`).join(", ")}`);
      const segments = JSON.stringify(document.segments);
      assert.equal(evaluated, FLAGS * CONTEXTS);
      assert.deepEqual(
        mismatches,
        [],
        `seed ${seed} (rerun with PENNANT_DIFF_SEEDS=${seed}): ${mismatches.length} of ${evaluated} differ\n` +
          `${mismatches.slice(0, 5).join("\n")}\nsegments: ${segments}`,
      );
    });
  }
});
