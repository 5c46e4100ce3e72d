import type { FlagSummary } from "./flag-summary.js";

/** The flags whose rules or rollouts use each segment, by segment key. */
export function segmentUsage(flags: readonly FlagSummary[]): Map<string, string[]> {
  const usage = new Map<string, string[]>();
  for (const flag of flags) {
    for (const segment of flag.segmentKeys) {
      const users = usage.get(segment);
      if (users === undefined) usage.set(segment, [flag.key]);
      else users.push(flag.key);
    }
  }
  return usage;
}
