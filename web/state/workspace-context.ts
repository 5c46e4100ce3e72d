import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Namespace } from "../../src/gen/environments/environments_pb.js";
import type { EnvironmentStatus } from "../../src/gen/pennant/status/v1/status_pb.js";
import type { Api } from "../api/create-api.js";
import type { WriteAccess } from "../api/write-access.js";
import type { NamespaceStore } from "./use-namespace-store.js";
import type { StatusView } from "./use-status.js";

/** An environment the header offers. */
export interface EnvironmentChoice {
  readonly key: string;
  /** Its display name; the key until ListEnvironments answers. */
  readonly name: string;
  readonly default: boolean;
}

/** Everything a page needs: where it is, the namespace's state, and whether it may change it. */
export interface Workspace {
  readonly api: Api;
  readonly env: string;
  readonly ns: string;
  readonly environments: readonly EnvironmentChoice[];
  readonly namespaces: readonly Namespace[];
  readonly store: NamespaceStore;
  readonly status: StatusView;
  /** This environment's entry in `/meta/status`, once read. */
  readonly environmentStatus: EnvironmentStatus | undefined;
  /** Whether writes are offered here: the environment is writable and the token may write. */
  readonly access: WriteAccess;
}

export const WorkspaceContext = createContext<Workspace | undefined>(undefined);

export function useWorkspace(): Workspace {
  const workspace = useContext(WorkspaceContext);
  if (workspace === undefined) throw new Error("useWorkspace outside of a WorkspaceContext");
  return workspace;
}
