import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { EnvironmentStatusSchema, type StatusService } from "../gen/pennant/status/v1/status_pb.js";
import type { CacheStatus } from "../storage/cache/shared-cache.js";
import type { EnvironmentStatus } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import type { RemoteStatus } from "../storage/flag-source.js";

/** What `/meta/status` reports of one environment, as plain data (a worker receives it from the owner). */
export interface EnvironmentReport {
  readonly status: EnvironmentStatus;
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly remote: RemoteStatus | undefined;
  readonly cache: CacheStatus | undefined;
}

/** A worker process (`server.workers`), as `/meta/status` reports it. */
export interface WorkerReport {
  readonly pid: number;
  /** ISO 8601. */
  readonly startedAt: string;
  /** The revision it serves, by environment key. */
  readonly revisions: Readonly<Record<string, string>>;
  /** Whether it has applied every change the owner sent. */
  readonly current: boolean;
}

export interface StatusReport {
  readonly environments: readonly EnvironmentReport[];
  readonly workers: readonly WorkerReport[];
}

/** The status of every environment of this process's storage. */
export async function reportStatus(environments: Environments): Promise<StatusReport> {
  const list = environments.list();
  const remotes = await Promise.all(list.map((environment) => environment.remoteStatus()));
  return {
    environments: list.map((environment, index) => ({
      status: environment.status,
      isDefault: environment.isDefault,
      readOnly: environment.readOnly,
      remote: remotes[index],
      cache: environment.cacheStatus,
    })),
    workers: [],
  };
}

/**
 * `pennant.status.v1.StatusService` (`GET /meta/status`): what each environment serves and its last error, from
 * `report` (this process's environments, or the owner's when this process is a worker).
 */
export function createStatusService(report: () => Promise<StatusReport>): ServiceImpl<typeof StatusService> {
  return {
    async getStatus() {
      const { environments, workers } = await report();
      return {
        workers: workers.map((worker) => ({
          pid: worker.pid,
          startedAt: timestampFromDate(new Date(worker.startedAt)),
          revisions: { ...worker.revisions },
          current: worker.current,
        })),
        environments: environments.map((environment) => {
          const { key, revision, files, loadedAt, lastError } = environment.status;
          const { remote, cache } = environment;
          return create(EnvironmentStatusSchema, {
            key,
            default: environment.isDefault,
            revision,
            readOnly: environment.readOnly,
            files: [...files],
            ...(loadedAt === undefined ? {} : { loadedAt: timestampFromDate(new Date(loadedAt)) }),
            ...(remote === undefined
              ? {}
              : {
                  remote: {
                    url: remote.remote,
                    ...(remote.lastFetchAt === undefined
                      ? {}
                      : { lastFetchTime: timestampFromDate(new Date(remote.lastFetchAt)) }),
                    lastFetchError: remote.lastFetchError ?? "",
                    remoteRevision: remote.remoteRevision ?? "",
                    ref: remote.ref,
                    behind: remote.behind,
                  },
                }),
            ...(cache === undefined
              ? {}
              : {
                  cache: {
                    backend: cache.backend,
                    hits: BigInt(cache.hits),
                    misses: BigInt(cache.misses),
                    errors: BigInt(cache.errors),
                    entries: cache.entries,
                    lastError: cache.lastError?.message ?? "",
                    ...(cache.lastError === undefined
                      ? {}
                      : { lastErrorTime: timestampFromDate(new Date(cache.lastError.at)) }),
                  },
                }),
            ...(lastError === undefined
              ? {}
              : {
                  lastError: {
                    message: lastError.message,
                    time: timestampFromDate(new Date(lastError.at)),
                    issues: lastError.issues.map((issue) => ({
                      file: issue.file ?? "",
                      line: issue.line ?? 0,
                      path: issue.path,
                      message: issue.message,
                    })),
                  },
                }),
          });
        }),
      };
    },
  };
}
