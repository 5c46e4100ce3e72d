export interface TextFieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly disabled?: boolean;
  /** False for keys, names of properties and code. */
  readonly spellcheck?: boolean;
  readonly onInput: (value: string) => void;
}

/** A labelled one-line text input. */
export function TextField({ id, label, value, disabled, spellcheck, onInput }: TextFieldProps) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        disabled={disabled}
        spellcheck={spellcheck}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
    </div>
  );
}
