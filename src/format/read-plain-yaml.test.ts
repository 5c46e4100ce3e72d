import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_FEATURES_LIMITS } from "./limits.js";
import { readPlainYaml } from "./read-plain-yaml.js";
import { readYamlSource } from "./read-yaml-source.js";

/** What the full reader makes of `text`, js-yaml's event stream and all (the plain path is tried first). */
function fullRead(text: string) {
  return readYamlSource(text, "flags.features.yaml", DEFAULT_FEATURES_LIMITS, { plain: false });
}

/** Every text the plain reader reads must read the same with the full reader: same tree, lines, types, weight. */
function checkSame(text: string): boolean {
  const plain = readPlainYaml(text, DEFAULT_FEATURES_LIMITS);
  if (plain === undefined) return false;
  assert.deepStrictEqual(plain, fullRead(text), `read differently:\n${text}`);
  return true;
}

/** A small deterministic random source (xorshift32). */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

const KEYS = [
  "key",
  "name",
  "a",
  "on",
  "yes",
  "0",
  "10",
  "a.b",
  "a-b",
  "x/y",
  "_k",
  "true",
  "null",
  "k9",
  "-",
];
const PLAIN = [
  "flag-1",
  "Flag 1",
  "true",
  "False",
  "null",
  "~",
  "1_000",
  "0x1F",
  "010",
  "09",
  "1e3",
  "1e400",
  ".inf",
  "-.inf",
  ".nan",
  "+1",
  "-5",
  "-foo",
  "0o17",
  "0b101",
  "3.",
  ".5",
  "1.5e-3",
  "9223372036854775808",
  "2024-01-01",
  "2024-01-01T00:00:00Z",
  "12:30",
  "a:b",
  "a#b",
  "a b  c",
  "x'y",
  'x"y',
  "a,b",
  "a]b",
  "a}b",
  "a[b",
  "yes",
  "Off",
  "-",
  "- x",
  "? x",
  ": x",
  "@x",
  "%x",
  "`x",
  "!x",
  "&x",
  "*x",
  "|",
  ">",
  "x:",
  "x: y",
  "#x",
  "a #b",
  "a\\b",
  "-.5",
  "-x: y",
];
const QUOTED = [
  "'a'",
  "''",
  "'it''s'",
  "'a: b'",
  "'#x'",
  '"a"',
  '""',
  '"a: b"',
  '"a\\nb"',
  "'1'",
  '"true"',
  "'a\"b'",
  "'unterminated",
  '"a',
];

function generate(next: (below: number) => number): string {
  const lines: string[] = [];
  const pad = (column: number) => " ".repeat(column);
  const pick = <T>(items: readonly T[]): T => items[next(items.length)] as T;
  const comment = () => (next(6) === 0 ? pick([" # note", " #", "  # x: y", "#not"]) : "");
  const trailing = () => (next(8) === 0 ? "  " : "");
  const flow = (depth: number): string => {
    const kind = next(depth > 2 ? 2 : 4);
    if (kind === 0) return pick(PLAIN.filter((value) => !/[,[\]{}]/.test(value)));
    if (kind === 1) return pick(QUOTED);
    const count = next(4);
    const items = Array.from({ length: count }, () =>
      kind === 2 ? flow(depth + 1) : `${pick(KEYS)}:${pick([" ", "  ", ""])}${flow(depth + 1)}`,
    );
    const joined = items.join(pick([", ", ",", " , "]));
    const extra = next(10) === 0 ? "," : "";
    return kind === 2 ? `[${pick(["", " "])}${joined}${extra}]` : `{${joined}${extra}${pick(["", " "])}}`;
  };
  const inline = (depth: number): string => {
    const kind = next(5);
    if (kind === 0 || kind === 1) return pick(PLAIN);
    if (kind === 2) return pick(QUOTED);
    return flow(depth);
  };
  const block = (column: number, depth: number, style: "map" | "seq"): void => {
    const count = 1 + next(4);
    const used = new Set<string>();
    for (let index = 0; index < count; index++) {
      if (next(8) === 0) lines.push(pick(["", pad(next(6)), `${pad(next(6))}# comment`]));
      if (style === "map") {
        let key = pick(KEYS);
        if (used.has(key) && next(10) !== 0) key = `${key}${index}`;
        used.add(key);
        const nested = depth < 4 && next(3) === 0;
        if (nested) {
          lines.push(`${pad(column)}${key}:${comment()}${trailing()}`);
          const seq = next(2) === 0;
          const inner = seq && next(2) === 0 ? column : column + 1 + next(3);
          block(inner, depth + 1, seq ? "seq" : "map");
        } else if (next(20) === 0) {
          lines.push(`${pad(column)}${key}:`);
        } else {
          lines.push(`${pad(column)}${key}:${pick([" ", "  "])}${inline(depth)}${comment()}${trailing()}`);
        }
      } else {
        const gap = pick([" ", " ", "   "]);
        if (depth < 4 && next(2) === 0) {
          const inner = column + 1 + gap.length;
          const start = lines.length;
          block(inner, depth + 1, "map");
          const first = lines[start] as string;
          lines[start] = `${pad(column)}-${gap}${first.slice(inner)}`;
        } else {
          lines.push(`${pad(column)}-${gap}${inline(depth)}${comment()}`);
        }
      }
    }
  };
  if (next(10) === 0) lines.push("# leading comment");
  block(0, 0, "map");
  if (next(10) === 0) lines.push(pick(["---", "...", "  continued", "- x", "\tkey: v", "% x"]));
  return `${lines.join("\n")}${next(5) === 0 ? "" : "\n"}`;
}

/** A change of one character, to find texts the plain reader accepts and the full one reads otherwise. */
function mutate(text: string, next: (below: number) => number): string {
  const at = next(text.length + 1);
  const characters = [
    " ",
    ":",
    "-",
    "#",
    "'",
    '"',
    ",",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "a",
    "0",
    "&",
    "*",
    "!",
    "|",
  ];
  const kind = next(3);
  const character = characters[next(characters.length)] as string;
  if (kind === 0) return text.slice(0, at) + character + text.slice(at);
  if (kind === 1) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + character + text.slice(at + 1);
}

describe("readPlainYaml", () => {
  it("reads what it reads exactly as the full reader does, on generated files and one-character changes", () => {
    const next = random(20261206);
    let read = 0;
    let mutatedRead = 0;
    for (let round = 0; round < 3000; round++) {
      const text = generate(next);
      if (checkSame(text)) read += 1;
      for (let change = 0; change < 3; change++) if (checkSame(mutate(text, next))) mutatedRead += 1;
    }
    // The generator's files are mostly plain: most must have been read here, so the comparison means something.
    assert.ok(read > 500, `only ${read} generated files were read`);
    assert.ok(mutatedRead > 500, `only ${mutatedRead} changed files were read`);
  });

  it("reads the repository's YAML features files as the full reader does", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const files: string[] = [];
    const walk = (directory: string) => {
      for (const name of readdirSync(directory)) {
        if (name === "node_modules" || name.startsWith(".")) continue;
        const path = join(directory, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(name)) files.push(path);
      }
    };
    walk(join(root, "test"));
    walk(join(root, "src"));
    let read = 0;
    for (const file of files) if (checkSame(readFileSync(file, "utf8").replace(/^\uFEFF/, ""))) read += 1;
    assert.ok(read > 0);
  });

  it("gives up on what only the full reader handles", () => {
    const cases = [
      "a: &x 1\nb: *x\n",
      "a: !!str 1\n",
      "a: |\n  text\n",
      "a: >\n  text\n",
      "a: b\n  c\n",
      "a:\nb: 1\n",
      "a: 1\na: 2\n",
      "---\na: 1\n",
      "a: 1\n---\nb: 2\n",
      "a:\n\tb: 1\n",
      "a: 'x\n  y'\n",
      'a: "x\\ty"\n',
      "a: [1,\n  2]\n",
      "a: [1, 2,]\n",
      "? a\n: 1\n",
      "<<: {a: 1}\n",
      "a: é\n",
      "a: 1\r\n",
      "- a\n",
      "a: b: c\n",
      "",
      "# only a comment\n",
    ];
    for (const text of cases) assert.equal(readPlainYaml(text, DEFAULT_FEATURES_LIMITS), undefined, text);
  });

  it("reads a features file with its lines and weight", () => {
    const text = [
      'version: "1.6"',
      "namespace: production # the namespace",
      "flags:",
      "  - key: new-checkout",
      "    enabled: true",
      "    variants:",
      "      - {key: blue, attachment: {size: 10}}",
      "    rules:",
      "    - segment: {keys: [beta, 'internal'], operator: AND_SEGMENT_OPERATOR}",
      "",
    ].join("\n");
    assert.ok(checkSame(text));
    const read = readPlainYaml(text, DEFAULT_FEATURES_LIMITS);
    const flags = read?.documents[0].root;
    assert.equal(flags?.kind, "map");
  });
});
