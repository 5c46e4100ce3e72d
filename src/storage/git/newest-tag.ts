import { maxSatisfying, valid, validRange } from "semver";

/**
 * The newest of `tags` that satisfies `constraint` (`ref_type: semver`), or undefined when none does. Tags are
 * semantic versions with or without a leading `v` (`v1.0.3`, `1.0.3`); other tags are ignored. The constraint
 * is node-semver's range syntax (`v1.0.*`, `~1.2`, `^1`, `>=1.2.0 <2`); commas are read as spaces, so
 * Masterminds-style constraints such as `>= 1.2, < 2` also work. Pre-releases match only a constraint that
 * names one, as in both libraries.
 */
export function newestTag(tags: readonly string[], constraint: string): string | undefined {
  const range = validRange(constraint.replaceAll(",", " "));
  if (range === null) return undefined;
  const versions = new Map<string, string>();
  for (const tag of tags) {
    const version = valid(tag);
    // Of two tags naming one version (`v1.0.0` and `1.0.0`), the first listed wins, so the choice is stable.
    if (version !== null && !versions.has(version)) versions.set(version, tag);
  }
  const best = maxSatisfying([...versions.keys()], range);
  return best === null ? undefined : versions.get(best);
}
