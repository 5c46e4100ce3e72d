/**
 * The flag state of the in-process engine benchmark, described once and written out both as a Flipt features
 * document (for Pennant and flipt-client-js) and as a flagd flag configuration (for flagd-core, see
 * engine-flagd.ts), so that the engines evaluate the same rules over the same conditions.
 *
 * - Segments: `SEGMENTS` segments of three constraints each, over `plan` (string `eq` or `isoneof`), `age`
 *   (number `gte` or `lt`) and `country` (string `isoneof`) or `org` (string `prefix`); three in four match ALL
 *   their constraints, one in four ANY.
 * - Variant flags (even indexes): variants control (default), early, treatment and holdout; three rules, each
 *   over one segment: early (100 %), then control/treatment (50/50), then holdout (100 %).
 * - Boolean flags (odd indexes): `enabled: false`; a segment rollout (true), then a threshold rollout (25 %, true).
 *
 * Requests carry every property the constraints read except `org`, which one in five leaves out.
 */

import { seededRandom } from "./seeded-random.js";

export const SEGMENTS = 12;
/** Percentages of the second rule of a variant flag: control, then treatment. */
export const SPLIT = [50, 50] as const;
/** Percentage of the threshold rollout of a boolean flag. */
export const THRESHOLD = 25;

export type EngineConstraint =
  | { readonly operator: "eq"; readonly property: string; readonly value: string }
  | { readonly operator: "isoneof"; readonly property: string; readonly value: readonly string[] }
  | { readonly operator: "gte" | "lt"; readonly property: string; readonly value: number }
  | { readonly operator: "prefix"; readonly property: string; readonly value: string };

export interface EngineSegment {
  readonly key: string;
  readonly matchAll: boolean;
  readonly constraints: readonly EngineConstraint[];
}

export interface EngineRule {
  readonly segment: string;
  /** Variant key and percentage, summing to 100. */
  readonly distributions: readonly (readonly [variant: string, rollout: number])[];
}

export type EngineFlag =
  | { readonly kind: "variant"; readonly key: string; readonly rules: readonly EngineRule[] }
  | { readonly kind: "boolean"; readonly key: string; readonly segment: string; readonly threshold: number };

export interface EngineState {
  readonly segments: readonly EngineSegment[];
  readonly flags: readonly EngineFlag[];
}

export const VARIANTS = ["control", "early", "treatment", "holdout"] as const;
export const DEFAULT_VARIANT = "control";

const PLANS = ["free", "pro", "beta", "enterprise", "team"];
const COUNTRIES = ["DE", "FR", "US", "JP", "BR", "NL"];
const ORGS = ["acme-eu-", "acme-us-", "globex-", "initech-"];
const ORG_PREFIXES = ["acme-", "acme-eu-", "globex-", "initech-"];

export function engineFlagKey(index: number): string {
  return `flag-${String(index).padStart(4, "0")}`;
}

export function engineState(flags: number): EngineState {
  const segments = Array.from({ length: SEGMENTS }, (_, index): EngineSegment => {
    const plan: EngineConstraint =
      index % 3 === 0
        ? { operator: "eq", property: "plan", value: PLANS[index % PLANS.length] as string }
        : { operator: "isoneof", property: "plan", value: rotate(PLANS, index, 1 + (index % 3)) };
    const age: EngineConstraint =
      index % 2 === 0
        ? { operator: "gte", property: "age", value: 18 + ((index * 5) % 30) }
        : { operator: "lt", property: "age", value: 30 + ((index * 7) % 35) };
    const third: EngineConstraint =
      index % 2 === 0
        ? { operator: "isoneof", property: "country", value: rotate(COUNTRIES, index, 3) }
        : { operator: "prefix", property: "org", value: ORG_PREFIXES[index % ORG_PREFIXES.length] as string };
    return { key: `segment-${index}`, matchAll: index % 4 !== 3, constraints: [plan, age, third] };
  });
  const segment = (index: number) => `segment-${index % SEGMENTS}`;
  const all = Array.from({ length: flags }, (_, index): EngineFlag => {
    const key = engineFlagKey(index);
    if (index % 2 === 0) {
      return {
        kind: "variant",
        key,
        rules: [
          { segment: segment(index), distributions: [["early", 100]] },
          {
            segment: segment(index + 5),
            distributions: [
              ["control", SPLIT[0]],
              ["treatment", SPLIT[1]],
            ],
          },
          { segment: segment(index + 7), distributions: [["holdout", 100]] },
        ],
      };
    }
    return { kind: "boolean", key, segment: segment(index + 3), threshold: THRESHOLD };
  });
  return { segments, flags: all };
}

function rotate(values: readonly string[], start: number, count: number): string[] {
  return Array.from({ length: count }, (_, offset) => values[(start + offset) % values.length] as string);
}

/** The state as a Flipt features document (namespace `default`). */
export function fliptDocument(state: EngineState): string {
  const lines = [`version: "1.6"`, "namespace: default", "flags:"];
  for (const flag of state.flags) {
    lines.push(`  - key: ${flag.key}`, `    name: ${flag.key}`);
    if (flag.kind === "variant") {
      lines.push("    type: VARIANT_FLAG_TYPE", "    enabled: true", "    variants:");
      for (const variant of VARIANTS) {
        lines.push(`      - key: ${variant}`);
        if (variant === DEFAULT_VARIANT) lines.push("        default: true");
      }
      lines.push("    rules:");
      for (const rule of flag.rules) {
        lines.push(`      - segment: ${rule.segment}`, "        distributions:");
        for (const [variant, rollout] of rule.distributions) {
          lines.push(`          - {variant: ${variant}, rollout: ${rollout}}`);
        }
      }
    } else {
      lines.push(
        "    type: BOOLEAN_FLAG_TYPE",
        "    enabled: false",
        "    rollouts:",
        `      - segment: {key: ${flag.segment}, value: true}`,
        `      - threshold: {percentage: ${flag.threshold}, value: true}`,
      );
    }
  }
  lines.push("segments:");
  for (const segment of state.segments) {
    lines.push(
      `  - key: ${segment.key}`,
      `    name: ${segment.key}`,
      `    match_type: ${segment.matchAll ? "ALL_MATCH_TYPE" : "ANY_MATCH_TYPE"}`,
      "    constraints:",
    );
    for (const constraint of segment.constraints) {
      const type = typeof constraint.value === "number" ? "NUMBER_COMPARISON_TYPE" : "STRING_COMPARISON_TYPE";
      const value = Array.isArray(constraint.value)
        ? `[${constraint.value.join(", ")}]`
        : `'${String(constraint.value)}'`;
      lines.push(
        `      - {type: ${type}, property: ${constraint.property}, operator: ${constraint.operator}, value: ${value}}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** One evaluation: a flag, an entity and its context, as Flipt's API takes it (string values only). */
export interface EngineRequest {
  readonly namespaceKey: string;
  readonly flagKey: string;
  readonly entityId: string;
  readonly context: Record<string, string>;
}

/** The same flags for one entity in one context, as an SDK asks for a page's flags. */
export interface EngineBatch {
  readonly requests: readonly EngineRequest[];
}

/** A fixed-seed source of entities and contexts that match some segments and miss others. */
export function createContextSource(
  seed: number,
): () => { entityId: string; context: Record<string, string> } {
  const random = seededRandom(seed);
  return () => {
    const context: Record<string, string> = {
      plan: PLANS[random(PLANS.length)] as string,
      age: String(13 + random(60)),
      country: COUNTRIES[random(COUNTRIES.length)] as string,
    };
    if (random(5) !== 0) context.org = `${ORGS[random(ORGS.length)]}${random(1000)}`;
    return { entityId: `user-${random(1_000_000)}`, context };
  };
}

/** `count` requests over the flags of one kind, in flag order, each with its own entity and context. */
export function engineRequests(
  state: EngineState,
  kind: EngineFlag["kind"],
  count: number,
  seed: number,
): EngineRequest[] {
  const keys = state.flags.filter((flag) => flag.kind === kind).map((flag) => flag.key);
  const next = createContextSource(seed);
  return Array.from({ length: count }, (_, index) => ({
    namespaceKey: "default",
    flagKey: keys[index % keys.length] as string,
    ...next(),
  }));
}

/** `count` batches of `size` consecutive flags (both kinds), each batch for one entity in one context. */
export function engineBatches(state: EngineState, size: number, count: number, seed: number): EngineBatch[] {
  const next = createContextSource(seed);
  return Array.from({ length: count }, (_, index) => {
    const { entityId, context } = next();
    const start = (index * 53) % state.flags.length;
    const requests = Array.from({ length: size }, (_, offset) => ({
      namespaceKey: "default",
      flagKey: (state.flags[(start + offset) % state.flags.length] as EngineFlag).key,
      entityId,
      context,
    }));
    return { requests };
  });
}
