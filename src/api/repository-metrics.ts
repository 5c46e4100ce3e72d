import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Counter } from "prom-client";
import { EnvironmentsService } from "../gen/environments/environments_pb.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import { toConnectError } from "./error-mapping.js";
import { FLIPT_SCOPE, type FliptFamilies } from "./metrics-families.js";
import { REPOSITORY_WRITE_METHODS } from "./write-procedures.js";

/** Environments API calls that read a repository (Flipt: one `View` each). */
const GIT_VIEWS: ReadonlySet<string> = new Set([
  "GetNamespace",
  "ListNamespaces",
  "GetResource",
  "ListResources",
]);
/** Environments API calls that create and delete a branch environment (Flipt: its branch gauge). */
const BRANCH = "BranchEnvironment";
const DELETE_BRANCH = "DeleteBranchEnvironment";

type EnvironmentsServiceImpl = Partial<ServiceImpl<typeof EnvironmentsService>>;
/** One method of the environments service, as far as recording it goes: every request names its environment. */
type Call = (request: { readonly environmentKey: string }, context: HandlerContext) => unknown;

/**
 * Flipt's git repository families (docs/metrics.md, "Git"): snapshot builds, where the environment reports them,
 * are watched from now on; the result records the environments API's reads, writes and branch calls as the
 * environments service ends them, in the environment each one names.
 */
export function createRepositoryMetrics(
  environments: Environments,
  f: FliptFamilies,
  options: { readonly builds: boolean },
): (service: EnvironmentsServiceImpl) => EnvironmentsServiceImpl {
  if (options.builds) watchBuilds(environments, f);

  /** A call of `method` that ended after `ms`: `failure` is the code of one that failed, else undefined. */
  const record = (method: string, environmentKey: string, ms: number, failure: Code | undefined) => {
    // A call naming an environment that does not exist reached no repository.
    const target = environments.get(environmentKey);
    if (target === undefined) return;
    if (method === BRANCH || method === DELETE_BRANCH) {
      // Flipt moves the gauge as it starts creating (deleting) a branch that is not there (is there), and counts
      // an error if that then fails; a call refused beforehand moves nothing.
      if (failure === Code.FailedPrecondition || failure === Code.AlreadyExists) return;
      const repository = { ...remoteLabel(target), ...FLIPT_SCOPE };
      if (method === BRANCH) f.branches.inc(repository);
      else f.branches.dec(repository);
      if (failure !== undefined) f.branchErrors.inc(repository);
      return;
    }
    const labels = { ...branchLabels(target), ...FLIPT_SCOPE };
    const [count, errors, latency] = GIT_VIEWS.has(method)
      ? [f.views, f.viewErrors, f.viewLatency]
      : [f.updates, f.updateErrors, f.updateLatency];
    count.inc(labels);
    if (failure !== undefined) errors.inc(labels);
    latency.observe(labels, Math.trunc(ms));
  };

  return (service) => {
    const recorded: Record<string, Call | undefined> = { ...(service as Record<string, Call | undefined>) };
    for (const { name, localName } of EnvironmentsService.methods) {
      const call = recorded[localName];
      if (call === undefined || !readsOrWrites(name)) continue;
      recorded[localName] = async (request, context) => {
        const started = performance.now();
        try {
          const response = await call(request, context);
          record(name, request.environmentKey, performance.now() - started, undefined);
          return response;
        } catch (error) {
          // The code the client sees: the error mapping runs outside the service.
          record(name, request.environmentKey, performance.now() - started, toConnectError(error).code);
          throw error;
        }
      };
    }
    return recorded as EnvironmentsServiceImpl;
  };
}

/** Whether a call of `method` reads or writes a repository: a view, an update (one commit) or a branch call. */
function readsOrWrites(method: string): boolean {
  return (
    GIT_VIEWS.has(method) ||
    REPOSITORY_WRITE_METHODS.has(method) ||
    method === BRANCH ||
    method === DELETE_BRANCH
  );
}

/**
 * Snapshot builds, where the environment reports them: Flipt reads the repository for each, and counts one that
 * fails as a failed subscriber update.
 */
function watchBuilds(environments: Environments, f: FliptFamilies): void {
  const forever = new AbortController().signal;
  for (const environment of environments.list()) {
    environment.onBuild((build) => {
      const labels = { ...branchLabels(environment), ...FLIPT_SCOPE };
      f.views.inc(labels);
      f.viewLatency.observe(labels, Math.trunc(build.ms));
      if (build.ok) return;
      f.viewErrors.inc(labels);
      f.subscriberErrors.inc({ ...remoteLabel(environment), ...FLIPT_SCOPE });
    }, forever);
  }
}

/**
 * Failed polls of each remote, as the storage counts them, into `counter` (at each scrape). Several environments on
 * one storage share its remote and its failures; storages following one remote add up, as Flipt's repositories do
 * under one `remote` label.
 */
export function countPollErrors(environments: Environments, counter: Counter<string>): void {
  for (const environment of environments.perStorage()) {
    const pollErrors = environment.pollErrors ?? 0;
    // A series appears with the first failure, as an OpenTelemetry counter's does.
    if (pollErrors > 0) counter.inc({ ...remoteLabel(environment), ...FLIPT_SCOPE }, pollErrors);
  }
}

/** `remote`: the environment's remote URL (a password in it left out), absent without a remote, as in Flipt. */
function remoteLabel(environment: Environment): Record<string, string> {
  if (environment.remote === undefined) return {};
  return { remote: withoutPassword(environment.remote) };
}

function branchLabels(environment: Environment): Record<string, string> {
  return { ...remoteLabel(environment), branch: environment.ref };
}

function withoutPassword(remote: string): string {
  try {
    const url = new URL(remote);
    if (url.password === "") return remote;
    url.password = "";
    return url.toString();
  } catch {
    return remote;
  }
}
