import type { MessageShape } from "@bufbuild/protobuf";
import { anyIs, anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Resource } from "../../src/gen/environments/environments_pb.js";
import {
  type Flag,
  FlagSchema,
  type FlagType,
  type Segment,
  SegmentSchema,
} from "../../src/gen/flipt/core/core_pb.js";
import type { Api } from "../api/create-api.js";
import { describeProblem, type Problem } from "../api/describe-problem.js";
import { type FlagListing, type FlagSummary, readFlagSummary, summarizeFlag } from "../model/flag-summary.js";

const FLAG_TYPE = "flipt.core.Flag";
const SEGMENT_TYPE = "flipt.core.Segment";
/** Flags in the first page of a namespace shown while the whole list loads: more than a tall screen holds. */
const PREVIEW_FLAGS = 50;
/** Two lists read while a write landed between them disagree on the revision: they are read again, this often. */
const CONSISTENT_READ_ATTEMPTS = 3;

/** A namespace's flags and segments, as read at one revision of its environment. */
export interface NamespaceData {
  readonly env: string;
  readonly ns: string;
  /** The flags, summarised for the list; `flagOf` gives a whole one. */
  readonly flags: readonly FlagSummary[];
  readonly segments: readonly Segment[];
  /** The environment's revision the lists were read at; every write sends it. */
  readonly revision: string;
  /** When that revision was read or written (ms since the epoch). */
  readonly at: number;
}

/** The first flags of a namespace, in key order, and how many it has: shown while the whole list loads. */
export interface FlagPreview {
  readonly flags: readonly FlagListing[];
  readonly total: number;
}

export type NamespaceLoad =
  | { readonly state: "loading"; readonly preview?: FlagPreview }
  | { readonly state: "failed"; readonly problem: Problem }
  | { readonly state: "ready"; readonly data: NamespaceData; readonly reloading: boolean };

/** One change the console makes: a whole flag or segment put (created or replaced), or deleted. */
export type Change =
  | { readonly kind: "flag"; readonly flag: Flag; readonly create: boolean }
  | { readonly kind: "segment"; readonly segment: Segment; readonly create: boolean }
  | { readonly kind: "delete-flag"; readonly key: string }
  | { readonly kind: "delete-segment"; readonly key: string };

export interface NamespaceStore {
  readonly load: NamespaceLoad;
  /** Reads the namespace again (after a conflict, or to see changes made elsewhere). */
  reload(): Promise<void>;
  /**
   * Makes one change with the revision the page read. Resolves to undefined when the server took it (the store
   * then holds the result and the new revision) or to the problem: a conflict (Aborted) is never retried.
   * Writes run one after another, each with the revision the previous one answered.
   */
  write(change: Change): Promise<Problem | undefined>;
}

function unpackAll<T>(resources: readonly Resource[], unpack: (resource: Resource) => T | undefined): T[] {
  const items: T[] = [];
  for (const resource of resources) {
    const item = unpack(resource);
    if (item !== undefined) items.push(item);
  }
  return items;
}

/** A flag of a listing, summarised from its encoding (see flag-summary.ts). */
const summarizeResource = (resource: Resource) =>
  resource.payload === undefined || !anyIs(resource.payload, FlagSchema)
    ? undefined
    : readFlagSummary(resource.payload.value);
const unpackSegment = (resource: Resource) =>
  resource.payload === undefined ? undefined : anyUnpack(resource.payload, SegmentSchema);

/** The first page of a namespace, asked for as the console boots (see `prefetchNamespace`). */
let prefetched:
  | { readonly env: string; readonly ns: string; readonly preview: Promise<FlagPreview> }
  | undefined;

/**
 * Asks for the first page of a namespace's flags as the console boots, beside the sign-in checks, so that the
 * flags page has rows to show as soon as it mounts. The first store of that namespace takes the answer; a failure
 * (no credentials yet) is dropped.
 */
export function prefetchNamespace(api: Api, env: string, ns: string): void {
  const preview = readPreview(api, env, ns);
  preview.catch(() => undefined);
  prefetched = { env, ns, preview };
}

function takePrefetched(env: string, ns: string): Promise<FlagPreview> | undefined {
  const taken = prefetched;
  prefetched = undefined;
  return taken?.env === env && taken.ns === ns ? taken.preview : undefined;
}

/** The answer of a read, or undefined if it failed. */
const settled = <T>(promise: Promise<T> | undefined) =>
  promise === undefined ? Promise.resolve(undefined) : promise.catch(() => undefined);

/** The first flags of the namespace by key (Flipt v1's paged ListFlags, some milliseconds even for 10 000). */
async function readPreview(api: Api, env: string, ns: string): Promise<FlagPreview> {
  const list = await api.flipt.listFlags({ environmentKey: env, namespaceKey: ns, limit: PREVIEW_FLAGS });
  return {
    total: list.totalCount,
    flags: list.flags.map((flag) => ({
      key: flag.key,
      name: flag.name,
      description: flag.description,
      // flipt.FlagType and flipt.core.FlagType number their values alike.
      type: flag.type as number as FlagType,
      enabled: flag.enabled,
    })),
  };
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

async function readNamespace(api: Api, env: string, ns: string): Promise<NamespaceData> {
  for (let attempt = 1; ; attempt++) {
    const request = { environmentKey: env, namespaceKey: ns };
    const [flags, segments] = await Promise.all([
      api.environments.listResources({ ...request, typeUrl: FLAG_TYPE }),
      api.environments.listResources({ ...request, typeUrl: SEGMENT_TYPE }),
    ]);
    if (flags.revision === segments.revision || attempt >= CONSISTENT_READ_ATTEMPTS) {
      return {
        env,
        ns,
        flags: unpackAll(flags.resources, summarizeResource).sort(byKey),
        segments: unpackAll(segments.resources, unpackSegment).sort(byKey),
        // The older of two disagreeing revisions would only make the next write conflict; the flags' is kept.
        revision: flags.revision,
        at: Date.now(),
      };
    }
  }
}

/**
 * Creates or replaces a flag or segment; resolves to it as the server stored it (the one sent, if the answer does
 * not hold it) and the revision that made.
 */
async function putResource<Desc extends typeof FlagSchema | typeof SegmentSchema>(
  api: Api,
  scope: { environmentKey: string; namespaceKey: string; revision: string },
  schema: Desc,
  message: MessageShape<Desc>,
  create: boolean,
): Promise<{ saved: MessageShape<Desc>; revision: string }> {
  const request = { ...scope, key: message.key, payload: anyPack(schema, message) };
  const response = create
    ? await api.environments.createResource(request)
    : await api.environments.updateResource(request);
  const payload = response.resource?.payload;
  const saved = payload === undefined ? undefined : anyUnpack(payload, schema);
  return { saved: saved ?? message, revision: response.revision };
}

/** The list with `item` in place of the one with its key, or inserted in key order. */
function put<T extends { key: string }>(items: readonly T[], item: T): T[] {
  const index = items.findIndex((existing) => existing.key === item.key);
  if (index === -1) {
    const after = items.findIndex((existing) => byKey(existing, item) > 0);
    return after === -1 ? [...items, item] : [...items.slice(0, after), item, ...items.slice(after)];
  }
  const copy = [...items];
  copy[index] = item;
  return copy;
}

/** The flags and segments of one namespace, read once and kept in step with the console's own writes. */
export function useNamespaceStore(api: Api, env: string, ns: string): NamespaceStore {
  const [load, setLoad] = useState<NamespaceLoad>({ state: "loading" });
  /** The scope of the newest read, so that an older answer arriving late is dropped. */
  const newestRead = useRef({ env, ns, sequence: 0 });
  const data = useRef<NamespaceData | undefined>(undefined);
  const queue = useRef<Promise<unknown>>(Promise.resolve());

  /** The load as last shown (the state's value may lag a render behind). */
  const shown = useRef<NamespaceLoad>(load);
  const show = useCallback((next: NamespaceLoad) => {
    data.current = next.state === "ready" ? next.data : undefined;
    shown.current = next;
    setLoad(next);
  }, []);

  const read = useCallback(async () => {
    const sequence = ++newestRead.current.sequence;
    const { env: readEnv, ns: readNs } = newestRead.current;
    const isCurrent = () => sequence === newestRead.current.sequence;
    const previous = data.current;
    if (previous?.env === readEnv && previous.ns === readNs) {
      show({ state: "ready", data: previous, reloading: true });
    } else {
      show({ state: "loading" });
      // The first page first, then everything: sent together, the server could be busy building the large answer
      // (about 200 ms for 10 000 flags) before it answers the small one; one round trip later, it never is.
      const preview = await settled(takePrefetched(readEnv, readNs) ?? readPreview(api, readEnv, readNs));
      if (preview !== undefined && isCurrent() && shown.current.state === "loading") {
        show({ state: "loading", preview });
      }
    }
    try {
      const fresh = await readNamespace(api, readEnv, readNs);
      if (isCurrent()) show({ state: "ready", data: fresh, reloading: false });
    } catch (error) {
      if (isCurrent()) show({ state: "failed", problem: describeProblem(error) });
    }
  }, [api, show]);

  useEffect(() => {
    newestRead.current = { env, ns, sequence: newestRead.current.sequence };
    void read();
  }, [env, ns, read]);

  const apply = useCallback(
    async (change: Change): Promise<Problem | undefined> => {
      const before = data.current;
      if (before === undefined) return { kind: "other", code: "Unavailable", message: "nothing is loaded" };
      const scope = { environmentKey: before.env, namespaceKey: before.ns, revision: before.revision };
      try {
        let next: NamespaceData;
        switch (change.kind) {
          case "flag": {
            const { saved, revision } = await putResource(api, scope, FlagSchema, change.flag, change.create);
            next = { ...before, flags: put(before.flags, summarizeFlag(saved)), revision };
            break;
          }
          case "segment": {
            const { saved, revision } = await putResource(
              api,
              scope,
              SegmentSchema,
              change.segment,
              change.create,
            );
            next = { ...before, segments: put(before.segments, saved), revision };
            break;
          }
          case "delete-flag": {
            const { revision } = await api.environments.deleteResource({
              ...scope,
              typeUrl: FLAG_TYPE,
              key: change.key,
            });
            next = { ...before, flags: before.flags.filter((flag) => flag.key !== change.key), revision };
            break;
          }
          case "delete-segment": {
            const { revision } = await api.environments.deleteResource({
              ...scope,
              typeUrl: SEGMENT_TYPE,
              key: change.key,
            });
            next = {
              ...before,
              segments: before.segments.filter((segment) => segment.key !== change.key),
              revision,
            };
            break;
          }
        }
        next = { ...next, at: Date.now() };
        // Another namespace may be shown by now: the answer then only matters to that one's next read.
        if (data.current?.env === before.env && data.current.ns === before.ns) {
          show({ state: "ready", data: next, reloading: false });
        }
        return undefined;
      } catch (error) {
        return describeProblem(error);
      }
    },
    [api, show],
  );

  const write = useCallback(
    (change: Change) => {
      const result = queue.current.then(() => apply(change));
      queue.current = result;
      return result;
    },
    [apply],
  );

  return useMemo(() => ({ load, reload: read, write }), [load, read, write]);
}
