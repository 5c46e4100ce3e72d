import type { ValidationIssue } from "../domain/errors.js";
import type { Flag } from "../domain/flag-state.js";
import { quoteValue } from "./quote-value.js";

/** What a flag's references are checked against, and how the issues are placed. */
export interface ReferenceScope {
  /** Whether the flag sees segment `key`. */
  readonly sees: (key: string) => boolean;
  /** Whether `key`, which the flag does not see, is defined in a later document: the message then says so. */
  readonly later?: ((key: string) => boolean) | undefined;
  readonly file: string;
  /** The line of the first of `paths` the document knows, for issues that carry lines. */
  readonly lineOf?: ((paths: readonly string[]) => number | undefined) | undefined;
}

/**
 * The unknown segments and variants flag `flag` (at `flags[index]`) of namespace `namespaceKey` references, with
 * Flipt's messages: `flag <ns>/<key> rule <n> references unknown segment "<key>"` (rollouts are numbered as rules,
 * as Flipt does) and `… references unknown variant "<key>"`.
 */
export function flagReferenceIssues(
  namespaceKey: string,
  flag: Flag,
  index: number,
  scope: ReferenceScope,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const prefix = `flag ${quoteValue(`${namespaceKey}/${flag.key}`, { quotes: false })}`;
  const add = (path: string, message: string, linePaths: readonly string[] = [path]): void => {
    const lineOf = scope.lineOf;
    issues.push({
      path,
      message: `${prefix} ${message}`,
      file: scope.file,
      ...(lineOf === undefined ? {} : { line: lineOf(linePaths) }),
    });
  };
  const segments = (path: string, keys: readonly string[], rank: number): void => {
    keys.forEach((key, keyIndex) => {
      if (scope.sees(key)) return;
      const later =
        scope.later?.(key) === true ? " (it is defined in a later document, which the flag cannot see)" : "";
      add(path, `rule ${rank} references unknown segment ${quoteValue(key)}${later}`, [
        `${path}.keys[${keyIndex}]`,
        `${path}.key`,
        path,
      ]);
    });
  };
  const variants = new Set(flag.variants.map((variant) => variant.key));
  flag.rules.forEach((rule, ruleIndex) => {
    const rulePath = `flags[${index}].rules[${ruleIndex}]`;
    segments(`${rulePath}.segment`, rule.segment.keys, ruleIndex + 1);
    rule.distributions.forEach((distribution, distributionIndex) => {
      if (variants.has(distribution.variant)) return;
      add(
        `${rulePath}.distributions[${distributionIndex}].variant`,
        `rule ${ruleIndex + 1} references unknown variant ${quoteValue(distribution.variant)}`,
      );
    });
  });
  flag.rollouts.forEach((rollout, rolloutIndex) => {
    segments(
      `flags[${index}].rollouts[${rolloutIndex}].segment`,
      rollout.segment?.keys ?? [],
      rolloutIndex + 1,
    );
  });
  return issues;
}
