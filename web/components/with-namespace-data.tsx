import type { ComponentChildren } from "preact";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** Renders `children` with the namespace's data once it is read; a busy note or the reason it failed before. */
export function WithNamespaceData({
  children,
}: {
  readonly children: (data: NamespaceData) => ComponentChildren;
}) {
  const { store, env, ns } = useWorkspace();
  const { load } = store;
  if (load.state === "loading") {
    return (
      <p class="loading" aria-busy="true">
        Loading namespace <code>{ns}</code>…
      </p>
    );
  }
  if (load.state === "failed") {
    return (
      <div class="notice notice-error" role="alert">
        <p class="notice-title">
          Namespace <code>{ns}</code> of environment <code>{env}</code> could not be read
        </p>
        <p>
          <code>{load.problem.code}</code> {load.problem.message}
        </p>
        <button type="button" class="button" onClick={() => void store.reload()}>
          Try again
        </button>
      </div>
    );
  }
  return <>{children(load.data)}</>;
}
