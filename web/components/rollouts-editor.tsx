import type { Segment } from "../../src/gen/flipt/core/core_pb.js";
import { emptyRolloutDraft, type RolloutDraft } from "../model/flag-draft.js";
import { parsePercentage } from "../model/format-number.js";
import { ListEditor } from "./list-editor.js";
import { SegmentPicker } from "./segment-picker.js";
import { TextField } from "./text-field.js";

export interface RolloutsEditorProps {
  readonly rollouts: readonly RolloutDraft[];
  readonly segments: readonly Segment[];
  readonly disabled: boolean;
  readonly onChange: (rollouts: RolloutDraft[]) => void;
}

/**
 * A boolean flag's rollouts, in rank order: the first that matches gives its value; when none does, the flag's
 * `enabled` is the answer. A threshold rollout matches the given percentage of entities (by bucket), a segment
 * rollout the entities its segments match.
 */
export function RolloutsEditor({ rollouts, segments, disabled, onChange }: RolloutsEditorProps) {
  return (
    <ListEditor
      noun="rollout"
      items={rollouts}
      disabled={disabled}
      onChange={onChange}
      create={emptyRolloutDraft}
      ranked
      hint={
        <p class="hint">
          Evaluated in order; the first that matches gives its value. When none matches, the answer is whether
          the flag is enabled.
        </p>
      }
    >
      {(rollout, { name, update }) => {
        const percentage = parsePercentage(rollout.percentage);
        return (
          <>
            <div class="grid-3">
              <div class="field">
                <label for={`${rollout.id}-kind`}>Kind</label>
                <select
                  id={`${rollout.id}-kind`}
                  value={rollout.kind}
                  disabled={disabled}
                  onChange={(event) => update({ kind: event.currentTarget.value as RolloutDraft["kind"] })}
                >
                  <option value="threshold">Percentage of entities (threshold)</option>
                  <option value="segment">Entities in segments</option>
                </select>
              </div>
              <div class="field">
                <label for={`${rollout.id}-value`}>When it matches, answer</label>
                <select
                  id={`${rollout.id}-value`}
                  value={String(rollout.value)}
                  disabled={disabled}
                  onChange={(event) => update({ value: event.currentTarget.value === "true" })}
                >
                  <option value="true">true (on)</option>
                  <option value="false">false (off)</option>
                </select>
              </div>
              <TextField
                id={`${rollout.id}-description`}
                label="Description"
                value={rollout.description}
                disabled={disabled}
                onInput={(description) => update({ description })}
              />
            </div>
            {rollout.kind === "threshold" ? (
              <div class="threshold">
                <div class="field percent-field">
                  <label for={`${rollout.id}-percentage`}>Percentage of entities</label>
                  <input
                    id={`${rollout.id}-percentage`}
                    type="number"
                    inputMode="decimal"
                    min={0}
                    max={100}
                    step="any"
                    value={rollout.percentage}
                    disabled={disabled}
                    aria-invalid={percentage === undefined}
                    aria-describedby={`${rollout.id}-percentage-help`}
                    onInput={(event) => update({ percentage: event.currentTarget.value })}
                  />
                </div>
                <input
                  type="range"
                  min={0}
                  max={100}
                  step={1}
                  class="range"
                  aria-label={`Percentage of ${name}, slider`}
                  value={percentage ?? 0}
                  disabled={disabled}
                  onInput={(event) => update({ percentage: event.currentTarget.value })}
                />
                <p class="hint" id={`${rollout.id}-percentage-help`}>
                  {percentage === undefined
                    ? "A number from 0 to 100."
                    : `Entities whose bucket (0–99) is below ${percentage} get ${rollout.value}: about ${percentage}% of them.`}
                </p>
              </div>
            ) : (
              <SegmentPicker
                id={`${rollout.id}-segments`}
                legend={`Segments of ${name}`}
                segments={segments}
                selected={rollout.segments}
                operator={rollout.operator}
                disabled={disabled}
                onChange={update}
              />
            )}
          </>
        );
      }}
    </ListEditor>
  );
}
