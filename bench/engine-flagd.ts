import { FlagdCore, MemoryStorage } from "@openfeature/flagd-core";
import type { Evaluator } from "../src/index.js";
import {
  DEFAULT_VARIANT,
  type EngineConstraint,
  type EngineFlag,
  type EngineRequest,
  type EngineSegment,
  type EngineState,
  SPLIT,
  THRESHOLD,
  VARIANTS,
} from "./engine-state.js";

/**
 * flagd's in-process evaluator (@openfeature/flagd-core, the engine of flagd's JS in-process provider) on the
 * benchmark's state, written as flagd flag definitions with JsonLogic targeting:
 *
 * - each Flipt segment is a shared evaluator under `$evaluators` (flagd inlines `$ref`s at load): `and` for ALL,
 *   `or` for ANY, over `==` (string eq), `in` (string isoneof), `>=` / `<` (number) and `starts_with` (prefix);
 * - a variant flag is `if` with one condition per rule, in rank order: `early`, then `fractional` 50/50 of
 *   `control`/`treatment`, then `holdout`, else `null` (the default variant, reason DEFAULT);
 * - a boolean flag is `if` over its segment to `on` (true), else `fractional` of 25 `rollout` (true) against
 *   75 `null` (the default variant `off`, false, reason DEFAULT), as Flipt's segment then threshold rollouts.
 *
 * flagd buckets with murmur3 of flagKey + targetingKey where Flipt uses CRC-32 and 1 000 (variants) or 100
 * (booleans) buckets, so a split picks other variants for a given entity; everything else must agree.
 */
export function flagdConfiguration(state: EngineState): string {
  const evaluators = Object.fromEntries(
    state.segments.map((segment) => [segment.key, segmentLogic(segment)]),
  );
  const ref = (segment: string) => ({ $ref: segment });
  const flags = Object.fromEntries(
    state.flags.map((flag) => {
      if (flag.kind === "variant") {
        const branches = flag.rules.flatMap((rule) => [
          ref(rule.segment),
          rule.distributions.length === 1
            ? (rule.distributions[0] as readonly [string, number])[0]
            : { fractional: rule.distributions.map(([variant, rollout]) => [variant, rollout]) },
        ]);
        const variants = Object.fromEntries(VARIANTS.map((variant) => [variant, variant]));
        return [
          flag.key,
          {
            state: "ENABLED",
            variants,
            defaultVariant: DEFAULT_VARIANT,
            targeting: { if: [...branches, null] },
          },
        ];
      }
      return [
        flag.key,
        {
          state: "ENABLED",
          variants: { on: true, rollout: true, off: false },
          defaultVariant: "off",
          targeting: {
            if: [
              ref(flag.segment),
              "on",
              {
                fractional: [
                  ["rollout", flag.threshold],
                  [null, 100 - flag.threshold],
                ],
              },
            ],
          },
        },
      ];
    }),
  );
  return JSON.stringify({
    $schema: "https://flagd.dev/schema/v0/flags.json",
    flags,
    $evaluators: evaluators,
  });
}

function segmentLogic(segment: EngineSegment): unknown {
  return { [segment.matchAll ? "and" : "or"]: segment.constraints.map(constraintLogic) };
}

function constraintLogic(constraint: EngineConstraint): unknown {
  const property = { var: constraint.property };
  switch (constraint.operator) {
    case "eq":
      return { "==": [property, constraint.value] };
    case "isoneof":
      return { in: [property, constraint.value] };
    case "gte":
      return { ">=": [property, constraint.value] };
    case "lt":
      return { "<": [property, constraint.value] };
    case "prefix":
      return { starts_with: [property, constraint.value] };
  }
}

/** OpenFeature's evaluation context: the entity as `targetingKey`, numbers as numbers (as an app passes them). */
export type FlagdContext = Record<string, string | number>;

export function flagdContext(request: EngineRequest): FlagdContext {
  const context: FlagdContext = { targetingKey: request.entityId };
  for (const [key, value] of Object.entries(request.context)) {
    context[key] = key === "age" ? Number(value) : value;
  }
  return context;
}

const quiet = { error: fail, warn: fail, info: () => {}, debug: () => {} };

function fail(...args: unknown[]): never {
  throw new Error(`flagd-core: ${args.map(String).join(" ")}`);
}

/** FlagdCore over the state, validated against flagd's flag and targeting schemas. */
export function createFlagdCore(state: EngineState): FlagdCore {
  const storage = new MemoryStorage(quiet);
  storage.setConfigurations(flagdConfiguration(state), true);
  return new FlagdCore(storage, quiet);
}

/**
 * flagd-core must answer as Pennant does (Pennant agreeing with flipt-client-js is checked separately) wherever
 * the answer does not depend on bucketing: which rule (or segment rollout) decides, or that none does. Where a
 * split decides, the variant must be one of the split's, and over all requests each share must be near its
 * percentage. Every path must be taken by some request.
 */
export function checkFlagdAgreement(
  state: EngineState,
  pennant: Evaluator,
  flagd: FlagdCore,
  booleans: readonly EngineRequest[],
  variants: readonly EngineRequest[],
): void {
  const flags = new Map(state.flags.map((flag) => [flag.key, flag]));
  const paths = new Map<string, number>();
  const count = (path: string) => paths.set(path, (paths.get(path) ?? 0) + 1);
  const disagree = (request: EngineRequest, ours: unknown, theirs: unknown) =>
    new Error(
      `flagd-core disagrees on ${JSON.stringify(request)}: Pennant ${JSON.stringify(ours)}, flagd ${JSON.stringify(theirs)}`,
    );

  for (const request of variants) {
    const flag = flags.get(request.flagKey) as Extract<EngineFlag, { kind: "variant" }>;
    const ours = pennant.resolveVariant(request);
    const theirs = flagd.resolveStringEvaluation(request.flagKey, "", flagdContext(request));
    const rule = flag.rules.findIndex((candidate) => ours.segmentKeys.includes(candidate.segment));
    const expected = rule < 0 ? undefined : flag.rules[rule];
    const ok =
      expected === undefined
        ? ours.reason === "DEFAULT_EVALUATION_REASON" &&
          theirs.reason === "DEFAULT" &&
          theirs.variant === DEFAULT_VARIANT
        : theirs.reason === "TARGETING_MATCH" &&
          // The rules' variants are disjoint (engine-state.ts), so the variant tells which rule decided.
          expected.distributions.some(([variant]) => variant === theirs.variant);
    if (!ok) throw disagree(request, ours, theirs);
    count(expected === undefined ? "variant: no rule" : `variant: rule ${rule + 1}`);
    if (expected !== undefined && expected.distributions.length > 1) {
      count(`variant: split, pennant ${ours.variantKey}`);
      count(`variant: split, flagd ${theirs.variant}`);
    }
  }

  for (const request of booleans) {
    const ours = pennant.resolveBoolean(request);
    const theirs = flagd.resolveBooleanEvaluation(request.flagKey, false, flagdContext(request));
    const segment = ours.segmentKeys.length > 0;
    const ok = segment
      ? theirs.variant === "on" && theirs.value && theirs.reason === "TARGETING_MATCH"
      : (theirs.variant === "rollout" && theirs.value && theirs.reason === "TARGETING_MATCH") ||
        (theirs.variant === "off" && !theirs.value && theirs.reason === "DEFAULT");
    if (!ok) throw disagree(request, ours, theirs);
    if (segment) {
      count("boolean: segment");
    } else {
      count(`boolean: threshold, pennant ${ours.enabled}`);
      count(`boolean: threshold, flagd ${theirs.value}`);
    }
  }

  const share = (part: string, whole: readonly string[]) =>
    (paths.get(part) ?? 0) / whole.reduce((sum, path) => sum + (paths.get(path) ?? 0), 0);
  const near = (value: number, percentage: number) => Math.abs(value - percentage / 100) < 0.08;
  for (const engine of ["pennant", "flagd"]) {
    const split = [`variant: split, ${engine} control`, `variant: split, ${engine} treatment`];
    const threshold = [`boolean: threshold, ${engine} true`, `boolean: threshold, ${engine} false`];
    if (
      !near(share(split[1] as string, split), SPLIT[1]) ||
      !near(share(threshold[0] as string, threshold), THRESHOLD)
    ) {
      throw new Error(`${engine}: splits far from their percentages: ${JSON.stringify([...paths])}`);
    }
  }
  for (const path of [
    "variant: no rule",
    "variant: rule 1",
    "variant: rule 2",
    "variant: rule 3",
    "boolean: segment",
  ]) {
    if ((paths.get(path) ?? 0) < 20) {
      throw new Error(`too few requests take the path "${path}": ${JSON.stringify([...paths])}`);
    }
  }
}
