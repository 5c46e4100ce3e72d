import { useId, useMemo, useState } from "preact/hooks";
import { MatchType } from "../../src/gen/flipt/core/core_pb.js";
import { ReadOnlyNote } from "../components/read-only-note.js";
import { WithNamespaceData } from "../components/with-namespace-data.js";
import { segmentUsage } from "../model/segment-usage.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** The namespace's segments, with their match type, constraints and the flags that use them. */
export function SegmentsPage() {
  const { ns } = useWorkspace();
  useDocumentTitle(`Segments · ${ns}`);
  return <WithNamespaceData>{(data) => <SegmentTable data={data} />}</WithNamespaceData>;
}

function SegmentTable({ data }: { readonly data: NamespaceData }) {
  const { env, ns, access } = useWorkspace();
  const [query, setQuery] = useState("");
  const searchId = useId();
  const usage = useMemo(() => segmentUsage(data.flags), [data.flags]);
  const needle = query.trim().toLowerCase();
  const shown = data.segments.filter(
    (segment) =>
      needle === "" ||
      `${segment.key}\n${segment.name}\n${segment.description}`.toLowerCase().includes(needle),
  );
  return (
    <section class="page" aria-labelledby="segments-title">
      <div class="page-head">
        <h1 id="segments-title">
          Segments <span class="muted">in {ns}</span>
        </h1>
        {access.allowed ? (
          <a class="button primary" href={formatRoute({ page: "new-segment", env, ns })}>
            New segment
          </a>
        ) : null}
      </div>
      <ReadOnlyNote access={access} />
      <search class="toolbar">
        <div class="field grow">
          <label for={searchId}>Search</label>
          <input
            id={searchId}
            type="search"
            placeholder="Key, name or description"
            value={query}
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
        </div>
      </search>
      {data.segments.length === 0 ? (
        <p class="empty">This namespace has no segments yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Segments in {ns}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Name</th>
                <th scope="col">Match</th>
                <th scope="col">Constraints</th>
                <th scope="col">Used by</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((segment) => {
                const users = usage.get(segment.key) ?? [];
                return (
                  <tr key={segment.key} data-segment-key={segment.key}>
                    <th scope="row">
                      <a href={formatRoute({ page: "segment", env, ns, key: segment.key })}>
                        <code>{segment.key}</code>
                      </a>
                    </th>
                    <td>{segment.name}</td>
                    <td>
                      {segment.matchType === MatchType.ANY_MATCH_TYPE ? "any constraint" : "all constraints"}
                    </td>
                    <td>{segment.constraints.length}</td>
                    <td>
                      {users.length === 0
                        ? "no flag"
                        : `${users.slice(0, 3).join(", ")}${users.length > 3 ? ` and ${users.length - 3} more` : ""}`}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
