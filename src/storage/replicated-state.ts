import type { ValidationIssue } from "../domain/errors.js";
import type { FeaturesDocument } from "../format/features-document.js";
import type { LoadError, SourceFile, SourceState } from "./flag-source.js";

/** One file as it crosses to a worker: its bytes, and its documents for a storage of documents. */
export interface ReplicatedFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly documents?: readonly FeaturesDocument[] | undefined;
}

/**
 * An environment's state as the owning process sends it to its workers (`server.workers`): whole, but with only
 * the files that changed since the previous one carried (`changed`); `paths` lists every file in order. Applied in
 * order to the previous one, it gives back the owner's state exactly.
 */
export interface ReplicatedState {
  readonly revision: string;
  readonly paths: readonly string[];
  readonly changed: readonly ReplicatedFile[];
  readonly settings: ReplicatedFile | undefined;
  readonly refused: readonly ValidationIssue[] | undefined;
  readonly structured: boolean;
  /** The discovery rule that selected each file, by path. */
  readonly rules: Readonly<Record<string, string>>;
}

/** What the owner reports of an environment's loads, which a worker's status repeats. */
export interface OwnerStatus {
  readonly loadedAt: string | undefined;
  readonly lastError: LoadError | undefined;
}

/** The files last sent for one environment, to send only what changed next time. */
export type SentFiles = ReadonlyMap<string, Uint8Array>;

/** Encodes `state` for workers that hold `previous`; returns the message and the files it leaves them with. */
export function encodeState(
  state: SourceState,
  previous: SentFiles | undefined,
): { readonly update: ReplicatedState; readonly sent: SentFiles } {
  const sent = new Map<string, Uint8Array>();
  const changed: ReplicatedFile[] = [];
  const rules: Record<string, string> = {};
  for (const file of state.files) {
    sent.set(file.path, file.bytes);
    const rule = state.ruleFor?.(file.path);
    if (rule !== undefined) rules[file.path] = rule;
    const before = previous?.get(file.path);
    if (before !== undefined && sameBytes(before, file.bytes)) continue;
    changed.push(wireFile(file));
  }
  return {
    update: {
      revision: state.revision,
      paths: state.files.map((file) => file.path),
      changed,
      settings: state.settings === undefined ? undefined : wireFile(state.settings),
      refused: state.refused,
      structured: state.structured === true,
      rules,
    },
    sent,
  };
}

/** The state `update` describes, given the files of the one before it (updated in place). */
export function decodeState(update: ReplicatedState, files: Map<string, SourceFile>): SourceState {
  for (const file of update.changed) files.set(file.path, file);
  const kept = new Set(update.paths);
  for (const path of files.keys()) if (!kept.has(path)) files.delete(path);
  const ordered = update.paths.map((path) => {
    const file = files.get(path);
    if (file === undefined) throw new Error(`replicated state ${update.revision} lacks file ${path}`);
    return file;
  });
  return {
    revision: update.revision,
    files: ordered,
    refused: update.refused,
    settings: update.settings,
    ruleFor: (path) => update.rules[path],
    structured: update.structured,
  };
}

function wireFile(file: SourceFile): ReplicatedFile {
  return file.documents === undefined
    ? { path: file.path, bytes: file.bytes }
    : { path: file.path, bytes: file.bytes, documents: file.documents };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let index = 0; index < a.byteLength; index++) if (a[index] !== b[index]) return false;
  return true;
}
