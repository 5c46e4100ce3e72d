import type { ComponentType } from "preact";
import { useState } from "preact/hooks";
import { shortRevision } from "../model/format-time.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import type { EditedKind, EditorProps, SavedNote } from "../state/use-editor.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";
import { WithNamespaceData } from "./with-namespace-data.js";

export interface EditorPageProps<D> {
  readonly kind: EditedKind;
  /** The key of the flag or segment to edit; undefined for a new one. */
  readonly itemKey: string | undefined;
  readonly emptyDraft: () => D;
  /** The draft of the one with `key`; undefined when the namespace has none. */
  readonly draftOf: (data: NamespaceData, key: string) => D | undefined;
  readonly editor: ComponentType<EditorProps<D>>;
}

/** The page of one flag or segment: its editor, a new one's, or a note that the namespace has none of that key. */
export function EditorPage<D>({ kind, itemKey, emptyDraft, draftOf, editor: Editor }: EditorPageProps<D>) {
  const { env, ns } = useWorkspace();
  // Kept here, above the editor, which starts again after each save (at the new revision) and after a create (on
  // the created one's page); the key keeps it from showing on another one's page.
  const [saved, setSaved] = useState<SavedNote | undefined>(undefined);
  const title = kind === "flag" ? "Flag" : "Segment";
  useDocumentTitle(itemKey === undefined ? `New ${kind} · ${ns}` : `${title} ${itemKey} · ${ns}`);
  return (
    <WithNamespaceData>
      {(data) => {
        if (itemKey === undefined) {
          return (
            <Editor
              key="new"
              data={data}
              initial={emptyDraft()}
              creating
              saved={undefined}
              onSaved={setSaved}
            />
          );
        }
        const initial = draftOf(data, itemKey);
        if (initial === undefined) {
          return (
            <section class="page">
              <h1>
                {title} <code>{itemKey}</code>
              </h1>
              <p class="notice notice-warning" role="alert">
                Namespace <code>{ns}</code> has no {kind} <code>{itemKey}</code> at revision{" "}
                <code>{shortRevision(data.revision)}</code>. It may have been deleted or renamed.{" "}
                <a href={formatRoute({ page: `${kind}s`, env, ns })}>{`Back to the ${kind}s`}</a>
              </p>
            </section>
          );
        }
        return (
          <Editor
            // A new revision (this page's save, or a reload) starts again from what the server has.
            key={`${itemKey}@${data.revision}`}
            data={data}
            initial={initial}
            creating={false}
            saved={saved?.key === itemKey ? saved.message : undefined}
            onSaved={setSaved}
          />
        );
      }}
    </WithNamespaceData>
  );
}
