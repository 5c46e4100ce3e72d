/** A fixed-seed source of integers in [0, n): the same sequence on every run, so that benchmarks compare alike. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}
