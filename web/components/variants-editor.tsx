import { attachmentProblem, emptyVariantDraft, type VariantDraft } from "../model/flag-draft.js";
import { ListEditor } from "./list-editor.js";
import { TextField } from "./text-field.js";

export interface VariantsEditorProps {
  readonly variants: readonly VariantDraft[];
  readonly disabled: boolean;
  readonly onChange: (variants: VariantDraft[]) => void;
}

/** A variant flag's variants: key, name, description and an optional JSON attachment each. */
export function VariantsEditor({ variants, disabled, onChange }: VariantsEditorProps) {
  return (
    <ListEditor
      noun="variant"
      items={variants}
      disabled={disabled}
      onChange={onChange}
      create={emptyVariantDraft}
      ranked={false}
      nameOf={(variant, index) => `variant ${variant.key || index + 1}`}
      hint={
        variants.length === 0 ? (
          <p class="hint">No variants yet: a rule needs variants to distribute.</p>
        ) : null
      }
    >
      {(variant, { update }) => {
        const problem = attachmentProblem(variant.attachment);
        return (
          <>
            <div class="grid-3">
              <TextField
                id={`${variant.id}-key`}
                label="Key"
                value={variant.key}
                disabled={disabled}
                spellcheck={false}
                onInput={(key) => update({ key })}
              />
              <TextField
                id={`${variant.id}-name`}
                label="Name"
                value={variant.name}
                disabled={disabled}
                onInput={(name) => update({ name })}
              />
              <TextField
                id={`${variant.id}-description`}
                label="Description"
                value={variant.description}
                disabled={disabled}
                onInput={(description) => update({ description })}
              />
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
                onInput={(event) => update({ attachment: event.currentTarget.value })}
              />
              {problem !== undefined ? (
                <p class="field-error" id={`${variant.id}-attachment-error`}>
                  {problem}
                </p>
              ) : null}
            </div>
          </>
        );
      }}
    </ListEditor>
  );
}
