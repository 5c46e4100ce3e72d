import { ValidationError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
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
    // Compiled per namespace, so each segment's constraints are prepared once and shared by every flag.
    const compiled = compileFlags(namespace.flags.values(), namespace.segments);
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
