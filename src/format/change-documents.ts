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
import { type Change, type ChangeTarget, changeTarget } from "./change.js";
import { checkFlagReferences, checkSegmentUnused } from "./check-references.js";
import { changeText, commitChange } from "./commit-message.js";
import { type FeaturesDocument, LATEST_FEATURES_VERSION } from "./features-document.js";
import { featuresFileSyntax } from "./parse-features.js";
import { quoteValue } from "./quote-value.js";

/** What a change put into a file, so that it alone can be checked against the schema. */
export type WrittenItem =
  | { readonly kind: "namespace"; readonly namespace: Namespace }
  /** `index`: where the first copy stands in its document's flags or segments. */
  | { readonly kind: "flag"; readonly flag: Flag; readonly index: number }
  | { readonly kind: "segment"; readonly segment: Segment; readonly index: number };

/** What a change does to the documents of one file. */
export interface ChangedDocuments {
  /** The file's documents after the change; undefined when the file is to be deleted (or stay absent). */
  readonly documents: readonly FeaturesDocument[] | undefined;
  /**
   * Which of Flipt's writes it is, which decides how a text file is encoded: a flag or segment write (every
   * document at version "1.6", yaml.v3 layout) or a namespace write (versions kept, yaml.v2 layout).
   */
  readonly write: "flags" | "namespace";
  /** What the change put into the file; undefined for a delete. */
  readonly written: WrittenItem | undefined;
}

type ResourceKind = Exclude<ChangeTarget["type"], "namespace">;

/** The type names Flipt puts in resource errors. */
const RESOURCE_TYPE_NAMES: Readonly<Record<ResourceKind, string>> = {
  flag: "flipt.core.Flag",
  segment: "flipt.core.Segment",
};

/** The document Flipt creates when a flag or segment is written to `default` and no document declares it. */
const DEFAULT_NAMESPACE_OBJECT: Namespace = { key: DEFAULT_NAMESPACE, name: "Default" };

export type { Change };

/** Flipt's change text for one change (storage.md §3.5): `<verb> <type> [<namespace>/]<key>`. */
export function describeChange(change: Change): string {
  return changeText(commitChange(change));
}

/**
 * Checks what a change must get right on its own, before any state is read: keys that match Flipt's pattern, flag
 * and segment names that are not empty, and that `default` is not deleted. Throws the ValidationError `applyChange`
 * would; callers that answer a change without writing (a delete of something absent) run it first.
 */
export function validateChange(change: Change): void {
  checkChange(change, changeTarget(change));
}

/**
 * The document-level core of `applyChange` (see there for the semantics and every refusal): checks the change on
 * its own and that `path` is a file the API edits, then reads the file's documents with `read` (undefined when the
 * file does not exist; a text file is parsed only now, after those checks) and applies the change to them. What
 * it does not check is the schema of what it wrote: the caller encodes the result and checks it (`applyChange`
 * re-parses the whole text; `applyChangeToDocuments` checks the written item alone).
 */
export function changeDocuments(
  change: Change,
  path: string,
  read: () => readonly FeaturesDocument[] | undefined,
  extraSegments: ReadonlySet<string> = new Set(),
): ChangedDocuments {
  const target = changeTarget(change);
  checkChange(change, target);
  if (featuresFileSyntax(path) !== "yaml") {
    throw new ValidationError(`${path}: the management API edits only features.yaml and features.yml files`, {
      issues: [{ path: "", message: "not a features.yaml or features.yml file", file: path }],
    });
  }
  const documents = read();
  return target.type === "namespace"
    ? namespaceDocuments(change, target, documents, path)
    : resourceDocuments(change, target, documents, path, extraSegments);
}

/** Checks what the request itself must get right: keys and names. */
function checkChange(change: Change, { type, namespaceKey, key }: ChangeTarget): void {
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

function namespaceDocuments(
  change: Change,
  { key }: ChangeTarget,
  documents: readonly FeaturesDocument[] | undefined,
  path: string,
): ChangedDocuments {
  const docs = documents ?? [];
  const matches = (document: FeaturesDocument): boolean => document.namespace.key === key;
  const written = (
    next: readonly FeaturesDocument[] | undefined,
    namespace?: Namespace,
  ): ChangedDocuments => ({
    documents: next,
    write: "namespace",
    written: namespace === undefined ? undefined : { kind: "namespace", namespace },
  });
  switch (change.kind) {
    case "create-namespace": {
      if (key === DEFAULT_NAMESPACE || docs.some(matches)) {
        throw new AlreadyExistsError(`create namespace ${quoteValue(key)}`);
      }
      const namespace = namespaceObject(change.namespace);
      return written([...docs, newDocument(namespace)], namespace);
    }
    case "update-namespace": {
      const namespace = namespaceObject(change.namespace);
      if (!docs.some(matches)) {
        // `default` always exists: updating it when no document declares it writes one, as Flipt does.
        if (key !== DEFAULT_NAMESPACE) {
          const quoted = quoteValue(key);
          throw new NotFoundError(`update namespace ${quoted}: namespace ${quoted} not found`);
        }
        return written([...docs, newDocument(namespace)], namespace);
      }
      const updated = docs.map((document) =>
        matches(document) ? { ...document, namespace, namespaceForm: "object" as const } : document,
      );
      return written(updated, namespace);
    }
    case "delete-namespace": {
      const kept = docs.filter((document) => !matches(document));
      if (kept.length === docs.length) throw notInFile(`namespace ${quoteValue(key)}`, path);
      return written(kept.length === 0 ? undefined : kept);
    }
    default:
      throw new TypeError(`not a namespace change: ${change.kind}`);
  }
}

function resourceDocuments(
  change: Change,
  { verb, type, namespaceKey, key }: ChangeTarget,
  documents: readonly FeaturesDocument[] | undefined,
  path: string,
  extraSegments: ReadonlySet<string>,
): ChangedDocuments {
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
    return { documents: next, write: "flags", written: undefined };
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
  let index = -1;
  for (const document of next) {
    if (!inNamespace(document)) continue;
    index = itemsOf(document, kind).indexOf(item);
    if (index !== -1) break;
  }
  const written: WrittenItem =
    kind === "flag" ? { kind, flag: item as Flag, index } : { kind, segment: item as Segment, index };
  return { documents: next, write: "flags", written };
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

/** A document of `namespace` (an object) at the latest version, with nothing in it. */
export function newDocument(namespace: Namespace): FeaturesDocument {
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
