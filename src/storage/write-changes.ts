import { AlreadyExistsError } from "../domain/errors.js";
import { applyChange, type Change } from "../format/apply-change.js";
import { type CommitChange, commitChange } from "../format/commit-message.js";
import type { FeaturesDocument } from "../format/features-document.js";
import type { FeaturesLimits } from "../format/limits.js";
import { namespaceFilePath } from "../format/namespace-file.js";
import { featuresFileSyntax, parseFeatures } from "../format/parse-features.js";
import type { Environment } from "./environment.js";

const decoder = new TextDecoder();

/** A change, or "create this, and if it exists, update it" (for imports). */
export type ChangeRequest =
  | Change
  | { readonly kind: "put"; readonly create: Change; readonly update: Change };

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
  return environment.write({
    baseRevision,
    plan(state) {
      const texts = new Map<string, string | undefined>(
        state.files.map((file) => [file.path, decoder.decode(file.bytes)]),
      );
      const touched = new Set<string>();
      const applied: CommitChange[] = [];
      const locate = createFileLocator(texts, environment.limits);
      const apply = (change: Change) => {
        const known = environment.snapshot.namespaces.get(namespaceOf(change))?.segments;
        for (const path of locate(change)) {
          const current = texts.get(path);
          const planned = applyChange(change, current, path, {
            extraSegments: new Set(known?.keys() ?? []),
            limits: environment.limits,
          });
          texts.set(planned.path, planned.text);
          // Deleting what is not there touches no file: the commit is empty, as Flipt's.
          if (current !== undefined || planned.text !== undefined) touched.add(planned.path);
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
        writes: [...touched].map((path) => ({ path, text: texts.get(path) })),
        message: environment.commitMessage(applied, state),
      };
    },
  });
}

/** The namespace a change writes to. */
export function namespaceOf(change: Change): string {
  switch (change.kind) {
    case "create-namespace":
    case "update-namespace":
      return change.namespace.key;
    case "delete-namespace":
      return change.key;
    default:
      return change.namespaceKey;
  }
}

/**
 * Finds the files a change edits, where discovery found what it changes. Flipt's convention comes first: a
 * namespace's flags and segments live in `<ns>/features.yaml` (or `.yml`), and a file there is used as Flipt
 * uses it. A namespace that lives elsewhere (a root `features.yaml`, `team.features.yaml`) is edited where it is:
 * an update or delete of a flag or segment goes to the file whose definition is served (the last one, as the
 * snapshot lets a later definition win); a create goes to the first file that declares the namespace; a
 * namespace update or delete reaches every file that declares it, so the namespace served afterwards is the one
 * written. Only YAML files are edited (the API does not rewrite JSON). A file is parsed again only when a change
 * of the same write edited it, and only when the convention's file does not answer.
 */
function createFileLocator(
  texts: ReadonlyMap<string, string | undefined>,
  limits: FeaturesLimits,
): (change: Change) => string[] {
  // By path, with the text parsed: an earlier change of the same write may have edited the file since.
  const parsed = new Map<
    string,
    { readonly text: string; readonly documents: readonly FeaturesDocument[] }
  >();
  const documentsOf = (path: string): readonly FeaturesDocument[] => {
    const text = texts.get(path);
    if (text === undefined) return [];
    let cached = parsed.get(path);
    if (cached?.text !== text) {
      cached = { text, documents: parseFeatures(text, path, limits).documents };
      parsed.set(path, cached);
    }
    return cached.documents;
  };
  const declaring = (namespaceKey: string): string[] =>
    [...texts.keys()]
      .filter((path) => texts.get(path) !== undefined && featuresFileSyntax(path) === "yaml")
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
    const conventional = namespaceFilePath(namespaceKey, (candidate) => texts.get(candidate) !== undefined);
    const exists = texts.get(conventional) !== undefined;
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
        const kind = change.kind.endsWith("flag") ? "flag" : "segment";
        const key = "key" in change ? change.key : "flag" in change ? change.flag.key : change.segment.key;
        if (exists && holding(conventional, namespaceKey, kind, key)) return [conventional];
        const found = declaring(namespaceKey).filter((path) => holding(path, namespaceKey, kind, key));
        return [found[found.length - 1] ?? conventional];
      }
      default:
        return [exists ? conventional : (declaring(namespaceKey)[0] ?? conventional)];
    }
  };
}
