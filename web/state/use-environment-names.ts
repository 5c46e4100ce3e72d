import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api/create-api.js";

/**
 * The environments' display names (ListEnvironments), by key. Read once, after the first page has its data: the
 * server looks for branch environments in git to answer it, which should not hold up the first page.
 */
export function useEnvironmentNames(api: Api, when: boolean): ReadonlyMap<string, string> {
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  const asked = useRef(false);
  useEffect(() => {
    if (!when || asked.current) return;
    asked.current = true;
    api.environments.listEnvironments({}).then(
      (response) =>
        setNames(new Map(response.environments.map((environment) => [environment.key, environment.name]))),
      () => undefined,
    );
  }, [api, when]);
  return names;
}
