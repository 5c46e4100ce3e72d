import {
  EVENT_ID,
  type Event,
  getScalarValue,
  parseEvents,
  SCALAR_STYLE,
  type ScalarEvent,
  YAMLException,
} from "js-yaml";
import type { ValidationIssue } from "../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits, MAX_NESTING_DEPTH } from "./limits.js";
import { indexPath, keyPath } from "./paths.js";
import { quoteValue } from "./quote-value.js";
import { readPlainYaml } from "./read-plain-yaml.js";
import { resolvePlainScalar } from "./resolve-plain-scalar.js";
import type { ScalarValue, SourceDocument, SourceEntry, SourceNode } from "./source-node.js";

/** The documents of a file that could be read, and what was wrong with the others. */
export interface SourceReadResult {
  readonly documents: SourceDocument[];
  readonly issues: ValidationIssue[];
}

/** A YAML file's documents, with what they weigh once aliases are expanded (`FeaturesLimits.maxExpandedBytes`). */
export interface YamlReadResult extends SourceReadResult {
  readonly expandedBytes: number;
}

const CORE_TAG = "tag:yaml.org,2002:";
const MERGE_KEY = "<<";

/** Thrown inside one document's conversion to abandon it after an issue that makes the rest meaningless. */
const ABANDON = Symbol("abandon document");

/** A node as the event stream describes it, before aliases and merge keys are expanded. */
type RawNode =
  | { readonly kind: "scalar"; readonly event: ScalarEvent; readonly anchor: string | undefined }
  | {
      readonly kind: "map" | "seq";
      readonly start: number;
      readonly tag: string | undefined;
      readonly anchor: string | undefined;
      readonly children: RawNode[];
    }
  | { readonly kind: "alias"; readonly start: number; readonly name: string };

/**
 * Reads a YAML stream (one or more `---`-separated documents) into source trees with exact lines. It works on
 * js-yaml's event stream, which carries offsets, scalar styles, anchors and aliases, so every node keeps its line
 * and plain scalars can be typed the way Go's yaml.v3 types them. Aliases and `<<` merge keys are expanded
 * within a budget (`FeaturesLimits.maxAliasNodes`); a syntax error is reported with its line, and a document with an
 * unsupported tag or too many aliases is reported and left out. The defaults of `limits` suit a caller with no
 * config. A plain file is read by `readPlainYaml` first, to the same result; `plain: false` reads every file the
 * long way (for tests that compare the two).
 */
export function readYamlSource(
  text: string,
  file: string,
  limits: FeaturesLimits = DEFAULT_FEATURES_LIMITS,
  options: { readonly plain?: boolean } = {},
): YamlReadResult {
  // Most files are plain block YAML, read several times faster without js-yaml's event stream, to the same result.
  if (options.plain !== false) {
    const plain = readPlainYaml(text, limits);
    if (plain !== undefined) return plain;
  }
  const lines = createLineIndex(text);
  const documents: SourceDocument[] = [];
  const issues: ValidationIssue[] = [];
  const weight = { bytes: 0 };
  for (const chunk of parseChunks(text, file, lines, issues)) {
    for (const raw of splitDocuments(chunk.text, chunk.events)) {
      if (raw === undefined) continue;
      const lineOf = (offset: number) => lines(offset + chunk.offset);
      if (isEmptyScalar(raw)) {
        documents.push({ root: undefined, line: lineOf(startOf(raw)) });
        continue;
      }
      const converter = createConverter(chunk.text, file, lineOf, weight, limits);
      try {
        const root = converter.convert(raw, "", 0);
        documents.push({ root, line: root.line });
      } catch (error) {
        if (error !== ABANDON) throw error;
      }
      issues.push(...converter.issues);
    }
  }
  return { documents, issues, expandedBytes: weight.bytes };
}

/** A stretch of the file parsed on its own: the whole file, or one document of it after a syntax error. */
interface Chunk {
  readonly text: string;
  readonly offset: number;
  readonly events: readonly Event[];
}

/**
 * Parses the whole stream at once. A syntax error stops a stream parser, so the file is then split at its
 * `---` markers and each document is parsed alone: the good ones are still read and every bad one reported.
 */
function parseChunks(
  text: string,
  file: string,
  lines: (offset: number) => number,
  issues: ValidationIssue[],
): Chunk[] {
  const whole = tryParse(text, 0, file, lines, undefined);
  if (whole !== undefined) return [whole];
  const chunks: Chunk[] = [];
  const markers = [...text.matchAll(/^---(?=[ \t\r\n]|$)/gm)].map((match) => match.index);
  const starts = markers[0] === 0 ? markers : [0, ...markers];
  for (const [index, start] of starts.entries()) {
    const end = starts[index + 1] ?? text.length;
    const chunk = tryParse(text.slice(start, end), start, file, lines, issues);
    if (chunk !== undefined) chunks.push(chunk);
  }
  return chunks;
}

/** Parses one stretch; on a syntax error, reports it to `issues` (when given) and returns undefined. */
function tryParse(
  text: string,
  offset: number,
  file: string,
  lines: (offset: number) => number,
  issues: ValidationIssue[] | undefined,
): Chunk | undefined {
  try {
    return { text, offset, events: parseEvents(text, { filename: file, maxDepth: MAX_NESTING_DEPTH }) };
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    const { mark, reason } = error as YAMLException & { mark?: { position?: number }; reason?: string };
    const message = /maxDepth/.test(reason ?? "")
      ? `nesting is deeper than ${MAX_NESTING_DEPTH} levels`
      : `invalid YAML: ${reason ?? error.message}`;
    issues?.push({
      path: "",
      message,
      file,
      line: lines(offset + Math.min(mark?.position ?? 0, text.length)),
    });
    return undefined;
  }
}

/** Builds each document's raw tree from the flat event list. */
function splitDocuments(text: string, events: readonly Event[]): (RawNode | undefined)[] {
  const roots: (RawNode | undefined)[] = [];
  const stack: Extract<RawNode, { children: RawNode[] }>[] = [];
  let inDocument = false;
  let root: RawNode | undefined;
  const add = (node: RawNode) => {
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = node;
    else parent.children.push(node);
  };
  const anchorOf = (start: number, end: number) => (start < 0 ? undefined : text.slice(start, end));
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        inDocument = true;
        root = undefined;
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const node = {
          kind: event.type === EVENT_ID.MAPPING ? ("map" as const) : ("seq" as const),
          start: event.start,
          tag: event.tagStart < 0 ? undefined : text.slice(event.tagStart, event.tagEnd),
          anchor: anchorOf(event.anchorStart, event.anchorEnd),
          children: [] as RawNode[],
        };
        add(node);
        stack.push(node);
        break;
      }
      case EVENT_ID.SCALAR:
        add({ kind: "scalar", event, anchor: anchorOf(event.anchorStart, event.anchorEnd) });
        break;
      case EVENT_ID.ALIAS:
        add({
          kind: "alias",
          start: event.anchorStart - 1,
          name: text.slice(event.anchorStart, event.anchorEnd),
        });
        break;
      case EVENT_ID.POP:
        if (stack.length > 0) {
          stack.pop();
        } else if (inDocument) {
          roots.push(root);
          inDocument = false;
        }
        break;
    }
  }
  if (inDocument) roots.push(root);
  return roots;
}

function startOf(node: RawNode): number {
  return node.kind === "scalar" ? node.event.valueStart : node.start;
}

function isEmptyScalar(node: RawNode): boolean {
  return (
    node.kind === "scalar" &&
    node.event.style === SCALAR_STYLE.PLAIN &&
    node.event.tagStart < 0 &&
    node.event.valueStart === node.event.valueEnd
  );
}

/** Maps an offset to its 1-based line, by binary search over the offsets where lines start. */
function createLineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1))
    starts.push(index + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((starts[middle] as number) <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
}

/**
 * Converts raw nodes to source nodes, expanding aliases within the alias-node budget and adding what each node
 * weighs to `weight` (shared by a file's documents), within `FeaturesLimits.maxExpandedBytes`.
 */
function createConverter(
  text: string,
  file: string,
  lineAt: (offset: number) => number,
  weight: { bytes: number },
  { maxAliasNodes, maxExpandedBytes }: FeaturesLimits,
) {
  const issues: ValidationIssue[] = [];
  const anchors = new Map<string, RawNode>();
  let expanded = 0;
  let aliasDepth = 0;

  /** The outermost alias being expanded: where a problem inside the expansion is reported. */
  let expanding: RawNode | undefined;

  /** Counts a node (one byte) and its text; a file past the limit is abandoned there. */
  function weigh(path: string, node: RawNode, characters: number): void {
    weight.bytes += 1 + characters;
    if (weight.bytes > maxExpandedBytes) {
      abandon(
        path,
        expanding ?? node,
        `the file holds more than ${maxExpandedBytes} bytes once its YAML aliases are expanded (limits.max_features_expanded_bytes)`,
      );
    }
  }
  const inExpansion = new Set<RawNode>();

  const lineOf = (node: RawNode): number => lineAt(Math.max(0, startOf(node)));

  function abandon(path: string, node: RawNode, message: string): never {
    issues.push({ path, message, file, line: lineOf(node) });
    throw ABANDON;
  }

  function convert(node: RawNode, path: string, depth: number): SourceNode {
    if (depth > MAX_NESTING_DEPTH) {
      abandon(path, node, `nesting is deeper than ${MAX_NESTING_DEPTH} levels`);
    }
    if (aliasDepth > 0) {
      expanded += 1;
      if (expanded > maxAliasNodes) {
        abandon(
          path,
          node,
          `YAML aliases expand to more than ${maxAliasNodes} nodes (limits.max_yaml_alias_nodes); the document looks like an alias bomb`,
        );
      }
    }
    if (node.kind !== "alias" && node.anchor !== undefined) anchors.set(node.anchor, node);
    switch (node.kind) {
      case "alias":
        return convertAlias(node, path, depth);
      case "scalar": {
        const value = scalarValue(node, path);
        weigh(path, node, value.type === "string" ? value.value.length : 8);
        return { kind: "scalar", line: lineOf(node), value };
      }
      case "seq":
        weigh(path, node, 0);
        checkCollectionTag(node, path, "seq");
        return {
          kind: "seq",
          line: lineOf(node),
          items: node.children.map((item, index) => convert(item, indexPath(path, index), depth + 1)),
        };
      case "map":
        weigh(path, node, 0);
        checkCollectionTag(node, path, "map");
        return convertMap(node, path, depth);
    }
  }

  function checkCollectionTag(
    node: Extract<RawNode, { tag: string | undefined }>,
    path: string,
    kind: string,
  ): void {
    if (node.tag === undefined) return;
    if (resolveTag(node.tag) !== `${CORE_TAG}${kind}`)
      abandon(path, node, `unsupported YAML tag ${quoteValue(node.tag, { quotes: false })}`);
  }

  function convertAlias(node: Extract<RawNode, { kind: "alias" }>, path: string, depth: number): SourceNode {
    const target = anchors.get(node.name);
    if (target === undefined)
      abandon(path, node, `alias *${quoteValue(node.name, { quotes: false })} has no anchor`);
    if (inExpansion.has(target))
      abandon(
        path,
        node,
        `alias *${quoteValue(node.name, { quotes: false })} refers to a node that contains it`,
      );
    inExpansion.add(target);
    aliasDepth += 1;
    expanding ??= node;
    try {
      return convert(target, path, depth);
    } finally {
      aliasDepth -= 1;
      inExpansion.delete(target);
      if (expanding === node) expanding = undefined;
    }
  }

  function convertMap(
    node: Extract<RawNode, { children: RawNode[] }>,
    path: string,
    depth: number,
  ): SourceNode {
    const entries: SourceEntry[] = [];
    const merges: SourceNode[] = [];
    const seen = new Set<string>();
    for (let index = 0; index < node.children.length; index += 2) {
      const keyNode = node.children[index] as RawNode;
      const valueNode = node.children[index + 1];
      const key = keyText(keyNode, path);
      weigh(path, keyNode, key.length);
      const keyLine = lineOf(keyNode);
      if (key === MERGE_KEY && keyNode.kind === "scalar" && keyNode.event.style === SCALAR_STYLE.PLAIN) {
        if (valueNode !== undefined) merges.push(convert(valueNode, keyPath(path, MERGE_KEY), depth + 1));
        continue;
      }
      if (seen.has(key))
        abandon(
          keyPath(path, quoteValue(key, { quotes: false })),
          keyNode,
          `duplicate key ${quoteValue(key)}`,
        );
      seen.add(key);
      const value: SourceNode =
        valueNode === undefined
          ? { kind: "scalar", line: keyLine, value: { type: "null" } }
          : convert(valueNode, keyPath(path, key), depth + 1);
      entries.push({ key, keyLine, value });
    }
    for (const source of merges) mergeInto(entries, source, path, node);
    return { kind: "map", line: lineOf(node), entries };
  }

  /** YAML merge keys: explicit keys win, then earlier merge sources over later ones. */
  function mergeInto(entries: SourceEntry[], source: SourceNode, path: string, node: RawNode): void {
    const sources = source.kind === "seq" ? source.items : [source];
    for (const item of sources) {
      if (item.kind !== "map") {
        abandon(keyPath(path, MERGE_KEY), node, "a << merge key needs a mapping or a list of mappings");
      }
      for (const entry of item.entries) {
        if (!entries.some((existing) => existing.key === entry.key)) entries.push(entry);
      }
    }
  }

  function keyText(node: RawNode, path: string): string {
    const target = node.kind === "alias" ? anchors.get(node.name) : node;
    if (target === undefined || target.kind !== "scalar") {
      return abandon(path, node, "mapping keys must be plain values such as strings");
    }
    return getScalarValue(text, target.event);
  }

  function scalarValue(node: Extract<RawNode, { kind: "scalar" }>, path: string): ScalarValue {
    const { event } = node;
    const source = getScalarValue(text, event);
    if (event.tagStart < 0) {
      if (event.style === SCALAR_STYLE.PLAIN) return resolvePlainScalar(source);
      return { type: "string", value: source, plain: false };
    }
    const tag = resolveTag(text.slice(event.tagStart, event.tagEnd));
    if (tag === "!") return { type: "string", value: source, plain: false };
    if (!tag.startsWith(CORE_TAG))
      abandon(path, node, `unsupported YAML tag ${quoteValue(tag, { quotes: false })}`);
    const resolved = resolvePlainScalar(source);
    switch (tag.slice(CORE_TAG.length)) {
      case "str":
        return { type: "string", value: source, plain: false };
      case "null":
        if (resolved.type === "null") return resolved;
        break;
      case "bool":
        if (resolved.type === "bool") return resolved;
        break;
      case "int":
        if (resolved.type === "int") return resolved;
        break;
      case "float":
        if (resolved.type === "float") return resolved;
        if (resolved.type === "int") return { type: "float", value: Number(resolved.value) };
        break;
    }
    return abandon(path, node, `${quoteValue(source)} is not a valid ${tag}`);
  }

  return { convert, issues };
}

/** Expands the `!!` shorthand and verbatim `!<...>` tags; other tags are returned as written. */
function resolveTag(tag: string): string {
  if (tag.startsWith("!!")) return `${CORE_TAG}${tag.slice(2)}`;
  if (tag.startsWith("!<") && tag.endsWith(">")) return tag.slice(2, -1);
  return tag;
}
