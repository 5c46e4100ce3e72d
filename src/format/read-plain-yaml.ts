import type { FeaturesLimits } from "./limits.js";
import { resolvePlainScalar } from "./resolve-plain-scalar.js";
import type { SourceEntry, SourceNode } from "./source-node.js";

/** What `readYamlSource` returns for a file read here: one document, no issues, and its weight. */
export interface PlainYamlRead {
  readonly documents: [{ readonly root: SourceNode; readonly line: number }];
  readonly issues: [];
  readonly expandedBytes: number;
}

/** Deeper files are given up, well short of `MAX_NESTING_DEPTH`, which the full reader reports. */
const MAX_PLAIN_DEPTH = 50;

/** Texts up to this long are shared within a file (see `share`); longer ones are rarely repeated. */
const MAX_SHARED_LENGTH = 32;

/** Thrown to give a file up to the full reader. */
const GIVE_UP = Symbol("not plain YAML");

/** Any character other than printable ASCII and line feeds, or a line that starts a document or a directive. */
const NOT_PLAIN = /[^\n\x20-\x7e]|^(?:---|\.\.\.|%)/m;

const LF = 10;
const SPACE = 32;
const HASH = 35;
const QUOTE = 39;
const DOUBLE_QUOTE = 34;
const COLON = 58;
const DASH = 45;
const COMMA = 44;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** Characters a plain key may hold: letters, digits, `_`, `-`, `.` and `/` (the first a letter, digit or `_`). */
function isKeyChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 95 ||
    code === DASH ||
    code === 46 ||
    code === 47
  );
}

function isKeyStart(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95
  );
}

/** Characters that cannot start a plain scalar here (YAML indicators), `-` aside (see `plainStart`). */
const INDICATORS = new Set([..."?:,[]{}#&*!|>'\"%@`"].map((character) => character.charCodeAt(0)));

/**
 * Reads the common shape of a features file without the full YAML parser: one document of block mappings and
 * sequences, flow collections on one line, plain and quoted scalars on one line, comments; printable ASCII only.
 * Anything else (anchors, aliases, tags, block or multi-line scalars, several documents, empty values, duplicate
 * keys, tabs, escapes, ...) gives the file up: undefined, and the caller reads it with the full parser. What it does
 * read, it reads exactly as `readYamlSource` does (the same tree, lines, scalar types and weight): a file that is
 * read here is one the full parser reads without an issue, which the tests check on generated and fixture files.
 */
export function readPlainYaml(text: string, limits: FeaturesLimits): PlainYamlRead | undefined {
  if (NOT_PLAIN.test(text)) return undefined;
  try {
    return parse(text, limits);
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
}

/**
 * A copy of `slice` that does not keep the file's text alive. V8 makes a slice of 13 characters or more a view of
 * the whole text, and a snapshot would then hold every file's text for a few of its strings; slicing a joined string
 * copies the characters out first. Shorter slices are copies already.
 */
function detach(slice: string): string {
  return slice.length < 13 ? slice : ` ${slice}`.slice(1);
}

function giveUp(): never {
  throw GIVE_UP;
}

function parse(text: string, { maxExpandedBytes }: FeaturesLimits): PlainYamlRead {
  const end = text.length;
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let weight = 0;

  const at = (index: number): number => (index < end ? text.charCodeAt(index) : -1);

  /** Moves past the line feed at `pos` (or stays at the end). */
  const nextLine = (): void => {
    if (pos < end) {
      pos += 1;
      line += 1;
      lineStart = pos;
    }
  };

  /**
   * From the start of a line, skips blank and comment lines: the column of the next line with content, `pos` on its
   * first character; -1 at the end of the text.
   */
  const nextContent = (): number => {
    for (;;) {
      while (at(pos) === SPACE) pos += 1;
      const code = at(pos);
      if (code === -1) return -1;
      if (code === LF) {
        nextLine();
        continue;
      }
      if (code === HASH) {
        const feed = text.indexOf("\n", pos);
        pos = feed === -1 ? end : feed;
        continue;
      }
      return pos - lineStart;
    }
  };

  /** After a value: spaces, then a comment (after a space) or the end of the line; moves to the next line. */
  const endOfLine = (): void => {
    const start = pos;
    while (at(pos) === SPACE) pos += 1;
    const code = at(pos);
    if (code === HASH && pos > start) {
      const feed = text.indexOf("\n", pos);
      pos = feed === -1 ? end : feed;
    } else if (code !== LF && code !== -1) {
      giveUp();
    }
    nextLine();
  };

  /** The length of a plain key at `index` followed by `:` and a space or the end of the line; 0 if none. */
  const keyLength = (index: number): number => {
    if (!isKeyStart(at(index))) return 0;
    let cursor = index + 1;
    while (isKeyChar(at(cursor))) cursor += 1;
    if (at(cursor) !== COLON) return 0;
    const after = at(cursor + 1);
    if (after !== SPACE && after !== LF && after !== -1) return 0;
    const length = cursor - index;
    return length > 1000 ? giveUp() : length;
  };

  /** Whether a `-` at `index` starts a block sequence item. */
  const isItem = (index: number): boolean => at(index) === DASH && at(index + 1) === SPACE;

  const checkDepth = (depth: number): void => {
    if (depth > MAX_PLAIN_DEPTH) giveUp();
  };

  /**
   * Short texts met earlier in the file: a file repeats its variant keys, segment keys and enum values for every
   * flag, and the snapshot then keeps one copy of each instead of one per flag.
   */
  const texts = new Map<string, string>();
  const share = (value: string): string => {
    if (value.length > MAX_SHARED_LENGTH) return detach(value);
    const earlier = texts.get(value);
    if (earlier !== undefined) return earlier;
    const own = detach(value);
    texts.set(own, own);
    return own;
  };

  const scalar = (value: SourceNode & { kind: "scalar" }): SourceNode => {
    weight += 1 + (value.value.type === "string" ? value.value.value.length : 8);
    return value;
  };

  /** Whether the plain scalar at `pos` may start with its first character. */
  const plainStart = (): boolean => {
    const code = at(pos);
    if (code === DASH) {
      const next = at(pos + 1);
      return (
        (next >= 48 && next <= 57) || next === 46 || (next >= 97 && next <= 122) || (next >= 65 && next <= 90)
      );
    }
    return code !== -1 && code !== LF && code !== SPACE && !INDICATORS.has(code);
  };

  /** A plain scalar in block context, up to a comment or the end of the line. */
  const blockPlain = (): SourceNode => {
    if (!plainStart()) giveUp();
    const start = pos;
    let last = pos; // one past the last character that is not a space
    for (;;) {
      const code = at(pos);
      if (code === LF || code === -1) break;
      if (code === SPACE) {
        if (at(pos + 1) === HASH) break;
      } else if (code === COLON) {
        const next = at(pos + 1);
        if (next === SPACE || next === LF || next === -1) giveUp();
        last = pos + 1;
      } else {
        last = pos + 1;
      }
      pos += 1;
    }
    return scalar({ kind: "scalar", line, value: resolvePlainScalar(share(text.slice(start, last))) });
  };

  /** A plain scalar in a flow collection, up to `,`, `]` or `}`. */
  const flowPlain = (): SourceNode => {
    if (!plainStart()) giveUp();
    const start = pos;
    let last = pos;
    for (;;) {
      const code = at(pos);
      if (code === COMMA || code === CLOSE_BRACKET || code === CLOSE_BRACE) break;
      if (code === LF || code === -1 || code === COLON || code === HASH) giveUp();
      if (code === OPEN_BRACKET || code === OPEN_BRACE) giveUp();
      if (code !== SPACE) last = pos + 1;
      pos += 1;
    }
    return scalar({ kind: "scalar", line, value: resolvePlainScalar(share(text.slice(start, last))) });
  };

  /** A quoted scalar on one line: `'...'` with `''` for a quote, or `"..."` without escapes. */
  const quoted = (): SourceNode => {
    const quote = at(pos);
    const start = pos + 1;
    let cursor = start;
    let value: string;
    if (quote === QUOTE) {
      let doubled = false;
      for (;;) {
        const code = at(cursor);
        if (code === LF || code === -1) giveUp();
        if (code === QUOTE) {
          if (at(cursor + 1) !== QUOTE) break;
          doubled = true;
          cursor += 2;
          continue;
        }
        cursor += 1;
      }
      value = text.slice(start, cursor);
      if (doubled) value = value.replaceAll("''", "'");
      value = share(value);
    } else {
      for (;;) {
        const code = at(cursor);
        if (code === LF || code === -1 || code === BACKSLASH) giveUp();
        if (code === DOUBLE_QUOTE) break;
        cursor += 1;
      }
      value = share(text.slice(start, cursor));
    }
    const node = scalar({ kind: "scalar", line, value: { type: "string", value, plain: false } });
    pos = cursor + 1;
    return node;
  };

  const skipSpaces = (): void => {
    while (at(pos) === SPACE) pos += 1;
  };

  const flowValue = (depth: number): SourceNode => {
    checkDepth(depth);
    const code = at(pos);
    if (code === OPEN_BRACKET) return flowSeq(depth);
    if (code === OPEN_BRACE) return flowMap(depth);
    if (code === QUOTE || code === DOUBLE_QUOTE) {
      const node = quoted();
      skipSpaces();
      const next = at(pos);
      if (next !== COMMA && next !== CLOSE_BRACKET && next !== CLOSE_BRACE) giveUp();
      return node;
    }
    return flowPlain();
  };

  /** After an item of a flow collection: whether another follows (after its comma), or the collection closes. */
  const flowNext = (close: number): boolean => {
    skipSpaces();
    const code = at(pos);
    if (code === close) {
      pos += 1;
      return false;
    }
    if (code !== COMMA) giveUp();
    pos += 1;
    skipSpaces();
    const next = at(pos);
    if (next === close || next === COMMA) giveUp();
    return true;
  };

  const flowSeq = (depth: number): SourceNode => {
    const node = { kind: "seq" as const, line, items: [] as SourceNode[] };
    weight += 1;
    pos += 1;
    skipSpaces();
    if (at(pos) === CLOSE_BRACKET) {
      pos += 1;
      return node;
    }
    do node.items.push(flowValue(depth + 1));
    while (flowNext(CLOSE_BRACKET));
    return node;
  };

  const flowMap = (depth: number): SourceNode => {
    const node = { kind: "map" as const, line, entries: [] as SourceEntry[] };
    weight += 1;
    pos += 1;
    skipSpaces();
    if (at(pos) === CLOSE_BRACE) {
      pos += 1;
      return node;
    }
    do {
      const length = keyLength(pos);
      // In a flow mapping the key's colon must be followed by a space and a value on the same line.
      if (length === 0 || at(pos + length + 1) !== SPACE) giveUp();
      const key = text.slice(pos, pos + length);
      addKey(node.entries, key);
      const keyLine = line;
      pos += length + 1;
      skipSpaces();
      if (at(pos) === LF || at(pos) === -1) giveUp();
      node.entries.push({ key, keyLine, value: flowValue(depth + 1) });
    } while (flowNext(CLOSE_BRACE));
    return node;
  };

  /** Counts a key, and gives up on a duplicate (the full reader reports it). */
  const addKey = (entries: readonly SourceEntry[], key: string): void => {
    for (const entry of entries) if (entry.key === key) giveUp();
    weight += 1 + key.length;
  };

  /** A value on the line of its key or dash: a flow collection or a scalar, then the end of the line. */
  const inlineValue = (depth: number): SourceNode => {
    checkDepth(depth);
    const code = at(pos);
    let node: SourceNode;
    if (code === OPEN_BRACKET) node = flowSeq(depth);
    else if (code === OPEN_BRACE) node = flowMap(depth);
    else if (code === QUOTE || code === DOUBLE_QUOTE) node = quoted();
    else node = blockPlain();
    endOfLine();
    return node;
  };

  /** A block mapping whose first key is at `pos`, at `column`. Returns the column of the next content line. */
  const blockMap = (column: number, depth: number, out: { node?: SourceNode }): number => {
    checkDepth(depth);
    const node = { kind: "map" as const, line, entries: [] as SourceEntry[] };
    weight += 1;
    out.node = node;
    for (;;) {
      const length = keyLength(pos);
      if (length === 0) giveUp();
      const key = text.slice(pos, pos + length);
      addKey(node.entries, key);
      const keyLine = line;
      pos += length + 1;
      const before = pos;
      skipSpaces();
      const code = at(pos);
      let value: SourceNode;
      let next: number;
      if (code === LF || code === -1 || (code === HASH && pos > before)) {
        endOfLine();
        const nested: { node?: SourceNode } = {};
        next = blockValue(column, depth + 1, nested);
        value = nested.node as SourceNode;
      } else {
        value = inlineValue(depth + 1);
        next = nextContent();
      }
      node.entries.push({ key, keyLine, value });
      if (next === column) continue;
      if (next < column) return next;
      return giveUp();
    }
  };

  /** The block value of a key at `column` that starts on the next line: a mapping or sequence. */
  const blockValue = (column: number, depth: number, out: { node?: SourceNode }): number => {
    const next = nextContent();
    if (next === column && isItem(pos)) return blockSeq(next, depth, out);
    if (next <= column) giveUp(); // an empty value
    if (isItem(pos)) return blockSeq(next, depth, out);
    if (keyLength(pos) > 0) return blockMap(next, depth, out);
    return giveUp();
  };

  /** A block sequence whose first `- ` is at `pos`, at `column`. Returns the column of the next content line. */
  const blockSeq = (column: number, depth: number, out: { node?: SourceNode }): number => {
    checkDepth(depth);
    const node = { kind: "seq" as const, line, items: [] as SourceNode[] };
    weight += 1;
    out.node = node;
    for (;;) {
      pos += 1; // the dash
      skipSpaces();
      const code = at(pos);
      if (code === LF || code === -1 || code === HASH || isItem(pos)) giveUp();
      let next: number;
      if (keyLength(pos) > 0) {
        const item: { node?: SourceNode } = {};
        next = blockMap(pos - lineStart, depth + 1, item);
        node.items.push(item.node as SourceNode);
      } else {
        node.items.push(inlineValue(depth + 1));
        next = nextContent();
      }
      if (next === column && isItem(pos)) continue;
      if (next <= column) return next;
      return giveUp();
    }
  };

  if (nextContent() !== 0 || keyLength(pos) === 0) giveUp();
  const document: { node?: SourceNode } = {};
  if (blockMap(0, 0, document) !== -1) giveUp();
  if (weight > maxExpandedBytes) giveUp();
  const root = document.node as SourceNode;
  return { documents: [{ root, line: root.line }], issues: [], expandedBytes: weight };
}
