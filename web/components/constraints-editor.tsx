import { ComparisonType } from "../../src/gen/flipt/core/core_pb.js";
import {
  constraintValueProblem,
  operatorRuleOf,
  TYPE_RULES,
  typeRuleOf,
  valueHint,
} from "../model/constraint-rules.js";
import { type ConstraintDraft, emptyConstraintDraft } from "../model/segment-draft.js";
import { ListEditor } from "./list-editor.js";
import { TextField } from "./text-field.js";

export interface ConstraintsEditorProps {
  readonly constraints: readonly ConstraintDraft[];
  readonly disabled: boolean;
  readonly onChange: (constraints: ConstraintDraft[]) => void;
}

/** A segment's constraints: type, property, operator and value, with each type's rules spelled out beside them. */
export function ConstraintsEditor({ constraints, disabled, onChange }: ConstraintsEditorProps) {
  return (
    <ListEditor
      noun="constraint"
      items={constraints}
      disabled={disabled}
      onChange={onChange}
      create={emptyConstraintDraft}
      ranked
      hint={
        constraints.length === 0 ? (
          <p class="hint">No constraints: the segment matches every entity.</p>
        ) : null
      }
    >
      {(constraint, { update }) => {
        const typeRule = typeRuleOf(constraint.type);
        const operatorRule = operatorRuleOf(constraint.type, constraint.operator);
        // An empty value is not flagged while typing; the problems list still blocks saving.
        const problem =
          operatorRule === undefined || constraint.value === ""
            ? undefined
            : constraintValueProblem(constraint.type, constraint.operator, constraint.value);
        const entity = constraint.type === ComparisonType.ENTITY_ID_COMPARISON_TYPE;
        return (
          <>
            <div class="grid-4">
              <div class="field">
                <label for={`${constraint.id}-type`}>Type</label>
                <select
                  id={`${constraint.id}-type`}
                  value={String(constraint.type)}
                  disabled={disabled}
                  onChange={(event) => {
                    const type = Number(event.currentTarget.value) as ComparisonType;
                    const keeps = operatorRuleOf(type, constraint.operator) !== undefined;
                    update({
                      type,
                      operator: keeps
                        ? constraint.operator
                        : (typeRuleOf(type)?.operators[0]?.operator ?? ""),
                      ...(type === ComparisonType.ENTITY_ID_COMPARISON_TYPE && constraint.property === ""
                        ? { property: "entityId" }
                        : {}),
                    });
                  }}
                >
                  {typeRule === undefined ? (
                    <option value={String(constraint.type)}>
                      {ComparisonType[constraint.type]} (cannot be evaluated)
                    </option>
                  ) : null}
                  {TYPE_RULES.map((rule) => (
                    <option key={rule.type} value={String(rule.type)}>
                      {rule.label}
                    </option>
                  ))}
                </select>
              </div>
              <TextField
                id={`${constraint.id}-property`}
                label={entity ? "Property (a name only)" : "Property (context key)"}
                value={constraint.property}
                disabled={disabled}
                spellcheck={false}
                onInput={(property) => update({ property })}
              />
              <div class="field">
                <label for={`${constraint.id}-operator`}>Operator</label>
                <select
                  id={`${constraint.id}-operator`}
                  value={constraint.operator}
                  disabled={disabled || typeRule === undefined}
                  onChange={(event) => update({ operator: event.currentTarget.value })}
                >
                  {operatorRule === undefined ? (
                    <option value={constraint.operator}>{constraint.operator || "Choose…"}</option>
                  ) : null}
                  {typeRule?.operators.map((rule) => (
                    <option key={rule.operator} value={rule.operator}>
                      {rule.label} ({rule.operator})
                    </option>
                  ))}
                </select>
              </div>
              {operatorRule?.value !== "none" ? (
                <div class="field">
                  <label for={`${constraint.id}-value`}>
                    {operatorRule?.value === "list" ? "Values (JSON array)" : "Value"}
                  </label>
                  <input
                    id={`${constraint.id}-value`}
                    class={operatorRule?.value === "list" ? "code" : undefined}
                    value={constraint.value}
                    disabled={disabled}
                    spellcheck={false}
                    aria-invalid={problem !== undefined}
                    aria-describedby={`${constraint.id}-rules${problem !== undefined ? ` ${constraint.id}-error` : ""}`}
                    placeholder={placeholderFor(constraint.type, operatorRule?.value === "list")}
                    onInput={(event) => update({ value: event.currentTarget.value })}
                  />
                </div>
              ) : (
                <p class="field no-value hint">No value: the operator says it all.</p>
              )}
            </div>
            <p class="hint">{valueHint(constraint.type, constraint.operator)}</p>
            {problem !== undefined ? (
              <p class="field-error" id={`${constraint.id}-error`}>
                The value must be {problem}.
              </p>
            ) : null}
            <details class="value-rules" id={`${constraint.id}-rules`}>
              <summary>
                {typeRule === undefined
                  ? "This type cannot be evaluated"
                  : `How ${typeRule.label.toLowerCase()} constraints compare`}
              </summary>
              <p>
                {typeRule === undefined
                  ? "Flipt's evaluation stops with an error when it reaches a constraint of this type. Choose another type."
                  : `Compares ${typeRule.compares}. ${typeRule.valueRule}`}
              </p>
            </details>
            <TextField
              id={`${constraint.id}-description`}
              label="Description"
              value={constraint.description}
              disabled={disabled}
              onInput={(description) => update({ description })}
            />
          </>
        );
      }}
    </ListEditor>
  );
}

function placeholderFor(type: ComparisonType, list: boolean): string {
  switch (type) {
    case ComparisonType.NUMBER_COMPARISON_TYPE:
      return list ? "[18, 21]" : "42";
    case ComparisonType.DATETIME_COMPARISON_TYPE:
      return "2024-05-01T09:30:00Z";
    default:
      return list ? '["a", "b"]' : "";
  }
}
