import type { Logger } from "pino";
import { AlreadyExistsError, NotFoundError, PreconditionError, ValidationError } from "../domain/errors.js";
import type { Environment } from "./environment.js";
import type { Environments } from "./environments.js";
import { type BranchingSource, type FlagSource, isBranching } from "./flag-source.js";

/** What a branch environment name may be: a key that is also a safe git ref component. */
const BRANCH_NAME = /^[A-Za-z0-9][-_A-Za-z0-9]{0,99}$/;

const ADJECTIVES = [
  "amber",
  "brisk",
  "calm",
  "daring",
  "eager",
  "fuzzy",
  "gentle",
  "happy",
  "keen",
  "lively",
];
const NOUNS = [
  "badger",
  "comet",
  "falcon",
  "harbor",
  "lantern",
  "meadow",
  "otter",
  "pebble",
  "river",
  "willow",
];

/** The git branch Flipt gives branch environment `name` of environment `base`. */
function branchRef(base: string, name: string): string {
  return `flipt/${base}/${name}`;
}

/** Branch environments as the environments API uses them: served here, or by the process that owns storage. */
export interface BranchService {
  /** Creates branch environment `name` (a random one when empty) of environment `baseKey`. */
  create(baseKey: string, name: string): Promise<Environment>;
  /** Deletes branch environment `name` of `baseKey`, and its branch. */
  delete(baseKey: string, name: string): Promise<void>;
  /** The branch environments of `baseKey`, after a refresh. */
  list(baseKey: string): Promise<Environment[]>;
  /** Serves the branches made elsewhere, and drops those deleted elsewhere. */
  refresh(): Promise<void>;
}

/**
 * Flipt's branch environments, on git storage: `BranchEnvironment` creates branch `flipt/<env>/<name>` from the
 * environment's head (pushed where there is a remote) and serves it as environment `<name>`, with the same
 * storage, directory and settings, until `DeleteBranchEnvironment` removes it. Branches that exist already
 * (made by another replica, or before a restart) are found by `refresh`, and ones deleted elsewhere dropped.
 */
export class BranchEnvironments implements BranchService {
  readonly #environments: Environments;
  readonly #logger: Logger;
  /** The branch environments being served: their environment and the source only they use. */
  readonly #served = new Map<string, { environment: Environment; source: FlagSource }>();
  /** Serialises changes, so that a refresh and a create never open the same branch twice. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(environments: Environments, logger: Logger) {
    this.#environments = environments;
    this.#logger = logger;
  }

  /** Creates branch environment `name` (a random one when empty) of environment `baseKey`. */
  create(baseKey: string, name: string): Promise<Environment> {
    return this.#queue(async () => {
      const base = this.#base(baseKey);
      const key = name === "" ? this.#randomName() : name;
      if (!BRANCH_NAME.test(key)) {
        throw new ValidationError(
          `invalid branch environment name ${JSON.stringify(key.slice(0, 100))}: letters, digits, "-" and "_", starting with a letter or digit`,
        );
      }
      if (
        this.#environments.list().some((environment) => environment.key.toLowerCase() === key.toLowerCase())
      ) {
        throw new AlreadyExistsError(`environment: "${key}"`);
      }
      base.refuseWrites();
      const ref = branchRef(base.key, key);
      const source = await branching(base).createBranch(ref);
      return this.#serve(base, key, ref, source);
    });
  }

  /** Deletes branch environment `name` of `baseKey`, and its branch. */
  delete(baseKey: string, name: string): Promise<void> {
    return this.#queue(async () => {
      const base = this.#base(baseKey);
      const served = this.#served.get(name);
      if (served === undefined || served.environment.base !== base.key) {
        throw new NotFoundError(`branch environment "${name}" of environment "${baseKey}" not found`);
      }
      base.refuseWrites();
      await this.#drop(name);
      await branching(base).deleteBranch(branchRef(base.key, name));
    });
  }

  /** The branch environments of `baseKey`, after a refresh. */
  async list(baseKey: string): Promise<Environment[]> {
    const base = this.#base(baseKey);
    await this.refresh();
    return [...this.#served.values()]
      .map(({ environment }) => environment)
      .filter((environment) => environment.base === base.key);
  }

  /** Serves every `flipt/<env>/*` branch of each environment on git storage, and drops those that are gone. */
  refresh(): Promise<void> {
    return this.#queue(async () => {
      for (const base of this.#environments.list()) {
        if (base.base !== undefined || !isBranching(base.source)) continue;
        const prefix = branchRef(base.key, "");
        let refs: string[];
        try {
          refs = await base.source.listBranches(prefix);
        } catch (error) {
          this.#logger.warn({ err: error, environment: base.key }, "could not list branch environments");
          continue;
        }
        const names = new Set(
          refs.map((ref) => ref.slice(prefix.length)).filter((name) => BRANCH_NAME.test(name)),
        );
        for (const [name, served] of this.#served) {
          if (served.environment.base === base.key && !names.has(name)) await this.#drop(name);
        }
        for (const name of names) {
          if (this.#served.has(name) || this.#environments.get(name) !== undefined) continue;
          const ref = branchRef(base.key, name);
          await this.#serve(base, name, ref, await base.source.openBranch(ref));
        }
      }
    });
  }

  /** Stops every branch environment and releases its source. */
  close(): Promise<void> {
    return this.#queue(async () => {
      for (const name of [...this.#served.keys()]) await this.#drop(name);
    });
  }

  async #serve(base: Environment, key: string, ref: string, source: FlagSource): Promise<Environment> {
    const environment = base.branch(key, ref, source);
    try {
      await environment.start();
    } catch (error) {
      await source.close();
      throw error;
    }
    this.#served.set(key, { environment, source });
    this.#environments.add(environment);
    this.#logger.info({ environment: key, base: base.key, ref }, "serving a branch environment");
    return environment;
  }

  async #drop(name: string): Promise<void> {
    const served = this.#served.get(name);
    if (served === undefined) return;
    this.#served.delete(name);
    this.#environments.remove(name);
    await served.environment.stop();
    await served.source.close();
  }

  #base(key: string): Environment {
    const base = this.#environments.get(key);
    if (base === undefined) throw new NotFoundError(`environment "${key}" not found`);
    if (base.base !== undefined) {
      throw new PreconditionError(
        `environment "${key}" is a branch environment: branch its base, "${base.base}"`,
      );
    }
    return base;
  }

  #randomName(): string {
    const pick = (words: readonly string[]) => words[Math.floor(Math.random() * words.length)] as string;
    const suffix = Math.floor(Math.random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
    return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${suffix}`;
  }

  #queue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

function branching(base: Environment): BranchingSource {
  if (!isBranching(base.source)) {
    throw new PreconditionError(
      `environment "${base.key}" is not on git storage: branch environments need a local or remote git repository`,
    );
  }
  return base.source;
}
