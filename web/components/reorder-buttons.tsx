export interface ReorderButtonsProps {
  /** What the buttons move, e.g. "rule 2". */
  readonly what: string;
  readonly index: number;
  readonly count: number;
  readonly disabled: boolean;
  readonly onMove: (to: number) => void;
  readonly onRemove: () => void;
}

/** Move up, move down and remove, for one item of an ordered list (rank is position). */
export function ReorderButtons({ what, index, count, disabled, onMove, onRemove }: ReorderButtonsProps) {
  return (
    <div class="item-actions">
      <button
        type="button"
        class="button small"
        disabled={disabled || index === 0}
        aria-label={`Move ${what} up`}
        onClick={() => onMove(index - 1)}
      >
        ↑<span class="visually-hidden-mobile"> Up</span>
      </button>
      <button
        type="button"
        class="button small"
        disabled={disabled || index === count - 1}
        aria-label={`Move ${what} down`}
        onClick={() => onMove(index + 1)}
      >
        ↓<span class="visually-hidden-mobile"> Down</span>
      </button>
      <button
        type="button"
        class="button small danger-text"
        disabled={disabled}
        aria-label={`Remove ${what}`}
        onClick={onRemove}
      >
        Remove
      </button>
    </div>
  );
}
