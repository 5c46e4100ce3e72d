import { ValidationError } from "../../domain/errors.js";
import type { Flag, Segment } from "../../domain/flag-state.js";
import type { FeaturesDocument } from "../../format/features-document.js";
import type { FileWrite } from "../flag-source.js";
import type { SqlExecutor } from "./sql-database.js";
import { createClock } from "./sql-values.js";
import type { StoredNamespace } from "./stored-state.js";
import type { WriteContext } from "./write-context.js";
import { type DesiredNamespace, writeNamespace } from "./write-namespace.js";

/** `<namespace>/features.yaml` (or `.yml`): the only files a database storage holds. */
const NAMESPACE_FILE = /^([^/]+)\/features\.ya?ml$/;

/**
 * Applies file writes (the namespace documents after a write, as `write-changes.ts` produced them) to the rows,
 * inside the caller's transaction, and returns every namespace as now stored. Each write carries its documents
 * (`FileWrite.documents`: a database storage holds no text, and parses none), which must be of the namespace its
 * path names; a deleted file deletes its namespace's flags and segments. Only what differs from `stored` is
 * written. Namespaces are written in key order, so concurrent writers take row locks in the same order.
 */
export async function writeDatabaseState(
  tx: SqlExecutor,
  options: { readonly sqlite: boolean },
  stored: ReadonlyMap<string, StoredNamespace>,
  writes: readonly FileWrite[],
): Promise<Map<string, StoredNamespace>> {
  const desired = new Map<string, DesiredNamespace | undefined>();
  for (const write of writes) {
    const key = NAMESPACE_FILE.exec(write.path)?.[1];
    if (key === undefined) {
      const message = `a database storage holds one <namespace>/features.yaml per namespace, not "${write.path}"`;
      throw new ValidationError(message, { issues: [{ path: "", message, file: write.path }] });
    }
    if (write.text === undefined && write.documents === undefined) {
      desired.set(key, undefined);
      continue;
    }
    if (write.documents === undefined) {
      const message = `a database storage takes documents, not text: "${write.path}" was written as text`;
      throw new ValidationError(message, { issues: [{ path: "", message, file: write.path }] });
    }
    desired.set(key, desiredNamespace(key, write.path, write.documents));
  }
  const context: WriteContext = { tx, sqlite: options.sqlite, now: createClock(), changed: false };
  const next = new Map(stored);
  for (const key of [...desired.keys()].sort()) {
    const written = await writeNamespace(context, key, stored.get(key), desired.get(key));
    if (written === undefined) next.delete(key);
    else next.set(key, written);
  }
  return new Map([...next.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The namespace a file's documents describe, merged as `loadState` merges them. */
function desiredNamespace(
  key: string,
  path: string,
  documents: readonly FeaturesDocument[],
): DesiredNamespace {
  const flags = new Map<string, Flag>();
  const segments = new Map<string, Segment>();
  let namespace: DesiredNamespace["namespace"] = { key };
  for (const document of documents) {
    if (document.namespace.key !== key) {
      const message = `"${path}" holds namespace "${document.namespace.key}"; a database storage keeps each namespace in its own <namespace>/features.yaml`;
      throw new ValidationError(message, {
        issues: [{ path: "namespace", message, file: path, line: document.line }],
      });
    }
    // The first document that names the namespace's name and description sets them, as `loadState` merges.
    namespace = {
      key,
      name: namespace.name ?? document.namespace.name,
      description: namespace.description ?? document.namespace.description,
    };
    for (const flag of document.flags) flags.set(flag.key, flag);
    for (const segment of document.segments) segments.set(segment.key, segment);
  }
  return { namespace, flags, segments };
}
