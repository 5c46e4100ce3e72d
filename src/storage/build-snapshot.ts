import { ValidationError } from "../domain/errors.js";
import type { EvalFlag } from "../domain/evaluation-model.js";
import { DEFAULT_NAMESPACE, type Flag, type Segment } from "../domain/flag-state.js";
import type { NamespaceState, Snapshot } from "../domain/snapshot.js";
import { compileFlags, type DroppedSegment } from "../engine/compile-flag.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../format/limits.js";
import { loadState, type ParseCache } from "../format/load-state.js";
import type { SourceState } from "./flag-source.js";
import { repositoryCommitTemplate } from "./repository-commit-template.js";

/** A build's outcome. Either way it carries the parse of every file, for the next build to reuse. */
export type SnapshotBuild =
  | {
      readonly ok: true;
      readonly snapshot: Snapshot;
      /** Segments left out of evaluation because a constraint value could not be prepared (Flipt logs and skips them). */
      readonly dropped: readonly DroppedSegment[];
      readonly parsed: ParseCache;
    }
  | { readonly ok: false; readonly error: ValidationError; readonly parsed: ParseCache };

export interface BuildOptions {
  /** The environment's limits on features files; the defaults suit a caller with no config. */
  readonly limits?: FeaturesLimits | undefined;
  /** The last build's parse cache: unchanged files are not parsed again. */
  readonly previous?: ParseCache | undefined;
}

/**
 * Builds an environment's immutable snapshot from its files: parse and validate every document, merge them into
 * namespaces, and compile each flag for evaluation. Any invalid file fails the whole build with a
 * ValidationError listing every problem with its file and line, so the caller keeps its last good snapshot.
 * The `default` namespace always exists.
 */
export function buildSnapshot(state: SourceState, builtAt: Date, options: BuildOptions = {}): SnapshotBuild {
  const loaded = loadState(state.files, options.limits ?? DEFAULT_FEATURES_LIMITS, options.previous);
  const settings = repositoryCommitTemplate(state.settings);
  const issues = [...(state.refused ?? []), ...settings.issues, ...loaded.issues];
  if (issues.length > 0) {
    const first = issues[0];
    const where =
      first?.file === undefined ? "" : ` (${first.file}${first.line === undefined ? "" : `:${first.line}`})`;
    const more = issues.length > 1 ? ` and ${issues.length - 1} more problem(s)` : "";
    const message = `invalid flag state: ${first?.message ?? "unknown problem"}${where}${more}`;
    return { ok: false, error: new ValidationError(message, { issues }), parsed: loaded.parsed };
  }
  const namespaces = new Map<string, NamespaceState>();
  const dropped: DroppedSegment[] = [];
  for (const [key, namespace] of loaded.namespaces) {
    const compiled = compileNamespace(namespace.flags, namespace.segments);
    dropped.push(...compiled.dropped);
    namespaces.set(key, { ...namespace, evaluation: compiled.flags });
  }
  if (!namespaces.has(DEFAULT_NAMESPACE)) {
    namespaces.set(DEFAULT_NAMESPACE, emptyNamespace());
  }
  return {
    ok: true,
    snapshot: { revision: state.revision, builtAt: builtAt.toISOString(), namespaces },
    dropped,
    parsed: loaded.parsed,
  };
}

/**
 * A flag as an earlier build compiled it, and the segments it saw: keys and segments (undefined for a missing one)
 * alternating in one array, smaller than a map (a snapshot keeps one of these per flag).
 */
interface Compiled {
  readonly segments: readonly (string | Segment | undefined)[];
  readonly flag: EvalFlag;
  readonly dropped: readonly DroppedSegment[];
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * Compiled flags by flag object. Flags and segments are immutable and a storage hands the unchanged ones over as
 * the same objects (the parse cache keeps a text file's; a database keeps its rows'), so a flag whose object and
 * whose segments' objects are those of an earlier build is not compiled again: a write or reload compiles what
 * it changed, not the state.
 */
const compiledFlags = new WeakMap<Flag, Compiled>();

/**
 * Compiles a namespace's flags, in their order, reusing the earlier compilation of each unchanged one. The rest
 * are compiled together, so each segment's constraints are prepared once and shared by every flag that uses it.
 */
function compileNamespace(
  flags: ReadonlyMap<string, Flag>,
  segments: ReadonlyMap<string, Segment>,
): { flags: Map<string, EvalFlag>; dropped: DroppedSegment[] } {
  const stale: Flag[] = [];
  for (const flag of flags.values()) {
    const earlier = compiledFlags.get(flag);
    if (earlier === undefined || !sameSegments(earlier.segments, segments)) stale.push(flag);
  }
  if (stale.length > 0) {
    const compiled = compileFlags(stale, segments);
    const droppedBy = new Map<string, DroppedSegment[]>();
    for (const segment of compiled.dropped) {
      droppedBy.set(segment.flagKey, [...(droppedBy.get(segment.flagKey) ?? []), segment]);
    }
    for (const flag of stale) {
      const seen: (string | Segment | undefined)[] = [];
      for (const key of referencedSegments(flag)) {
        if (!seenKey(seen, key)) seen.push(key, segments.get(key));
      }
      compiledFlags.set(flag, {
        segments: seen.length === 0 ? NONE : seen.slice(),
        flag: compiled.flags.get(flag.key) as EvalFlag,
        dropped: droppedBy.get(flag.key) ?? NONE,
      });
    }
  }
  const evaluation = new Map<string, EvalFlag>();
  const dropped: DroppedSegment[] = [];
  for (const flag of flags.values()) {
    const compiled = compiledFlags.get(flag) as Compiled;
    evaluation.set(flag.key, compiled.flag);
    dropped.push(...compiled.dropped);
  }
  return { flags: evaluation, dropped };
}

function sameSegments(
  seen: readonly (string | Segment | undefined)[],
  segments: ReadonlyMap<string, Segment>,
): boolean {
  for (let index = 0; index < seen.length; index += 2) {
    if (segments.get(seen[index] as string) !== seen[index + 1]) return false;
  }
  return true;
}

function seenKey(seen: readonly (string | Segment | undefined)[], key: string): boolean {
  for (let index = 0; index < seen.length; index += 2) if (seen[index] === key) return true;
  return false;
}

function* referencedSegments(flag: Flag): Iterable<string> {
  for (const rule of flag.rules) yield* rule.segment.keys;
  for (const rollout of flag.rollouts) yield* rollout.segment?.keys ?? [];
}

/**
 * For a state that does not build: the build of what can be loaded. Files named by the error's issues are left
 * out, again after each try (a file may only have failed for a segment another one defines), until the rest
 * builds; undefined when an issue names no file, or nothing is left. An environment with no last good state
 * serves this, so that a server started on a broken head serves every namespace it can, and says which files it
 * could not load.
 */
export function buildLoadable(
  state: SourceState,
  failed: ValidationError,
  builtAt: Date,
  options: BuildOptions = {},
): { build: Extract<SnapshotBuild, { ok: true }>; left: readonly string[] } | undefined {
  const left = new Set<string>();
  let issues = failed.issues;
  while (issues.length > 0 && issues.every((issue) => issue.file !== undefined)) {
    for (const issue of issues) left.add(issue.file as string);
    const files = state.files.filter((file) => !left.has(file.path));
    if (files.length === 0) return undefined;
    const build = buildSnapshot({ revision: state.revision, files }, builtAt, options);
    if (build.ok) return { build, left: [...left].sort() };
    issues = build.error.issues;
  }
  return undefined;
}

/** The state an environment serves before anything has loaded: only an empty `default` namespace. */
export function emptySnapshot(revision: string, builtAt: Date): Snapshot {
  return {
    revision,
    builtAt: builtAt.toISOString(),
    namespaces: new Map([[DEFAULT_NAMESPACE, emptyNamespace()]]),
  };
}

function emptyNamespace(): NamespaceState {
  return {
    namespace: { key: DEFAULT_NAMESPACE },
    flags: new Map(),
    segments: new Map(),
    digest: "",
    evaluation: new Map(),
  };
}
