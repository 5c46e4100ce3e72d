import type { Segment } from "../../src/gen/flipt/core/core_pb.js";
import {
  type DistributionDraft,
  distributionCheck,
  emptyRuleDraft,
  type RuleDraft,
  type VariantDraft,
} from "../model/flag-draft.js";
import { formatFloat32 } from "../model/format-number.js";
import { newRowId, patchRow, removeRow } from "../model/rows.js";
import { DistributionMeter } from "./distribution-meter.js";
import { ListEditor } from "./list-editor.js";
import { SegmentPicker } from "./segment-picker.js";

export interface RulesEditorProps {
  readonly rules: readonly RuleDraft[];
  readonly variants: readonly VariantDraft[];
  readonly segments: readonly Segment[];
  readonly disabled: boolean;
  readonly onChange: (rules: RuleDraft[]) => void;
}

/**
 * A variant flag's rules, in rank order: the first whose segments match decides, and its distributions split the
 * matching entities between variants (by bucket). The distributions of a rule must add up to 100 %.
 */
export function RulesEditor({ rules, variants, segments, disabled, onChange }: RulesEditorProps) {
  const variantKeys = variants.map((variant) => variant.key).filter((key) => key !== "");
  return (
    <ListEditor
      noun="rule"
      items={rules}
      disabled={disabled}
      onChange={onChange}
      create={emptyRuleDraft}
      ranked
      hint={
        <p class="hint">
          Evaluated in order; the first rule whose segments match picks the variant. An entity keeps its
          bucket (0–999) for this flag, so a split is stable.
        </p>
      }
    >
      {(rule, { name, update }) => {
        const check = distributionCheck(rule);
        const setDistributions = (distributions: DistributionDraft[]) => update({ distributions });
        const patch = (id: string, change: Partial<DistributionDraft>) =>
          setDistributions(patchRow(rule.distributions, id, change));
        return (
          <>
            <SegmentPicker
              id={`${rule.id}-segments`}
              legend={`Segments of ${name}`}
              segments={segments}
              selected={rule.segments}
              operator={rule.operator}
              disabled={disabled}
              onChange={update}
            />
            <fieldset class="distributions">
              <legend>Distributions of {name}</legend>
              {rule.distributions.length === 0 ? (
                <p class="hint">None: a match answers the flag's default variant, if any.</p>
              ) : null}
              <ul class="distribution-rows">
                {rule.distributions.map((distribution, position) => (
                  <li key={distribution.id} class="distribution-row">
                    <div class="field">
                      <label for={`${distribution.id}-variant`}>Variant</label>
                      <select
                        id={`${distribution.id}-variant`}
                        value={distribution.variant}
                        disabled={disabled}
                        onChange={(event) => patch(distribution.id, { variant: event.currentTarget.value })}
                      >
                        <option value="">Choose…</option>
                        {variantKeys.map((key) => (
                          <option key={key} value={key}>
                            {key}
                          </option>
                        ))}
                      </select>
                    </div>
                    <div class="field percent-field">
                      <label for={`${distribution.id}-rollout`}>Rollout %</label>
                      <input
                        id={`${distribution.id}-rollout`}
                        type="number"
                        inputMode="decimal"
                        min={0}
                        max={100}
                        step="any"
                        value={distribution.rollout}
                        disabled={disabled}
                        onInput={(event) => patch(distribution.id, { rollout: event.currentTarget.value })}
                      />
                    </div>
                    <button
                      type="button"
                      class="button small danger-text"
                      disabled={disabled}
                      aria-label={`Remove distribution ${position + 1} of ${name}`}
                      onClick={() => setDistributions(removeRow(rule.distributions, distribution.id))}
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
              {check !== undefined ? (
                <DistributionMeter
                  id={`${rule.id}-sum`}
                  distributions={rule.distributions}
                  total={check.total}
                  ok={check.ok}
                />
              ) : null}
              <div class="row-actions">
                <button
                  type="button"
                  class="button small"
                  disabled={disabled || variantKeys.length === 0}
                  onClick={() => {
                    const used = new Set(rule.distributions.map((distribution) => distribution.variant));
                    setDistributions([
                      ...rule.distributions,
                      {
                        id: newRowId(),
                        variant: variantKeys.find((key) => !used.has(key)) ?? "",
                        rollout: formatFloat32(Math.max(0, 100 - (check?.total ?? 0))),
                      },
                    ]);
                  }}
                >
                  Add distribution
                </button>
                {rule.distributions.length > 1 ? (
                  <button
                    type="button"
                    class="button small"
                    disabled={disabled}
                    onClick={() => setDistributions(splitEvenly(rule.distributions))}
                  >
                    Split evenly
                  </button>
                ) : null}
              </div>
            </fieldset>
          </>
        );
      }}
    </ListEditor>
  );
}

/** Equal shares in hundredths that add up to exactly 100 (the last takes the remainder). */
function splitEvenly(distributions: readonly DistributionDraft[]): DistributionDraft[] {
  const count = distributions.length;
  const share = Math.floor(10_000 / count) / 100;
  return distributions.map((distribution, index) => ({
    ...distribution,
    rollout: formatFloat32(index === count - 1 ? Math.round((100 - share * (count - 1)) * 100) / 100 : share),
  }));
}
