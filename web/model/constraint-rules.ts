import { ComparisonType } from "../../src/gen/flipt/core/core_pb.js";

/** An operator a comparison type allows, with what it does and what value it needs. */
export interface OperatorRule {
  readonly operator: string;
  readonly label: string;
  /** "none": the constraint's value is ignored; "list": a JSON array; "single": one value. */
  readonly value: "none" | "single" | "list";
}

/** A comparison type the console can edit, with the operators Flipt's schema allows for it. */
export interface TypeRule {
  readonly type: ComparisonType;
  readonly label: string;
  /** What the constraint compares, in words. */
  readonly compares: string;
  /** How the compared value and the constraint's value are read, in words. */
  readonly valueRule: string;
  readonly operators: readonly OperatorRule[];
}

const op = (operator: string, label: string, value: OperatorRule["value"] = "single"): OperatorRule => ({
  operator,
  label,
  value,
});

const STRING_OPERATORS = [
  op("eq", "equals"),
  op("neq", "does not equal"),
  op("empty", "is empty", "none"),
  op("notempty", "is not empty", "none"),
  op("prefix", "starts with"),
  op("suffix", "ends with"),
  op("contains", "contains"),
  op("notcontains", "does not contain"),
  op("isoneof", "is one of", "list"),
  op("isnotoneof", "is not one of", "list"),
];

/** Flipt's schema, per comparison type (shared/spec/evaluation.md §6). */
export const TYPE_RULES: readonly TypeRule[] = [
  {
    type: ComparisonType.STRING_COMPARISON_TYPE,
    label: "String",
    compares: "the context value of the property",
    valueRule:
      "Compared exactly and case-sensitively. A missing key reads as the empty string, which matches only " +
      "“is empty”: negative operators (does not equal, does not contain, is not one of) never match it. " +
      "“starts with” and “ends with” trim white space from the context value, never from yours. " +
      '“is one of” takes a JSON array of strings, such as ["DE", "FR"].',
    operators: STRING_OPERATORS,
  },
  {
    type: ComparisonType.NUMBER_COMPARISON_TYPE,
    label: "Number",
    compares: "the context value of the property, read as a number",
    valueRule:
      "Both sides are read as 64-bit floats, as Go's ParseFloat reads them: 42, -3.5, .5, 1e3 and 1_000 are " +
      "numbers; white space around them, commas and 0x10 are not. A context value that is not a number never " +
      "matches (not even “does not equal”). “is one of” takes a JSON array of numbers, such as [18, 21]. " +
      "“is present” means the key has a non-blank value.",
    operators: [
      op("eq", "equals"),
      op("neq", "does not equal"),
      op("lt", "is less than"),
      op("lte", "is at most"),
      op("gt", "is greater than"),
      op("gte", "is at least"),
      op("present", "is present", "none"),
      op("notpresent", "is not present", "none"),
      op("isoneof", "is one of", "list"),
      op("isnotoneof", "is not one of", "list"),
    ],
  },
  {
    type: ComparisonType.BOOLEAN_COMPARISON_TYPE,
    label: "Boolean",
    compares: "the context value of the property, read as a boolean",
    valueRule:
      "The context value is read as Go's ParseBool does: 1, t, T, true, TRUE, True are true; 0, f, F, false, " +
      "FALSE, False are false; anything else never matches. No value is needed: the operator says which.",
    operators: [
      op("true", "is true", "none"),
      op("false", "is false", "none"),
      op("present", "is present", "none"),
      op("notpresent", "is not present", "none"),
    ],
  },
  {
    type: ComparisonType.DATETIME_COMPARISON_TYPE,
    label: "Date and time",
    compares: "the context value of the property, read as a point in time",
    valueRule:
      "RFC 3339 (2024-05-01T09:30:00Z, 2024-05-01T11:30:00+02:00: upper-case T and Z, seconds required) or a " +
      "date alone (2024-05-01, midnight UTC). Instants are compared across time zones. A context value in " +
      "another format never matches.",
    operators: [
      op("eq", "is"),
      op("neq", "is not"),
      op("lt", "is before"),
      op("lte", "is at or before"),
      op("gt", "is after"),
      op("gte", "is at or after"),
      op("present", "is present", "none"),
      op("notpresent", "is not present", "none"),
    ],
  },
  {
    type: ComparisonType.ENTITY_ID_COMPARISON_TYPE,
    label: "Entity ID",
    compares: "the request's entity id (the property is only a name here, such as entityId)",
    valueRule:
      "The string rules, applied to the entity id: exact and case-sensitive; “is one of” takes a JSON array of " +
      'strings, such as ["user-1", "user-2"].',
    operators: STRING_OPERATORS,
  },
];

/** The rule of a comparison type; undefined for types the console cannot edit (UNKNOWN, SEMVER). */
export function typeRuleOf(type: ComparisonType): TypeRule | undefined {
  return TYPE_RULES.find((rule) => rule.type === type);
}

export function operatorRuleOf(type: ComparisonType, operator: string): OperatorRule | undefined {
  return typeRuleOf(type)?.operators.find((rule) => rule.operator === operator);
}

/** The short name of a comparison type, e.g. "String", for any type the server may send. */
export function typeLabel(type: ComparisonType | string): string {
  const value = typeof type === "string" ? ComparisonType[type as keyof typeof ComparisonType] : type;
  return (value === undefined ? undefined : typeRuleOf(value)?.label) ?? String(type);
}

/**
 * Go's ParseFloat grammar for decimal numbers (with `_` between digits), hex floats with a `p` exponent, and
 * inf/infinity/nan in any case. JavaScript's Number() accepts other strings (" 42", "0x10"), so it is not used.
 */
const GO_DECIMAL = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const GO_HEX = /^[+-]?0[xX](?:[\da-fA-F](?:_?[\da-fA-F])*(?:\.[\da-fA-F]*)?|\.[\da-fA-F]+)[pP][+-]?\d+$/;
const GO_SPECIAL = /^(?:[+-]?(?:inf|infinity)|nan)$/i;

export function isGoFloat(text: string): boolean {
  if (GO_SPECIAL.test(text) || GO_HEX.test(text)) return true;
  if (!GO_DECIMAL.test(text)) return false;
  return Number.isFinite(Number(text.replaceAll("_", "")));
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:[.,]\d+)?(?:Z|[+-](?:[01]\d|2[0-4]):[0-5]\d)$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** RFC 3339 as Go's time.Parse reads it, or a date alone; the day must exist in its month. */
export function isGoDateTime(text: string): boolean {
  const match = RFC3339.exec(text) ?? DATE_ONLY.exec(text);
  if (match === null) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** What is wrong with a constraint's value for its type and operator; undefined when it is fine. */
export function constraintValueProblem(
  type: ComparisonType,
  operator: string,
  value: string,
): string | undefined {
  const rule = operatorRuleOf(type, operator);
  if (rule === undefined) return "valid for a known operator";
  if (rule.value === "none") return undefined;
  const numeric = type === ComparisonType.NUMBER_COMPARISON_TYPE;
  if (rule.value === "list") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return numeric
        ? "a JSON array of numbers, such as [18, 21]"
        : 'a JSON array of strings, such as ["a", "b"]';
    }
    if (!Array.isArray(parsed)) return "a JSON array, in [ ]";
    const kind = numeric ? "number" : "string";
    if (!parsed.every((item) => typeof item === kind)) return `a JSON array of ${kind}s only`;
    return undefined;
  }
  if (numeric) return isGoFloat(value) ? undefined : "a number, such as 42, -3.5 or 1e3 (no spaces)";
  if (type === ComparisonType.DATETIME_COMPARISON_TYPE) {
    return isGoDateTime(value) ? undefined : "RFC 3339 (2024-05-01T09:30:00Z) or a date (2024-05-01)";
  }
  return undefined;
}

/** One line on what a constraint's value must be, shown under its field. */
export function valueHint(type: ComparisonType, operator: string): string {
  const rule = operatorRuleOf(type, operator);
  if (rule === undefined) return "";
  const numeric = type === ComparisonType.NUMBER_COMPARISON_TYPE;
  if (rule.value === "none") {
    return type === ComparisonType.BOOLEAN_COMPARISON_TYPE && (operator === "true" || operator === "false")
      ? "No value: the context value is read as a boolean (true, 1, t… or false, 0, f…)."
      : "No value: only whether the context has a non-blank value counts.";
  }
  if (rule.value === "list") {
    return numeric ? "A JSON array of numbers: [18, 21, 65]." : 'A JSON array of strings: ["DE", "FR"].';
  }
  if (numeric) return "A number as Go reads it: 42, -3.5, 1e3 (no spaces, no commas).";
  if (type === ComparisonType.DATETIME_COMPARISON_TYPE) {
    return "RFC 3339, such as 2024-05-01T09:30:00Z, or a date, such as 2024-05-01 (midnight UTC).";
  }
  if (operator === "prefix" || operator === "suffix")
    return "Text; the context value is trimmed, yours is not.";
  return "Text, compared exactly (case-sensitive).";
}
