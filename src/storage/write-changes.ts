import { AlreadyExistsError } from "../domain/errors.js";
import {
  type ApplyChangeOptions,
  applyChange,
  applyChangeToDocuments,
  type Change,
} from "../format/apply-change.js";
import { changeTarget } from "../format/change.js";
import { type CommitChange, commitChange } from "../format/commit-message.js";
import type { FeaturesDocument } from "../format/features-document.js";
import type { FeaturesLimits } from "../format/limits.js";
import { namespaceFilePath } from "../format/namespace-file.js";
import { featuresFileSyntax, parseFeatures } from "../format/parse-features.js";
import type { ChangeRequest } from "./change-request.js";
import type { Environment } from "./environment.js";
import type { FileWrite, SourceFile } from "./flag-source.js";

const decoder = new TextDecoder();

/**
 * A file's content as a write sees it: text, or the documents of a storage that holds documents. Text is decoded
 * only when a change reads it; documents are changed as they are, and never written as YAML.
 */
type Content = { readonly text: string } | { readonly documents: readonly FeaturesDocument[] };

/** The contents of a write's files by path, each text decoded when first asked for; undefined for a file deleted. */
interface Contents {
  get(path: string): Content | undefined;
  has(path: string): boolean;
  set(path: string, content: Content | undefined): void;
  /** The files that exist. */
  paths(): string[];
}

function createContents(files: readonly SourceFile[]): Contents {
  const entries = new Map<string, SourceFile | Content | undefined>(files.map((file) => [file.path, file]));
  const has = (path: string) => entries.get(path) !== undefined;
  return {
    get(path) {
      const entry = entries.get(path);
      if (entry === undefined || !("bytes" in entry)) return entry;
      const content =
        entry.documents === undefined
          ? { text: decoder.decode(entry.bytes) }
          : { documents: entry.documents };
      entries.set(path, content);
      return content;
    },
    has,
    set(path, content) {
      entries.set(path, content);
    },
    paths: () => [...entries.keys()].filter(has),
  };
}

export type { ChangeRequest } from "./change-request.js";

/**
 * Runs management-API changes as ONE write on the environment's storage (one commit): each change edits its
 * namespace's file through the pure write layer, in order, each seeing the ones before; the whole resulting
 * state is validated; the storage commits it. Resolves with the new revision once it is served.
 */
export function writeChanges(
  environment: Environment,
  changes: readonly ChangeRequest[],
  baseRevision: string,
): Promise<string> {
  const forward = environment.source.forwardWrite;
  if (forward !== undefined)
    return forward.call(environment.source, { kind: "changes", changes, baseRevision });
  return environment.write({
    baseRevision,
    plan(state) {
      const contents = createContents(state.files);
      const touched = new Set<string>();
      const applied: CommitChange[] = [];
      const locate = createFileLocator(contents, environment.limits);
      const apply = (change: Change) => {
        const known = environment.snapshot.namespaces.get(namespaceOf(change))?.segments;
        const options = { extraSegments: new Set(known?.keys() ?? []), limits: environment.limits };
        for (const path of locate(change)) {
          const current = contents.get(path);
          // A new file is held as the storage holds the others.
          const asDocuments = current === undefined ? state.structured === true : "documents" in current;
          const next = changeFile(change, current, path, { ...options, asDocuments });
          contents.set(path, next);
          // Deleting what is not there touches no file: the commit is empty, as Flipt's.
          if (current !== undefined || next !== undefined) touched.add(path);
        }
        applied.push(commitChange(change));
      };
      for (const change of changes) {
        if (change.kind !== "put") {
          apply(change);
          continue;
        }
        try {
          apply(change.create);
        } catch (error) {
          if (!(error instanceof AlreadyExistsError)) throw error;
          apply(change.update);
        }
      }
      return {
        writes: [...touched].map((path) => fileWrite(path, contents.get(path))),
        message: environment.commitMessage(applied, state),
      };
    },
  });
}

/** Thrown by a plan to stop a write before any file is written, carrying the head the write was planned on. */
class NothingToWrite extends Error {
  constructor(readonly revision: string) {
    super("nothing to write");
  }
}

/**
 * Takes a write through the storage's checks (read-only storage, a remote that follows tags, the base revision
 * against the head) and stops it before anything is written; resolves with the head.
 */
export async function writeNothing(environment: Environment, baseRevision: string): Promise<string> {
  const forward = environment.source.forwardWrite;
  if (forward !== undefined) return forward.call(environment.source, { kind: "nothing", baseRevision });
  try {
    await environment.write({
      baseRevision,
      plan(state) {
        throw new NothingToWrite(state.revision);
      },
    });
  } catch (stopped) {
    if (stopped instanceof NothingToWrite) return stopped.revision;
    throw stopped;
  }
  throw new Error("the storage wrote a change that had nothing to write");
}

/**
 * A change applied to one file: to its documents, without YAML, when the file is held as documents (or is to be),
 * else to its text, parsed and written again as YAML.
 */
function changeFile(
  change: Change,
  current: Content | undefined,
  path: string,
  options: ApplyChangeOptions & { readonly asDocuments: boolean },
): Content | undefined {
  if (options.asDocuments) {
    const documents = current !== undefined && "documents" in current ? current.documents : undefined;
    const planned = applyChangeToDocuments(change, documents, path, options);
    return planned.documents === undefined ? undefined : { documents: planned.documents };
  }
  const text = current !== undefined && "text" in current ? current.text : undefined;
  const planned = applyChange(change, text, path, options);
  return planned.text === undefined ? undefined : { text: planned.text };
}

/** The write of a file's new content: its text, or its documents. */
function fileWrite(path: string, content: Content | undefined): FileWrite {
  if (content === undefined) return { path };
  if ("text" in content) return { path, text: content.text };
  return { path, documents: content.documents };
}

/** The namespace a change writes to. */
export function namespaceOf(change: Change): string {
  return changeTarget(change).namespaceKey;
}

/**
 * Finds the files a change edits, where discovery found what it changes. Flipt's convention comes first: a
 * namespace's flags and segments live in `<ns>/features.yaml` (or `.yml`), and a file there is used as Flipt
 * uses it. A namespace that lives elsewhere (a root `features.yaml`, `team.features.yaml`) is edited where it is:
 * an update or delete of a flag or segment goes to the file whose definition is served (the last one, as the
 * snapshot lets a later definition win); a create goes to the first file that declares the namespace; a
 * namespace update or delete reaches every file that declares it, so the namespace served afterwards is the one
 * written. Only YAML files are edited (the API does not rewrite JSON). A text file is parsed only when the
 * convention's file does not answer, and again only when a change of the same write edited it; a file held as
 * documents is never parsed.
 */
function createFileLocator(contents: Contents, limits: FeaturesLimits): (change: Change) => string[] {
  // By path, with the text parsed: an earlier change of the same write may have edited the file since.
  const parsed = new Map<
    string,
    { readonly text: string; readonly documents: readonly FeaturesDocument[] }
  >();
  const documentsOf = (path: string): readonly FeaturesDocument[] => {
    const content = contents.get(path);
    if (content === undefined) return [];
    if ("documents" in content) return content.documents;
    let cached = parsed.get(path);
    if (cached?.text !== content.text) {
      cached = { text: content.text, documents: parseFeatures(content.text, path, limits).documents };
      parsed.set(path, cached);
    }
    return cached.documents;
  };
  const declaring = (namespaceKey: string): string[] =>
    contents
      .paths()
      .filter((path) => featuresFileSyntax(path) === "yaml")
      .sort()
      .filter((path) => documentsOf(path).some((document) => document.namespace.key === namespaceKey));
  const holding = (path: string, namespaceKey: string, kind: "flag" | "segment", key: string): boolean =>
    documentsOf(path).some(
      (document) =>
        document.namespace.key === namespaceKey &&
        (kind === "flag" ? document.flags : document.segments).some((item) => item.key === key),
    );
  return (change) => {
    const namespaceKey = namespaceOf(change);
    const conventional = namespaceFilePath(namespaceKey, (candidate) => contents.has(candidate));
    const exists = contents.has(conventional);
    switch (change.kind) {
      case "create-namespace":
        return [conventional];
      case "update-namespace":
      case "delete-namespace": {
        const found = declaring(namespaceKey);
        return found.length === 0 ? [conventional] : found;
      }
      case "update-flag":
      case "delete-flag":
      case "update-segment":
      case "delete-segment": {
        const { type, key } = changeTarget(change);
        const kind = type as "flag" | "segment";
        if (exists && holding(conventional, namespaceKey, kind, key)) return [conventional];
        const found = declaring(namespaceKey).filter((path) => holding(path, namespaceKey, kind, key));
        return [found[found.length - 1] ?? conventional];
      }
      default:
        return [exists ? conventional : (declaring(namespaceKey)[0] ?? conventional)];
    }
  };
}
