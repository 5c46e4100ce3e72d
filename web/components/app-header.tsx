import { useId } from "preact/hooks";
import { roleOf } from "../api/write-access.js";
import { shortRevision } from "../model/format-time.js";
import { formatRoute, type ScopedRoute, switchScope } from "../state/route.js";
import type { Session } from "../state/use-session.js";
import { useWorkspace } from "../state/workspace-context.js";
import { StatusBadges } from "./status-badges.js";

export interface AppHeaderProps {
  readonly route: ScopedRoute;
  readonly session: Extract<Session, { state: "ready" }>;
  readonly onSignOut: () => void;
}

const PAGES = [
  { page: "flags", label: "Flags", also: ["flag", "new-flag"] },
  { page: "segments", label: "Segments", also: ["segment", "new-segment"] },
  { page: "console", label: "Console", also: [] },
  { page: "status", label: "Status", also: [] },
] as const;

/** The top bar: pages, the environment and namespace switchers, the served revision and its health, the session. */
export function AppHeader({ route, session, onSignOut }: AppHeaderProps) {
  const { env, ns, environments, namespaces, environmentStatus } = useWorkspace();
  const envId = useId();
  const nsId = useId();
  const go = (next: ScopedRoute) => {
    location.hash = formatRoute(next);
  };
  const knownNamespaces = namespaces.some((namespace) => namespace.key === ns)
    ? namespaces
    : [...namespaces, { key: ns, name: ns }];
  const who = session.authentication;
  const role = who === undefined ? undefined : (roleOf(who) ?? "no role: full access");
  return (
    <header class="app-header">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="header-row">
        <a class="brand" href={formatRoute({ page: "flags", env, ns })}>
          <span class="brand-mark" aria-hidden="true">
            ⚑
          </span>{" "}
          Pennant
        </a>
        <nav aria-label="Pages">
          <ul class="nav-list">
            {PAGES.map((entry) => {
              const current =
                entry.page === route.page || (entry.also as readonly string[]).includes(route.page);
              const target: ScopedRoute =
                entry.page === "console"
                  ? { page: "console", env, ns, flag: "" }
                  : { page: entry.page, env, ns };
              return (
                <li key={entry.page}>
                  <a href={formatRoute(target)} aria-current={current ? "page" : undefined}>
                    {entry.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <div class="session">
          {who !== undefined ? (
            <>
              <span class="session-who">
                {who.id === "" ? "JWT" : who.id} <span class="muted">({role})</span>
              </span>
              <button type="button" class="button small" onClick={onSignOut}>
                Sign out
              </button>
            </>
          ) : null}
        </div>
      </div>
      <div class="header-row scope-row">
        <div class="field inline">
          <label for={envId}>Environment</label>
          <select
            id={envId}
            value={env}
            onChange={(event) => go(switchScope(route, event.currentTarget.value, "default"))}
          >
            {environments.map((environment) => (
              <option key={environment.key} value={environment.key}>
                {environment.name !== "" && environment.name !== environment.key
                  ? `${environment.name} (${environment.key})`
                  : environment.key}
                {environment.default && environment.key !== "default" ? " (default)" : ""}
              </option>
            ))}
          </select>
        </div>
        <div class="field inline">
          <label for={nsId}>Namespace</label>
          <select
            id={nsId}
            value={ns}
            onChange={(event) => go(switchScope(route, env, event.currentTarget.value))}
          >
            {knownNamespaces.map((namespace) => (
              <option key={namespace.key} value={namespace.key}>
                {namespace.name !== "" && namespace.name !== namespace.key
                  ? `${namespace.name} (${namespace.key})`
                  : namespace.key}
              </option>
            ))}
          </select>
        </div>
        <p class="revision" data-testid="served-revision">
          Revision{" "}
          <code title={environmentStatus?.revision ?? ""}>
            {environmentStatus === undefined ? "…" : shortRevision(environmentStatus.revision) || "none"}
          </code>
        </p>
        <StatusBadges status={environmentStatus} href={formatRoute({ page: "status", env, ns })} />
      </div>
    </header>
  );
}
