import { useId } from "preact/hooks";
import {
  type ContextRow,
  contextToRows,
  parseContextJson,
  rowsToContext,
} from "../model/evaluation-context.js";
import { newRowId } from "../model/flag-draft.js";

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
                <div class="field">
                  <label for={`${row.id}-key`}>Key {index + 1}</label>
                  <input
                    id={`${row.id}-key`}
                    value={row.key}
                    spellcheck={false}
                    onInput={(event) =>
                      setRows(
                        value.rows.map((other) =>
                          other.id === row.id ? { ...other, key: event.currentTarget.value } : other,
                        ),
                      )
                    }
                  />
                </div>
                <div class="field">
                  <label for={`${row.id}-value`}>Value {index + 1}</label>
                  <input
                    id={`${row.id}-value`}
                    value={row.value}
                    spellcheck={false}
                    onInput={(event) =>
                      setRows(
                        value.rows.map((other) =>
                          other.id === row.id ? { ...other, value: event.currentTarget.value } : other,
                        ),
                      )
                    }
                  />
                </div>
                <button
                  type="button"
                  class="button small danger-text"
                  aria-label={`Remove context row ${index + 1}`}
                  onClick={() => setRows(value.rows.filter((other) => other.id !== row.id))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <button
            type="button"
            class="button small"
            onClick={() => setRows([...value.rows, { id: newRowId(), key: "", value: "" }])}
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
