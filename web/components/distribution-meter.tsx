import type { DistributionDraft } from "../model/flag-draft.js";
import { formatFloat32 } from "../model/format-number.js";

/**
 * The live check of a rule's distributions: their total, said in words and drawn as a bar of each share, red
 * until it is exactly 100 %.
 */
export function DistributionMeter({
  id,
  distributions,
  total,
  ok,
}: {
  readonly id: string;
  readonly distributions: readonly DistributionDraft[];
  readonly total: number;
  readonly ok: boolean;
}) {
  let start = 0;
  return (
    <div class={`meter ${ok ? "meter-ok" : "meter-bad"}`} id={id}>
      <div class="meter-bar" aria-hidden="true">
        {distributions.map((distribution, index) => {
          const share = Math.max(0, Math.min(100 - start, Number(distribution.rollout) || 0));
          const left = start;
          start += share;
          return (
            <span
              key={distribution.id}
              class={`meter-part tone-${index % 6}`}
              style={{ left: `${left}%`, width: `${share}%` }}
              title={`${distribution.variant || "?"}: ${distribution.rollout}%`}
            />
          );
        })}
      </div>
      <p class="meter-text" role="status" data-testid="distribution-total">
        {ok ? (
          <>Total 100% ✓</>
        ) : (
          <>
            Total {formatFloat32(total)}%: must be exactly 100% to save
            {total < 100
              ? ` (${formatFloat32(100 - total)}% left)`
              : ` (${formatFloat32(total - 100)}% over)`}
          </>
        )}
      </p>
    </div>
  );
}
