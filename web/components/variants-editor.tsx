import { attachmentProblem, newRowId, type VariantDraft } from "../model/flag-draft.js";

export interface VariantsEditorProps {
  readonly variants: readonly VariantDraft[];
  readonly disabled: boolean;
  readonly onChange: (variants: VariantDraft[]) => void;
}

/** A variant flag's variants: key, name, description and an optional JSON attachment each. */
export function VariantsEditor({ variants, disabled, onChange }: VariantsEditorProps) {
  const update = (id: string, patch: Partial<VariantDraft>) =>
    onChange(variants.map((variant) => (variant.id === id ? { ...variant, ...patch } : variant)));
  return (
    <section class="card" aria-labelledby="variants-title">
      <h2 id="variants-title">Variants</h2>
      {variants.length === 0 ? (
        <p class="hint">No variants yet: a rule needs variants to distribute.</p>
      ) : null}
      <ol class="item-list">
        {variants.map((variant, index) => {
          const problem = attachmentProblem(variant.attachment);
          const label = `variant ${variant.key || index + 1}`;
          return (
            <li key={variant.id} class="item" data-testid="variant">
              <div class="item-head">
                <h3>Variant {index + 1}</h3>
                <button
                  type="button"
                  class="button small danger-text"
                  disabled={disabled}
                  aria-label={`Remove ${label}`}
                  onClick={() => onChange(variants.filter((other) => other.id !== variant.id))}
                >
                  Remove
                </button>
              </div>
              <div class="grid-3">
                <div class="field">
                  <label for={`${variant.id}-key`}>Key</label>
                  <input
                    id={`${variant.id}-key`}
                    value={variant.key}
                    disabled={disabled}
                    spellcheck={false}
                    onInput={(event) => update(variant.id, { key: event.currentTarget.value })}
                  />
                </div>
                <div class="field">
                  <label for={`${variant.id}-name`}>Name</label>
                  <input
                    id={`${variant.id}-name`}
                    value={variant.name}
                    disabled={disabled}
                    onInput={(event) => update(variant.id, { name: event.currentTarget.value })}
                  />
                </div>
                <div class="field">
                  <label for={`${variant.id}-description`}>Description</label>
                  <input
                    id={`${variant.id}-description`}
                    value={variant.description}
                    disabled={disabled}
                    onInput={(event) => update(variant.id, { description: event.currentTarget.value })}
                  />
                </div>
              </div>
              <div class="field">
                <label for={`${variant.id}-attachment`}>Attachment (JSON, optional)</label>
                <textarea
                  id={`${variant.id}-attachment`}
                  class="code"
                  rows={Math.min(8, Math.max(2, variant.attachment.split("\n").length))}
                  value={variant.attachment}
                  disabled={disabled}
                  spellcheck={false}
                  aria-invalid={problem !== undefined}
                  aria-describedby={problem !== undefined ? `${variant.id}-attachment-error` : undefined}
                  placeholder='{"color": "blue"}'
                  onInput={(event) => update(variant.id, { attachment: event.currentTarget.value })}
                />
                {problem !== undefined ? (
                  <p class="field-error" id={`${variant.id}-attachment-error`}>
                    {problem}
                  </p>
                ) : null}
              </div>
            </li>
          );
        })}
      </ol>
      <button
        type="button"
        class="button"
        disabled={disabled}
        onClick={() =>
          onChange([...variants, { id: newRowId(), key: "", name: "", description: "", attachment: "" }])
        }
      >
        Add variant
      </button>
    </section>
  );
}
