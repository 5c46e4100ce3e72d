/**
 * Runs `poll` every `intervalMs` until the returned function stops it. A poll still running when the next falls due
 * (a slow remote) is skipped, not queued behind it: polls would pile up on the storage's lock, and every write
 * would wait behind all of them. The timer does not keep the process alive.
 */
export function startPolling(poll: () => Promise<void>, intervalMs: number): () => void {
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    poll().finally(() => {
      polling = false;
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
