import { shortRevision } from "../model/format-time.js";
import { useWorkspace } from "../state/workspace-context.js";

/**
 * Says when the server serves a newer revision than the one this page read (someone pushed, or edited a file). The
 * page is not reloaded by itself: unsaved edits stay until the user chooses, and a save would answer a conflict.
 */
export function StaleNotice() {
  const { store, environmentStatus, status } = useWorkspace();
  const { load } = store;
  if (load.state !== "ready" || load.reloading || environmentStatus === undefined) return null;
  const served = environmentStatus.revision;
  const checkedAfter = status.checkedAt !== undefined && status.checkedAt > load.data.at;
  if (!checkedAfter || served === "" || served === load.data.revision) return null;
  return (
    <div class="stale-notice notice notice-warning" role="status">
      <p>
        The server now serves revision <code>{shortRevision(served)}</code>; this page shows{" "}
        <code>{shortRevision(load.data.revision)}</code>. Changes saved from here would be refused until you
        reload.
      </p>
      <button type="button" class="button" onClick={() => void store.reload()}>
        Reload
      </button>
    </div>
  );
}
