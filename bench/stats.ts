/** The item at the median of `key` (the upper one of an even count). Throws on an empty list. */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error("a median of nothing");
  return middle;
}

/** The median of a list of numbers; 0 for an empty list. */
export function median(values: readonly number[]): number {
  return values.length === 0 ? 0 : medianBy(values, (value) => value);
}

/** The p-th percentile (nearest rank below) of a list of numbers; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
