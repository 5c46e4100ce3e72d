/** One range of the bar: the buckets from `start` (inclusive) to `end` (exclusive). */
export interface BucketRange {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly selected: boolean;
}

export interface BucketBarProps {
  /** The number of buckets: 1000 for variant distributions, 100 for a threshold rollout. */
  readonly size: number;
  readonly bucket: number;
  readonly ranges: readonly BucketRange[];
}

/**
 * The buckets as a bar: each range a coloured part, the entity's bucket a marker. The picture is decoration: the
 * same facts are its accessible name and the text beside it.
 */
export function BucketBar({ size, bucket, ranges }: BucketBarProps) {
  const description = `Bucket ${bucket} of 0 to ${size - 1}. ${ranges
    .map(
      (range) =>
        `${range.label}: ${range.start} to ${range.end - 1}${range.selected ? " (holds the bucket)" : ""}`,
    )
    .join("; ")}.`;
  return (
    <div class="bucket">
      <div class="bucket-bar" role="img" aria-label={description}>
        {ranges.map((range, index) => (
          <span
            key={`${range.label}-${range.start}`}
            class={`bucket-part tone-${index % 6}${range.selected ? " selected" : ""}`}
            style={{
              left: `${(range.start / size) * 100}%`,
              width: `${((range.end - range.start) / size) * 100}%`,
            }}
          />
        ))}
        <span class="bucket-marker" style={{ left: `${((bucket + 0.5) / size) * 100}%` }} />
      </div>
      <ul class="bucket-legend" aria-hidden="true">
        {ranges.map((range, index) => (
          <li key={`${range.label}-${range.start}`} class={range.selected ? "selected" : undefined}>
            <span class={`swatch tone-${index % 6}`} /> {range.label} {range.start}–{range.end - 1}
            {range.selected ? " ← bucket" : ""}
          </li>
        ))}
      </ul>
    </div>
  );
}
