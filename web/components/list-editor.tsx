import type { ComponentChildren } from "preact";
import { moveRow, patchRow, type Row, removeRow } from "../model/rows.js";

/** What the editor of one item gets besides the item. */
export interface ItemEdit<T> {
  /** How buttons and groups name the item, e.g. "rule 2". */
  readonly name: string;
  update(patch: Partial<T>): void;
}

export interface ListEditorProps<T extends Row> {
  /** One item, in lower case: "rule" titles the card "Rules", its items "Rule 1" (test id "rule"), "Add rule". */
  readonly noun: string;
  readonly items: readonly T[];
  readonly disabled: boolean;
  readonly onChange: (items: T[]) => void;
  /** The item the Add button appends. */
  readonly create: () => T;
  /** Whether the order is the items' rank, changed with Up and Down buttons. */
  readonly ranked: boolean;
  /** Said under the card's title. */
  readonly hint?: ComponentChildren;
  /** The item's name for buttons and groups; `<noun> <position>` when not given. */
  readonly nameOf?: (item: T, index: number) => string;
  readonly children: (item: T, edit: ItemEdit<T>) => ComponentChildren;
}

/** A card of items, each under a numbered heading with its Up, Down and Remove buttons, and an Add button. */
export function ListEditor<T extends Row>(props: ListEditorProps<T>) {
  const { noun, items, disabled, onChange, create, ranked, hint, nameOf, children } = props;
  const title = noun.charAt(0).toUpperCase() + noun.slice(1);
  return (
    <section class="card" aria-labelledby={`${noun}s-title`}>
      <h2 id={`${noun}s-title`}>{`${title}s`}</h2>
      {hint}
      <ol class="item-list">
        {items.map((item, index) => {
          const name = nameOf?.(item, index) ?? `${noun} ${index + 1}`;
          return (
            <li key={item.id} class="item" data-testid={noun}>
              <div class="item-head">
                <h3>{`${title} ${index + 1}`}</h3>
                <div class="item-actions">
                  {ranked ? (
                    <>
                      <button
                        type="button"
                        class="button small"
                        disabled={disabled || index === 0}
                        aria-label={`Move ${name} up`}
                        onClick={() => onChange(moveRow(items, index, index - 1))}
                      >
                        ↑<span class="visually-hidden-mobile"> Up</span>
                      </button>
                      <button
                        type="button"
                        class="button small"
                        disabled={disabled || index === items.length - 1}
                        aria-label={`Move ${name} down`}
                        onClick={() => onChange(moveRow(items, index, index + 1))}
                      >
                        ↓<span class="visually-hidden-mobile"> Down</span>
                      </button>
                    </>
                  ) : null}
                  <button
                    type="button"
                    class="button small danger-text"
                    disabled={disabled}
                    aria-label={`Remove ${name}`}
                    onClick={() => onChange(removeRow(items, item.id))}
                  >
                    Remove
                  </button>
                </div>
              </div>
              {children(item, { name, update: (patch) => onChange(patchRow(items, item.id, patch)) })}
            </li>
          );
        })}
      </ol>
      <button type="button" class="button" disabled={disabled} onClick={() => onChange([...items, create()])}>
        {`Add ${noun}`}
      </button>
    </section>
  );
}
