import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE, type Flag as DomainFlag } from "../domain/flag-state.js";
import { stableJson } from "../engine/stable-json.js";
import { type Flag, FlagSchema, FlagType, type Flipt } from "../gen/flipt/flipt_pb.js";
import type { Environments } from "../storage/environments.js";
import { environmentOf } from "./environments-service.js";

export interface FliptServiceOptions {
  readonly environments: Environments;
  /** `evaluation.include_flag_metadata`: return each flag's metadata. */
  readonly includeFlagMetadata: boolean;
}

/**
 * `flipt.Flipt`, Flipt v1's API, of which v2 keeps only ListFlags for the server SDKs. Flags come sorted by key;
 * `pageToken` is a decimal offset. The `X-Flipt-Environment` header beats the request's `environment_key`; with
 * neither, the default environment is used (Flipt v2 fails there, which looks like a bug).
 */
export function createFliptService(options: FliptServiceOptions): Partial<ServiceImpl<typeof Flipt>> {
  return {
    async listFlags(request, context) {
      const header = context.requestHeader.get("x-flipt-environment") ?? "";
      const key = header !== "" ? header : request.environmentKey;
      const environment =
        key === "" ? options.environments.default : environmentOf(options.environments, key);
      const namespaceKey = request.namespaceKey === "" ? DEFAULT_NAMESPACE : request.namespaceKey;
      const snapshot = await environment.snapshotFor(namespaceKey, "read");
      const namespace = snapshot.namespaces.get(namespaceKey);
      if (namespace === undefined) throw new NotFoundError(`namespace "${namespaceKey}" not found`);

      const flags = [...namespace.flags.values()].sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
      );
      const offset = pageOffset(request.limit, request.offset, request.pageToken, flags.length);
      const end = request.limit > 0 ? Math.min(offset + request.limit, flags.length) : flags.length;
      return {
        flags: flags
          .slice(offset, end)
          .map((flag) => toV1Flag(flag, request.namespaceKey, options.includeFlagMetadata)),
        nextPageToken: end < flags.length ? String(end) : "",
        totalCount: flags.length,
      };
    },
  };
}

function pageOffset(limit: number, deprecatedOffset: number, pageToken: string, total: number): number {
  if (limit < 0) throw new ValidationError("limit must not be negative");
  if (limit === 0 && (deprecatedOffset !== 0 || pageToken !== "")) {
    throw new ValidationError("limit must be set when offset or pageToken is set");
  }
  if (pageToken === "") return 0;
  if (!/^\d+$/.test(pageToken)) throw new ValidationError(`pageToken is not valid: "${pageToken}"`);
  const offset = Number(pageToken);
  if (offset >= total) throw new ValidationError(`invalid offset: ${offset}`);
  return offset;
}

/**
 * A flag in the v1 shape, as Flipt v2 fills it. The default variant carries `requestNamespaceKey`, the namespace
 * the request named, as Flipt copies it: "" for `GET /api/v1/flags` without `namespaceKey` (which lists the
 * default namespace). The flag's own `namespaceKey`, the variant's `id` and the timestamps stay empty.
 */
function toV1Flag(flag: DomainFlag, requestNamespaceKey: string, includeMetadata: boolean): Flag {
  const defaultVariant = flag.variants.find((variant) => variant.key === flag.defaultVariant);
  return create(FlagSchema, {
    key: flag.key,
    name: flag.name,
    description: flag.description ?? "",
    enabled: flag.enabled,
    type: FlagType[flag.type],
    ...(defaultVariant === undefined
      ? {}
      : {
          defaultVariant: {
            flagKey: flag.key,
            namespaceKey: requestNamespaceKey,
            key: defaultVariant.key,
            name: defaultVariant.name ?? "",
            description: defaultVariant.description ?? "",
            attachment: defaultVariant.attachment === undefined ? "" : stableJson(defaultVariant.attachment),
          },
        }),
    ...(includeMetadata && flag.metadata !== undefined ? { metadata: flag.metadata } : {}),
  });
}
