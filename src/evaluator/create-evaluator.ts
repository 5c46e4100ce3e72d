import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS } from "../format/limits.js";
import { contentHash } from "../storage/content-hash.js";
import type { FlagSource } from "../storage/flag-source.js";
import { LiveSnapshot } from "../storage/live-snapshot.js";
import { createResponder } from "./create-responder.js";
import { DirectorySource } from "./directory-source.js";
import { documentFiles, type FeaturesDocuments } from "./document-files.js";
import type { Evaluator } from "./evaluator.js";

/** Flag state from a directory of features files, found and validated exactly as the server's local storage. */
export interface DirectoryEvaluatorOptions {
  /** The directory (absolute, or relative to the working directory). It must exist; nothing is written to it. */
  readonly directory: string;
  /** Watch the directory and serve each valid change moments after it settles. Default true. */
  readonly watch?: boolean | undefined;
  /**
   * Called when a reload after a change fails (an invalid edit: a ValidationError listing every problem with
   * file and line) or the file watcher reports an error. The last good state keeps being served.
   */
  readonly onError?: ((error: Error) => void) | undefined;
}

/** Flag state from features documents given as text. */
export interface DocumentsEvaluatorOptions {
  /** YAML or JSON features documents: a list, or file names mapped to text (see `documentFiles`). */
  readonly documents: FeaturesDocuments;
}

export type EvaluatorOptions = DirectoryEvaluatorOptions | DocumentsEvaluatorOptions;

/**
 * Loads flag state and returns an in-process evaluator with Flipt v2's results, no server needed. Rejects with
 * a ValidationError listing every problem (file, line, message) when the state is invalid, and with
 * NotFoundError when the directory does not exist.
 */
export async function createEvaluator(options: EvaluatorOptions): Promise<Evaluator> {
  const hasDirectory = "directory" in options && options.directory !== undefined;
  const hasDocuments = "documents" in options && options.documents !== undefined;
  if (hasDirectory === hasDocuments) {
    throw new ValidationError("createEvaluator needs exactly one of `directory` and `documents`");
  }
  return hasDocuments
    ? fromDocuments(options as DocumentsEvaluatorOptions)
    : fromDirectory(options as DirectoryEvaluatorOptions);
}

function fromDocuments(options: DocumentsEvaluatorOptions): Promise<Evaluator> {
  const files = documentFiles(options.documents);
  const state = { revision: contentHash(files), files };
  // Nothing to watch or re-read: a reload finds the same state and resolves at once.
  const source: FlagSource = {
    description: "features documents",
    read: async () => state,
    watch: async () => {},
    close: async () => {},
  };
  return serve(source, false);
}

async function fromDirectory(options: DirectoryEvaluatorOptions): Promise<Evaluator> {
  const path = resolve(options.directory);
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) throw new NotFoundError(`directory "${path}" not found`);
  if (!found.isDirectory()) throw new ValidationError(`"${path}" is not a directory`);

  const report = (error: unknown) => options.onError?.(asError(error));
  // The library has no config: the default limits.
  const source = new DirectorySource({ path, limits: DEFAULT_FEATURES_LIMITS, onWatchError: report });
  return serve(source, options.watch ?? true, report);
}

/**
 * Loads `source` (watched when `watching`, each failed reload told to `report`) and evaluates against its live
 * snapshot. Rejects with why the state is not served when the first load fails.
 */
async function serve(
  source: FlagSource,
  watching: boolean,
  report?: (error: unknown) => void,
): Promise<Evaluator> {
  const live = new LiveSnapshot({ source, directory: "", limits: DEFAULT_FEATURES_LIMITS });
  // A reload rejects with the reason the state it read is not served; the last good state stays.
  const reload = async () => {
    await live.reload();
    const failure = live.lastError;
    if (failure !== undefined) throw failure.error;
  };
  const stop = new AbortController();
  try {
    // Watch first, then load: a change made while the first load runs is not missed.
    if (watching) {
      // A change that leaves a broken state as it was fails with the same error again: report it once.
      let reported: unknown;
      const reportOnce = (error: unknown) => {
        if (error === reported) return;
        reported = error;
        report?.(error);
      };
      await source.watch(() => void reload().catch(reportOnce), stop.signal);
    }
    await reload();
  } catch (error) {
    stop.abort();
    await source.close();
    throw error;
  }
  let closed = false;
  return {
    ...createResponder(() => live.snapshot),
    status: () => {
      const { revision, builtAt } = live.snapshot;
      return { revision, loadedAt: builtAt, watching: watching && !closed, lastError: live.lastError?.error };
    },
    reload,
    close: async () => {
      closed = true;
      stop.abort();
      await source.close();
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
