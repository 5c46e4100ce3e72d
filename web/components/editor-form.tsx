import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { shortRevision } from "../model/format-time.js";
import type { Editor } from "../state/use-editor.js";
import { useWorkspace } from "../state/workspace-context.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { DraftProblems } from "./draft-problems.js";
import { ProblemNotice } from "./problem-notice.js";
import { ReadOnlyNote } from "./read-only-note.js";

export interface EditorFormProps<D> {
  readonly editor: Editor<D>;
  /** Why it cannot be deleted, if it cannot: the Delete button is disabled and says so. */
  readonly deleteRefusal?: string | undefined;
  /** The form's fields. */
  readonly children: ComponentChildren;
}

/**
 * A flag's or segment's form around its fields: the notes on what happened (read-only, saved, refused), what keeps
 * the draft from being saved, the save bar (save, discard, delete) and the confirmation of a delete.
 */
export function EditorForm<D>({ editor, deleteRefusal, children }: EditorFormProps<D>) {
  const { env, ns, store, access } = useWorkspace();
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const { kind, creating, dirty, saving } = editor;
  const revision = shortRevision(editor.revision);
  return (
    <>
      <ReadOnlyNote access={access} />
      {editor.saved !== undefined ? (
        <p class="notice notice-ok" role="status">
          {editor.saved} Revision <code>{revision}</code>.
        </p>
      ) : null}
      {editor.failure !== undefined ? (
        <ProblemNotice
          problem={editor.failure}
          subject={creating ? "The namespace" : `This ${kind}`}
          onReload={() => void store.reload()}
          onDismiss={editor.dismissFailure}
        />
      ) : null}
      <form
        class="editor"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void editor.save();
        }}
      >
        {children}
        {dirty || creating ? <DraftProblems problems={editor.problems} /> : null}
        {access.allowed ? (
          <div class={`save-bar${dirty ? " unsaved" : ""}`}>
            <button
              type="submit"
              class="button primary"
              disabled={saving || editor.problems.length > 0 || (!creating && !dirty)}
            >
              {saving ? "Saving…" : creating ? `Create ${kind}` : "Save changes"}
            </button>
            {dirty && !creating ? (
              <button type="button" class="button" disabled={saving} onClick={editor.discard}>
                Discard changes
              </button>
            ) : null}
            <span class="muted save-note">
              {dirty ? "Unsaved changes, " : "Editing "}based on revision <code>{revision}</code>
            </span>
            {!creating ? (
              <button
                type="button"
                class="button danger push-right"
                disabled={saving || deleteRefusal !== undefined}
                title={deleteRefusal}
                onClick={() => setConfirmingDelete(true)}
              >
                {`Delete ${kind}`}
              </button>
            ) : null}
          </div>
        ) : null}
      </form>
      {confirmingDelete ? (
        <ConfirmDialog
          title={`Delete ${kind} ${editor.key}?`}
          confirmLabel={`Delete ${kind}`}
          onConfirm={() => {
            setConfirmingDelete(false);
            void editor.remove();
          }}
          onCancel={() => setConfirmingDelete(false)}
        >
          <p>
            The {kind} is removed from namespace <code>{ns}</code> of environment <code>{env}</code> with a
            commit.{kind === "flag" ? " Clients evaluating it will get a not-found error." : ""}
          </p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}
