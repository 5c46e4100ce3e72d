import { type Segment, SegmentOperator } from "../../src/gen/flipt/core/core_pb.js";
import { distributionCheck, move, newRowId, type RuleDraft, type VariantDraft } from "../model/flag-draft.js";
import { formatFloat32 } from "../model/format-number.js";
import { DistributionMeter } from "./distribution-meter.js";
import { OperatorChoice } from "./operator-choice.js";
import { ReorderButtons } from "./reorder-buttons.js";
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
  const update = (id: string, patch: Partial<RuleDraft>) =>
    onChange(rules.map((rule) => (rule.id === id ? { ...rule, ...patch } : rule)));
  const variantKeys = variants.map((variant) => variant.key).filter((key) => key !== "");
  return (
    <section class="card" aria-labelledby="rules-title">
      <h2 id="rules-title">Rules</h2>
      <p class="hint">
        Evaluated in order; the first rule whose segments match picks the variant. An entity keeps its bucket
        (0–999) for this flag, so a split is stable.
      </p>
      <ol class="item-list">
        {rules.map((rule, index) => {
          const check = distributionCheck(rule);
          const name = `rule ${index + 1}`;
          return (
            <li key={rule.id} class="item" data-testid="rule">
              <div class="item-head">
                <h3>Rule {index + 1}</h3>
                <ReorderButtons
                  what={name}
                  index={index}
                  count={rules.length}
                  disabled={disabled}
                  onMove={(to) => onChange(move(rules, index, to))}
                  onRemove={() => onChange(rules.filter((other) => other.id !== rule.id))}
                />
              </div>
              <SegmentPicker
                id={`${rule.id}-segments`}
                legend={`Segments of ${name}`}
                segments={segments}
                selected={rule.segments}
                disabled={disabled}
                onChange={(keys) => update(rule.id, { segments: keys })}
              />
              {rule.segments.length > 1 ? (
                <OperatorChoice
                  name={`${rule.id}-operator`}
                  value={rule.operator}
                  disabled={disabled}
                  onChange={(operator) => update(rule.id, { operator })}
                />
              ) : null}
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
                          onChange={(event) =>
                            update(rule.id, {
                              distributions: rule.distributions.map((other) =>
                                other.id === distribution.id
                                  ? { ...other, variant: event.currentTarget.value }
                                  : other,
                              ),
                            })
                          }
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
                          onInput={(event) =>
                            update(rule.id, {
                              distributions: rule.distributions.map((other) =>
                                other.id === distribution.id
                                  ? { ...other, rollout: event.currentTarget.value }
                                  : other,
                              ),
                            })
                          }
                        />
                      </div>
                      <button
                        type="button"
                        class="button small danger-text"
                        disabled={disabled}
                        aria-label={`Remove distribution ${position + 1} of ${name}`}
                        onClick={() =>
                          update(rule.id, {
                            distributions: rule.distributions.filter((other) => other.id !== distribution.id),
                          })
                        }
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
                      const left = Math.max(0, 100 - (check?.total ?? 0));
                      update(rule.id, {
                        distributions: [
                          ...rule.distributions,
                          {
                            id: newRowId(),
                            variant: variantKeys.find((key) => !used.has(key)) ?? "",
                            rollout: formatFloat32(left),
                          },
                        ],
                      });
                    }}
                  >
                    Add distribution
                  </button>
                  {rule.distributions.length > 1 ? (
                    <button
                      type="button"
                      class="button small"
                      disabled={disabled}
                      onClick={() => update(rule.id, { distributions: splitEvenly(rule) })}
                    >
                      Split evenly
                    </button>
                  ) : null}
                </div>
              </fieldset>
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
            ...rules,
            {
              id: newRowId(),
              segments: [],
              operator: SegmentOperator.OR_SEGMENT_OPERATOR,
              distributions: [],
            },
          ])
        }
      >
        Add rule
      </button>
    </section>
  );
}

/** Equal shares in hundredths that add up to exactly 100 (the last takes the remainder). */
function splitEvenly(rule: RuleDraft): RuleDraft["distributions"] {
  const count = rule.distributions.length;
  const share = Math.floor(10_000 / count) / 100;
  return rule.distributions.map((distribution, index) => ({
    ...distribution,
    rollout: formatFloat32(index === count - 1 ? Math.round((100 - share * (count - 1)) * 100) / 100 : share),
  }));
}
