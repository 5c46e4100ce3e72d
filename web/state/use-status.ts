import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { EnvironmentStatus } from "../../src/gen/pennant/status/v1/status_pb.js";
import type { Api } from "../api/create-api.js";
import { describeProblem, type Problem } from "../api/describe-problem.js";

/** How often `/meta/status` is read while the page is visible. */
export const STATUS_POLL_MS = 5_000;

export interface StatusView {
  readonly environments: readonly EnvironmentStatus[];
  /** Why the last read failed, while it does. */
  readonly problem: Problem | undefined;
  /**
   * When the status shown was asked for (ms since the epoch): it holds every change the console knew of by then,
   * which is what the stale-revision notice compares with.
   */
  readonly checkedAt: number | undefined;
  refresh(): Promise<void>;
}

/**
 * `/meta/status` (StatusService.GetStatus), from the answer read at sign-in (`initial`, asked for at `initialAt`), then
 * every few seconds while the tab is visible.
 */
export function useStatus(api: Api, initial: readonly EnvironmentStatus[], initialAt: number): StatusView {
  const [environments, setEnvironments] = useState<readonly EnvironmentStatus[]>(initial);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [checkedAt, setCheckedAt] = useState<number | undefined>(initialAt);
  // Polls, writes and "Check now" ask at any time: an answer older than the one shown (asked for before it, as
  // the server was just committing a write) is dropped.
  const newestShown = useRef(initialAt);
  const refresh = useCallback(async () => {
    const askedAt = Date.now();
    try {
      const response = await api.status.getStatus({});
      if (askedAt < newestShown.current) return;
      newestShown.current = askedAt;
      setEnvironments(response.environments);
      setProblem(undefined);
      setCheckedAt(askedAt);
    } catch (error) {
      if (askedAt >= newestShown.current) setProblem(describeProblem(error));
    }
  }, [api]);
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void refresh();
    }, STATUS_POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  return useMemo(
    () => ({ environments, problem, checkedAt, refresh }),
    [environments, problem, checkedAt, refresh],
  );
}
