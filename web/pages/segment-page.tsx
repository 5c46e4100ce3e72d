import { useId, useMemo } from "preact/hooks";
import { MatchType } from "../../src/gen/flipt/core/core_pb.js";
import { ChoiceGroup } from "../components/choice-group.js";
import { ConstraintsEditor } from "../components/constraints-editor.js";
import { EditorForm } from "../components/editor-form.js";
import { EditorPage } from "../components/editor-page.js";
import { TextField } from "../components/text-field.js";
import {
  draftToSegment,
  emptySegmentDraft,
  type SegmentDraft,
  segmentProblems,
  segmentToDraft,
} from "../model/segment-draft.js";
import { segmentUsage } from "../model/segment-usage.js";
import { formatRoute } from "../state/route.js";
import { type EditorProps, useEditor } from "../state/use-editor.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** One segment, to read and edit; or a new one when `segmentKey` is undefined. */
export function SegmentPage({ segmentKey }: { readonly segmentKey: string | undefined }) {
  return (
    <EditorPage
      kind="segment"
      itemKey={segmentKey}
      emptyDraft={emptySegmentDraft}
      draftOf={segmentDraftOf}
      editor={SegmentEditor}
    />
  );
}

function segmentDraftOf(data: NamespaceData, key: string): SegmentDraft | undefined {
  const segment = data.segments.find((candidate) => candidate.key === key);
  return segment === undefined ? undefined : segmentToDraft(segment);
}

const MATCH_CHOICES = [
  { value: MatchType.ALL_MATCH_TYPE, label: "all constraints" },
  { value: MatchType.ANY_MATCH_TYPE, label: "any constraint" },
];

function SegmentEditor(props: EditorProps<SegmentDraft>) {
  const { env, ns } = useWorkspace();
  const editor = useEditor("segment", props, {
    problemsOf: segmentProblems,
    changeOf: (draft, create) => ({ kind: "segment", segment: draftToSegment(draft), create }),
  });
  const { draft, change, creating, disabled } = editor;
  const descriptionId = useId();
  const { flags } = props.data;
  const users = useMemo(() => segmentUsage(flags).get(editor.key) ?? [], [flags, editor.key]);

  return (
    <section class="page segment-page" aria-labelledby="segment-title">
      <div class="page-head">
        <div>
          <p class="breadcrumb">
            <a href={formatRoute({ page: "segments", env, ns })}>Segments</a> /
          </p>
          <h1 id="segment-title">{creating ? "New segment" : <code>{editor.key}</code>}</h1>
        </div>
      </div>
      <EditorForm
        editor={editor}
        deleteRefusal={users.length > 0 ? "Remove it from the flags that use it first" : undefined}
      >
        <section class="card" aria-labelledby="segment-general-title">
          <h2 id="segment-general-title">General</h2>
          <div class="grid-2">
            <TextField
              id="segment-key"
              label="Key"
              value={draft.key}
              disabled={!creating || disabled}
              spellcheck={false}
              onInput={(key) => change({ key })}
            />
            <TextField
              id="segment-name"
              label="Name"
              value={draft.name}
              disabled={disabled}
              onInput={(name) => change({ name })}
            />
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
          <ChoiceGroup
            legend="An entity is in the segment when it matches"
            choices={MATCH_CHOICES}
            value={draft.matchType}
            disabled={disabled}
            onChange={(matchType) => change({ matchType })}
          />
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
      </EditorForm>
    </section>
  );
}
