import { SegmentOperator } from "../../src/gen/flipt/core/core_pb.js";

export interface OperatorChoiceProps {
  readonly name: string;
  readonly value: SegmentOperator;
  readonly disabled: boolean;
  readonly onChange: (value: SegmentOperator) => void;
}

/** How several segments combine: any of them (OR) or all of them (AND). */
export function OperatorChoice({ name, value, disabled, onChange }: OperatorChoiceProps) {
  return (
    <fieldset class="choices inline-choices">
      <legend>The entity must match</legend>
      <label>
        <input
          type="radio"
          name={name}
          checked={value === SegmentOperator.OR_SEGMENT_OPERATOR}
          disabled={disabled}
          onChange={() => onChange(SegmentOperator.OR_SEGMENT_OPERATOR)}
        />{" "}
        any of the segments (OR)
      </label>
      <label>
        <input
          type="radio"
          name={name}
          checked={value === SegmentOperator.AND_SEGMENT_OPERATOR}
          disabled={disabled}
          onChange={() => onChange(SegmentOperator.AND_SEGMENT_OPERATOR)}
        />{" "}
        all of the segments (AND)
      </label>
    </fieldset>
  );
}
