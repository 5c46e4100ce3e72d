import type { Logger } from "pino";
import type { WorkerReport } from "../api/status-service.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import type { SourceState } from "../storage/flag-source.js";
import { encodeState, type ReplicatedState, type SentFiles } from "../storage/replicated-state.js";
import type { EnvironmentDescriptor, EnvironmentUpdate, ToWorker } from "./cluster-messages.js";

/** How long a write waits for the workers to serve it before answering anyway (a worker stuck, say). */
const SETTLE_DEADLINE_MS = 30_000;

/** A worker as the replicator sees it: where to send, and what it has acknowledged. */
interface Replica {
  readonly pid: number;
  readonly send: (message: ToWorker) => void;
  readonly startedAt: string;
  acked: number;
  revisions: Readonly<Record<string, string>>;
}

/**
 * The owner's side of `server.workers`: every snapshot the owner's environments swap in is sent to every worker,
 * whole (only its changed files' bytes travel), numbered; each worker acknowledges a number once it serves what
 * came with it. `settled` resolves when the workers serve everything the owner served when it was called: a
 * write answers after it, so a read on any worker sees the write.
 */
export class Replicator {
  readonly #environments: Environments;
  readonly #logger: Logger;
  readonly #replicas = new Map<number, Replica>();
  readonly #sent = new Map<string, SentFiles>();
  /** The state last sent of each environment. */
  readonly #states = new Map<string, SourceState | undefined>();
  readonly #waiters = new Set<() => void>();
  readonly #stop = new AbortController();
  #seq = 0;

  /** Follows every environment of `environments`, those added later included. Create it before they start. */
  constructor(environments: Environments, logger: Logger) {
    this.#environments = environments;
    this.#logger = logger;
    for (const environment of environments.list()) this.#follow(environment);
    environments.watch((change, environment) => {
      if (change === "added") {
        this.#follow(environment);
        this.#sendState(environment);
      } else {
        this.#sent.delete(environment.key);
        this.#states.delete(environment.key);
        this.#broadcast({ type: "removed", seq: ++this.#seq, key: environment.key });
      }
    }, this.#stop.signal);
  }

  /** Starts replicating to a new worker: sends it every environment whole. */
  add(
    id: number,
    pid: number,
    send: (message: ToWorker) => void,
    init: Omit<Extract<ToWorker, { type: "init" }>, "type" | "seq" | "environments">,
  ): void {
    const environments = this.#environments.list().map((environment) => {
      const { update, sent } = encode(environment, undefined);
      this.#sent.set(environment.key, sent);
      this.#states.set(environment.key, environment.servedState);
      return { descriptor: describe(environment), state: update, status: ownerStatus(environment) };
    });
    this.#replicas.set(id, { pid, send, startedAt: new Date().toISOString(), acked: -1, revisions: {} });
    send({ type: "init", seq: this.#seq, environments, ...init });
  }

  /** A worker that exited: nothing waits for it any more. */
  remove(id: number): void {
    this.#replicas.delete(id);
    this.#wake();
  }

  /** Worker `id` serves everything up to `seq`, at these revisions. */
  ack(id: number, seq: number, revisions: Readonly<Record<string, string>>): void {
    const replica = this.#replicas.get(id);
    if (replica === undefined || seq < replica.acked) return;
    replica.acked = seq;
    replica.revisions = revisions;
    this.#wake();
  }

  /**
   * Resolves when worker `only` (every worker, without it) serves everything the owner served at this call; after
   * `SETTLE_DEADLINE_MS` at most, logging the workers still behind.
   */
  settled(only?: number): Promise<void> {
    const target = this.#seq;
    const behind = () =>
      [...this.#replicas.entries()].filter(
        ([id, replica]) => (only === undefined || id === only) && replica.acked < target,
      );
    if (behind().length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (behind().length > 0) return;
        finish();
      };
      const timer = setTimeout(() => {
        this.#logger.warn(
          { workers: behind().map(([, replica]) => replica.pid), seq: target },
          "workers have not applied a change in time; answering without them",
        );
        finish();
      }, SETTLE_DEADLINE_MS);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  /** Every worker, for `/meta/status`. */
  workers(): WorkerReport[] {
    return [...this.#replicas.values()].map((replica) => ({
      pid: replica.pid,
      startedAt: replica.startedAt,
      revisions: replica.revisions,
      current: replica.acked >= this.#seq,
    }));
  }

  close(): void {
    this.#stop.abort();
    this.#replicas.clear();
    this.#wake();
  }

  /** After each swap, the new state; after a failed load, the status that reports it. */
  #follow(environment: Environment): void {
    environment.watchStatus(() => {
      if (this.#environments.get(environment.key) !== environment) return;
      if (environment.servedState !== this.#states.get(environment.key)) {
        this.#sendState(environment);
        return;
      }
      this.#broadcast({
        type: "status",
        seq: ++this.#seq,
        key: environment.key,
        status: ownerStatus(environment),
      });
    }, this.#stop.signal);
  }

  #sendState(environment: Environment): void {
    if (this.#environments.get(environment.key) !== environment) return;
    const { update, sent } = encode(environment, this.#sent.get(environment.key));
    this.#sent.set(environment.key, sent);
    this.#states.set(environment.key, environment.servedState);
    const message: EnvironmentUpdate = {
      descriptor: describe(environment),
      state: update,
      status: ownerStatus(environment),
    };
    this.#broadcast({ type: "state", seq: ++this.#seq, environment: message });
  }

  #broadcast(message: ToWorker): void {
    for (const replica of this.#replicas.values()) replica.send(message);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

const EMPTY: ReplicatedState = {
  revision: "",
  paths: [],
  changed: [],
  settings: undefined,
  refused: undefined,
  structured: false,
  rules: {},
};

function encode(environment: Environment, previous: SentFiles | undefined) {
  const state = environment.servedState;
  return state === undefined ? { update: EMPTY, sent: new Map() as SentFiles } : encodeState(state, previous);
}

function ownerStatus(environment: Environment) {
  const { loadedAt, lastError } = environment.status;
  return { loadedAt, lastError };
}

function describe(environment: Environment): EnvironmentDescriptor {
  return {
    key: environment.key,
    isDefault: environment.isDefault,
    storage: environment.storage,
    directory: environment.directory,
    ref: environment.ref,
    remote: environment.remote,
    readOnly: environment.readOnly,
    author: environment.author,
    base: environment.base,
    webhookSecret: environment.webhookSecret,
    limits: environment.limits,
    readsThrough: environment.source.servesFromMemory !== undefined,
  };
}
