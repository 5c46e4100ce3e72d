import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { NotFoundError, PreconditionError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
import type { NamespaceState, Snapshot } from "../domain/snapshot.js";
import { quoteValue } from "../format/quote-value.js";
import {
  type EnvironmentsService,
  type Namespace,
  NamespaceSchema,
  type Resource,
  ResourceSchema,
  type UpdateNamespaceRequest,
  type UpdateResourceRequest,
} from "../gen/environments/environments_pb.js";
import { FlagSchema, SegmentSchema } from "../gen/flipt/core/core_pb.js";
import type { BranchService } from "../storage/branch-environments.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import { toCoreFlag, toCoreSegment } from "./convert-core.js";
import {
  deleteChange,
  requireKey,
  resourceChange,
  resourceTypeOf,
  withResourceType,
  writeChange,
} from "./environment-writes.js";

/** An environment as the API shows it: its git ref, directory and remote, and its base for a branch. */
function toEnvironment(environment: Environment) {
  return {
    key: environment.key,
    name: environment.key,
    default: environment.isDefault,
    configuration: {
      ref: environment.ref,
      ...(environment.directory === "" ? {} : { directory: environment.directory }),
      ...(environment.remote === undefined ? {} : { remote: environment.remote }),
      ...(environment.base === undefined ? {} : { base: environment.base }),
    },
  };
}

/**
 * The resource types the environments API serves, by type URL (without `type.googleapis.com/`): the message, every
 * resource of a namespace, and one by key (converting only it).
 */
const RESOURCE_TYPES = {
  "flipt.core.Flag": {
    schema: FlagSchema,
    list: (namespace: NamespaceState) => [...namespace.flags.values()].map(toCoreFlag),
    get: (namespace: NamespaceState, key: string) => mapDefined(namespace.flags.get(key), toCoreFlag),
  },
  "flipt.core.Segment": {
    schema: SegmentSchema,
    list: (namespace: NamespaceState) => [...namespace.segments.values()].map(toCoreSegment),
    get: (namespace: NamespaceState, key: string) => mapDefined(namespace.segments.get(key), toCoreSegment),
  },
} as const;
type ResourceType = keyof typeof RESOURCE_TYPES;

function mapDefined<T, R>(value: T | undefined, map: (value: T) => R): R | undefined {
  return value === undefined ? undefined : map(value);
}

const DEFAULT_NAMESPACE_DESCRIPTION = "The default namespace";

/**
 * The read side of `environments.EnvironmentsService`: environments, namespaces, and flags and segments as
 * `google.protobuf.Any` resources. Every read carries the environment's revision. The environment comes from the
 * path only, as in Flipt.
 */
export function createEnvironmentsService(
  environments: Environments,
  branches?: BranchService,
): Partial<ServiceImpl<typeof EnvironmentsService>> {
  const branching = (): BranchService => {
    if (branches === undefined) throw new PreconditionError("branch environments are not available here");
    return branches;
  };
  return {
    async listEnvironments() {
      await branches?.refresh();
      return { environments: environments.list().map(toEnvironment) };
    },
    async branchEnvironment(request) {
      return toEnvironment(await branching().create(request.environmentKey, request.key));
    },
    async deleteBranchEnvironment(request) {
      await branching().delete(request.environmentKey, request.key);
      return {};
    },
    async listEnvironmentBranches(request) {
      const found = await branching().list(request.environmentKey);
      return {
        branches: found.map((branch) => ({
          environmentKey: request.environmentKey,
          key: branch.key,
          ref: branch.ref,
        })),
      };
    },
    async listNamespaces(request) {
      const snapshot = await environmentOf(environments, request.environmentKey).snapshotFor(
        undefined,
        "read",
      );
      const items = [...snapshot.namespaces.values()]
        .map(toNamespace)
        .sort((a, b) =>
          a.key === DEFAULT_NAMESPACE ? -1 : b.key === DEFAULT_NAMESPACE ? 1 : a.key.localeCompare(b.key),
        );
      return { items, revision: snapshot.revision };
    },
    async getNamespace(request) {
      const snapshot = await environmentOf(environments, request.environmentKey).snapshotFor(
        request.key,
        "read",
      );
      return { namespace: toNamespace(namespaceOf(snapshot, request.key)), revision: snapshot.revision };
    },
    async listResources(request) {
      const environment = environmentOf(environments, request.environmentKey);
      const snapshot = await environment.snapshotFor(request.namespaceKey, "read");
      const type = resourceType(request.typeUrl);
      const namespace = namespaceOf(snapshot, request.namespaceKey);
      const { schema, list } = RESOURCE_TYPES[type];
      const resources = list(namespace).map((message) =>
        resource(request.namespaceKey, message.key, pack(schema, type, message)),
      );
      return { resources, revision: snapshot.revision };
    },
    async createNamespace(request) {
      return putNamespace(environments, "create-namespace", request);
    },
    async updateNamespace(request) {
      return putNamespace(environments, "update-namespace", request);
    },
    async deleteNamespace(request) {
      const environment = environmentOf(environments, request.environmentKey);
      requireKey(request.key);
      const revision = await deleteChange(
        environment,
        { kind: "delete-namespace", key: request.key },
        request.revision,
      );
      return { revision };
    },
    async createResource(request) {
      return putResource(environments, "create", request);
    },
    async updateResource(request) {
      return putResource(environments, "update", request);
    },
    async deleteResource(request) {
      const environment = environmentOf(environments, request.environmentKey);
      const type = resourceType(request.typeUrl);
      requireKey(request.key);
      const kind = type === "flipt.core.Flag" ? "delete-flag" : "delete-segment";
      const revision = await withResourceType(type, () =>
        deleteChange(
          environment,
          { kind, namespaceKey: request.namespaceKey, key: request.key },
          request.revision,
        ),
      );
      return { revision };
    },
    async getResource(request) {
      const environment = environmentOf(environments, request.environmentKey);
      const snapshot = await environment.snapshotFor(request.namespaceKey, "read");
      const type = resourceType(request.typeUrl);
      const namespace = namespaceOf(snapshot, request.namespaceKey);
      requireKey(request.key);
      const { schema, get } = RESOURCE_TYPES[type];
      const found = get(namespace, request.key);
      if (found === undefined) {
        throw resourceNotFound(type, request.namespaceKey, request.key);
      }
      return {
        resource: resource(request.namespaceKey, request.key, pack(schema, type, found)),
        revision: snapshot.revision,
      };
    },
  };
}

async function putNamespace(
  environments: Environments,
  kind: "create-namespace" | "update-namespace",
  request: UpdateNamespaceRequest,
) {
  const environment = environmentOf(environments, request.environmentKey);
  requireKey(request.key);
  const namespace = {
    key: request.key,
    ...(request.name === "" ? {} : { name: request.name }),
    ...(request.description === undefined ? {} : { description: request.description }),
  };
  const revision = await writeChange(environment, { kind, namespace }, request.revision);
  const written = environment.snapshot.namespaces.get(request.key);
  return { namespace: toNamespace(written ?? { ...EMPTY_STATE, namespace }), revision };
}

async function putResource(
  environments: Environments,
  verb: "create" | "update",
  request: UpdateResourceRequest,
) {
  const environment = environmentOf(environments, request.environmentKey);
  const change = resourceChange(verb, request.namespaceKey, request.key, request.payload);
  const type = resourceTypeOf(request.payload);
  const revision = await withResourceType(type, () => writeChange(environment, change, request.revision));
  // Answer with what is now stored, in the same form reads give it.
  const { schema, get } = RESOURCE_TYPES[type];
  const namespace = namespaceOf(environment.snapshot, request.namespaceKey);
  const stored = get(namespace, request.key);
  if (stored === undefined) throw resourceNotFound(type, request.namespaceKey, request.key);
  return { resource: resource(request.namespaceKey, request.key, pack(schema, type, stored)), revision };
}

const EMPTY_STATE: NamespaceState = {
  namespace: { key: "" },
  flags: new Map(),
  segments: new Map(),
  digest: "",
  evaluation: new Map(),
};

/** The environment a path names; unlike evaluation, an unknown one is NotFound rather than the default. */
export function environmentOf(environments: Environments, key: string): Environment {
  const environment = environments.get(key);
  if (environment === undefined) throw new NotFoundError(`environment: ${quoteValue(key)} not found`);
  return environment;
}

function namespaceOf(snapshot: Snapshot, key: string): NamespaceState {
  requireKey(key);
  const namespace = snapshot.namespaces.get(key);
  if (namespace === undefined) throw new NotFoundError(`namespace ${quoteValue(key)} not found`);
  return namespace;
}

function resourceNotFound(type: ResourceType, namespaceKey: string, key: string): NotFoundError {
  return new NotFoundError(`resource ${quoteValue(`${type}/${namespaceKey}/${key}`)} not found`);
}

function toNamespace(state: NamespaceState): Namespace {
  const { key, name, description } = state.namespace;
  const isDefault = key === DEFAULT_NAMESPACE;
  return create(NamespaceSchema, {
    key,
    name: name ?? key,
    description: description ?? (isDefault && state.digest === "" ? DEFAULT_NAMESPACE_DESCRIPTION : ""),
    // Flipt sends `protected` on every namespace: true for `default` only.
    protected: isDefault,
  });
}

function resourceType(typeUrl: string): ResourceType {
  const name = typeUrl.replace(/^type\.googleapis\.com\//, "");
  if (!(name in RESOURCE_TYPES)) throw new NotFoundError(`resource type ${quoteValue(name)} not found`);
  return name as ResourceType;
}

/** Packs a message into an Any with Flipt's type URL: the bare type name, without `type.googleapis.com/`. */
function pack<Desc extends DescMessage>(schema: Desc, type: ResourceType, message: MessageShape<Desc>): Any {
  return create(AnySchema, { typeUrl: type, value: toBinary(schema, message) });
}

function resource(namespaceKey: string, key: string, payload: Any): Resource {
  return create(ResourceSchema, { namespaceKey, key, payload });
}
