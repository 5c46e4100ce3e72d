import { type Change, changeTarget } from "./change.js";

/**
 * One change of a write, as Flipt hands it to its commit message template (`fs.Change`): a verb and the resource
 * it acts on. Printed, it reads `create flag default/new-ui`, or `delete namespace team` for a namespace, which
 * has no namespace of its own.
 */
export interface CommitChange {
  readonly verb: "create" | "update" | "delete";
  readonly resource: {
    /** `flipt.core.Flag`, `flipt.core.Segment` or `flipt.config.Namespace`, split as Flipt splits it. */
    readonly type: { readonly package: string; readonly name: string };
    /** Empty for a namespace. */
    readonly namespace: string;
    readonly key: string;
  };
}

/** Flipt's type of each kind of resource, split as Flipt splits it. */
const TYPES = {
  namespace: { package: "flipt.config", name: "Namespace" },
  flag: { package: "flipt.core", name: "Flag" },
  segment: { package: "flipt.core", name: "Segment" },
} as const;

/** The change a management-API change makes, for its commit message. */
export function commitChange(change: Change): CommitChange {
  const { verb, type, namespaceKey, key } = changeTarget(change);
  return { verb, resource: { type: TYPES[type], namespace: type === "namespace" ? "" : namespaceKey, key } };
}

/** How a resource prints: its lower-cased type name and its key, after its namespace when it has one. */
export function resourceText(resource: CommitChange["resource"]): string {
  const type = resource.type.name.toLowerCase();
  return resource.namespace === ""
    ? `${type} ${resource.key}`
    : `${type} ${resource.namespace}/${resource.key}`;
}

/** How a change prints: `create flag default/new-ui`. */
export function changeText(change: CommitChange): string {
  return `${change.verb} ${resourceText(change.resource)}`;
}
