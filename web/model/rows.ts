/** A row of a list the console edits: its id keeps its inputs (and their focus) when rows move. */
export interface Row {
  readonly id: string;
}

let nextRowId = 0;
export const newRowId = (): string => `row-${++nextRowId}`;

/** The rows with `patch` applied to the one with `id`. */
export function patchRow<T extends Row>(rows: readonly T[], id: string, patch: Partial<T>): T[] {
  return rows.map((row) => (row.id === id ? { ...row, ...patch } : row));
}

export function removeRow<T extends Row>(rows: readonly T[], id: string): T[] {
  return rows.filter((row) => row.id !== id);
}

/** Row `from` moved to `to`; the rows unchanged when `to` is out of range. */
export function moveRow<T>(rows: readonly T[], from: number, to: number): T[] {
  const copy = [...rows];
  if (to < 0 || to >= copy.length) return copy;
  const [row] = copy.splice(from, 1);
  if (row !== undefined) copy.splice(to, 0, row);
  return copy;
}
