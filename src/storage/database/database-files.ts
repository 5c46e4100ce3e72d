import { encodeDocuments, encodeEqually } from "../../format/encode-documents.js";
import { contentHash } from "../content-hash.js";
import type { FileWrite, SourceFile } from "../flag-source.js";
import { namespaceDocument } from "./namespace-document.js";
import type { StoredNamespace } from "./stored-state.js";

/** Each namespace's file, by object: a namespace a write did not touch is the same object, and not encoded again. */
const files = new WeakMap<StoredNamespace, SourceFile>();

/**
 * The flag state as files that carry their documents (`SourceFile.documents`): one `<namespace>/features.yaml`
 * per namespace, in path order, each with the document its rows describe and that document's canonical encoding,
 * and the content hash of those encodings as the revision. Nothing is written as YAML. Replicas reading the same
 * rows build the same documents, hence the same bytes, and agree on the revision. After a write, the files it
 * `written` are not encoded again where their rows encode as the documents it wrote (the usual case).
 */
export function databaseFiles(
  namespaces: ReadonlyMap<string, StoredNamespace>,
  written: readonly FileWrite[] = [],
): {
  readonly files: readonly SourceFile[];
  readonly revision: string;
} {
  const writes = new Map(written.map((write) => [write.path, write.documents]));
  const list = [...namespaces.values()]
    .map((namespace) => {
      let file = files.get(namespace);
      if (file === undefined) {
        const path = `${namespace.key}/features.yaml`;
        const documents = [namespaceDocument(namespace)];
        // What a write just stored encodes as the documents it wrote, whose bytes were made for its build.
        const same = writes.get(path);
        const bytes = encodeDocuments(
          same !== undefined && encodeEqually(documents, same) ? same : documents,
        );
        file = { path, bytes, documents };
        files.set(namespace, file);
      }
      return file;
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: list, revision: contentHash(list) };
}
