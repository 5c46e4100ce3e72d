import { useId, useMemo, useState } from "preact/hooks";
import { MatchType } from "../../src/gen/flipt/core/core_pb.js";
import type { Problem } from "../api/describe-problem.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ConstraintsEditor } from "../components/constraints-editor.js";
import { DraftProblems } from "../components/draft-problems.js";
import { WithNamespaceData } from "../components/load-state.js";
import { ProblemNotice } from "../components/problem-notice.js";
import { ReadOnlyNote } from "../components/read-only-note.js";
import {
  draftToSegment,
  emptySegmentDraft,
  type SegmentDraft,
  segmentProblems,
  segmentToDraft,
} from "../model/segment-draft.js";
import { segmentUsage } from "../model/segment-usage.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** One segment, to read and edit; or a new one when `segmentKey` is undefined. */
export function SegmentPage({ segmentKey }: { readonly segmentKey: string | undefined }) {
  const { env, ns } = useWorkspace();
  // The confirmation of the last save, for the flag it named (a created one is shown on its own page next).
  const [saved, setSaved] = useState<{ key: string; message: string } | undefined>(undefined);
  useDocumentTitle(segmentKey === undefined ? `New segment · ${ns}` : `Segment ${segmentKey} · ${ns}`);
  return (
    <WithNamespaceData>
      {(data) => {
        if (segmentKey === undefined) {
          return (
            <SegmentEditor
              key="new"
              data={data}
              initial={emptySegmentDraft()}
              creating
              onSaved={(key, message) => setSaved(message === undefined ? undefined : { key, message })}
            />
          );
        }
        const segment = data.segments.find((candidate) => candidate.key === segmentKey);
        if (segment === undefined) {
          return (
            <section class="page">
              <h1>
                Segment <code>{segmentKey}</code>
              </h1>
              <p class="notice notice-warning" role="alert">
                Namespace <code>{ns}</code> has no segment <code>{segmentKey}</code>.{" "}
                <a href={formatRoute({ page: "segments", env, ns })}>Back to the segments</a>
              </p>
            </section>
          );
        }
        return (
          <SegmentEditor
            key={`${segment.key}@${data.revision}`}
            data={data}
            initial={segmentToDraft(segment)}
            creating={false}
            saved={saved?.key === segmentKey ? saved.message : undefined}
            onSaved={(key, message) => setSaved(message === undefined ? undefined : { key, message })}
          />
        );
      }}
    </WithNamespaceData>
  );
}

interface SegmentEditorProps {
  readonly data: NamespaceData;
  readonly initial: SegmentDraft;
  readonly creating: boolean;
  readonly saved?: string | undefined;
  readonly onSaved: (key: string, message: string | undefined) => void;
}

function SegmentEditor({ data, initial, creating, saved, onSaved }: SegmentEditorProps) {
  const { env, ns, store, access } = useWorkspace();
  const [draft, setDraft] = useState(initial);
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<Problem | undefined>(undefined);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const descriptionId = useId();
  const matchName = useId();
  const problems = segmentProblems(draft);
  const disabled = !access.allowed || saving;
  const users = useMemo(() => segmentUsage(data.flags).get(initial.key) ?? [], [data.flags, initial.key]);

  const change = (patch: Partial<SegmentDraft>) => {
    setDraft((current) => ({ ...current, ...patch }));
    setDirty(true);
    onSaved(draft.key, undefined);
  };

  const save = async () => {
    if (problems.length > 0 || disabled) return;
    setSaving(true);
    setFailure(undefined);
    const problem = await store.write({ kind: "segment", segment: draftToSegment(draft), create: creating });
    setSaving(false);
    if (problem !== undefined) {
      setFailure(problem);
      return;
    }
    setDirty(false);
    onSaved(draft.key, creating ? `Created segment ${draft.key}.` : `Saved segment ${draft.key}.`);
    if (creating) location.hash = formatRoute({ page: "segment", env, ns, key: draft.key });
  };

  const remove = async () => {
    setConfirmDelete(false);
    setSaving(true);
    const problem = await store.write({ kind: "delete-segment", key: initial.key });
    setSaving(false);
    if (problem !== undefined) {
      setFailure(problem);
      return;
    }
    location.hash = formatRoute({ page: "segments", env, ns });
  };

  return (
    <section class="page segment-page" aria-labelledby="segment-title">
      <div class="page-head">
        <div>
          <p class="breadcrumb">
            <a href={formatRoute({ page: "segments", env, ns })}>Segments</a> /
          </p>
          <h1 id="segment-title">{creating ? "New segment" : <code>{initial.key}</code>}</h1>
        </div>
      </div>
      <ReadOnlyNote access={access} />
      {saved !== undefined ? (
        <p class="notice notice-ok" role="status">
          {saved} Revision <code>{data.revision.slice(0, 8)}</code>.
        </p>
      ) : null}
      {failure !== undefined ? (
        <ProblemNotice
          problem={failure}
          subject={creating ? "The namespace" : "This segment"}
          onReload={() => void store.reload()}
          onDismiss={() => setFailure(undefined)}
        />
      ) : null}
      <form
        class="editor"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <section class="card" aria-labelledby="segment-general-title">
          <h2 id="segment-general-title">General</h2>
          <div class="grid-2">
            <div class="field">
              <label for="segment-key">Key</label>
              <input
                id="segment-key"
                value={draft.key}
                disabled={!creating || disabled}
                spellcheck={false}
                onInput={(event) => change({ key: event.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for="segment-name">Name</label>
              <input
                id="segment-name"
                value={draft.name}
                disabled={disabled}
                onInput={(event) => change({ name: event.currentTarget.value })}
              />
            </div>
          </div>
          <div class="field">
            <label for={descriptionId}>Description</label>
            <textarea
              id={descriptionId}
              rows={2}
              value={draft.description}
              disabled={disabled}
              onInput={(event) => change({ description: event.currentTarget.value })}
            />
          </div>
          <fieldset class="choices inline-choices">
            <legend>An entity is in the segment when it matches</legend>
            <label>
              <input
                type="radio"
                name={matchName}
                checked={draft.matchType === MatchType.ALL_MATCH_TYPE}
                disabled={disabled}
                onChange={() => change({ matchType: MatchType.ALL_MATCH_TYPE })}
              />{" "}
              all constraints
            </label>
            <label>
              <input
                type="radio"
                name={matchName}
                checked={draft.matchType === MatchType.ANY_MATCH_TYPE}
                disabled={disabled}
                onChange={() => change({ matchType: MatchType.ANY_MATCH_TYPE })}
              />{" "}
              any constraint
            </label>
          </fieldset>
          {!creating ? (
            <p class="hint">
              Used by{" "}
              {users.length === 0
                ? "no flag."
                : users.map((key, index) => (
                    <span key={key}>
                      {index > 0 ? ", " : ""}
                      <a href={formatRoute({ page: "flag", env, ns, key })}>{key}</a>
                    </span>
                  ))}
            </p>
          ) : null}
        </section>
        <ConstraintsEditor
          constraints={draft.constraints}
          disabled={disabled}
          onChange={(constraints) => change({ constraints })}
        />
        {dirty || creating ? <DraftProblems problems={problems} /> : null}
        {access.allowed ? (
          <div class={`save-bar${dirty ? " unsaved" : ""}`}>
            <button
              type="submit"
              class="button primary"
              disabled={saving || problems.length > 0 || (!creating && !dirty)}
            >
              {saving ? "Saving…" : creating ? "Create segment" : "Save changes"}
            </button>
            {dirty && !creating ? (
              <button
                type="button"
                class="button"
                disabled={saving}
                onClick={() => {
                  setDraft(initial);
                  setDirty(false);
                }}
              >
                Discard changes
              </button>
            ) : null}
            <span class="muted save-note">
              {dirty ? "Unsaved changes, " : "Editing "}based on revision{" "}
              <code>{data.revision.slice(0, 8)}</code>
            </span>
            {!creating ? (
              <button
                type="button"
                class="button danger push-right"
                disabled={saving || users.length > 0}
                title={users.length > 0 ? "Remove it from the flags that use it first" : undefined}
                onClick={() => setConfirmDelete(true)}
              >
                Delete segment
              </button>
            ) : null}
          </div>
        ) : null}
      </form>
      {confirmDelete ? (
        <ConfirmDialog
          title={`Delete segment ${initial.key}?`}
          confirmLabel="Delete segment"
          onConfirm={() => void remove()}
          onCancel={() => setConfirmDelete(false)}
        >
          <p>
            The segment is removed from namespace <code>{ns}</code> of environment <code>{env}</code> with a
            commit.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
