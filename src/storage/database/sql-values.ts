/**
 * Reading column values the same way whatever the driver returned: PostgreSQL booleans and bigint strings,
 * MySQL's 0/1, SQLite's integers and the two text forms of its timestamps.
 */

/** A text column; NULL reads as "". */
export function readText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}

/** A text column that may be NULL. */
export function readOptionalText(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : readText(value);
}

/** An integer or float column (bigints arrive as strings or bigint from some drivers). */
export function readNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  return 0;
}

/** A BOOLEAN column: native on PostgreSQL, 0/1 on SQLite and MySQL. */
export function readBool(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return Number(value) !== 0;
  if (typeof value === "string") return ["1", "t", "true", "TRUE", "T", "True"].includes(value);
  return false;
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * A timestamp as fixed-width UTC text `YYYY-MM-DD HH:MM:SS.ffffff`, which sorts as time does. Accepts both
 * forms SQLite holds (`2024-01-02 03:04:05` from CURRENT_TIMESTAMP, `2024-01-02 03:04:05.123+00:00` from Flipt),
 * PostgreSQL's and MySQL's text, and Date objects. Anything else is returned as it is, so it still sorts
 * somewhere stable instead of failing the read.
 */
export function readTimestamp(value: unknown): string {
  if (value instanceof Date) return canonical(value.getTime() * 1000);
  const text = readText(value).trim();
  const match = TIMESTAMP.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction = "", zone = "Z"] = match;
  const millis = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  const micros = millis * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6));
  return canonical(micros - offsetMinutes(zone) * 60_000_000);
}

function offsetMinutes(zone: string): number {
  if (zone === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
}

/** Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
export function canonical(micros: number): string {
  const millis = Math.floor(micros / 1000);
  const iso = new Date(millis).toISOString();
  const fraction = String(micros - Math.floor(micros / 1_000_000) * 1_000_000).padStart(6, "0");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`;
}

/**
 * A canonical timestamp as written to a column: SQLite gets go-sqlite3's text form (`…+00:00`, trailing zeros of
 * the fraction trimmed, as Flipt v1 writes it); the servers get the UTC wall time into TIMESTAMP columns.
 */
export function timestampForColumn(timestamp: string, sqlite: boolean): string {
  if (!sqlite) return timestamp;
  const [seconds = "", fraction = ""] = timestamp.split(".");
  const trimmed = fraction.replace(/0+$/, "");
  return `${seconds}${trimmed === "" ? "" : `.${trimmed}`}+00:00`;
}

/**
 * Strictly increasing timestamps, UTC, to the microsecond: each call returns the current time, or a microsecond
 * past the last one when the clock has not moved (or moved back). Rows created in one write (variants,
 * distributions) are ordered by `created_at`, so their order on reading back is the order they were written.
 */
export function createClock(now: () => number = Date.now): () => string {
  let last = 0;
  return () => {
    const micros = Math.max(now() * 1000, last + 1);
    last = micros;
    return canonical(micros);
  };
}
