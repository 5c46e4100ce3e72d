/**
 * The poll of a storage that several environments may read (a git remote, a bucket, an OCI tag): one timer for all
 * of them, started when the first watches and stopped when the last stops or the storage closes. `check` looks for a
 * change and resolves whether the state moved; every watcher is told then. A check still running when the next falls
 * due is skipped, not queued behind it (polls would pile up on the storage's lock, and every write behind them). The
 * timer does not keep the process alive.
 */
export class SharedPoll {
  readonly #check: () => Promise<boolean>;
  readonly #intervalMs: number;
  readonly #onFailure: (error: unknown) => void;
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #closed = false;

  /** `onFailure` hears what a timed check threw (a check run by `run()` throws to its caller instead). */
  constructor(
    check: () => Promise<boolean>,
    intervalMs: number,
    onFailure: (error: unknown) => void = () => {},
  ) {
    this.#check = check;
    this.#intervalMs = intervalMs;
    this.#onFailure = onFailure;
  }

  /** Calls `onChange` after each check that found the state moved, until `signal` aborts. */
  watch(onChange: () => void, signal: AbortSignal): void {
    if (signal.aborted || this.#closed) return;
    this.#listeners.add(onChange);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        if (this.#checking) return;
        this.#checking = true;
        this.run()
          .catch((error: unknown) => this.#onFailure(error))
          .finally(() => {
            this.#checking = false;
          });
      }, this.#intervalMs);
      this.#timer.unref();
    }
    signal.addEventListener(
      "abort",
      () => {
        this.#listeners.delete(onChange);
        if (this.#listeners.size === 0) this.#stopTimer();
      },
      { once: true },
    );
  }

  /** Checks now (a webhook's sync), telling every watcher when the state moved. Resolves whether it did. */
  async run(): Promise<boolean> {
    const moved = await this.#check();
    if (moved && !this.#closed) this.notify();
    return moved;
  }

  /** Tells every watcher that the state moved (a write that brought in the remote's commits). */
  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stopTimer();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
