/**
 * Polls `probe` until it returns a value other than undefined or false, or fails after `deadlineMs` with the last
 * error seen. For conditions that become true asynchronously (a file watcher, a reload); never a fixed sleep.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { deadlineMs = 10_000, intervalMs = 10, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not reached within ${deadlineMs} ms${last === undefined ? "" : `: ${String(last)}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * `promise`, or a failure naming `what` once `ms` have passed: for what must settle and could hang instead (a call
 * to a frozen server, a notification). Its timer keeps the process alive meanwhile.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
