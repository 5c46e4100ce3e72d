import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { StatusReport } from "../api/status-service.js";
import type { Config } from "../config/config.js";
import type { ValidationIssue } from "../domain/errors.js";
import * as errors from "../domain/errors.js";
import type { ForwardedWrite } from "../storage/change-request.js";
import type { EnvironmentOptions } from "../storage/environment.js";
import type { OwnerStatus, ReplicatedState } from "../storage/replicated-state.js";

/**
 * The messages between the process that owns storage and its workers (`server.workers`), over the IPC channel
 * cluster opens, with structured-clone serialization.
 */

/** What a worker needs to serve an environment it has not served yet: the owner's settings of it. */
export type EnvironmentDescriptor = Omit<EnvironmentOptions, "source" | "logger" | "commitTemplate"> & {
  /** The storage decides per request whether to read again (a database). */
  readonly readsThrough: boolean;
};

export interface EnvironmentUpdate {
  readonly descriptor: EnvironmentDescriptor;
  readonly state: ReplicatedState;
  readonly status: OwnerStatus;
}

/** A typed error, as it crosses between processes. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly issues?: readonly ValidationIssue[] | undefined;
}

/** A request a worker makes of the owner, answered with a `reply`. */
export type OwnerRequest =
  | { readonly op: "write"; readonly environment: string; readonly write: ForwardedWrite }
  | {
      readonly op: "refresh";
      readonly environment: string;
      readonly namespace: string | undefined;
      readonly purpose: "evaluate" | "read" | undefined;
    }
  | { readonly op: "sync"; readonly environment: string }
  | { readonly op: "branch-create"; readonly base: string; readonly name: string }
  | { readonly op: "branch-delete"; readonly base: string; readonly name: string }
  | { readonly op: "branch-list"; readonly base: string }
  | { readonly op: "branch-refresh" }
  | { readonly op: "status" }
  | { readonly op: "metrics" };

/** What each request resolves with. */
export interface OwnerAnswers {
  write: string;
  refresh: undefined;
  sync: boolean;
  "branch-create": string;
  "branch-delete": undefined;
  "branch-list": string[];
  "branch-refresh": undefined;
  status: StatusReport;
  metrics: string;
}

/** One process's metrics, as prom-client's registries hand them over to be added up. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Owner to worker. Every message that changes what a worker serves carries a sequence number it acknowledges. */
export type ToWorker =
  | {
      readonly type: "init";
      readonly seq: number;
      readonly config: Config;
      readonly consoleDirectory: string | undefined;
      readonly environments: readonly EnvironmentUpdate[];
    }
  | { readonly type: "state"; readonly seq: number; readonly environment: EnvironmentUpdate }
  | { readonly type: "status"; readonly seq: number; readonly key: string; readonly status: OwnerStatus }
  | { readonly type: "removed"; readonly seq: number; readonly key: string }
  | { readonly type: "reply"; readonly id: number; readonly value?: unknown; readonly error?: WireError }
  | { readonly type: "collect-metrics"; readonly id: number }
  | { readonly type: "stop" };

/** Worker to owner. */
export type ToOwner =
  /** The worker listens: the owner may send it `init`, and everything after. */
  | { readonly type: "hello" }
  | { readonly type: "ready"; readonly httpPort: number; readonly grpcPort: number }
  | { readonly type: "failed"; readonly error: WireError }
  | { readonly type: "ack"; readonly seq: number; readonly revisions: Readonly<Record<string, string>> }
  | { readonly type: "request"; readonly id: number; readonly request: OwnerRequest }
  | { readonly type: "metrics"; readonly id: number; readonly metrics: MetricsJson };

/** The typed errors that cross as themselves; anything else arrives as a plain Error (an internal one). */
const TYPED: Readonly<Record<string, new (message: string) => Error>> = {
  NotFoundError: errors.NotFoundError,
  AlreadyExistsError: errors.AlreadyExistsError,
  ConflictError: errors.ConflictError,
  PreconditionError: errors.PreconditionError,
  ReadOnlyError: errors.ReadOnlyError,
  LimitExceededError: errors.LimitExceededError,
  UnavailableError: errors.UnavailableError,
  RemoteCredentialsError: errors.RemoteCredentialsError,
  UnauthenticatedError: errors.UnauthenticatedError,
  PermissionDeniedError: errors.PermissionDeniedError,
};

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  return error instanceof errors.ValidationError
    ? { name: error.name, message: error.message, issues: error.issues }
    : { name: error.name, message: error.message };
}

export function fromWireError(wire: WireError): Error {
  if (wire.name === "ValidationError")
    return new errors.ValidationError(wire.message, { issues: wire.issues ?? [] });
  const Typed = TYPED[wire.name];
  return Typed === undefined ? new Error(wire.message) : new Typed(wire.message);
}
