import {
  AlreadyExistsError,
  NotFoundError,
  PreconditionError,
  ValidationError,
  type ValidationIssue,
} from "../domain/errors.js";
import {
  DEFAULT_NAMESPACE,
  type Flag,
  KEY_PATTERN,
  type Namespace,
  type Segment,
} from "../domain/flag-state.js";
import { checkFlagReferences, checkSegmentUnused } from "./check-references.js";
import { type FeaturesDocument, LATEST_FEATURES_VERSION } from "./features-document.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "./limits.js";
import { featuresFileSyntax, parseFeatures } from "./parse-features.js";
import { quoteValue } from "./quote-value.js";
import { serializeFeatures } from "./serialize-features.js";

/** One change made through the management API: a namespace, flag or segment created, updated or deleted. */
export type Change =
  | { readonly kind: "create-namespace" | "update-namespace"; readonly namespace: Namespace }
  | { readonly kind: "delete-namespace"; readonly key: string }
  | { readonly kind: "create-flag" | "update-flag"; readonly namespaceKey: string; readonly flag: Flag }
  | { readonly kind: "delete-flag"; readonly namespaceKey: string; readonly key: string }
  | {
      readonly kind: "create-segment" | "update-segment";
      readonly namespaceKey: string;
      readonly segment: Segment;
    }
  | { readonly kind: "delete-segment"; readonly namespaceKey: string; readonly key: string };

/** What a change does to one features file. */
export interface PlannedWrite {
  /** The file, relative to the environment directory, with `/`. */
  readonly path: string;
  /** The new content, or undefined when the file is to be deleted (or stay absent). */
  readonly text: string | undefined;
  /** Flipt's change text for the commit message: `create flag <ns>/<key>`, `delete namespace <key>`, ... */
  readonly description: string;
}

export interface ApplyChangeOptions {
  /**
   * Keys of segments of the namespace that are defined outside this file (in files the snapshot loads before it),
   * which flags may reference too.
   */
  readonly extraSegments?: ReadonlySet<string> | undefined;
  /** The environment's limits, which the file keeps to before and after the change; the defaults without a config. */
  readonly limits?: FeaturesLimits | undefined;
}

/** The file a change edits, and the limits it keeps to. */
interface TargetFile {
  readonly path: string;
  readonly limits: FeaturesLimits;
}

type Verb = "create" | "update" | "delete";
type ResourceKind = "flag" | "segment";

/** What a change is about, in the terms of its change text. */
interface Target {
  readonly verb: Verb;
  readonly type: "namespace" | ResourceKind;
  readonly namespaceKey: string;
  readonly key: string;
}

/** The type names Flipt puts in resource errors. */
const RESOURCE_TYPE_NAMES: Readonly<Record<ResourceKind, string>> = {
  flag: "flipt.core.Flag",
  segment: "flipt.core.Segment",
};

/** The document Flipt creates when a flag or segment is written to `default` and no document declares it. */
const DEFAULT_NAMESPACE_OBJECT: Namespace = { key: DEFAULT_NAMESPACE, name: "Default" };

/** Flipt's change text for one change (storage.md §3.5): `<verb> <type> [<namespace>/]<key>`. */
export function describeChange(change: Change): string {
  const { verb, type, namespaceKey, key } = targetOf(change);
  return type === "namespace" ? `${verb} namespace ${key}` : `${verb} ${type} ${namespaceKey}/${key}`;
}

/**
 * Applies one management-API change to the current text of the namespace's features file (`current` is undefined
 * when the file does not exist) and returns the file's new text, without any I/O. The semantics are Flipt's
 * (storage.md §1.9, §2.3; api.md §3.4), with its error messages:
 *
 * - Only documents whose namespace key is the target namespace are read and changed (a document without a
 *   namespace counts as `default`); the file's other documents are kept, re-encoded with the rest.
 * - A new flag or segment is appended to the first document of the namespace; an update replaces it where it
 *   stands (every copy, when a namespace repeats a key); a delete removes every copy. A flag or segment written to
 *   `default` when no document declares it creates `{version: "1.6", namespace: {key: default, name: Default}}`.
 * - Flag and segment writes re-encode every document at version "1.6" in the yaml.v3 layout. Namespace writes keep
 *   each document's version and use the yaml.v2 layout; a new namespace on a missing file is exactly Flipt's
 *   `Test_NamespaceStorage_PutNamespace` output. An update rewrites the namespace object of every matching
 *   document and keeps its flags and segments. Deleting a namespace deletes the file (text undefined), or, when the
 *   file also holds other namespaces' documents, keeps those.
 * - A delete must find what it deletes in this file. Deleting something that does not exist at all succeeds in
 *   Flipt (api.md §3.4); callers answer that without a write, from the served state, and call this only for things
 *   that exist, with the file that defines them, so a delete that finds nothing here is refused (below): what it
 *   names is defined where the API does not write, and a commit of nothing would not delete it.
 *
 * Refused with typed errors, and nothing written:
 * - a current file that does not parse and validate (ValidationError with its issues);
 * - create of an existing namespace (`create namespace "<key>"`; `default` always exists), flag or segment
 *   (`resource type "flipt.core.Flag": create resource "flipt.core.Flag/<ns>/<key>"`): AlreadyExistsError;
 * - update of a missing namespace, flag or segment, or a flag or segment written to a missing namespace other than
 *   `default`: NotFoundError (Flipt answers Internal for the latter; NotFound says what is wrong);
 * - deleting `default`: ValidationError `namespace "default" is protected`;
 * - deleting a segment that a flag of the namespace in this file still uses: PreconditionError naming every rule
 *   and rollout that uses it;
 * - deleting a namespace, flag or segment that this file does not define: PreconditionError naming it and the file;
 * - a flag whose rules or rollouts name a segment the flag cannot see (neither in its own or an earlier document
 *   of the namespace, nor in `extraSegments`), or whose distributions name a variant it does not have:
 *   ValidationError with Flipt's `flag <ns>/<key> rule <n> references unknown segment "<s>"` and a field path per
 *   reference (Flipt checks segments only, and commits a file that then fails to load on variants);
 * - invalid keys, an empty flag or segment name, and anything else that would leave the file failing schema
 *   validation: ValidationError with field paths.
 *
 * Keys and values in messages are quoted with `quoteValue`, so a huge one is quoted in part.
 */
export function applyChange(
  change: Change,
  current: string | undefined,
  path: string,
  options: ApplyChangeOptions = {},
): PlannedWrite {
  const target = targetOf(change);
  checkChange(change, target);
  if (featuresFileSyntax(path) !== "yaml") {
    throw new ValidationError(`${path}: the management API edits only features.yaml and features.yml files`, {
      issues: [{ path: "", message: "not a features.yaml or features.yml file", file: path }],
    });
  }
  const limits = options.limits ?? DEFAULT_FEATURES_LIMITS;
  const documents = current === undefined ? undefined : readCurrent(current, path, limits);
  const file = { path, limits };
  const text =
    target.type === "namespace"
      ? namespaceText(change, target, documents, file)
      : resourceText(change, target, documents, file, options.extraSegments ?? new Set());
  return { path, text, description: describeChange(change) };
}

/**
 * Checks what a change must get right on its own, before any state is read: keys that match Flipt's pattern, flag
 * and segment names that are not empty, and that `default` is not deleted. Throws the ValidationError `applyChange`
 * would; callers that answer a change without writing (a delete of something absent) run it first.
 */
export function validateChange(change: Change): void {
  checkChange(change, targetOf(change));
}

function targetOf(change: Change): Target {
  switch (change.kind) {
    case "create-namespace":
    case "update-namespace":
      return target(change.kind, change.namespace.key, change.namespace.key);
    case "delete-namespace":
      return target(change.kind, change.key, change.key);
    case "create-flag":
    case "update-flag":
      return target(change.kind, change.namespaceKey, change.flag.key);
    case "create-segment":
    case "update-segment":
      return target(change.kind, change.namespaceKey, change.segment.key);
    case "delete-flag":
    case "delete-segment":
      return target(change.kind, change.namespaceKey, change.key);
  }
}

function target(kind: Change["kind"], namespaceKey: string, key: string): Target {
  const [verb, type] = kind.split("-") as [Verb, Target["type"]];
  return { verb, type, namespaceKey, key };
}

/** Checks what the request itself must get right: keys and names. */
function checkChange(change: Change, { type, namespaceKey, key }: Target): void {
  if (change.kind === "delete-namespace" && key === DEFAULT_NAMESPACE) {
    throw new ValidationError(`namespace "${DEFAULT_NAMESPACE}" is protected`, {
      issues: [{ path: "key", message: `namespace "${DEFAULT_NAMESPACE}" is protected` }],
    });
  }
  const issues: ValidationIssue[] = [];
  const checkKey = (field: string, value: string): void => {
    if (value === "") issues.push({ path: field, message: "must not be empty" });
    else if (!KEY_PATTERN.test(value)) {
      issues.push({ path: field, message: `${quoteValue(value)} must match ${KEY_PATTERN.source}` });
    }
  };
  if (type !== "namespace") checkKey("namespaceKey", namespaceKey);
  checkKey("key", key);
  const name = "flag" in change ? change.flag.name : "segment" in change ? change.segment.name : undefined;
  if (name === "") issues.push({ path: "name", message: "must not be empty" });
  if (issues.length === 0) return;
  const messages = issues.map((issue) =>
    issue.path === "key" && issue.message === "must not be empty"
      ? "key must not be empty"
      : `invalid field ${issue.path}: ${issue.message}`,
  );
  throw new ValidationError(messages.join("; "), { issues });
}

/** The current file's documents; a file that fails to parse or validate is not written over. */
function readCurrent(current: string, path: string, limits: FeaturesLimits): FeaturesDocument[] {
  const parsed = parseFeatures(current, path, limits);
  if (parsed.issues.length > 0) {
    throw new ValidationError(
      `${path} is not a valid features file, so it cannot be changed through the API: ${summary(parsed.issues)}`,
      { issues: parsed.issues },
    );
  }
  return parsed.documents;
}

function namespaceText(
  change: Change,
  { key }: Target,
  documents: readonly FeaturesDocument[] | undefined,
  file: TargetFile,
): string | undefined {
  const { path } = file;
  const docs = documents ?? [];
  const matches = (document: FeaturesDocument): boolean => document.namespace.key === key;
  switch (change.kind) {
    case "create-namespace": {
      if (key === DEFAULT_NAMESPACE || docs.some(matches)) {
        throw new AlreadyExistsError(`create namespace ${quoteValue(key)}`);
      }
      return writeNamespaceDocuments([...docs, newDocument(namespaceObject(change.namespace))], file);
    }
    case "update-namespace": {
      const namespace = namespaceObject(change.namespace);
      if (!docs.some(matches)) {
        // `default` always exists: updating it when no document declares it writes one, as Flipt does.
        if (key !== DEFAULT_NAMESPACE) {
          const quoted = quoteValue(key);
          throw new NotFoundError(`update namespace ${quoted}: namespace ${quoted} not found`);
        }
        return writeNamespaceDocuments([...docs, newDocument(namespace)], file);
      }
      const updated = docs.map((document) =>
        matches(document) ? { ...document, namespace, namespaceForm: "object" as const } : document,
      );
      return writeNamespaceDocuments(updated, file);
    }
    case "delete-namespace": {
      const kept = docs.filter((document) => !matches(document));
      if (kept.length === docs.length) throw notInFile(`namespace ${quoteValue(key)}`, path);
      return kept.length === 0 ? undefined : writeNamespaceDocuments(kept, file);
    }
    default:
      throw new TypeError(`not a namespace change: ${change.kind}`);
  }
}

function resourceText(
  change: Change,
  { verb, type, namespaceKey, key }: Target,
  documents: readonly FeaturesDocument[] | undefined,
  file: TargetFile,
  extraSegments: ReadonlySet<string>,
): string | undefined {
  const { path } = file;
  const kind = type as ResourceKind;
  const docs = [...(documents ?? [])];
  const inNamespace = (document: FeaturesDocument): boolean => document.namespace.key === namespaceKey;
  const holds = (document: FeaturesDocument): boolean =>
    inNamespace(document) && itemsOf(document, kind).some((item) => item.key === key);

  if (verb === "delete") {
    if (!docs.some(holds)) throw notInFile(`${kind} ${quoteValue(`${namespaceKey}/${key}`)}`, path);
    if (kind === "segment") checkSegmentUnused(docs, namespaceKey, key);
    const next = docs.map((document) =>
      inNamespace(document)
        ? withItems(
            document,
            kind,
            itemsOf(document, kind).filter((item) => item.key !== key),
          )
        : document,
    );
    return writeFlagDocuments(next, file);
  }

  let first = docs.findIndex(inNamespace);
  if (first === -1) {
    if (namespaceKey !== DEFAULT_NAMESPACE) {
      throw new NotFoundError(`namespace ${quoteValue(namespaceKey)} not found`);
    }
    docs.push(newDocument(DEFAULT_NAMESPACE_OBJECT));
    first = docs.length - 1;
  }
  const typeName = RESOURCE_TYPE_NAMES[kind];
  const resource = quoteValue(`${typeName}/${namespaceKey}/${key}`);
  const exists = docs.some(holds);
  if (verb === "create" && exists) {
    throw new AlreadyExistsError(`resource type "${typeName}": create resource ${resource}`);
  }
  if (verb === "update" && !exists) {
    const missing = `${kind} ${quoteValue(`${namespaceKey}/${key}`, { quotes: false })}`;
    throw new NotFoundError(
      `resource type "${typeName}": update resource ${resource}: getting ${missing}: ${missing} not found`,
    );
  }
  const item = "flag" in change ? change.flag : "segment" in change ? change.segment : undefined;
  if (item === undefined) throw new TypeError(`not a flag or segment write: ${change.kind}`);
  const next =
    verb === "create"
      ? docs.map((document, index) =>
          index === first ? withItems(document, kind, [...itemsOf(document, kind), item]) : document,
        )
      : docs.map((document) =>
          inNamespace(document)
            ? withItems(
                document,
                kind,
                itemsOf(document, kind).map((existing) => (existing.key === key ? item : existing)),
              )
            : document,
        );
  if (kind === "flag") checkFlagReferences(next, namespaceKey, key, extraSegments, path);
  return writeFlagDocuments(next, file);
}

function itemsOf(document: FeaturesDocument, kind: ResourceKind): readonly (Flag | Segment)[] {
  return kind === "flag" ? document.flags : document.segments;
}

function withItems(
  document: FeaturesDocument,
  kind: ResourceKind,
  items: readonly (Flag | Segment)[],
): FeaturesDocument {
  return kind === "flag"
    ? { ...document, flags: items as readonly Flag[] }
    : { ...document, segments: items as readonly Segment[] };
}

/** A flag or segment write: every document at version "1.6", yaml.v3 layout, validated as Flipt does. */
function writeFlagDocuments(docs: readonly FeaturesDocument[], file: TargetFile): string {
  return checkWritten(serializeFeatures(docs, { write: "flags" }), file);
}

/**
 * A namespace write: versions kept, yaml.v2 layout. Flipt writes these without validating them, so a document
 * whose content cannot be expressed at its version (isoneof lists before 1.6, a namespace object before 1.4)
 * breaks the state. Such a document is written at version "1.6" instead, which keeps its content and loads.
 */
function writeNamespaceDocuments(docs: readonly FeaturesDocument[], file: TargetFile): string {
  const versioned = docs.map((document) => {
    if (document.version === LATEST_FEATURES_VERSION) return document;
    const alone = serializeFeatures([document], { write: "namespace" });
    if (parseFeatures(alone, file.path, file.limits).issues.length === 0) return document;
    return { ...document, version: LATEST_FEATURES_VERSION, versionDeclared: true };
  });
  return checkWritten(serializeFeatures(versioned, { write: "namespace" }), file);
}

/** Refuses a write whose result would not load (Flipt's CUE validation of the re-encoded file). */
function checkWritten(text: string, { path, limits }: TargetFile): string {
  const parsed = parseFeatures(text, path, limits);
  if (parsed.issues.length > 0) {
    throw new ValidationError(`the change would leave ${path} invalid: ${summary(parsed.issues)}`, {
      issues: parsed.issues,
    });
  }
  return text;
}

/**
 * A delete that finds nothing in the file it edits. Callers send deletes only for things the served state holds and
 * pick the YAML file that defines them, so the thing is defined where the API does not write (a features.json) or
 * was removed a moment ago: say so, and commit nothing.
 */
function notInFile(what: string, path: string): PreconditionError {
  return new PreconditionError(
    `cannot delete ${what}: ${path} does not define it, and the management API changes only the features.yaml ` +
      "and features.yml files that define a namespace; edit the file that defines it",
  );
}

function newDocument(namespace: Namespace): FeaturesDocument {
  return {
    version: LATEST_FEATURES_VERSION,
    versionDeclared: true,
    namespace,
    namespaceForm: "object",
    flags: [],
    segments: [],
    line: 0,
  };
}

/** The namespace object as written: name and description only when not empty. */
function namespaceObject({ key, name, description }: Namespace): Namespace {
  return {
    key,
    ...(name === undefined || name === "" ? {} : { name }),
    ...(description === undefined || description === "" ? {} : { description }),
  };
}

/** The first issue with its field path and line, and how many more there are. */
function summary(issues: readonly ValidationIssue[]): string {
  const first = issues[0];
  if (first === undefined) return "unknown problem";
  const field = first.path === "" ? "" : `${first.path}: `;
  const line = first.line === undefined ? "" : ` (line ${first.line})`;
  const more = issues.length > 1 ? ` and ${issues.length - 1} more problem(s)` : "";
  return `${field}${first.message}${line}${more}`;
}
