import { newRowId } from "./rows.js";

/** One row of the context editor. */
export interface ContextRow {
  readonly id: string;
  key: string;
  value: string;
}

/** The rows as the request's context; rows without a key are left out, a repeated key keeps the last value. */
export function rowsToContext(rows: readonly ContextRow[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const row of rows) if (row.key.trim() !== "") context[row.key.trim()] = row.value;
  return context;
}

export function emptyContextRow(): ContextRow {
  return { id: newRowId(), key: "", value: "" };
}

export function contextToRows(context: Readonly<Record<string, string>>): ContextRow[] {
  return Object.entries(context).map(([key, value]) => ({ id: newRowId(), key, value }));
}

/**
 * A JSON object typed by the user as the context (a map of strings): numbers and booleans are taken as their
 * text, since Flipt's context holds strings only; anything nested is refused.
 */
export function parseContextJson(text: string): { context: Record<string, string> } | { problem: string } {
  if (text.trim() === "") return { context: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `Not valid JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { problem: 'The context is a JSON object, such as {"plan": "pro"}.' };
  }
  const context: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === "string") context[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") context[key] = String(value);
    else return { problem: `"${key}" must be a string, number or boolean: the context holds text only.` };
  }
  return { context };
}
