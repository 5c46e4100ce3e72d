import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { EnvironmentStatus } from "../../src/gen/pennant/status/v1/status_pb.js";
import { formatAgo, formatTimestamp, shortRevision } from "../model/format-time.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import { useWorkspace } from "../state/workspace-context.js";

/** `/meta/status` for every environment: revision, last load and its errors, remote sync, files. */
export function StatusPage() {
  const { status, env, ns } = useWorkspace();
  useDocumentTitle("Status");
  return (
    <section class="page" aria-labelledby="status-title">
      <div class="page-head">
        <h1 id="status-title">Status</h1>
        <button type="button" class="button" onClick={() => void status.refresh()}>
          Check now
        </button>
      </div>
      <p class="hint">
        From <code>GET /meta/status</code>, read every few seconds
        {status.checkedAt !== undefined ? `; last checked ${formatAgo(new Date(status.checkedAt))}` : ""}.
      </p>
      {status.problem !== undefined ? (
        <p class="notice notice-error" role="alert">
          The status could not be read: <code>{status.problem.code}</code> {status.problem.message}
        </p>
      ) : null}
      {status.environments.map((environment) => (
        <EnvironmentCard
          key={environment.key}
          status={environment}
          current={environment.key === env}
          href={formatRoute({
            page: "flags",
            env: environment.key,
            ns: environment.key === env ? ns : "default",
          })}
        />
      ))}
    </section>
  );
}

function EnvironmentCard({
  status,
  current,
  href,
}: {
  readonly status: EnvironmentStatus;
  readonly current: boolean;
  readonly href: string;
}) {
  const titleId = `env-${status.key}-title`;
  const remote = status.remote;
  return (
    <section
      class={`card env-card${current ? " current" : ""}`}
      aria-labelledby={titleId}
      data-testid="environment-status"
    >
      <h2 id={titleId}>
        <a href={href}>{status.key}</a>
        {status.default ? <span class="badge badge-muted">default</span> : null}
        {status.readOnly ? <span class="badge badge-muted">read-only</span> : null}
        {current ? <span class="badge badge-ok">shown</span> : null}
      </h2>
      <dl class="facts">
        <dt>Revision</dt>
        <dd>
          <code title={status.revision}>
            {status.revision === "" ? "none" : shortRevision(status.revision)}
          </code>
        </dd>
        <dt>Last load</dt>
        <dd>{formatTimestamp(status.loadedAt)}</dd>
        <dt>Writes</dt>
        <dd>
          {status.readOnly ? "refused: the storage is read-only" : "allowed (with a role that may write)"}
        </dd>
        {remote !== undefined ? (
          <>
            <dt>Remote</dt>
            <dd>
              <code>{remote.url}</code>, following <code>{remote.ref}</code>
            </dd>
            <dt>Last fetch</dt>
            <dd>
              {formatTimestamp(remote.lastFetchTime)}
              {remote.lastFetchError !== "" ? (
                <span class="field-error"> failed: {remote.lastFetchError}</span>
              ) : null}
            </dd>
            <dt>Sync</dt>
            <dd>
              {remote.behind === 0
                ? "the served state is the remote's head"
                : `${remote.behind} commit${remote.behind === 1 ? "" : "s"} behind the remote (head ${shortRevision(
                    remote.remoteRevision,
                  )})`}
              {remote.lastFetchTime !== undefined
                ? `; state at most ${formatAgo(timestampDate(remote.lastFetchTime)).replace(" ago", "")} old`
                : ""}
            </dd>
          </>
        ) : null}
        {status.cache !== undefined ? (
          <>
            <dt>Cache</dt>
            <dd>
              {status.cache.backend}: {String(status.cache.hits)} hits, {String(status.cache.misses)} misses,{" "}
              {String(status.cache.errors)} errors
              {status.cache.lastError !== "" ? (
                <span class="field-error"> (last error: {status.cache.lastError})</span>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
      {status.lastError !== undefined ? (
        <div class="notice notice-error" role="alert">
          <p class="notice-title">
            The last load failed {formatTimestamp(status.lastError.time)}; the last good state is still served
          </p>
          <p>{status.lastError.message}</p>
          {status.lastError.issues.length > 0 ? (
            <ul class="issues">
              {status.lastError.issues.map((issue, index) => (
                <li key={index}>
                  <code>
                    {issue.file}
                    {issue.line > 0 ? `:${issue.line}` : ""}
                  </code>
                  {issue.path !== "" ? (
                    <>
                      {" "}
                      at <code>{issue.path}</code>
                    </>
                  ) : null}
                  : {issue.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {status.files.length > 0 ? (
        <details>
          <summary>
            {status.files.length} file{status.files.length === 1 ? "" : "s"} loaded
          </summary>
          <ul class="files">
            {status.files.map((file) => (
              <li key={file.path}>
                <code>{file.path}</code> <span class="muted">{file.rule}</span>
                {file.settings ? <span class="badge badge-muted">settings</span> : null}
                {!file.fliptV2 ? (
                  <span class="badge badge-warn" title="Flipt v2's server does not load this file">
                    not read by Flipt v2
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
