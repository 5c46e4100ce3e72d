import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { EnvironmentStatus } from "../../src/gen/pennant/status/v1/status_pb.js";
import type { Api } from "../api/create-api.js";
import { describeProblem, type Problem } from "../api/describe-problem.js";

/** How often `/meta/status` is read while the page is visible. */
export const STATUS_POLL_MS = 5_000;

export interface StatusView {
  readonly environments: readonly EnvironmentStatus[];
  /** Why the last read failed, while it does. */
  readonly problem: Problem | undefined;
  /** When the last read answered (ms since the epoch), for "checked 3 s ago". */
  readonly checkedAt: number | undefined;
  refresh(): Promise<void>;
}

/**
 * `/meta/status` (StatusService.GetStatus), from the answer read at sign-in (`initial`, read at `initialAt`), then
 * every few seconds while the tab is visible.
 */
export function useStatus(api: Api, initial: readonly EnvironmentStatus[], initialAt: number): StatusView {
  const [environments, setEnvironments] = useState<readonly EnvironmentStatus[]>(initial);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [checkedAt, setCheckedAt] = useState<number | undefined>(initialAt);
  const refresh = useCallback(async () => {
    try {
      const response = await api.status.getStatus({});
      setEnvironments(response.environments);
      setProblem(undefined);
      setCheckedAt(Date.now());
    } catch (error) {
      setProblem(describeProblem(error));
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
