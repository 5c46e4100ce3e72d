import { useId } from "preact/hooks";
import {
  type ContextRow,
  contextToRows,
  emptyContextRow,
  parseContextJson,
  rowsToContext,
} from "../model/evaluation-context.js";
import { patchRow, removeRow } from "../model/rows.js";
import { TextField } from "./text-field.js";

export interface ContextInput {
  readonly mode: "rows" | "json";
  readonly rows: readonly ContextRow[];
  readonly json: string;
}

export interface ContextEditorProps {
  readonly value: ContextInput;
  readonly onChange: (value: ContextInput) => void;
}

/** The evaluation context, as key/value rows or as JSON; switching carries the content over. */
export function ContextEditor({ value, onChange }: ContextEditorProps) {
  const jsonId = useId();
  const jsonProblem = value.mode === "json" ? parseContextJson(value.json) : undefined;
  const problem = jsonProblem !== undefined && "problem" in jsonProblem ? jsonProblem.problem : undefined;
  const setRows = (rows: ContextRow[]) => onChange({ ...value, rows });
  return (
    <fieldset class="context-editor">
      <legend>Context</legend>
      <div class="segmented" role="radiogroup" aria-label="Edit the context as">
        <label>
          <input
            type="radio"
            name={`${jsonId}-mode`}
            checked={value.mode === "rows"}
            disabled={problem !== undefined}
            onChange={() => {
              const parsed = parseContextJson(value.json);
              if ("context" in parsed)
                onChange({ ...value, mode: "rows", rows: contextToRows(parsed.context) });
            }}
          />{" "}
          Key/value rows
        </label>
        <label>
          <input
            type="radio"
            name={`${jsonId}-mode`}
            checked={value.mode === "json"}
            onChange={() =>
              onChange({ ...value, mode: "json", json: JSON.stringify(rowsToContext(value.rows), null, 2) })
            }
          />{" "}
          JSON
        </label>
      </div>
      {value.mode === "rows" ? (
        <>
          <ul class="context-rows">
            {value.rows.map((row, index) => (
              <li key={row.id} class="context-row">
                <TextField
                  id={`${row.id}-key`}
                  label={`Key ${index + 1}`}
                  value={row.key}
                  spellcheck={false}
                  onInput={(key) => setRows(patchRow(value.rows, row.id, { key }))}
                />
                <TextField
                  id={`${row.id}-value`}
                  label={`Value ${index + 1}`}
                  value={row.value}
                  spellcheck={false}
                  onInput={(text) => setRows(patchRow(value.rows, row.id, { value: text }))}
                />
                <button
                  type="button"
                  class="button small danger-text"
                  aria-label={`Remove context row ${index + 1}`}
                  onClick={() => setRows(removeRow(value.rows, row.id))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <button
            type="button"
            class="button small"
            onClick={() => setRows([...value.rows, emptyContextRow()])}
          >
            Add context row
          </button>
        </>
      ) : (
        <div class="field">
          <label for={jsonId}>Context as JSON</label>
          <textarea
            id={jsonId}
            class="code"
            rows={6}
            spellcheck={false}
            value={value.json}
            aria-invalid={problem !== undefined}
            aria-describedby={problem !== undefined ? `${jsonId}-error` : undefined}
            onInput={(event) => onChange({ ...value, json: event.currentTarget.value })}
          />
          {problem !== undefined ? (
            <p class="field-error" id={`${jsonId}-error`}>
              {problem}
            </p>
          ) : null}
        </div>
      )}
    </fieldset>
  );
}

/** The context an input describes, or why it cannot be used. */
export function contextOf(value: ContextInput): { context: Record<string, string> } | { problem: string } {
  return value.mode === "rows" ? { context: rowsToContext(value.rows) } : parseContextJson(value.json);
}
