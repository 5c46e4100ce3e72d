import { useEffect, useId, useMemo, useState } from "preact/hooks";
import { FlagType } from "../../src/gen/flipt/core/core_pb.js";
import type { Problem } from "../api/describe-problem.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { DraftProblems } from "../components/draft-problems.js";
import { WithNamespaceData } from "../components/load-state.js";
import { ProblemNotice } from "../components/problem-notice.js";
import { ReadOnlyNote } from "../components/read-only-note.js";
import { RolloutsEditor } from "../components/rollouts-editor.js";
import { RulesEditor } from "../components/rules-editor.js";
import { ToggleSwitch } from "../components/toggle-switch.js";
import { VariantsEditor } from "../components/variants-editor.js";
import {
  draftToFlag,
  emptyFlagDraft,
  type FlagDraft,
  flagProblems,
  flagToDraft,
} from "../model/flag-draft.js";
import { flagOf } from "../model/flag-summary.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** One flag, to read and edit; or a new one when `flagKey` is undefined. */
export function FlagPage({ flagKey }: { readonly flagKey: string | undefined }) {
  const { env, ns } = useWorkspace();
  // The confirmation of the last save, for the flag it named (a created one is shown on its own page next).
  const [saved, setSaved] = useState<{ key: string; message: string } | undefined>(undefined);
  useDocumentTitle(flagKey === undefined ? `New flag · ${ns}` : `Flag ${flagKey} · ${ns}`);
  return (
    <WithNamespaceData>
      {(data) => {
        if (flagKey === undefined) {
          return (
            <FlagEditor
              key="new"
              data={data}
              initial={emptyFlagDraft()}
              creating
              onSaved={(key, message) => setSaved(message === undefined ? undefined : { key, message })}
            />
          );
        }
        const flag = data.flags.find((candidate) => candidate.key === flagKey);
        if (flag === undefined) {
          return (
            <section class="page">
              <h1>
                Flag <code>{flagKey}</code>
              </h1>
              <p class="notice notice-warning" role="alert">
                Namespace <code>{ns}</code> has no flag <code>{flagKey}</code> at revision{" "}
                <code>{data.revision.slice(0, 8)}</code>. It may have been deleted or renamed.{" "}
                <a href={formatRoute({ page: "flags", env, ns })}>Back to the flags</a>
              </p>
            </section>
          );
        }
        return (
          <FlagEditor
            // A new revision (this page's save, or a reload) starts from the flag as the server has it.
            key={`${flag.key}@${data.revision}`}
            data={data}
            initial={flagToDraft(flagOf(flag))}
            creating={false}
            saved={saved?.key === flagKey ? saved.message : undefined}
            onSaved={(key, message) => setSaved(message === undefined ? undefined : { key, message })}
          />
        );
      }}
    </WithNamespaceData>
  );
}

interface FlagEditorProps {
  readonly data: NamespaceData;
  readonly initial: FlagDraft;
  readonly creating: boolean;
  /** The confirmation of the last save, shown until the next edit. */
  readonly saved?: string | undefined;
  readonly onSaved: (key: string, message: string | undefined) => void;
}

function FlagEditor({ data, initial, creating, saved, onSaved }: FlagEditorProps) {
  const { env, ns, store, access } = useWorkspace();
  const [draft, setDraft] = useState(initial);
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<Problem | undefined>(undefined);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const ids = { description: useId(), defaultVariant: "flag-default-variant", type: useId() };
  const segmentKeys = useMemo(() => new Set(data.segments.map((segment) => segment.key)), [data.segments]);
  const problems = flagProblems(draft, segmentKeys);
  const disabled = !access.allowed || saving;
  const isVariant = draft.type === FlagType.VARIANT_FLAG_TYPE;

  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    addEventListener("beforeunload", warn);
    return () => removeEventListener("beforeunload", warn);
  }, [dirty]);

  const change = (patch: Partial<FlagDraft>) => {
    setDraft((current) => ({ ...current, ...patch }));
    setDirty(true);
    onSaved(draft.key, undefined);
  };

  const save = async () => {
    if (problems.length > 0 || disabled) return;
    setSaving(true);
    setFailure(undefined);
    const problem = await store.write({ kind: "flag", flag: draftToFlag(draft), create: creating });
    setSaving(false);
    if (problem !== undefined) {
      setFailure(problem);
      return;
    }
    setDirty(false);
    onSaved(draft.key, creating ? `Created flag ${draft.key}.` : `Saved flag ${draft.key}.`);
    if (creating) location.hash = formatRoute({ page: "flag", env, ns, key: draft.key });
  };

  const remove = async () => {
    setConfirmDelete(false);
    setSaving(true);
    const problem = await store.write({ kind: "delete-flag", key: initial.key });
    setSaving(false);
    if (problem !== undefined) {
      setFailure(problem);
      return;
    }
    location.hash = formatRoute({ page: "flags", env, ns });
  };

  return (
    <section class="page flag-page" aria-labelledby="flag-title">
      <div class="page-head">
        <div>
          <p class="breadcrumb">
            <a href={formatRoute({ page: "flags", env, ns })}>Flags</a> /
          </p>
          <h1 id="flag-title">
            {creating ? "New flag" : <code>{initial.key}</code>}{" "}
            {!creating ? (
              <span class={`badge ${isVariant ? "badge-variant" : "badge-boolean"}`}>
                {isVariant ? "Variant" : "Boolean"}
              </span>
            ) : null}
          </h1>
        </div>
        {!creating ? (
          <a class="button" href={formatRoute({ page: "console", env, ns, flag: initial.key })}>
            Evaluate and explain
          </a>
        ) : null}
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
          subject={creating ? "The namespace" : "This flag"}
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
        <section class="card" aria-labelledby="general-title">
          <h2 id="general-title">General</h2>
          <div class="grid-2">
            <div class="field">
              <label for="flag-key">Key</label>
              <input
                id="flag-key"
                value={draft.key}
                disabled={!creating || disabled}
                spellcheck={false}
                required
                aria-describedby="flag-key-help"
                onInput={(event) => change({ key: event.currentTarget.value })}
              />
              <p class="hint" id="flag-key-help">
                {creating ? "Letters, digits, -, _ and ,. It cannot change later." : "The key cannot change."}
              </p>
            </div>
            <div class="field">
              <label for="flag-name">Name</label>
              <input
                id="flag-name"
                value={draft.name}
                disabled={disabled}
                required
                onInput={(event) => change({ name: event.currentTarget.value })}
              />
            </div>
          </div>
          <div class="field">
            <label for={ids.description}>Description</label>
            <textarea
              id={ids.description}
              rows={2}
              value={draft.description}
              disabled={disabled}
              onInput={(event) => change({ description: event.currentTarget.value })}
            />
          </div>
          {creating ? (
            <fieldset class="choices inline-choices">
              <legend>Type</legend>
              <label>
                <input
                  type="radio"
                  name={ids.type}
                  checked={!isVariant}
                  disabled={disabled}
                  onChange={() => change({ type: FlagType.BOOLEAN_FLAG_TYPE })}
                />{" "}
                Boolean: on or off, with percentage and segment rollouts
              </label>
              <label>
                <input
                  type="radio"
                  name={ids.type}
                  checked={isVariant}
                  disabled={disabled}
                  onChange={() => change({ type: FlagType.VARIANT_FLAG_TYPE })}
                />{" "}
                Variant: one of several values, by rules and distributions
              </label>
            </fieldset>
          ) : null}
          <div class="grid-2">
            <div class="field">
              <span class="label" id="flag-enabled-label">
                Enabled
              </span>
              <ToggleSwitch
                checked={draft.enabled}
                label="Enabled"
                text={
                  draft.enabled
                    ? isVariant
                      ? "On: rules are evaluated"
                      : "On: answers true when no rollout matches"
                    : isVariant
                      ? "Off: answers the default variant, rules are skipped"
                      : "Off: answers false when no rollout matches"
                }
                disabled={disabled}
                onToggle={() => change({ enabled: !draft.enabled })}
              />
            </div>
            {isVariant ? (
              <div class="field">
                <label for={ids.defaultVariant}>Default variant</label>
                <select
                  id={ids.defaultVariant}
                  value={draft.defaultVariant}
                  disabled={disabled}
                  onChange={(event) => change({ defaultVariant: event.currentTarget.value })}
                >
                  <option value="">None</option>
                  {draft.variants
                    .filter((variant) => variant.key !== "")
                    .map((variant) => (
                      <option key={variant.id} value={variant.key}>
                        {variant.key}
                      </option>
                    ))}
                </select>
              </div>
            ) : null}
          </div>
        </section>
        {isVariant ? (
          <>
            <VariantsEditor
              variants={draft.variants}
              disabled={disabled}
              onChange={(variants) => change({ variants })}
            />
            <RulesEditor
              rules={draft.rules}
              variants={draft.variants}
              segments={data.segments}
              disabled={disabled}
              onChange={(rules) => change({ rules })}
            />
          </>
        ) : (
          <RolloutsEditor
            rollouts={draft.rollouts}
            segments={data.segments}
            disabled={disabled}
            onChange={(rollouts) => change({ rollouts })}
          />
        )}
        {dirty || creating ? <DraftProblems problems={problems} /> : null}
        {access.allowed ? (
          <div class={`save-bar${dirty ? " unsaved" : ""}`}>
            <button
              type="submit"
              class="button primary"
              disabled={saving || problems.length > 0 || (!creating && !dirty)}
            >
              {saving ? "Saving…" : creating ? "Create flag" : "Save changes"}
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
                disabled={saving}
                onClick={() => setConfirmDelete(true)}
              >
                Delete flag
              </button>
            ) : null}
          </div>
        ) : null}
      </form>
      {confirmDelete ? (
        <ConfirmDialog
          title={`Delete flag ${initial.key}?`}
          confirmLabel="Delete flag"
          onConfirm={() => void remove()}
          onCancel={() => setConfirmDelete(false)}
        >
          <p>
            The flag is removed from namespace <code>{ns}</code> of environment <code>{env}</code> with a
            commit. Clients evaluating it will get a not-found error.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
