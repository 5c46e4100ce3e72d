import { ValidationError, type ValidationIssue } from "../domain/errors.js";
import {
  type Change,
  type ChangedDocuments,
  changeDocuments,
  describeChange,
  newDocument,
  type WrittenItem,
} from "./change-documents.js";
import { type FeaturesDocument, LATEST_FEATURES_VERSION } from "./features-document.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "./limits.js";
import { parseFeatures } from "./parse-features.js";
import { serializeFeatures } from "./serialize-features.js";

export { type Change, describeChange, validateChange } from "./change-documents.js";

/** What a change does to one features file. */
export interface PlannedWrite {
  /** The file, relative to the environment directory, with `/`. */
  readonly path: string;
  /** The new content, or undefined when the file is to be deleted (or stay absent). */
  readonly text: string | undefined;
  /** Flipt's change text for the commit message: `create flag <ns>/<key>`, `delete namespace <key>`, ... */
  readonly description: string;
}

/** What a change does to one file held as documents (see `applyChangeToDocuments`). */
export interface PlannedDocuments {
  readonly path: string;
  /** The new documents, or undefined when the file is to be deleted (or stay absent). */
  readonly documents: readonly FeaturesDocument[] | undefined;
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
  const limits = options.limits ?? DEFAULT_FEATURES_LIMITS;
  const file = { path, limits };
  const changed = changeDocuments(
    change,
    path,
    () => (current === undefined ? undefined : readCurrent(current, path, limits)),
    options.extraSegments,
  );
  return { path, text: encodeChanged(changed, file), description: describeChange(change) };
}

/**
 * `applyChange` for a file a storage holds as documents (`SourceFile.documents`), without any YAML: the same
 * semantics, checks and errors, on `current` (undefined when the file does not exist) as it stands. The documents
 * are valid already, so only what the change wrote (the flag, segment or namespace object) is checked against the
 * schema, on its own; its issues carry the path it has in the file and no line, since there is no text. Versions
 * and layouts are the text's concern: documents keep their versions. The result is valid as `current` was, keeps
 * every flag and segment it did not change as the same object, and costs O(the file's documents) without
 * encoding them.
 */
export function applyChangeToDocuments(
  change: Change,
  current: readonly FeaturesDocument[] | undefined,
  path: string,
  options: ApplyChangeOptions = {},
): PlannedDocuments {
  const changed = changeDocuments(change, path, () => current, options.extraSegments);
  if (changed.written !== undefined) {
    checkWrittenItem(changed.written, { path, limits: options.limits ?? DEFAULT_FEATURES_LIMITS });
  }
  return { path, documents: changed.documents, description: describeChange(change) };
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

/** The changed documents as the file's new text, checked; undefined when the file is deleted. */
function encodeChanged({ documents, write }: ChangedDocuments, file: TargetFile): string | undefined {
  if (documents === undefined) return undefined;
  return write === "flags" ? writeFlagDocuments(documents, file) : writeNamespaceDocuments(documents, file);
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
  if (parsed.issues.length > 0) throw invalidWrite(path, parsed.issues);
  return text;
}

/**
 * `checkWritten` for documents: what the change wrote, encoded in a document of its own as the file would encode
 * it and parsed. Issues under `flags[0]` / `segments[0]` are moved to the item's index in the file.
 */
function checkWrittenItem(written: WrittenItem, { path, limits }: TargetFile): void {
  let text: string;
  let prefix: string | undefined;
  let index = 0;
  if (written.kind === "namespace") {
    text = serializeFeatures([newDocument(written.namespace)], { write: "namespace" });
  } else {
    const document = newDocument({ key: "default" });
    text =
      written.kind === "flag"
        ? serializeFeatures([{ ...document, flags: [written.flag] }])
        : serializeFeatures([{ ...document, segments: [written.segment] }]);
    prefix = written.kind === "flag" ? "flags[0]" : "segments[0]";
    index = written.index;
  }
  const { issues } = parseFeatures(text, path, limits);
  if (issues.length === 0) return;
  const moved = issues.map(({ line: _line, ...issue }): ValidationIssue => {
    if (prefix === undefined || !issue.path.startsWith(prefix)) return issue;
    return { ...issue, path: `${prefix.slice(0, -2)}${index}]${issue.path.slice(prefix.length)}` };
  });
  throw invalidWrite(path, moved);
}

function invalidWrite(path: string, issues: readonly ValidationIssue[]): ValidationError {
  return new ValidationError(`the change would leave ${path} invalid: ${summary(issues)}`, {
    issues: [...issues],
  });
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
