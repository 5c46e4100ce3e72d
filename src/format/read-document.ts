import type { ValidationIssue } from "../domain/errors.js";
import { DEFAULT_NAMESPACE, KEY_PATTERN, type Namespace } from "../domain/flag-state.js";
import { formatGoFloatFixed } from "../go/format-go-float.js";
import {
  type FeaturesDocument,
  type FeaturesVersion,
  isFeaturesVersion,
  LATEST_FEATURES_VERSION,
  type NamespaceForm,
} from "./features-document.js";
import {
  checkString,
  definedOnly,
  type Fields,
  field,
  type ReadContext,
  readDescription,
  readFields,
  readList,
  readString,
  report,
} from "./field-reader.js";
import { LazyLines } from "./lazy-lines.js";
import { indexPath, keyPath } from "./paths.js";
import { quoteValue } from "./quote-value.js";
import { readFlag } from "./read-flag.js";
import { readSegment } from "./read-segment.js";
import { describeNode, type SourceNode } from "./source-node.js";

const ROOT_KEYS = ["version", "namespace", "flags", "segments"];
const NAMESPACE_KEYS = ["key", "name", "description"];

/**
 * Validates one document against Flipt's schema (closed objects, required fields, key patterns, enums, version
 * gating, ranges) and decodes it. Every problem is reported; the document is returned only when there are none.
 * With `reread` (which gives the same tree again), the document's `lines` are made from it when first read rather
 * than now (see `LazyLines`).
 */
export function readDocument(
  root: SourceNode,
  file: string,
  reread?: () => SourceNode,
): { readonly document: FeaturesDocument | undefined; readonly issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const probe: ReadContext = { file, version: LATEST_FEATURES_VERSION, issues };
  const fields = readFields(probe, root, "", "a features document", ROOT_KEYS);
  if (fields === undefined) return { document: undefined, issues };
  const { version, declared } = readVersion(probe, fields);
  const ctx: ReadContext = { file, version, issues };
  const { namespace, form } = readNamespace(ctx, fields);
  const flags = readList(ctx, fields, "flags", (node, path) => readFlag(ctx, node, path));
  const segments = readList(ctx, fields, "segments", (node, path) => readSegment(ctx, node, path));
  if (issues.length > 0 || namespace === undefined) return { document: undefined, issues };
  const document: FeaturesDocument = {
    version,
    versionDeclared: declared,
    namespace,
    namespaceForm: form,
    flags,
    segments,
    line: root.line,
    lines: reread === undefined ? collectLines(root) : new LazyLines(() => collectLines(reread())),
  };
  return { document, issues };
}

function readVersion(ctx: ReadContext, fields: Fields): { version: FeaturesVersion; declared: boolean } {
  const node = field(fields, "version");
  if (node === undefined) return { version: LATEST_FEATURES_VERSION, declared: false };
  if (node.kind === "scalar" && node.value.type === "string") {
    if (isFeaturesVersion(node.value.value)) return { version: node.value.value, declared: true };
    report(
      ctx,
      "version",
      node.line,
      `unsupported version ${quoteValue(node.value.value)} (supported: "1.0" to "${LATEST_FEATURES_VERSION}")`,
    );
    return { version: LATEST_FEATURES_VERSION, declared: true };
  }
  if (node.kind === "scalar" && (node.value.type === "float" || node.value.type === "int")) {
    // Flipt's schema types version as a string, so an unquoted `version: 1.6` (a YAML number) is rejected there.
    const text = formatGoFloatFixed(Number(node.value.value));
    const candidate = text.includes(".") ? text : `${text}.0`;
    if (isFeaturesVersion(candidate)) {
      report(ctx, "version", node.line, `version must be a quoted string: write version: "${candidate}"`);
      return { version: candidate, declared: true };
    }
  }
  report(
    ctx,
    "version",
    node.line,
    `version must be a quoted string such as "1.6", got ${describeNode(node)}`,
  );
  return { version: LATEST_FEATURES_VERSION, declared: true };
}

function readNamespace(
  ctx: ReadContext,
  fields: Fields,
): { namespace: Namespace | undefined; form: NamespaceForm } {
  const node = field(fields, "namespace");
  if (node === undefined) return { namespace: { key: DEFAULT_NAMESPACE }, form: "absent" };
  if (node.kind === "map") {
    const object = readFields(ctx, node, "namespace", "a namespace", NAMESPACE_KEYS);
    if (object === undefined) return { namespace: undefined, form: "object" };
    const key = readString(ctx, object, "key", { pattern: KEY_PATTERN });
    const name = readString(ctx, object, "name", { nonEmpty: true });
    const description = readDescription(ctx, object);
    const namespace = definedOnly({ key: key ?? DEFAULT_NAMESPACE, name, description });
    return { namespace, form: "object" };
  }
  if (node.kind === "scalar" && node.value.type === "string") {
    const key = checkString(ctx, node, "namespace", "namespace", { pattern: KEY_PATTERN });
    return { namespace: key === undefined ? undefined : { key }, form: "string" };
  }
  report(
    ctx,
    "namespace",
    node.line,
    `namespace must be a key or a mapping {key, name, description}, got ${describeNode(node)}`,
  );
  return { namespace: undefined, form: "string" };
}

/**
 * Where each node that can hold a reference stands, by path: flags, their rules and rollouts, segment keys and
 * distribution variants. References are checked after parsing (they span documents), and these lines let those
 * errors point at the reference. Only these paths are kept, since a line for every node would cost more memory
 * than the flags themselves.
 */
const REFERENCE_CHILDREN: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["document", new Set(["flags"])],
  ["flag", new Set(["rules", "rollouts"])],
  ["rule", new Set(["segment", "distributions"])],
  ["segment", new Set(["keys", "key"])],
  ["distribution", new Set(["variant"])],
]);
const CHILD_KIND: Readonly<Record<string, string>> = {
  flags: "flag",
  rules: "rule",
  rollouts: "rule",
  segment: "segment",
  distributions: "distribution",
};

function collectLines(root: SourceNode): Map<string, number> {
  const lines = new Map<string, number>();
  const visit = (node: SourceNode, path: string, line: number, kind: string | undefined): void => {
    lines.set(path, line);
    if (node.kind === "map") {
      const allowed = kind === undefined ? undefined : REFERENCE_CHILDREN.get(kind);
      for (const entry of node.entries) {
        if (allowed?.has(entry.key))
          visit(entry.value, keyPath(path, entry.key), entry.keyLine, CHILD_KIND[entry.key]);
      }
    } else if (node.kind === "seq") {
      node.items.forEach((item, index) => {
        visit(item, indexPath(path, index), item.line, kind);
      });
    }
  };
  visit(root, "", root.line, "document");
  return lines;
}
