import type { StoredFlag, StoredNamespace, StoredSegment } from "./stored-state.js";

/**
 * The text of an entry in the cache replicas share: a value and the change counter it was read at. A namespace's
 * flags and segments (maps, which JSON cannot hold) travel as arrays in their order. `format` changes whenever the
 * shape does, so that replicas of another version take each other's entries as misses, never as flag data.
 */
const FORMAT = 1;

export interface SharedEntry<T> {
  readonly counter: number;
  readonly value: T;
}

export function encodeNamespaceEntry(counter: number, namespace: StoredNamespace): string {
  const value = {
    ...namespace,
    flags: [...namespace.flags.values()],
    segments: [...namespace.segments.values()],
  };
  return JSON.stringify({ format: FORMAT, counter, value });
}

export function encodeListEntry(counter: number, keys: readonly string[]): string {
  return JSON.stringify({ format: FORMAT, counter, value: keys });
}

/** The namespace `key` in a shared entry's text, or undefined when the text is not such an entry (a miss). */
export function decodeNamespaceEntry(text: string, key: string): SharedEntry<StoredNamespace> | undefined {
  const entry = decode(text);
  const value = entry?.value as Record<string, unknown> | undefined;
  if (entry === undefined || typeof value !== "object" || value === null || value.key !== key)
    return undefined;
  const { flags, segments } = value;
  if (!isKeyedList<StoredFlag>(flags) || !isKeyedList<StoredSegment>(segments)) return undefined;
  const namespace: StoredNamespace = {
    key,
    name: String(value.name ?? ""),
    description: String(value.description ?? ""),
    flags: new Map(flags.map((flag) => [flag.key, flag])),
    segments: new Map(segments.map((segment) => [segment.key, segment])),
  };
  return { counter: entry.counter, value: namespace };
}

/** The namespace keys in a shared entry's text, or undefined when the text is not such an entry (a miss). */
export function decodeListEntry(text: string): SharedEntry<readonly string[]> | undefined {
  const entry = decode(text);
  const value = entry?.value;
  if (entry === undefined || !Array.isArray(value) || !value.every((key) => typeof key === "string")) {
    return undefined;
  }
  return { counter: entry.counter, value };
}

function decode(text: string): SharedEntry<unknown> | undefined {
  try {
    const parsed = JSON.parse(text) as { format?: unknown; counter?: unknown; value?: unknown };
    if (parsed.format !== FORMAT || typeof parsed.counter !== "number") return undefined;
    return { counter: parsed.counter, value: parsed.value };
  } catch {
    return undefined;
  }
}

function isKeyedList<T extends { readonly key: string }>(value: unknown): value is T[] {
  return (
    Array.isArray(value) &&
    value.every((item) => typeof item === "object" && item !== null && typeof item.key === "string")
  );
}
