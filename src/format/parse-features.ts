import { Buffer } from "node:buffer";
import type { ValidationIssue } from "../domain/errors.js";
import type { FeaturesDocument, ParsedFile } from "./features-document.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "./limits.js";
import { readDocument } from "./read-document.js";
import { readJsonSource } from "./read-json-source.js";
import { readYamlSource } from "./read-yaml-source.js";
import type { SourceDocument, SourceNode } from "./source-node.js";

/** How a features file is decoded, from its name: `.yaml`/`.yml` as YAML, `.json` or no extension as JSON. */
export function featuresFileSyntax(file: string): "yaml" | "json" | undefined {
  const name = file.slice(file.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  const extension = dot <= 0 ? "" : name.slice(dot);
  if (extension === ".yaml" || extension === ".yml") return "yaml";
  if (extension === ".json" || extension === "") return "json";
  return undefined;
}

/**
 * Parses and validates one features file. YAML files may hold several `---`-separated documents; JSON files
 * several concatenated JSON values, read as a stream the same way. Each document is validated on its own against
 * Flipt's schema at its own version; every issue carries the file, the 1-based line and a path such as
 * `flags[0].rules[1].distributions[0].rollout`. Only documents without issues are returned. Empty documents (a
 * trailing `---`, only comments) are skipped. `limits` are the environment's; the defaults suit a caller with no
 * config.
 */
export function parseFeatures(
  text: string,
  file: string,
  limits: FeaturesLimits = DEFAULT_FEATURES_LIMITS,
): ParsedFile {
  return parseText(text, file, limits, () => text);
}

/**
 * `parseFeatures`, with `reread` giving the same text again when a document's lines are asked for (see
 * `LazyLines`): the file's bytes decoded again, say, rather than the text kept for as long as the documents.
 */
function parseText(text: string, file: string, limits: FeaturesLimits, reread: () => string): ParsedFile {
  const syntax = featuresFileSyntax(file);
  if (syntax === undefined) {
    const name = file.slice(file.lastIndexOf("/") + 1);
    const extension = name.slice(name.lastIndexOf("."));
    return {
      documents: [],
      issues: [{ path: "", message: `unexpected extension: "${extension}"`, file, line: 1 }],
      expandedBytes: 0,
    };
  }
  // A string's UTF-8 size is at least its length: only a long one needs counting.
  const { maxFileBytes } = limits;
  if (
    text.length > maxFileBytes ||
    (text.length * 3 > maxFileBytes && Buffer.byteLength(text) > maxFileBytes)
  ) {
    return tooLarge(file, limits);
  }
  const body = withoutBom(text);
  if (body.trim() === "") return empty(file);
  const source = readSource(syntax, body, file, limits);
  const documents: FeaturesDocument[] = [];
  const issues: ValidationIssue[] = [...source.issues];
  for (const [index, { root }] of source.documents.entries()) {
    if (root === undefined) continue;
    // The same text read again gives the same tree: the document's lines are made from it only if asked for.
    const again = () =>
      readSource(syntax, withoutBom(reread()), file, limits).documents[index]?.root as SourceNode;
    const read = readDocument(root, file, again);
    issues.push(...read.issues);
    if (read.document !== undefined) documents.push(read.document);
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { documents, issues, expandedBytes: source.expandedBytes };
}

function withoutBom(text: string): string {
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

function readSource(
  syntax: "yaml" | "json",
  body: string,
  file: string,
  limits: FeaturesLimits,
): {
  readonly documents: readonly SourceDocument[];
  readonly issues: ValidationIssue[];
  expandedBytes: number;
} {
  return syntax === "yaml"
    ? readYamlSource(body, file, limits)
    : { ...readJsonSource(body, file), expandedBytes: body.length };
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** `parseFeatures` of a file's bytes: a file that is not UTF-8 is one issue, at line 1. */
export function parseFeaturesBytes(
  bytes: Uint8Array,
  file: string,
  limits: FeaturesLimits = DEFAULT_FEATURES_LIMITS,
): ParsedFile {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    return {
      documents: [],
      issues: [{ path: "", message: "the file is not valid UTF-8", file, line: 1 }],
      expandedBytes: 0,
    };
  }
  // The bytes, which the storage keeps anyway, are decoded again for the lines, rather than the text kept.
  return parseText(text, file, limits, () => STRICT_UTF8.decode(bytes));
}

/**
 * The issue for a file with nothing in it but white space. Flipt skips such a file, so a features file truncated
 * by a failed copy or a bad merge would make its flags vanish without a word; Pennant refuses it, and the last
 * good state keeps serving. A file with only comments, or only `---`, is someone's deliberate placeholder and
 * stays valid.
 */
function empty(file: string): ParsedFile {
  const message =
    "the file is empty: a features file holds at least a namespace or a comment (was it truncated?); delete it, or write `# empty` in it to keep it";
  return { documents: [], issues: [{ path: "", message, file, line: 1 }], expandedBytes: 0 };
}

/** The issue for a file over `FeaturesLimits.maxFileBytes`. */
export function tooLarge(file: string, limits: FeaturesLimits): ParsedFile {
  const bytes = limits.maxFileBytes;
  const limit = bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`;
  const message = `the file is larger than the ${limit} limit for a features file (limits.max_features_file_bytes)`;
  return { documents: [], issues: [{ path: "", message, file, line: 1 }], expandedBytes: 0 };
}
