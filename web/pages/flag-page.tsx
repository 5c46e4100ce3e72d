import { useId, useMemo } from "preact/hooks";
import { FlagType } from "../../src/gen/flipt/core/core_pb.js";
import { ChoiceGroup } from "../components/choice-group.js";
import { EditorForm } from "../components/editor-form.js";
import { EditorPage } from "../components/editor-page.js";
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
import { type EditorProps, useEditor } from "../state/use-editor.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** One flag, to read and edit; or a new one when `flagKey` is undefined. */
export function FlagPage({ flagKey }: { readonly flagKey: string | undefined }) {
  return (
    <EditorPage
      kind="flag"
      itemKey={flagKey}
      emptyDraft={emptyFlagDraft}
      draftOf={flagDraftOf}
      editor={FlagEditor}
    />
  );
}

function flagDraftOf(data: NamespaceData, key: string): FlagDraft | undefined {
  const flag = data.flags.find((candidate) => candidate.key === key);
  return flag === undefined ? undefined : flagToDraft(flagOf(flag));
}

const TYPE_CHOICES = [
  { value: FlagType.BOOLEAN_FLAG_TYPE, label: "Boolean: on or off, with percentage and segment rollouts" },
  { value: FlagType.VARIANT_FLAG_TYPE, label: "Variant: one of several values, by rules and distributions" },
];

function FlagEditor(props: EditorProps<FlagDraft>) {
  const { env, ns } = useWorkspace();
  const { segments } = props.data;
  const segmentKeys = useMemo(() => new Set(segments.map((segment) => segment.key)), [segments]);
  const editor = useEditor("flag", props, {
    problemsOf: (draft) => flagProblems(draft, segmentKeys),
    changeOf: (draft, create) => ({ kind: "flag", flag: draftToFlag(draft), create }),
  });
  const { draft, change, creating, disabled } = editor;
  const descriptionId = useId();
  const isVariant = draft.type === FlagType.VARIANT_FLAG_TYPE;

  return (
    <section class="page flag-page" aria-labelledby="flag-title">
      <div class="page-head">
        <div>
          <p class="breadcrumb">
            <a href={formatRoute({ page: "flags", env, ns })}>Flags</a> /
          </p>
          <h1 id="flag-title">
            {creating ? "New flag" : <code>{editor.key}</code>}{" "}
            {!creating ? (
              <span class={`badge ${isVariant ? "badge-variant" : "badge-boolean"}`}>
                {isVariant ? "Variant" : "Boolean"}
              </span>
            ) : null}
          </h1>
        </div>
        {!creating ? (
          <a class="button" href={formatRoute({ page: "console", env, ns, flag: editor.key })}>
            Evaluate and explain
          </a>
        ) : null}
      </div>
      <EditorForm editor={editor}>
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
            <label for={descriptionId}>Description</label>
            <textarea
              id={descriptionId}
              rows={2}
              value={draft.description}
              disabled={disabled}
              onInput={(event) => change({ description: event.currentTarget.value })}
            />
          </div>
          {creating ? (
            <ChoiceGroup
              legend="Type"
              choices={TYPE_CHOICES}
              value={isVariant ? FlagType.VARIANT_FLAG_TYPE : FlagType.BOOLEAN_FLAG_TYPE}
              disabled={disabled}
              onChange={(type) => change({ type })}
            />
          ) : null}
          <div class="grid-2">
            <div class="field">
              <span class="label">Enabled</span>
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
                <label for="flag-default-variant">Default variant</label>
                <select
                  id="flag-default-variant"
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
              segments={segments}
              disabled={disabled}
              onChange={(rules) => change({ rules })}
            />
          </>
        ) : (
          <RolloutsEditor
            rollouts={draft.rollouts}
            segments={segments}
            disabled={disabled}
            onChange={(rollouts) => change({ rollouts })}
          />
        )}
      </EditorForm>
    </section>
  );
}
