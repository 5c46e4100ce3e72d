/** A source of test data that gives the same sequence for the same seed, so a failing run can be replayed. */
export interface SeededRandom {
  /** The seed this source started from. */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** Up to `count` distinct items of `items`, in random order. */
  sample<T>(items: readonly T[], count: number): T[];
  /** `length` random bytes. */
  bytes(length: number): Buffer;
  /** An independent source for one part of a test, so that parts do not shift each other's sequences. */
  fork(label: string): SeededRandom;
}

/** mulberry32: small, fast and seedable; good enough to pick test data, never for anything secret. */
export function createSeededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[int(0, items.length - 1)] as T;
    },
    chance: (p) => next() < p,
    sample: <T>(items: readonly T[], count: number): T[] => {
      const pool = [...items];
      const chosen: T[] = [];
      while (chosen.length < count && pool.length > 0)
        chosen.push(pool.splice(int(0, pool.length - 1), 1)[0] as T);
      return chosen;
    },
    bytes: (length) => {
      const out = Buffer.alloc(length);
      for (let index = 0; index < length; index++) out[index] = int(0, 255);
      return out;
    },
    fork: (label) => createSeededRandom(mixSeed(seed, label)),
  };
}

/** The seed from `variable` in `env` when it is set (a decimal integer), else `fallback`. */
export function seedFrom(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  fallback: number,
) {
  const text = env[variable];
  if (text === undefined || text === "") return fallback;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`${variable}=${JSON.stringify(text)} is not an integer`);
  return seed;
}

/** FNV-1a over the label, folded into the seed. */
function mixSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (const char of label) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return hash;
}
