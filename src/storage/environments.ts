import type { Environment } from "./environment.js";

/** Every configured environment, by key, and the default one. */
export class Environments {
  readonly default: Environment;
  readonly #byKey: Map<string, Environment>;
  readonly #listeners = new Set<(change: "added" | "removed", environment: Environment) => void>();

  constructor(environments: readonly Environment[]) {
    this.#byKey = new Map(environments.map((environment) => [environment.key, environment]));
    const defaults = environments.filter((environment) => environment.isDefault);
    const chosen = defaults[0];
    if (defaults.length !== 1 || chosen === undefined) {
      throw new Error(`exactly one default environment is required, found ${defaults.length}`);
    }
    this.default = chosen;
  }

  /** The environment with this key, or undefined. */
  get(key: string): Environment | undefined {
    return this.#byKey.get(key);
  }

  /** All environments, in configuration order, then branch environments in the order they were added. */
  list(): Environment[] {
    return [...this.#byKey.values()];
  }
  /** One environment per storage, the first of each: environments on one storage share its source. */
  perStorage(): Environment[] {
    const byStorage = new Map<string, Environment>();
    for (const environment of this.list()) {
      if (!byStorage.has(environment.storage)) byStorage.set(environment.storage, environment);
    }
    return [...byStorage.values()];
  }

  /** Adds an environment created at run time (a branch environment), started. */
  add(environment: Environment): void {
    this.#byKey.set(environment.key, environment);
    for (const listener of this.#listeners) listener("added", environment);
  }

  /** Removes an environment added at run time. */
  remove(key: string): void {
    const environment = this.#byKey.get(key);
    if (environment === undefined) return;
    this.#byKey.delete(key);
    for (const listener of this.#listeners) listener("removed", environment);
  }

  /** Calls `listener` after each environment added or removed at run time, until `signal` aborts. */
  watch(
    listener: (change: "added" | "removed", environment: Environment) => void,
    signal: AbortSignal,
  ): void {
    this.#listeners.add(listener);
    signal.addEventListener("abort", () => this.#listeners.delete(listener), { once: true });
  }

  async start(): Promise<void> {
    await Promise.all(this.list().map((environment) => environment.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.list().map((environment) => environment.stop()));
  }
}
