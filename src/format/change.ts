import type { Flag, Namespace, Segment } from "../domain/flag-state.js";

/** One change made through the management API: a namespace, flag or segment created, updated or deleted. */
export type Change =
  | { readonly kind: "create-namespace" | "update-namespace"; readonly namespace: Namespace }
  | { readonly kind: "delete-namespace"; readonly key: string }
  | { readonly kind: "create-flag" | "update-flag"; readonly namespaceKey: string; readonly flag: Flag }
  | { readonly kind: "delete-flag"; readonly namespaceKey: string; readonly key: string }
  | {
      readonly kind: "create-segment" | "update-segment";
      readonly namespaceKey: string;
      readonly segment: Segment;
    }
  | { readonly kind: "delete-segment"; readonly namespaceKey: string; readonly key: string };

/** What a change is about: its verb, the kind of resource, the namespace it writes to and the resource's key. */
export interface ChangeTarget {
  readonly verb: "create" | "update" | "delete";
  readonly type: "namespace" | "flag" | "segment";
  /** The namespace the change writes to; for a namespace change, the namespace itself. */
  readonly namespaceKey: string;
  readonly key: string;
}

/** The target of `change`. */
export function changeTarget(change: Change): ChangeTarget {
  const [verb, type] = change.kind.split("-") as [ChangeTarget["verb"], ChangeTarget["type"]];
  switch (change.kind) {
    case "create-namespace":
    case "update-namespace":
      return { verb, type, namespaceKey: change.namespace.key, key: change.namespace.key };
    case "delete-namespace":
      return { verb, type, namespaceKey: change.key, key: change.key };
    case "create-flag":
    case "update-flag":
      return { verb, type, namespaceKey: change.namespaceKey, key: change.flag.key };
    case "create-segment":
    case "update-segment":
      return { verb, type, namespaceKey: change.namespaceKey, key: change.segment.key };
    case "delete-flag":
    case "delete-segment":
      return { verb, type, namespaceKey: change.namespaceKey, key: change.key };
  }
}
