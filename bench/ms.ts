/** A duration in milliseconds as text with one decimal, for the benchmarks' lines of detail. */
export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}
