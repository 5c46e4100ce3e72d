import type { Problem } from "../api/describe-problem.js";

export interface ProblemNoticeProps {
  readonly problem: Problem;
  /** What the write was about, as the start of a sentence: "This flag", "The segment". */
  readonly subject: string;
  /** Offered for a conflict: reads the namespace again (discarding unsaved edits). */
  readonly onReload?: () => void;
  readonly onDismiss?: () => void;
}

/**
 * Why a write did not happen, in words the user can act on. A conflict (HTTP 409) is never retried or
 * overwritten: the user reloads and decides again.
 */
export function ProblemNotice({ problem, subject, onReload, onDismiss }: ProblemNoticeProps) {
  const { title, detail } = wordsFor(problem, subject);
  return (
    <div class={`notice notice-${problem.kind === "conflict" ? "warning" : "error"}`} role="alert">
      <p class="notice-title">{title}</p>
      <p>{detail}</p>
      <p class="notice-server">
        Server: <code>{problem.code}</code> {problem.message}
      </p>
      <div class="notice-actions">
        {problem.kind === "conflict" && onReload !== undefined ? (
          <button type="button" class="button primary" onClick={onReload}>
            Reload
          </button>
        ) : null}
        {onDismiss !== undefined ? (
          <button type="button" class="button" onClick={onDismiss}>
            Dismiss
          </button>
        ) : null}
      </div>
    </div>
  );
}

function wordsFor(problem: Problem, subject: string): { title: string; detail: string } {
  switch (problem.kind) {
    case "conflict":
      return {
        title: `${subject} changed since you loaded it`,
        detail:
          "The flag state changed on the server after this page read it, so nothing was saved. Reload to see the " +
          "latest state (your unsaved edits are discarded), then make your change again.",
      };
    case "read-only":
      return {
        title: "This environment is read-only",
        detail: "Its storage refuses every change; nothing was saved.",
      };
    case "forbidden":
      return { title: "Your token may not make changes", detail: "It may read only; nothing was saved." };
    case "unauthenticated":
      return {
        title: "You are signed out",
        detail: "The server no longer accepts the token. Reload the page to sign in.",
      };
    case "unavailable":
      return {
        title: "The server could not be reached",
        detail: "Nothing was saved. Try again in a moment.",
      };
    default:
      return { title: "The server refused the change", detail: "Nothing was saved." };
  }
}
