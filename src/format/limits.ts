/**
 * Limits on what the features readers accept, so a hostile or broken file fails fast with a clear issue instead
 * of exhausting memory or the stack.
 */

/**
 * The limits a server's config may set (`limits.max_features_file_bytes`, `limits.max_yaml_alias_nodes`, ...).
 * They are passed to every reader, never held process-wide, so two environments or evaluators in one process
 * can keep to different ones.
 */
export interface FeaturesLimits {
  /** The largest features file read, in bytes. */
  readonly maxFileBytes: number;
  /**
   * How many nodes YAML aliases (`*anchor`, and `<<: *anchor` merges) may add to one document when they are
   * expanded. Ordinary reuse of anchors stays far below it; a "billion laughs" file reaches it after a few levels.
   */
  readonly maxAliasNodes: number;
  /**
   * How large one file may be once its aliases are expanded, counted as the characters of every key and value
   * (plus one per node): what the file would weigh written out without aliases. A few aliases to one huge string
   * pass both limits above; this one stops them, and with it everything built from the file (attachments
   * serialised per variant, JSON answers) stays proportional to a bounded size.
   */
  readonly maxExpandedBytes: number;
  /** The same count over all the files of one environment's state. */
  readonly maxSnapshotBytes: number;
}

/**
 * 8 MiB (Flipt's largest test repositories are well under 1 MiB), 10 000 nodes, 16 MiB and 128 MiB: the config's
 * defaults, and the limits of callers that have no config (the library, `pennant validate`, tools).
 */
export const DEFAULT_FEATURES_LIMITS: FeaturesLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxAliasNodes: 10_000,
  maxExpandedBytes: 16 * 1024 * 1024,
  maxSnapshotBytes: 128 * 1024 * 1024,
};

/** How deeply mappings and lists may nest in a document (attachments and metadata are the deep parts). */
export const MAX_NESTING_DEPTH = 100;

/**
 * How deeply a flag's `metadata` and a variant's `attachment` may nest mappings and lists, counting the value
 * itself as level 1. Every answer must be able to carry the deepest value allowed, and the tightest carriers are
 * protobuf decoders with a recursion limit of 100 messages: protobuf-es (which the REST gateway and Connect JSON
 * use to unpack `Any` payloads and re-read answers), and the C++, Java and Python runtimes of other clients, which
 * also count each map entry. A level costs up to 3 messages there (`Struct`, its map entry, `Value`), under up to
 * 3 messages of envelope (`Flag` > `Variant` > `Value`, or `FlagList` > `Flag` > `Struct`): 3 × 32 + 3 = 99.
 */
export const MAX_VALUE_NESTING_DEPTH = 32;
