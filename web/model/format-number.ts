/**
 * A float32 from the wire as people wrote it: 33.33 is stored as 33.33000183105469, and seven significant digits
 * bring it back. Used for rollout percentages.
 */
export function formatFloat32(value: number): string {
  return String(Number(value.toPrecision(7)));
}

/** The sum of percentages, rounded to hundredths of a percent so that 33.33 + 33.33 + 33.34 is 100. */
export function sumPercentages(values: readonly number[]): number {
  return Math.round(values.reduce((sum, value) => sum + value, 0) * 100) / 100;
}

/** A percentage typed in a field: a finite number from 0 to 100, else undefined. */
export function parsePercentage(text: string): number | undefined {
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 0 && value <= 100 ? value : undefined;
}
