import { type Segment, SegmentOperator } from "../../src/gen/flipt/core/core_pb.js";
import { move, newRowId, type RolloutDraft } from "../model/flag-draft.js";
import { parsePercentage } from "../model/format-number.js";
import { OperatorChoice } from "./operator-choice.js";
import { ReorderButtons } from "./reorder-buttons.js";
import { SegmentPicker } from "./segment-picker.js";

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
  const update = (id: string, patch: Partial<RolloutDraft>) =>
    onChange(rollouts.map((rollout) => (rollout.id === id ? { ...rollout, ...patch } : rollout)));
  return (
    <section class="card" aria-labelledby="rollouts-title">
      <h2 id="rollouts-title">Rollouts</h2>
      <p class="hint">
        Evaluated in order; the first that matches gives its value. When none matches, the answer is whether
        the flag is enabled.
      </p>
      <ol class="item-list">
        {rollouts.map((rollout, index) => {
          const name = `rollout ${index + 1}`;
          const percentage = parsePercentage(rollout.percentage);
          return (
            <li key={rollout.id} class="item" data-testid="rollout">
              <div class="item-head">
                <h3>Rollout {index + 1}</h3>
                <ReorderButtons
                  what={name}
                  index={index}
                  count={rollouts.length}
                  disabled={disabled}
                  onMove={(to) => onChange(move(rollouts, index, to))}
                  onRemove={() => onChange(rollouts.filter((other) => other.id !== rollout.id))}
                />
              </div>
              <div class="grid-3">
                <div class="field">
                  <label for={`${rollout.id}-kind`}>Kind</label>
                  <select
                    id={`${rollout.id}-kind`}
                    value={rollout.kind}
                    disabled={disabled}
                    onChange={(event) =>
                      update(rollout.id, { kind: event.currentTarget.value as RolloutDraft["kind"] })
                    }
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
                    onChange={(event) => update(rollout.id, { value: event.currentTarget.value === "true" })}
                  >
                    <option value="true">true (on)</option>
                    <option value="false">false (off)</option>
                  </select>
                </div>
                <div class="field">
                  <label for={`${rollout.id}-description`}>Description</label>
                  <input
                    id={`${rollout.id}-description`}
                    value={rollout.description}
                    disabled={disabled}
                    onInput={(event) => update(rollout.id, { description: event.currentTarget.value })}
                  />
                </div>
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
                      onInput={(event) => update(rollout.id, { percentage: event.currentTarget.value })}
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
                    onInput={(event) => update(rollout.id, { percentage: event.currentTarget.value })}
                  />
                  <p class="hint" id={`${rollout.id}-percentage-help`}>
                    {percentage === undefined
                      ? "A number from 0 to 100."
                      : `Entities whose bucket (0–99) is below ${percentage} get ${rollout.value}: about ${percentage}% of them.`}
                  </p>
                </div>
              ) : (
                <>
                  <SegmentPicker
                    id={`${rollout.id}-segments`}
                    legend={`Segments of ${name}`}
                    segments={segments}
                    selected={rollout.segments}
                    disabled={disabled}
                    onChange={(keys) => update(rollout.id, { segments: keys })}
                  />
                  {rollout.segments.length > 1 ? (
                    <OperatorChoice
                      name={`${rollout.id}-operator`}
                      value={rollout.operator}
                      disabled={disabled}
                      onChange={(operator) => update(rollout.id, { operator })}
                    />
                  ) : null}
                </>
              )}
            </li>
          );
        })}
      </ol>
      <button
        type="button"
        class="button"
        disabled={disabled}
        onClick={() =>
          onChange([
            ...rollouts,
            {
              id: newRowId(),
              kind: "threshold",
              description: "",
              percentage: "50",
              value: true,
              segments: [],
              operator: SegmentOperator.OR_SEGMENT_OPERATOR,
            },
          ])
        }
      >
        Add rollout
      </button>
    </section>
  );
}
