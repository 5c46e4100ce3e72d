import type { WriteAccess } from "../api/write-access.js";

/** Says why the page's controls are read-only, next to them; nothing when writes are allowed. */
export function ReadOnlyNote({ access }: { readonly access: WriteAccess }) {
  if (access.allowed) return null;
  return (
    <p class="note read-only-note" data-testid="read-only-note">
      <span class="badge badge-muted">Read-only</span> {access.reason}
    </p>
  );
}
