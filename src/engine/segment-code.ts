import type { EvalConstraint, EvalSegment, PreparedValue, SegmentMemo } from "../domain/evaluation-model.js";
import { goTrimSpace } from "../go/go-trim-space.js";
import { parseGoFloat } from "../go/parse-go-float.js";
import { ConstraintCode as C } from "./constraint-code.js";
import { constraintOutcome, Outcome, stringSet } from "./match-constraint.js";

/**
 * A segment's constraints as one function of the request: `Outcome.MATCH`, `NO_MATCH` or `UNKNOWN_TYPE`, exactly as
 * the engine's interpreter (`interpretSegment`) answers them, without its per-constraint dispatch. Kept in the
 * segment's memo once compiled.
 */
export type SegmentTest = NonNullable<SegmentMemo["test"]>;

/**
 * Different segment sources compiled at most, per process. A source depends on the constraints' comparisons and
 * property names, not their values, so real flag state has few; past this many (a hostile repository), the rest are
 * left to the interpreter and the code kept stays bounded.
 */
export const MAX_SEGMENT_SOURCES = 2048;

const factories = new Map<string, (...constants: unknown[]) => unknown>();

/** What generated code calls: the same functions the interpreter calls. */
const HELPERS = {
  hasOwn: Object.hasOwn,
  proto: Object.getPrototypeOf,
  OP: Object.prototype,
  trim: goTrimSpace,
  number: parseGoFloat,
  outcome: constraintOutcome,
};

/**
 * Generated code being written: its statements, and the constants it is passed (`h`, the helpers, then `k1`...).
 * Locals: `v` (the value compared), `n` (it as a number), `o` (an outcome).
 */
interface Code {
  readonly lines: string[];
  readonly constants: unknown[];
}

function newCode(): Code {
  return { lines: [], constants: [HELPERS] };
}

/** Passes `value` to the code; returns the name it has there. */
function constant(code: Code, value: unknown): string {
  code.constants.push(value);
  return `k${code.constants.length - 1}`;
}

/**
 * The segment as JavaScript (see `SegmentTest`), or undefined when it cannot be compiled: code generation is
 * disallowed in this process, or `MAX_SEGMENT_SOURCES` is reached.
 *
 * The source is built from this module's own templates; the only text of the flag state in it is each property
 * name as a JSON string literal (so that every read of the context is a named load, which V8 caches per site).
 * Constraint values are passed to the compiled factory as arguments, so segments that differ only in their values
 * share one source, compiled once.
 */
export function compileSegment(segment: EvalSegment): SegmentTest | undefined {
  const code = newCode();
  segmentStatements(code, segment, {
    match: `return ${Outcome.MATCH};`,
    miss: `return ${Outcome.NO_MATCH};`,
    unknown: `return ${Outcome.UNKNOWN_TYPE};`,
  });
  return compileCode<SegmentTest>(code, "context, entityId");
}

/**
 * Statements that evaluate `segment` as the interpreter does and leave by one of `exits` (statements that jump):
 * `match`, `miss`, or `unknown` when an unsupported comparison type is reached.
 */
function segmentStatements(
  code: Code,
  segment: EvalSegment,
  exits: { readonly match: string; readonly miss: string; readonly unknown: string },
): void {
  const { lines } = code;
  const matchAll = segment.matchAll;
  for (const constraint of segment.constraints) {
    const property = JSON.stringify(constraint.property);
    lines.push(
      constraint.type === "ENTITY_ID_COMPARISON_TYPE"
        ? "v = entityId;"
        : // A string value is the context's own unless its prototype is not Object.prototype or that has the
          // property (a Go map has no inherited keys): the own-property test is then needed.
          `v = context[${property}]; if (typeof v !== "string") v = "";` +
            ` else if ((h.proto(context) !== h.OP || h.OP[${property}] !== undefined) && !h.hasOwn(context, ${property})) v = "";`,
    );
    const test = inlineTest(code, constraint);
    if (test !== undefined) {
      // An invalid value (a NUMBER that does not parse) is a non-match, as in the interpreter.
      lines.push(matchAll ? `if (!(${test})) ${exits.miss}` : `if (${test}) ${exits.match}`);
    } else {
      lines.push(
        `o = h.outcome(${constant(code, constraint)}, v); if (o === ${Outcome.UNKNOWN_TYPE}) ${exits.unknown}`,
        matchAll ? `if (o !== ${Outcome.MATCH}) ${exits.miss}` : `if (o === ${Outcome.MATCH}) ${exits.match}`,
      );
    }
  }
  lines.push(matchAll || segment.constraints.length === 0 ? exits.match : exits.miss);
}

/**
 * The code as a function of `parameters` (its locals declared), or undefined when it cannot be compiled. Each
 * source is compiled once; the constants are passed to it for each function.
 */
function compileCode<T>(code: Code, parameters: string): T | undefined {
  const names = code.constants.map((_, index) => (index === 0 ? "h" : `k${index}`));
  const source = `"use strict";\nreturn function (${parameters}) {\nlet v, n, o;\n${code.lines.join("\n")}\n};`;
  const key = `${names.length}\n${source}`;
  let factory = factories.get(key);
  if (factory === undefined) {
    if (factories.size >= MAX_SEGMENT_SOURCES) return undefined;
    try {
      factory = new Function(...names, source) as (...constants: unknown[]) => unknown;
    } catch {
      // `--disallow-code-generation-from-strings`, or a policy that forbids it: the interpreter serves.
      return undefined;
    }
    factories.set(key, factory);
  }
  return factory(...code.constants) as T;
}

/** NUMBER comparisons as JavaScript operators, with IEEE semantics as in the interpreter. */
const NUMBER_OPERATORS: Readonly<Record<number, string>> = {
  [C.NUMBER_EQ]: "===",
  [C.NUMBER_NEQ]: "!==",
  [C.NUMBER_LT]: "<",
  [C.NUMBER_LTE]: "<=",
  [C.NUMBER_GT]: ">",
  [C.NUMBER_GTE]: ">=",
};

/**
 * The usual comparisons as one boolean expression over the value `v` (the interpreter's `constraintOutcome`, case
 * for case), their constants passed to the code; undefined for the others, which call the interpreter's function.
 */
function inlineTest(code: Code, constraint: EvalConstraint): string | undefined {
  const value = (): string => constant(code, constraint.value);
  switch (constraint.code) {
    case C.STRING_EQ:
      return `v !== "" && v === ${value()}`;
    case C.STRING_NEQ:
      return `v !== "" && v !== ${value()}`;
    case C.STRING_PREFIX:
      return `v !== "" && h.trim(v).startsWith(${value()})`;
    case C.STRING_SUFFIX:
      return `v !== "" && h.trim(v).endsWith(${value()})`;
    case C.STRING_CONTAINS:
      return `v !== "" && v.includes(${value()})`;
    case C.STRING_NOT_CONTAINS:
      return `v !== "" && !v.includes(${value()})`;
    case C.STRING_IS_ONE_OF:
      return `v !== "" && ${isOneOf(code, stringSet(constraint))}`;
    case C.STRING_IS_NOT_ONE_OF:
      return `v !== "" && !${isOneOf(code, stringSet(constraint))}`;
    case C.NUMBER_EQ:
    case C.NUMBER_NEQ:
    case C.NUMBER_LT:
    case C.NUMBER_LTE:
    case C.NUMBER_GT:
    case C.NUMBER_GTE: {
      const expected = constant(
        code,
        (constraint.prepared as Extract<PreparedValue, { kind: "number" }>).value,
      );
      return `v !== "" && (n = h.number(v)) !== undefined && n ${NUMBER_OPERATORS[constraint.code]} ${expected}`;
    }
    default:
      return undefined;
  }
}

/** Lists up to this long are compared member by member: no hash of the value (a request's strings are new). */
const SHORT_LIST = 4;

/** Whether `v` is in `set`: a chain of comparisons for a short list, else a lookup. */
function isOneOf(code: Code, set: ReadonlySet<string>): string {
  if (set.size > SHORT_LIST) return `${constant(code, set)}.has(v)`;
  if (set.size === 0) return "false";
  const members = constant(code, [...set]);
  return `(${[...set].map((_, index) => `v === ${members}[${index}]`).join(" || ")})`;
}
