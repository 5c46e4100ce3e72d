import { Buffer } from "node:buffer";
import type { JsonValue } from "../../domain/flag-state.js";
import { formatGoJsonFloat } from "../../go/format-go-float.js";
import { goJsonString } from "../../go/go-json-string.js";

/**
 * A decoded JSON value as Go's `json.Marshal` writes an `any` holding it: compact, maps with their keys sorted by
 * bytes, numbers as Go writes a float64 (the same text as JavaScript's, `-0` aside). A non-finite number, which
 * Go refuses to encode, throws.
 */
export function encodeGoJson(value: JsonValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`json: unsupported value: ${value}`);
    return formatGoJsonFloat(value);
  }
  if (typeof value === "string") return goJsonString(value);
  if (Array.isArray(value)) return `[${value.map(encodeGoJson).join(",")}]`;
  const keys = Object.keys(value).sort(compareBytes);
  return `{${keys.map((key) => `${goJsonString(key)}:${encodeGoJson(value[key] ?? null)}`).join(",")}}`;
}

/** Go's order of map keys: by their UTF-8 bytes. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * A Go struct's JSON: `fields` in struct order, each already encoded; undefined ones (zero values of `omitempty`
 * fields) left out.
 */
export function goJsonObject(fields: readonly (readonly [string, string | undefined])[]): string {
  const parts: string[] = [];
  for (const [key, encoded] of fields)
    if (encoded !== undefined) parts.push(`${goJsonString(key)}:${encoded}`);
  return `{${parts.join(",")}}`;
}
