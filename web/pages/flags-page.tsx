import { clone } from "@bufbuild/protobuf";
import { useId, useMemo, useState } from "preact/hooks";
import { FlagSchema, FlagType } from "../../src/gen/flipt/core/core_pb.js";
import type { Problem } from "../api/describe-problem.js";
import { ProblemNotice } from "../components/problem-notice.js";
import { ReadOnlyNote } from "../components/read-only-note.js";
import { ToggleSwitch } from "../components/toggle-switch.js";
import { VirtualList } from "../components/virtual-list.js";
import { WithNamespaceData } from "../components/with-namespace-data.js";
import { type FlagListing, type FlagSummary, flagOf } from "../model/flag-summary.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import { useWorkspace } from "../state/workspace-context.js";

/** Row height of the flag list, in pixels (CSS keeps rows to it). */
const ROW_HEIGHT = 64;

type TypeFilter = "all" | "boolean" | "variant";
type EnabledFilter = "all" | "enabled" | "disabled";

/** Lower-cased key, name and description of each flag, built once per list for the search. */
const haystacks = new WeakMap<FlagListing, string>();
function haystackOf(flag: FlagListing): string {
  let text = haystacks.get(flag);
  if (text === undefined) {
    text = `${flag.key}\n${flag.name}\n${flag.description}`.toLowerCase();
    haystacks.set(flag, text);
  }
  return text;
}

/** The flags a list shows: all of them, or the first page while all of them load. */
type Listed =
  | { readonly complete: true; readonly flags: readonly FlagSummary[] }
  | { readonly complete: false; readonly flags: readonly FlagListing[]; readonly total: number };

/**
 * The namespace's flags: search, filters, and a switch per flag; the list renders only the rows in view. While a
 * large namespace loads, its first page (by key) is shown, read-only, so the page is useful at once.
 */
export function FlagsPage() {
  const { ns, store } = useWorkspace();
  useDocumentTitle(`Flags · ${ns}`);
  const { load } = store;
  if (load.state === "loading" && load.preview !== undefined) {
    return <FlagList listed={{ complete: false, flags: load.preview.flags, total: load.preview.total }} />;
  }
  return (
    <WithNamespaceData>
      {(data) => <FlagList listed={{ complete: true, flags: data.flags }} />}
    </WithNamespaceData>
  );
}

function FlagList({ listed }: { readonly listed: Listed }) {
  const { env, ns, store, access } = useWorkspace();
  const [query, setQuery] = useState("");
  const [type, setType] = useState<TypeFilter>("all");
  const [enabled, setEnabled] = useState<EnabledFilter>("all");
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [failure, setFailure] = useState<{ key: string; problem: Problem } | undefined>(undefined);
  const ids = { search: useId(), type: useId(), enabled: useId(), count: useId() };

  const total = listed.complete ? listed.flags.length : listed.total;
  const shown: readonly FlagListing[] = useMemo(() => {
    const needle = query.trim().toLowerCase();
    return (listed.flags as readonly FlagListing[]).filter(
      (flag) =>
        (type === "all" || (type === "boolean") === (flag.type === FlagType.BOOLEAN_FLAG_TYPE)) &&
        (enabled === "all" || (enabled === "enabled") === flag.enabled) &&
        (needle === "" || haystackOf(flag).includes(needle)),
    );
  }, [listed.flags, query, type, enabled]);

  const toggle = async (flag: FlagSummary) => {
    setFailure(undefined);
    setPending((keys) => new Set(keys).add(flag.key));
    const next = clone(FlagSchema, flagOf(flag));
    next.enabled = !flag.enabled;
    const problem = await store.write({ kind: "flag", flag: next, create: false });
    setPending((keys) => {
      const rest = new Set(keys);
      rest.delete(flag.key);
      return rest;
    });
    if (problem !== undefined) setFailure({ key: flag.key, problem });
  };

  return (
    <section class="page flags-page" aria-labelledby="flags-title">
      <div class="page-head">
        <h1 id="flags-title">
          Flags <span class="muted">in {ns}</span>
        </h1>
        {access.allowed ? (
          <a class="button primary" href={formatRoute({ page: "new-flag", env, ns })}>
            New flag
          </a>
        ) : null}
      </div>
      <ReadOnlyNote access={access} />
      {failure !== undefined ? (
        <ProblemNotice
          problem={failure.problem}
          subject={`Flag ${failure.key}`}
          onReload={() => {
            setFailure(undefined);
            void store.reload();
          }}
          onDismiss={() => setFailure(undefined)}
        />
      ) : null}
      <search class="toolbar">
        <div class="field grow">
          <label for={ids.search}>Search</label>
          <input
            id={ids.search}
            type="search"
            placeholder="Key, name or description"
            value={query}
            disabled={!listed.complete}
            aria-controls={ids.count}
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for={ids.type}>Type</label>
          <select
            id={ids.type}
            value={type}
            disabled={!listed.complete}
            onChange={(event) => setType(event.currentTarget.value as TypeFilter)}
          >
            <option value="all">All types</option>
            <option value="boolean">Boolean</option>
            <option value="variant">Variant</option>
          </select>
        </div>
        <div class="field">
          <label for={ids.enabled}>Enabled</label>
          <select
            id={ids.enabled}
            value={enabled}
            disabled={!listed.complete}
            onChange={(event) => setEnabled(event.currentTarget.value as EnabledFilter)}
          >
            <option value="all">Enabled or not</option>
            <option value="enabled">Enabled</option>
            <option value="disabled">Disabled</option>
          </select>
        </div>
      </search>
      <p
        class="count"
        id={ids.count}
        aria-live="polite"
        aria-busy={!listed.complete}
        data-testid="flag-count"
        data-complete={String(listed.complete)}
      >
        {!listed.complete
          ? `${total.toLocaleString()} flag${total === 1 ? "" : "s"}: the first ${shown.length} shown, loading all of them…`
          : shown.length === total
            ? `${total.toLocaleString()} flag${total === 1 ? "" : "s"}`
            : `${shown.length.toLocaleString()} of ${total.toLocaleString()} flags`}
      </p>
      {total === 0 ? (
        <p class="empty">
          This namespace has no flags yet.
          {access.allowed ? (
            <>
              {" "}
              <a href={formatRoute({ page: "new-flag", env, ns })}>Create the first one</a>.
            </>
          ) : null}
        </p>
      ) : (
        <VirtualList
          items={shown}
          rowHeight={ROW_HEIGHT}
          label={`Flags in ${ns}`}
          itemKey={(flag) => flag.key}
          renderItem={(flag) => (
            <FlagRow
              flag={flag}
              href={formatRoute({ page: "flag", env, ns, key: flag.key })}
              canWrite={access.allowed && isSummary(flag)}
              busy={pending.has(flag.key)}
              onToggle={() => {
                if (isSummary(flag)) void toggle(flag);
              }}
            />
          )}
        />
      )}
    </section>
  );
}

/** Whether a listed flag is fully read (not one of a preview's). */
function isSummary(flag: FlagListing): flag is FlagSummary {
  return "segmentKeys" in flag;
}

interface FlagRowProps {
  readonly flag: FlagListing;
  readonly href: string;
  readonly canWrite: boolean;
  readonly busy: boolean;
  readonly onToggle: () => void;
}

function FlagRow({ flag, href, canWrite, busy, onToggle }: FlagRowProps) {
  const boolean = flag.type === FlagType.BOOLEAN_FLAG_TYPE;
  const detail = !isSummary(flag)
    ? ""
    : boolean
      ? `${flag.rollouts} rollout${flag.rollouts === 1 ? "" : "s"}`
      : `${flag.variants} variant${flag.variants === 1 ? "" : "s"}, ${flag.rules} rule${flag.rules === 1 ? "" : "s"}`;
  return (
    <div class="flag-row" data-flag-key={flag.key}>
      <div class="flag-row-main">
        <a class="flag-key" href={href}>
          {flag.key}
        </a>
        <span class="flag-name">{flag.name}</span>
        {flag.description !== "" ? <span class="flag-description">{flag.description}</span> : null}
      </div>
      <span class={`badge ${boolean ? "badge-boolean" : "badge-variant"}`}>
        {boolean ? "Boolean" : "Variant"}
      </span>
      <span class="flag-detail muted">{detail}</span>
      <ToggleSwitch
        checked={flag.enabled}
        label={`${flag.key} enabled`}
        text={flag.enabled ? "On" : "Off"}
        disabled={!canWrite}
        busy={busy}
        onToggle={onToggle}
      />
    </div>
  );
}
