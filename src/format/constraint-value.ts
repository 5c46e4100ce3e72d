import { formatGoFloatFixed, formatGoJsonFloat } from "../go/format-go-float.js";
import { goJsonString } from "../go/go-json-string.js";
import { goTimeString } from "../go/go-time-string.js";
import type { ScalarValue, SourceNode } from "./source-node.js";

/**
 * The string a constraint `value` becomes, as Flipt decodes it (storage.md §1.5, evaluation.md §1.3):
 *
 * - a string is kept as written (an old-style JSON-array string included); an unquoted YAML timestamp becomes Go's
 *   time text, `2024-01-01` → `2024-01-01 00:00:00 +0000 UTC`;
 * - an integer is its decimal text (`0x1F` → `31`), a float its shortest decimal without exponent (`1e3` → `1000`,
 *   `.inf` → `+Inf`), a boolean `true`/`false`, null or a missing value "";
 * - a list becomes JSON array text: strings and numbers stay, booleans become the strings `"true"`/`"false"`, null
 *   becomes `""` (`[a, 1, true, null, 2.50]` → `["a",1,"true","",2.5]`).
 *
 * The validator allows only strings, and lists at version 1.6 and later; the rest is here for completeness.
 */
export function constraintValueText(node: SourceNode | undefined): string {
  if (node === undefined) return "";
  if (node.kind === "seq") return `[${node.items.map(listItemJson).join(",")}]`;
  if (node.kind === "map") return jsonOf(node);
  return scalarText(node.value);
}

function scalarText(value: ScalarValue): string {
  switch (value.type) {
    case "null":
      return "";
    case "bool":
      return String(value.value);
    case "int":
      return value.value.toString();
    case "float":
      return formatGoFloatFixed(value.value);
    case "string":
      return (value.plain ? goTimeString(value.value) : undefined) ?? value.value;
  }
}

function listItemJson(node: SourceNode): string {
  if (node.kind === "scalar") {
    const value = node.value;
    if (value.type === "bool") return goJsonString(String(value.value));
    if (value.type === "null") return '""';
  }
  return jsonOf(node);
}

/** JSON text of a node as Go's `encoding/json` writes a decoded value: object keys sorted, HTML characters escaped. */
function jsonOf(node: SourceNode): string {
  if (node.kind === "seq") return `[${node.items.map(jsonOf).join(",")}]`;
  if (node.kind === "map") {
    const entries = [...node.entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return `{${entries.map((entry) => `${goJsonString(entry.key)}:${jsonOf(entry.value)}`).join(",")}}`;
  }
  const value = node.value;
  switch (value.type) {
    case "null":
      return "null";
    case "bool":
      return String(value.value);
    case "int":
      return value.value.toString();
    case "float":
      return Number.isFinite(value.value) ? formatGoJsonFloat(value.value) : "null";
    case "string":
      return goJsonString(value.value);
  }
}
