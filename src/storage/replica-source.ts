import type { ForwardedWrite } from "./change-request.js";
import type { FlagSource, SourceFile, SourceState } from "./flag-source.js";
import { decodeState, type OwnerStatus, type ReplicatedState } from "./replicated-state.js";

/** What a replica asks of the process that owns its storage, for one environment. */
export interface OwnerLink {
  refresh(namespace: string | undefined, purpose: "evaluate" | "read" | undefined): Promise<void>;
  write(write: ForwardedWrite): Promise<string>;
  sync(): Promise<boolean>;
}

export interface ReplicaSourceOptions {
  /** The environment's key, for the description. */
  readonly key: string;
  readonly link: OwnerLink;
  /** The owner's storage decides per request whether to read again (a database): so then does the replica. */
  readonly readsThrough: boolean;
  readonly state: ReplicatedState;
  readonly status: OwnerStatus;
}

/** A replica's source, and what the worker feeds it. */
export interface ReplicaSource {
  readonly source: FlagSource;
  /** Takes the owner's next state, which the environment's next `load` serves. */
  apply(update: ReplicatedState): void;
  /** Takes the owner's report of its loads. */
  report(status: OwnerStatus): void;
}

/**
 * The storage of a worker's environment (`server.workers`): the state the owning process last sent, read as a
 * storage is read, so that the worker builds and swaps its snapshot as any environment does. Writes, syncs and
 * re-reads go to the owner, which answers once this worker serves their outcome. Its remote, cache and queries
 * are the owner's to report: `/meta/status` and `/metrics` ask the owner.
 */
export function createReplicaSource(options: ReplicaSourceOptions): ReplicaSource {
  const { link } = options;
  const files = new Map<string, SourceFile>();
  let state: SourceState = decodeState(options.state, files);
  let status = options.status;
  const source: FlagSource = {
    description: `the owning process's storage of environment "${options.key}"`,
    read: () => Promise.resolve(state),
    // Changes arrive from the owner, and the worker loads each as it applies it.
    watch: () => Promise.resolve(),
    close: () => Promise.resolve(),
    sync: () => link.sync(),
    refresh: (namespace, purpose) => link.refresh(namespace, purpose),
    forwardWrite: (write) => link.write(write),
    ownerStatus: () => status,
    ...(options.readsThrough ? { servesFromMemory: () => false } : {}),
  };
  return {
    source,
    apply(update) {
      state = decodeState(update, files);
    },
    report(next) {
      status = next;
    },
  };
}
