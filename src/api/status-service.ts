import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { EnvironmentStatusSchema, type StatusService } from "../gen/pennant/status/v1/status_pb.js";
import type { Environments } from "../storage/environments.js";

/** `pennant.status.v1.StatusService` (`GET /meta/status`): what each environment serves and its last error. */
export function createStatusService(environments: Environments): ServiceImpl<typeof StatusService> {
  return {
    async getStatus() {
      const remotes = await Promise.all(environments.list().map((environment) => environment.remoteStatus()));
      return {
        environments: environments.list().map((environment, index) => {
          const { key, revision, files, loadedAt, lastError } = environment.status;
          const remote = remotes[index];
          const cache = environment.cacheStatus;
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
