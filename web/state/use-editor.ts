import { useEffect, useState } from "preact/hooks";
import type { Problem } from "../api/describe-problem.js";
import type { DraftProblem } from "../model/flag-draft.js";
import { formatRoute } from "./route.js";
import type { Change, NamespaceData } from "./use-namespace-store.js";
import { useWorkspace } from "./workspace-context.js";

/** What an editor page edits. */
export type EditedKind = "flag" | "segment";

/** The confirmation of a save, for the flag or segment it named. */
export interface SavedNote {
  readonly key: string;
  readonly message: string;
}

/** What an editor page (see EditorPage) gives the editor of one flag or segment. */
export interface EditorProps<D> {
  readonly data: NamespaceData;
  readonly initial: D;
  /** A new one, created on save; else an existing one, replaced on save. */
  readonly creating: boolean;
  /** The confirmation of the last save of this one, shown until the next edit. */
  readonly saved: string | undefined;
  readonly onSaved: (note: SavedNote | undefined) => void;
}

export interface Editor<D> {
  readonly kind: EditedKind;
  readonly creating: boolean;
  /** The key as loaded (the draft's may be half-typed). */
  readonly key: string;
  readonly revision: string;
  readonly saved: string | undefined;
  readonly draft: D;
  /** Edited since loaded or saved. */
  readonly dirty: boolean;
  readonly saving: boolean;
  /** Controls are disabled: writes are not allowed here, or one is under way. */
  readonly disabled: boolean;
  /** What keeps the draft from being saved. */
  readonly problems: readonly DraftProblem[];
  /** Why the last save or delete did not happen. */
  readonly failure: Problem | undefined;
  change(patch: Partial<D>): void;
  discard(): void;
  save(): Promise<void>;
  remove(): Promise<void>;
  dismissFailure(): void;
}

export interface EditorOptions<D> {
  readonly problemsOf: (draft: D) => DraftProblem[];
  /** The write that saves a valid draft. */
  readonly changeOf: (draft: D, create: boolean) => Change;
}

/**
 * The life of a flag or segment editor: the draft and whether it is dirty (leaving the page then asks first), saving
 * and deleting through the namespace store, and where to go after a create (its page) or a delete (the list).
 */
export function useEditor<D extends { readonly key: string }>(
  kind: EditedKind,
  { data, initial, creating, saved, onSaved }: EditorProps<D>,
  { problemsOf, changeOf }: EditorOptions<D>,
): Editor<D> {
  const { env, ns, store, access } = useWorkspace();
  const [draft, setDraft] = useState(initial);
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<Problem | undefined>(undefined);
  const problems = problemsOf(draft);
  const disabled = !access.allowed || saving;

  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    addEventListener("beforeunload", warn);
    return () => removeEventListener("beforeunload", warn);
  }, [dirty]);

  /** Makes the change; resolves to whether the server took it. */
  const write = async (change: Change): Promise<boolean> => {
    setSaving(true);
    setFailure(undefined);
    const problem = await store.write(change);
    setSaving(false);
    if (problem !== undefined) setFailure(problem);
    return problem === undefined;
  };

  return {
    kind,
    creating,
    key: initial.key,
    revision: data.revision,
    saved,
    draft,
    dirty,
    saving,
    disabled,
    problems,
    failure,
    change(patch) {
      setDraft((current) => ({ ...current, ...patch }));
      setDirty(true);
      onSaved(undefined);
    },
    discard() {
      setDraft(initial);
      setDirty(false);
    },
    async save() {
      if (problems.length > 0 || disabled) return;
      const page = location.hash;
      if (!(await write(changeOf(draft, creating)))) return;
      setDirty(false);
      // The page keeps the note: a saved editor starts again at the new revision, a created one on its own page.
      onSaved({ key: draft.key, message: `${creating ? "Created" : "Saved"} ${kind} ${draft.key}.` });
      if (creating) leave(page, formatRoute({ page: kind, env, ns, key: draft.key }));
    },
    async remove() {
      const page = location.hash;
      if (await write({ kind: `delete-${kind}`, key: initial.key })) {
        leave(page, formatRoute({ page: `${kind}s`, env, ns }));
      }
    },
    dismissFailure: () => setFailure(undefined),
  };
}

/** Goes to `next` unless the user left `page` while a write was under way: a slow answer must not pull them back. */
function leave(page: string, next: string): void {
  if (location.hash === page) location.hash = next;
}
