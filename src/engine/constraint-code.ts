import type { PreparedValue } from "../domain/evaluation-model.js";

/**
 * What a prepared constraint does, as one small integer (`EvalConstraint.code`): its comparison type, its
 * operator and whether its value was prepared for that operator, decided once when the constraint is prepared.
 * `matchConstraint` is then one switch over dense integers instead of a switch over the type's name followed by
 * one over the operator's. Each code does exactly what Flipt does for its type and operator (§6 of the spec).
 */
export const ConstraintCode = {
  /** An unsupported comparison type: an evaluation error when reached. */
  UNKNOWN_TYPE: 0,

  // STRING and ENTITY_ID (the latter compares the entity id).
  STRING_EMPTY: 1,
  STRING_NOT_EMPTY: 2,
  STRING_EQ: 3,
  STRING_NEQ: 4,
  STRING_PREFIX: 5,
  STRING_SUFFIX: 6,
  STRING_CONTAINS: 7,
  STRING_NOT_CONTAINS: 8,
  /** `isoneof` over a prepared string set. */
  STRING_IS_ONE_OF: 9,
  STRING_IS_NOT_ONE_OF: 10,
  /** Any other operator: false. */
  STRING_OTHER: 11,

  NUMBER_PRESENT: 12,
  NUMBER_NOT_PRESENT: 13,
  /** `eq`..`gte` against a prepared number. */
  NUMBER_EQ: 14,
  NUMBER_NEQ: 15,
  NUMBER_LT: 16,
  NUMBER_LTE: 17,
  NUMBER_GT: 18,
  NUMBER_GTE: 19,
  /** `isoneof` over a prepared number set. */
  NUMBER_IS_ONE_OF: 20,
  NUMBER_IS_NOT_ONE_OF: 21,
  /**
   * A comparison or list operator whose value was not prepared (an empty value): Flipt fails to parse it at
   * evaluation, so a non-empty context value is "invalid" (a parse error), whatever it is.
   */
  NUMBER_UNPREPARED: 22,
  /** Any other operator: false for a context value that parses, "invalid" for one that does not. */
  NUMBER_OTHER: 23,

  BOOLEAN_PRESENT: 24,
  BOOLEAN_NOT_PRESENT: 25,
  BOOLEAN_TRUE: 26,
  BOOLEAN_FALSE: 27,
  BOOLEAN_OTHER: 28,

  DATETIME_PRESENT: 29,
  DATETIME_NOT_PRESENT: 30,
  /** `eq`..`gte` against a prepared instant (the operator names the comparison). */
  DATETIME_COMPARE: 31,
  /** A comparison operator whose value was not prepared (an empty value): "invalid", as for NUMBER. */
  DATETIME_UNPREPARED: 32,
  DATETIME_OTHER: 33,
} as const;

const C = ConstraintCode;

const STRING_CODES: Readonly<Record<string, number>> = {
  empty: C.STRING_EMPTY,
  notempty: C.STRING_NOT_EMPTY,
  eq: C.STRING_EQ,
  neq: C.STRING_NEQ,
  prefix: C.STRING_PREFIX,
  suffix: C.STRING_SUFFIX,
  contains: C.STRING_CONTAINS,
  notcontains: C.STRING_NOT_CONTAINS,
};

const NUMBER_COMPARISONS: Readonly<Record<string, number>> = {
  eq: C.NUMBER_EQ,
  neq: C.NUMBER_NEQ,
  lt: C.NUMBER_LT,
  lte: C.NUMBER_LTE,
  gt: C.NUMBER_GT,
  gte: C.NUMBER_GTE,
};

const COMPARISONS: ReadonlySet<string> = new Set(["eq", "neq", "lt", "lte", "gt", "gte"]);

/** The code of a constraint of `type` and `operator` whose value was prepared as `prepared`. */
export function constraintCode(type: string, operator: string, prepared: PreparedValue): number {
  const list = operator === "isoneof" || operator === "isnotoneof";
  switch (type) {
    case "STRING_COMPARISON_TYPE":
    case "ENTITY_ID_COMPARISON_TYPE":
      if (list) {
        if (prepared.kind !== "string-set") return C.STRING_OTHER;
        return operator === "isoneof" ? C.STRING_IS_ONE_OF : C.STRING_IS_NOT_ONE_OF;
      }
      return Object.hasOwn(STRING_CODES, operator) ? (STRING_CODES[operator] as number) : C.STRING_OTHER;
    case "NUMBER_COMPARISON_TYPE":
      if (operator === "present") return C.NUMBER_PRESENT;
      if (operator === "notpresent") return C.NUMBER_NOT_PRESENT;
      if (list) {
        if (prepared.kind !== "number-set") return C.NUMBER_UNPREPARED;
        return operator === "isoneof" ? C.NUMBER_IS_ONE_OF : C.NUMBER_IS_NOT_ONE_OF;
      }
      if (!COMPARISONS.has(operator)) return C.NUMBER_OTHER;
      return prepared.kind === "number" ? (NUMBER_COMPARISONS[operator] as number) : C.NUMBER_UNPREPARED;
    case "BOOLEAN_COMPARISON_TYPE":
      switch (operator) {
        case "present":
          return C.BOOLEAN_PRESENT;
        case "notpresent":
          return C.BOOLEAN_NOT_PRESENT;
        case "true":
          return C.BOOLEAN_TRUE;
        case "false":
          return C.BOOLEAN_FALSE;
        default:
          return C.BOOLEAN_OTHER;
      }
    case "DATETIME_COMPARISON_TYPE":
      if (operator === "present") return C.DATETIME_PRESENT;
      if (operator === "notpresent") return C.DATETIME_NOT_PRESENT;
      if (!COMPARISONS.has(operator)) return C.DATETIME_OTHER;
      return prepared.kind === "datetime" ? C.DATETIME_COMPARE : C.DATETIME_UNPREPARED;
    default:
      return C.UNKNOWN_TYPE;
  }
}
