import type { DraftProblem } from "../model/flag-draft.js";

/** What keeps a draft from being saved, each linking to its field. */
export function DraftProblems({ problems }: { readonly problems: readonly DraftProblem[] }) {
  if (problems.length === 0) return null;
  return (
    <div class="notice notice-warning draft-problems" data-testid="draft-problems">
      <p class="notice-title">Fix these to save:</p>
      <ul>
        {problems.map((problem) => (
          <li key={`${problem.field}:${problem.message}`}>
            <a
              href={`#${problem.field}`}
              onClick={(event) => {
                // The URL's hash is the route: focus the field instead of following the link.
                event.preventDefault();
                const field = document.getElementById(problem.field);
                const target = field?.matches("input, select, textarea, button")
                  ? field
                  : field?.querySelector<HTMLElement>("input, select, textarea, button");
                target?.scrollIntoView({ block: "center" });
                target?.focus();
              }}
            >
              {problem.message}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
