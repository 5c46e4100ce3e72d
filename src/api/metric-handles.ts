import type { Counter, Histogram } from "prom-client";

/** One counter series, labels fixed. */
export interface CounterHandle {
  /** Adds `by` (1 when not given). */
  inc(by?: number): void;
}

/** One histogram series, labels fixed. */
export interface HistogramHandle {
  observe(value: number): void;
}

/** What prom-client (15) keeps per series: the state its `inc` and `observe` update, keyed by its label hash. */
interface CounterState {
  hashMap?: Record<string, { value: number } | undefined>;
}
interface HistogramState {
  hashMap?: Record<string, HistogramEntry | undefined>;
  upperBounds?: readonly number[];
}
interface HistogramEntry {
  readonly labels: Readonly<Record<string, string>>;
  /** Per bound, by its property name (`String(bound)`). */
  readonly bucketValues: Record<string, number | undefined>;
  sum: number;
  count: number;
}

/**
 * A counter series that counts as prom-client's `labels(...).inc()` does, without hashing its labels on every call:
 * prom-client builds the series' key from its labels each time, which made metrics a tenth of an evaluation's CPU.
 * The series' entry is found once by the key prom-client gave it, and updated in place until prom-client replaces the
 * map that holds it (`reset()`: the public call then recreates it, and it is found again); with any other prom-client
 * layout, every call takes the public way. (prom-client's `remove()` is never called on these families.)
 */
export function counterHandle(
  counter: Counter<string>,
  labels: Readonly<Record<string, string>>,
): CounterHandle {
  const state = counter as unknown as CounterState;
  // prom-client's `inc` returns the series' key (`labelHash`); an increment of 0 creates the series at zero.
  const key = (counter.inc(labels, 0) as unknown as { labelHash?: unknown } | undefined)?.labelHash;
  if (typeof key !== "string" || typeof state.hashMap !== "object") {
    const series = counter.labels(labels);
    return { inc: (by = 1) => series.inc(by) };
  }
  // The series' entry and the map that holds it, looked up again only when prom-client has replaced the map (reset).
  let map = state.hashMap;
  let entry = map[key];
  return {
    inc(by = 1) {
      if (entry === undefined || state.hashMap !== map || !(by > 0 && Number.isFinite(by))) {
        counter.inc(labels, by);
        map = state.hashMap ?? map;
        entry = map[key];
        return;
      }
      entry.value += by;
    },
  };
}

/**
 * A histogram series that observes as prom-client's `labels(...).observe(value)` does (the sum, the count and the
 * first bucket whose bound is at or above the value), without hashing its labels on every call. The series' entry is
 * found by its labels once prom-client has made it, and updated in place until prom-client replaces the map that
 * holds it; a value that is not finite, a reset, or another prom-client layout takes the public way.
 */
export function histogramHandle(
  histogram: Histogram<string>,
  labels: Readonly<Record<string, string>>,
): HistogramHandle {
  const state = histogram as unknown as HistogramState;
  const bounds = state.upperBounds;
  // The bucket counts' property names, as prom-client's object has them: a number key would be turned into its
  // string on every access.
  const names = bounds?.map(String) ?? [];
  let map: HistogramState["hashMap"];
  let entry: HistogramEntry | undefined;
  const find = (): HistogramEntry | undefined => {
    for (const candidate of Object.values(state.hashMap ?? {})) {
      if (candidate !== undefined && sameLabels(candidate.labels, labels)) return candidate;
    }
    return undefined;
  };
  return {
    observe(value) {
      if (entry === undefined || state.hashMap !== map || bounds === undefined || !Number.isFinite(value)) {
        histogram.observe(labels, value);
        map = state.hashMap;
        entry = bounds === undefined ? undefined : find();
        return;
      }
      entry.sum += value;
      entry.count += 1;
      for (let index = 0; index < bounds.length; index++) {
        if (value <= (bounds[index] as number)) {
          const counts = entry.bucketValues;
          const name = names[index] as string;
          const count = counts[name];
          // Every bound's count is an own property that prom-client set to 0; nothing is inherited under a number.
          if (count !== undefined) counts[name] = count + 1;
          break;
        }
      }
    },
  };
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
