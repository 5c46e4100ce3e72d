/**
 * `FeaturesDocument.lines` made on first use. The lines are read only to place an issue found after parsing (an
 * unknown segment or variant), so a file that parsed cleanly keeps only the way to make them again (its text is
 * read again, which gives the same tree) instead of a map with an entry per flag, rule and reference.
 */
export class LazyLines implements ReadonlyMap<string, number> {
  #make: (() => ReadonlyMap<string, number>) | undefined;
  #lines: ReadonlyMap<string, number> | undefined;

  constructor(make: () => ReadonlyMap<string, number>) {
    this.#make = make;
  }

  get #map(): ReadonlyMap<string, number> {
    if (this.#lines === undefined) {
      this.#lines = (this.#make as () => ReadonlyMap<string, number>)();
      this.#make = undefined;
    }
    return this.#lines;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): number | undefined {
    return this.#map.get(key);
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  forEach(
    callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void,
    thisArg?: unknown,
  ): void {
    for (const [key, value] of this.#map) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[string, number]> {
    return this.#map.entries();
  }

  keys(): MapIterator<string> {
    return this.#map.keys();
  }

  values(): MapIterator<number> {
    return this.#map.values();
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.#map[Symbol.iterator]();
  }
}
