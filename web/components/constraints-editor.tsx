import { ComparisonType } from "../../src/gen/flipt/core/core_pb.js";
import {
  constraintValueProblem,
  operatorRuleOf,
  TYPE_RULES,
  typeRuleOf,
  valueHint,
} from "../model/constraint-rules.js";
import { move } from "../model/flag-draft.js";
import { type ConstraintDraft, emptyConstraintDraft } from "../model/segment-draft.js";
import { ReorderButtons } from "./reorder-buttons.js";

export interface ConstraintsEditorProps {
  readonly constraints: readonly ConstraintDraft[];
  readonly disabled: boolean;
  readonly onChange: (constraints: ConstraintDraft[]) => void;
}

/** A segment's constraints: type, property, operator and value, with each type's rules spelled out beside them. */
export function ConstraintsEditor({ constraints, disabled, onChange }: ConstraintsEditorProps) {
  const update = (id: string, patch: Partial<ConstraintDraft>) =>
    onChange(
      constraints.map((constraint) => (constraint.id === id ? { ...constraint, ...patch } : constraint)),
    );
  return (
    <section class="card" aria-labelledby="constraints-title">
      <h2 id="constraints-title">Constraints</h2>
      {constraints.length === 0 ? (
        <p class="hint">No constraints: the segment matches every entity.</p>
      ) : null}
      <ol class="item-list">
        {constraints.map((constraint, index) => {
          const typeRule = typeRuleOf(constraint.type);
          const operatorRule = operatorRuleOf(constraint.type, constraint.operator);
          const problem =
            operatorRule === undefined
              ? undefined
              : constraintValueProblem(constraint.type, constraint.operator, constraint.value);
          const entity = constraint.type === ComparisonType.ENTITY_ID_COMPARISON_TYPE;
          const name = `constraint ${index + 1}`;
          return (
            <li key={constraint.id} class="item" data-testid="constraint">
              <div class="item-head">
                <h3>Constraint {index + 1}</h3>
                <ReorderButtons
                  what={name}
                  index={index}
                  count={constraints.length}
                  disabled={disabled}
                  onMove={(to) => onChange(move(constraints, index, to))}
                  onRemove={() => onChange(constraints.filter((other) => other.id !== constraint.id))}
                />
              </div>
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
                      update(constraint.id, {
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
                <div class="field">
                  <label for={`${constraint.id}-property`}>
                    {entity ? "Property (a name only)" : "Property (context key)"}
                  </label>
                  <input
                    id={`${constraint.id}-property`}
                    value={constraint.property}
                    disabled={disabled}
                    spellcheck={false}
                    onInput={(event) => update(constraint.id, { property: event.currentTarget.value })}
                  />
                </div>
                <div class="field">
                  <label for={`${constraint.id}-operator`}>Operator</label>
                  <select
                    id={`${constraint.id}-operator`}
                    value={constraint.operator}
                    disabled={disabled || typeRule === undefined}
                    onChange={(event) => update(constraint.id, { operator: event.currentTarget.value })}
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
                      aria-invalid={problem !== undefined && constraint.value !== ""}
                      aria-describedby={`${constraint.id}-rules${problem !== undefined && constraint.value !== "" ? ` ${constraint.id}-error` : ""}`}
                      placeholder={placeholderFor(constraint.type, operatorRule?.value === "list")}
                      onInput={(event) => update(constraint.id, { value: event.currentTarget.value })}
                    />
                  </div>
                ) : (
                  <p class="field no-value hint">No value: the operator says it all.</p>
                )}
              </div>
              <p class="hint">{valueHint(constraint.type, constraint.operator)}</p>
              {problem !== undefined && constraint.value !== "" ? (
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
              <div class="field">
                <label for={`${constraint.id}-description`}>Description</label>
                <input
                  id={`${constraint.id}-description`}
                  value={constraint.description}
                  disabled={disabled}
                  onInput={(event) => update(constraint.id, { description: event.currentTarget.value })}
                />
              </div>
            </li>
          );
        })}
      </ol>
      <button
        type="button"
        class="button"
        disabled={disabled}
        onClick={() => onChange([...constraints, emptyConstraintDraft()])}
      >
        Add constraint
      </button>
    </section>
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
