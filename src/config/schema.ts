/**
 * The vocabulary for describing config keys declaratively. One tree of these nodes (`CONFIG_SCHEMA`) is the only
 * description of the configuration: it drives file decoding, `FLIPT_*` env mapping, defaults and the docs check,
 * and `Infer` derives the TypeScript type of the decoded value from it.
 *
 * Keys in the tree are the file's snake_case keys; decoded values use camelCase property names derived from them
 * (`http_port` → `httpPort`), in the types (`CamelCase`) as at run time (`camelCase`).
 */

/** What a node's `finalize` hook (and a decode's `check`) can do besides returning the value. */
export interface NodeContext {
  /** Dotted path of the node, e.g. `storage.prod`. */
  readonly path: string;
  /** Key of the nearest enclosing map entry (a storage id, environment key, ...). */
  readonly entryKey: string | undefined;
  /** Records an error at `relativePath` under this node (`""` for the node itself). */
  report(relativePath: string, message: string): void;
  /** Records a warning at `relativePath` under this node. */
  warn(relativePath: string, message: string): void;
  /** Whether a file or directory exists (injected so decoding stays testable). */
  fileExists(path: string): boolean;
  /** Go's `os.UserConfigDir` (`$XDG_CONFIG_HOME`, else `~/.config`), for defaults under it; undefined if unknown. */
  readonly userConfigDir: string | undefined;
}

/** A default computed from the already-decoded sibling fields and the enclosing map entry key (`""` outside one). */
type ComputedDefault<T> = (siblings: Readonly<Record<string, unknown>>, entryKey: string) => T | undefined;

declare const OUTPUT: unique symbol;

/**
 * Type-level only, never set: what a node decodes to, and whether the decoded key is always there (`present`: it
 * has a default or is required) or may be absent. `Infer` reads it.
 */
interface Output<T, Present extends boolean> {
  readonly [OUTPUT]?: { readonly value: T; readonly present: Present };
}

interface NodeBase {
  /** One-line meaning, used in docs/configuration.md. */
  readonly doc: string;
}

interface ScalarBase<T> extends NodeBase {
  readonly default?: T | ComputedDefault<T>;
  /** The default applies only when the sibling `key` (snake_case) is `is`; it is absent otherwise. */
  readonly defaultWhen?: { readonly key: string; readonly is: string };
  /** How the docs show a computed default. */
  readonly defaultText?: string;
  /** Missing (after defaults) is an error. */
  readonly required?: boolean;
  /** Never echo the value in messages. */
  readonly secret?: boolean;
}

export interface StringNode<V extends string = string, P extends boolean = boolean>
  extends ScalarBase<V>,
    Output<V, P> {
  readonly kind: "string";
  /** Allowed values; a const tuple makes the decoded type their union. */
  readonly values?: readonly V[];
  /** Match `values` ignoring case; the value is stored lower-cased. */
  readonly caseInsensitive?: boolean;
  /** Rewrites the raw text before the checks (e.g. `2` → `2.0`). */
  readonly normalize?: (text: string) => string;
  /** An empty string is an error. */
  readonly nonEmpty?: boolean;
  /**
   * Accepted but not acted on: an unresolved `${secret:…}` value here is a warning, not an error, since Pennant
   * never needs it.
   */
  readonly ignored?: boolean;
}

export interface BooleanNode<P extends boolean = boolean> extends ScalarBase<boolean>, Output<boolean, P> {
  readonly kind: "boolean";
}

export interface IntegerNode<P extends boolean = boolean> extends ScalarBase<number>, Output<number, P> {
  readonly kind: "integer";
  readonly min?: number;
  readonly max?: number;
}

/** A Go-syntax duration; decoded to milliseconds. Default and minimum are written in Go syntax. */
export interface DurationNode<P extends boolean = boolean> extends ScalarBase<string>, Output<number, P> {
  readonly kind: "duration";
  readonly min?: string;
}

/** A list of strings; a single string is split on whitespace and commas (env style). */
export interface ListNode<P extends boolean = boolean>
  extends ScalarBase<readonly string[]>,
    Output<readonly string[], P> {
  readonly kind: "list";
}

type Finalize = (value: unknown, context: NodeContext) => unknown;

/** Child nodes by snake_case key. */
export type Fields = Readonly<Record<string, SchemaNode>>;

export interface ObjectNode<T = unknown, P extends boolean = boolean> extends NodeBase, Output<T, P> {
  readonly kind: "object";
  readonly fields: Fields;
  /** Absent in the input → `undefined` instead of an object of defaults. */
  readonly optional?: boolean;
  /** Unknown keys are accepted silently (and dropped). */
  readonly open?: boolean;
  /** Checks across its fields and derived values, run after the fields are decoded. */
  readonly finalize?: Finalize;
}

export interface MapNode<T = unknown, R extends Fields = Fields>
  extends NodeBase,
    Output<Readonly<Record<string, T>>, true> {
  readonly kind: "map";
  readonly entry: SchemaNode;
  /** Placeholder for the entry key in docs and env names, e.g. `id` → `<id>` / `<ID>`. */
  readonly entryName: string;
  /**
   * Keys that are settings of the map itself rather than entries (`storage.read_only`).
   * Decoded values are hoisted onto the parent as `<mapKey><ReservedKey>` (`storageReadOnly`).
   */
  readonly reserved?: R;
  /** Raw entries used when the map is absent or has no entries. */
  readonly whenEmpty?: Readonly<Record<string, unknown>>;
}

/** What an uninterpreted section decodes to: the mapping as given. */
export type OpaqueValue = Readonly<Record<string, unknown>>;

/** Accepted as-is (any mapping), for sections we do not interpret. */
export interface OpaqueNode extends NodeBase, Output<OpaqueValue, true> {
  readonly kind: "opaque";
}

export type ScalarNode = StringNode | BooleanNode | IntegerNode | DurationNode | ListNode;
export type SchemaNode = ScalarNode | ObjectNode | MapNode | OpaqueNode;

/** The decoded value of a node: `Infer<typeof CONFIG_SCHEMA>` is the loaded configuration. */
export type Infer<N> = N extends { readonly [OUTPUT]?: { readonly value: infer T } } ? T : never;

/** The decoded object of some fields: present keys required, the others optional, map settings hoisted. */
export type InferFields<F extends Fields> = Simplify<
  {
    readonly [K in keyof WithHoisted<F> & string as IsPresent<WithHoisted<F>[K]> extends true
      ? CamelCase<K>
      : never]: Infer<WithHoisted<F>[K]>;
  } & {
    readonly [K in keyof WithHoisted<F> & string as IsPresent<WithHoisted<F>[K]> extends true
      ? never
      : CamelCase<K>]?: Infer<WithHoisted<F>[K]>;
  }
>;

/** `grpc_conn_max_age` → `grpcConnMaxAge`. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type IsPresent<N> = N extends { readonly [OUTPUT]?: { readonly present: true } } ? true : false;

/** The fields plus each map's reserved keys under `<mapKey>_<reservedKey>`, as the decoder hoists them. */
type WithHoisted<F extends Fields> = F &
  UnionToIntersection<
    {
      [K in keyof F & string]: F[K] extends MapNode<unknown, infer R>
        ? { readonly [RK in keyof R & string as `${K}_${RK}`]: R[RK] }
        : never;
    }[keyof F & string]
  >;

type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (
  value: infer I,
) => void
  ? I
  : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Whether scalar options make the key always present: `required`, or a default that cannot be undefined. */
type Present<O> = O extends { readonly required: true }
  ? true
  : O extends { readonly defaultWhen: object }
    ? false
    : O extends { readonly default: infer D }
      ? [D] extends [(...args: never[]) => infer R]
        ? [undefined] extends [R]
          ? false
          : true
        : true
      : false;

type ValuesOf<O> = O extends { readonly values: readonly (infer V extends string)[] } ? V : string;

type Options<N> = Omit<N, "kind" | "doc" | typeof OUTPUT>;

export function string<const O extends Options<StringNode>>(
  doc: string,
  options?: O,
): StringNode<ValuesOf<O>, Present<O>> {
  return { kind: "string", doc, ...options } as StringNode<ValuesOf<O>, Present<O>>;
}

export function boolean<const O extends Options<BooleanNode>>(
  doc: string,
  options?: O,
): BooleanNode<Present<O>> {
  return { kind: "boolean", doc, ...options };
}

export function integer<const O extends Options<IntegerNode>>(
  doc: string,
  options?: O,
): IntegerNode<Present<O>> {
  return { kind: "integer", doc, ...options };
}

export function duration<const O extends Options<DurationNode>>(
  doc: string,
  options?: O,
): DurationNode<Present<O>> {
  return { kind: "duration", doc, ...options };
}

export function list<const O extends Options<ListNode>>(doc: string, options?: O): ListNode<Present<O>> {
  return { kind: "list", doc, ...options };
}

/**
 * An object node. Its decoded type is `InferFields` of its fields, or what `finalize` returns (which receives the
 * decoded fields, and may narrow them); `optional: true` makes it absent when the input has none of it.
 */
export function object<F extends Fields, U = InferFields<F>, Optional extends boolean = false>(
  doc: string,
  fields: F,
  options: {
    readonly optional?: Optional;
    readonly open?: boolean;
    readonly finalize?: (value: InferFields<F>, context: NodeContext) => U;
  } = {},
): ObjectNode<Simplify<NoInfer<U>>, Optional extends true ? false : true> {
  const { optional, open, finalize } = options;
  return {
    kind: "object",
    doc,
    fields,
    ...(optional === undefined ? {} : { optional }),
    ...(open === undefined ? {} : { open }),
    ...(finalize === undefined ? {} : { finalize: finalize as Finalize }),
  };
}

/** A map from ids to entries of one node, decoded to a record (always present, `{}` when empty). */
export function map<E extends SchemaNode, R extends Fields = Record<never, never>>(
  doc: string,
  entryName: string,
  entry: E,
  options: { readonly reserved?: R; readonly whenEmpty?: Readonly<Record<string, unknown>> } = {},
): MapNode<Infer<E>, NoInfer<R>> {
  const { reserved, whenEmpty } = options;
  return {
    kind: "map",
    doc,
    entryName,
    entry,
    ...(reserved === undefined ? {} : { reserved }),
    ...(whenEmpty === undefined ? {} : { whenEmpty }),
  };
}

export function opaque(doc: string): OpaqueNode {
  return { kind: "opaque", doc };
}

/** One kind of a `tagged` object: what it is (for the tag's doc), and the keys it adds. */
interface Kind {
  readonly doc: string;
  readonly keys: Fields;
}

/**
 * An object whose `tag` key (one of the kinds' names; `defaultKind` when absent) picks a kind, beside the keys
 * of every kind. A key belongs to one kind, or is one node without a default that several kinds share (an object
 * store's `bucket`: its doc says what it means to each). A kind's scalar defaults apply only to objects of that
 * kind, so in the type its keys are optional; give a kind's block of keys `optional: true` for the same reason.
 */
export function tagged<K extends Readonly<Record<string, Kind>>, T extends string>(
  doc: string,
  tag: T,
  kinds: K,
  defaultKind: keyof K & string,
): ObjectNode<TaggedValue<T, K>, true> {
  const names = Object.keys(kinds);
  const kindDocs = Object.entries(kinds).map(([name, kind]) => `\`${name}\`: ${kind.doc}`);
  const fields: Record<string, SchemaNode> = {
    [tag]: string(`${kindDocs.join("; ")}.`, { values: names, default: defaultKind }),
  };
  const shareable = new Map<string, SchemaNode>();
  for (const [name, kind] of Object.entries(kinds)) {
    for (const [key, node] of Object.entries(kind.keys)) {
      const conditional = isScalarNode(node) && node.default !== undefined;
      if (Object.hasOwn(fields, key)) {
        if (shareable.get(key) === node && !conditional) continue;
        throw new Error(`tagged "${doc}": "${key}" is the tag or another kind's key`);
      }
      if (!conditional) shareable.set(key, node);
      fields[key] = conditional ? { ...node, defaultWhen: { key: tag, is: name } } : node;
    }
  }
  return object(doc, fields) as ObjectNode<TaggedValue<T, K>, true>;
}

type TaggedValue<T extends string, K extends Readonly<Record<string, Kind>>> = Simplify<
  { readonly [P in T]: keyof K & string } & Partial<InferFields<KindKeys<K>>>
>;

type KindKeys<K extends Readonly<Record<string, Kind>>> =
  UnionToIntersection<K[keyof K]["keys"]> extends infer F extends Fields ? F : never;

export function isScalarNode(node: SchemaNode): node is ScalarNode {
  return node.kind !== "object" && node.kind !== "map" && node.kind !== "opaque";
}

/** `grpc_conn_max_age` → `grpcConnMaxAge`. */
export function camelCase<S extends string>(key: S): CamelCase<S> {
  return key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase()) as CamelCase<S>;
}
