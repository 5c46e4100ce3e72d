import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

export interface Choice<V> {
  readonly value: V;
  readonly label: ComponentChildren;
}

export interface ChoiceGroupProps<V> {
  readonly legend: string;
  readonly choices: readonly Choice<V>[];
  readonly value: V;
  readonly disabled?: boolean;
  readonly onChange: (value: V) => void;
}

/** One of a few values, as radio buttons on a line. */
export function ChoiceGroup<V>({ legend, choices, value, disabled, onChange }: ChoiceGroupProps<V>) {
  const name = useId();
  return (
    <fieldset class="choices inline-choices">
      <legend>{legend}</legend>
      {choices.map((choice) => (
        <label key={String(choice.value)}>
          <input
            type="radio"
            name={name}
            checked={choice.value === value}
            disabled={disabled}
            onChange={() => onChange(choice.value)}
          />{" "}
          {choice.label}
        </label>
      ))}
    </fieldset>
  );
}
