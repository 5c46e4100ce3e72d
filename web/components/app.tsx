import { useEffect, useMemo, useRef } from "preact/hooks";
import type { Api } from "../api/create-api.js";
import type { CredentialStore } from "../api/credential-store.js";
import type { WriteAccess } from "../api/write-access.js";
import { ConsolePage } from "../pages/console-page.js";
import { FlagPage } from "../pages/flag-page.js";
import { FlagsPage } from "../pages/flags-page.js";
import { SegmentPage } from "../pages/segment-page.js";
import { SegmentsPage } from "../pages/segments-page.js";
import { StatusPage } from "../pages/status-page.js";
import { formatRoute, type ScopedRoute } from "../state/route.js";
import { useEnvironmentNames } from "../state/use-environment-names.js";
import { type NamespaceStore, useNamespaceStore } from "../state/use-namespace-store.js";
import { useNamespaces } from "../state/use-namespaces.js";
import { useRoute } from "../state/use-route.js";
import { type Session, useSession } from "../state/use-session.js";
import { useStatus } from "../state/use-status.js";
import { type EnvironmentChoice, type Workspace, WorkspaceContext } from "../state/workspace-context.js";
import { AppHeader } from "./app-header.js";
import { StaleNotice } from "./stale-notice.js";
import { TokenPrompt } from "./token-prompt.js";

export interface AppProps {
  readonly api: Api;
  readonly credentials: CredentialStore;
}

/** The console: sign-in when the server asks for it, then the pages of one environment and namespace. */
export function App({ api, credentials }: AppProps) {
  const { session, signIn, signOut } = useSession(api, credentials);
  const route = useRoute();
  const home =
    session.state === "ready" && route.page === "home"
      ? (session.statuses.find((environment) => environment.default) ?? session.statuses[0])
      : undefined;
  useEffect(() => {
    if (home !== undefined) location.replace(formatRoute({ page: "flags", env: home.key, ns: "default" }));
  }, [home]);

  switch (session.state) {
    case "checking":
      return (
        <main id="main" class="centered" aria-busy="true">
          <p>Connecting to Pennant…</p>
        </main>
      );
    case "signed-out":
      return <TokenPrompt problem={session.problem} onSubmit={signIn} />;
    case "failed":
      return (
        <main id="main" class="centered">
          <div class="notice notice-error" role="alert">
            <p class="notice-title">The console cannot reach Pennant</p>
            <p>
              <code>{session.problem.code}</code> {session.problem.message}
            </p>
            <button type="button" class="button primary" onClick={() => location.reload()}>
              Try again
            </button>
          </div>
        </main>
      );
    case "ready":
      if (route.page === "home") return <main id="main" class="centered" aria-busy="true" />;
      return <WorkspaceShell api={api} session={session} route={route} onSignOut={() => void signOut()} />;
  }
}

interface WorkspaceShellProps {
  readonly api: Api;
  readonly session: Extract<Session, { state: "ready" }>;
  readonly route: ScopedRoute;
  readonly onSignOut: () => void;
}

function WorkspaceShell({ api, session, route, onSignOut }: WorkspaceShellProps) {
  const { env, ns } = route;
  const status = useStatus(api, session.statuses, session.statusesAt);
  const namespaceStore = useNamespaceStore(api, env, ns);
  // After every write, whether it landed or conflicted, the header's revision and health are read again.
  const refreshStatus = status.refresh;
  const store: NamespaceStore = useMemo(
    () => ({
      ...namespaceStore,
      write: async (change) => {
        const problem = await namespaceStore.write(change);
        void refreshStatus();
        return problem;
      },
    }),
    [namespaceStore, refreshStatus],
  );
  const environmentStatus = status.environments.find((entry) => entry.key === env);
  const names = useEnvironmentNames(api, namespaceStore.load.state !== "loading");
  const environments: readonly EnvironmentChoice[] = useMemo(
    () =>
      status.environments.map((entry) => ({
        key: entry.key,
        name: names.get(entry.key) ?? entry.key,
        default: entry.default,
      })),
    [status.environments, names],
  );
  const namespaces = useNamespaces(api, env, environmentStatus?.revision);
  const readOnly = environmentStatus?.readOnly === true;
  const access: WriteAccess = useMemo(
    () =>
      readOnly
        ? {
            allowed: false,
            reason: `Environment "${env}" is read-only: its storage refuses every change (read_only, object storage, an OCI bundle or a semver tag).`,
          }
        : session.access,
    [readOnly, env, session.access],
  );
  const workspace: Workspace = useMemo(
    () => ({
      api,
      env,
      ns,
      environments,
      namespaces,
      store,
      status,
      environmentStatus,
      access,
    }),
    [api, env, ns, environments, namespaces, store, status, environmentStatus, access],
  );

  // Each page change moves focus to the page's content, so keyboard and screen-reader users start there.
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);
  const pageKey = formatRoute(route);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
    scrollTo(0, 0);
  }, [pageKey]);

  return (
    <WorkspaceContext.Provider value={workspace}>
      <AppHeader route={route} session={session} onSignOut={onSignOut} />
      <StaleNotice />
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </WorkspaceContext.Provider>
  );
}

function Page({ route }: { readonly route: ScopedRoute }) {
  switch (route.page) {
    case "flags":
      return <FlagsPage />;
    case "flag":
      return <FlagPage flagKey={route.key} />;
    case "new-flag":
      return <FlagPage flagKey={undefined} />;
    case "segments":
      return <SegmentsPage />;
    case "segment":
      return <SegmentPage segmentKey={route.key} />;
    case "new-segment":
      return <SegmentPage segmentKey={undefined} />;
    case "console":
      return <ConsolePage flagKey={route.flag} />;
    case "status":
      return <StatusPage />;
  }
}
