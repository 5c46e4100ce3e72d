export interface ToggleSwitchProps {
  readonly checked: boolean;
  /** The accessible name, e.g. "new-checkout enabled". */
  readonly label: string;
  readonly disabled?: boolean;
  readonly busy?: boolean;
  readonly onToggle: () => void;
  /** Shown beside the switch; the label stays the accessible name. */
  readonly text?: string;
}

/** An on/off switch: a button with role="switch", operated with Space or Enter like any button. */
export function ToggleSwitch({
  checked,
  label,
  disabled = false,
  busy = false,
  onToggle,
  text,
}: ToggleSwitchProps) {
  return (
    <button
      type="button"
      role="switch"
      class="switch"
      aria-checked={checked}
      aria-label={label}
      aria-busy={busy}
      disabled={disabled || busy}
      onClick={onToggle}
    >
      <span class="switch-track" aria-hidden="true">
        <span class="switch-thumb" />
      </span>
      {text !== undefined ? <span class="switch-text">{text}</span> : null}
    </button>
  );
}
