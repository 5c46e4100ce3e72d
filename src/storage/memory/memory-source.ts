import { createHash } from "node:crypto";
import { REPOSITORY_SETTINGS_FILES } from "../../format/repository-settings.js";
import {
  type FlagSource,
  type SourceState,
  textOf,
  type WritableFlagSource,
  type WriteTransaction,
} from "../flag-source.js";
import { revisionConflict } from "../revision-conflict.js";
import { findIndexPath, selectFeaturePaths } from "../select-feature-paths.js";
import { SerialLock } from "../serial-lock.js";

const encoder = new TextEncoder();

/**
 * `backend.type: memory`: flag files held in memory, lost on restart. It starts empty, which serves the
 * `default` namespace with no flags. Its revision is a SHA-1 chain: every write (and every `put`) makes a new
 * one, as every write to git storage makes a new commit.
 */
export class MemorySource implements FlagSource, WritableFlagSource {
  readonly description = "memory";
  readonly #files = new Map<string, Uint8Array>();
  readonly #listeners = new Set<() => void>();
  readonly #lock = new SerialLock();
  #revision: string;

  constructor(initial: Iterable<readonly [string, Uint8Array]> = []) {
    for (const [path, bytes] of initial) this.#files.set(path, bytes);
    this.#revision = nextRevision("", "initial state", [...this.#files.keys()].sort().join("\n"));
  }

  async read(directory: string): Promise<SourceState> {
    const prefix = prefixOf(directory);
    const inside = new Map<string, Uint8Array>();
    for (const [path, bytes] of this.#files) {
      if (path.startsWith(prefix)) inside.set(path.slice(prefix.length), bytes);
    }
    const paths = [...inside.keys()];
    const index = findIndexPath(paths);
    const indexText = index === undefined ? undefined : new TextDecoder().decode(inside.get(index));
    const { selected, matcher } = selectFeaturePaths(paths, indexText);
    const files = selected.map((path) => ({ path, bytes: inside.get(path) as Uint8Array }));
    const settingsPath = REPOSITORY_SETTINGS_FILES.find((name) => inside.has(name));
    const settings =
      settingsPath === undefined
        ? undefined
        : { path: settingsPath, bytes: inside.get(settingsPath) as Uint8Array };
    return { revision: this.#revision, files, ruleFor: matcher.ruleFor, settings };
  }

  write(transaction: WriteTransaction): Promise<string> {
    return this.#lock.run(async () => {
      if (transaction.baseRevision !== "" && transaction.baseRevision !== this.#revision) {
        throw revisionConflict(transaction.baseRevision, this.#revision);
      }
      const prepared = transaction.prepare(await this.read(transaction.directory));
      const prefix = prefixOf(transaction.directory);
      for (const write of prepared.writes) {
        const text = textOf(write);
        if (text === undefined) this.#files.delete(prefix + write.path);
        else this.#files.set(prefix + write.path, encoder.encode(text));
      }
      this.#changed(prepared.message);
      return this.#revision;
    });
  }

  /** Replaces (or, with undefined, removes) one file outside any transaction, as an edit would. */
  put(path: string, bytes: Uint8Array | undefined): void {
    if (bytes === undefined) this.#files.delete(path);
    else this.#files.set(path, bytes);
    this.#changed(`put ${path}`);
  }

  async watch(onChange: () => void, signal: AbortSignal): Promise<void> {
    this.#listeners.add(onChange);
    signal.addEventListener("abort", () => this.#listeners.delete(onChange), { once: true });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  #changed(message: string): void {
    this.#revision = nextRevision(this.#revision, message, String(Date.now()));
    for (const listener of this.#listeners) listener();
  }
}

function prefixOf(directory: string): string {
  return directory === "" ? "" : `${directory.replace(/\/+$/, "")}/`;
}

function nextRevision(previous: string, message: string, salt: string): string {
  return createHash("sha1").update(`${previous}\n${message}\n${salt}`).digest("hex");
}
