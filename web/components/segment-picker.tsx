import { useId, useState } from "preact/hooks";
import { type Segment, SegmentOperator } from "../../src/gen/flipt/core/core_pb.js";
import { ChoiceGroup } from "./choice-group.js";

export interface SegmentPickerProps {
  /** The group's id prefix, also the target of problem links. */
  readonly id: string;
  readonly legend: string;
  readonly segments: readonly Segment[];
  readonly selected: readonly string[];
  readonly operator: SegmentOperator;
  readonly disabled: boolean;
  readonly onChange: (change: { segments?: string[]; operator?: SegmentOperator }) => void;
}

/** Above this many segments the picker gets a filter. */
const FILTER_FROM = 12;

const OPERATOR_CHOICES = [
  { value: SegmentOperator.OR_SEGMENT_OPERATOR, label: "any of the segments (OR)" },
  { value: SegmentOperator.AND_SEGMENT_OPERATOR, label: "all of the segments (AND)" },
];

/**
 * A group of checkboxes, one per segment of the namespace, kept in the order chosen; with several chosen, whether
 * the entity must match any or all of them.
 */
export function SegmentPicker(props: SegmentPickerProps) {
  const { id, legend, segments, selected, operator, disabled, onChange } = props;
  const [filter, setFilter] = useState("");
  const filterId = useId();
  const needle = filter.trim().toLowerCase();
  const missing = selected.filter((key) => !segments.some((segment) => segment.key === key));
  const shown = segments.filter(
    (segment) =>
      needle === "" ||
      selected.includes(segment.key) ||
      `${segment.key} ${segment.name}`.toLowerCase().includes(needle),
  );
  const toggle = (key: string, on: boolean) => {
    const others = selected.filter((existing) => existing !== key);
    onChange({ segments: on ? [...others, key] : others });
  };
  return (
    <>
      <fieldset class="segment-picker" id={id}>
        <legend>{legend}</legend>
        {segments.length === 0 ? (
          <p class="hint">This namespace has no segments. Create one on the Segments page first.</p>
        ) : null}
        {segments.length > FILTER_FROM ? (
          <div class="field">
            <label for={filterId}>Filter segments</label>
            <input
              id={filterId}
              type="search"
              value={filter}
              onInput={(event) => setFilter(event.currentTarget.value)}
            />
          </div>
        ) : null}
        <ul class="checkbox-list">
          {shown.map((segment) => (
            <li key={segment.key}>
              <label>
                <input
                  type="checkbox"
                  checked={selected.includes(segment.key)}
                  disabled={disabled}
                  onChange={(event) => toggle(segment.key, event.currentTarget.checked)}
                />{" "}
                <code>{segment.key}</code>
                {segment.name !== "" && segment.name !== segment.key ? (
                  <span class="muted"> {segment.name}</span>
                ) : null}
              </label>
            </li>
          ))}
          {missing.map((key) => (
            <li key={key}>
              <label class="field-error">
                <input type="checkbox" checked disabled={disabled} onChange={() => toggle(key, false)} />{" "}
                <code>{key}</code> (no such segment)
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      {selected.length > 1 ? (
        <ChoiceGroup
          legend="The entity must match"
          choices={OPERATOR_CHOICES}
          value={operator}
          disabled={disabled}
          onChange={(value) => onChange({ operator: value })}
        />
      ) : null}
    </>
  );
}
