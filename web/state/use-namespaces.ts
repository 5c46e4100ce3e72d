import { useEffect, useState } from "preact/hooks";
import type { Namespace } from "../../src/gen/environments/environments_pb.js";
import type { Api } from "../api/create-api.js";

/** The namespaces of an environment (`default` first, as the server lists them); empty until they arrive. */
export function useNamespaces(api: Api, env: string, revision: string | undefined): readonly Namespace[] {
  const [namespaces, setNamespaces] = useState<readonly Namespace[]>([]);
  useEffect(() => {
    // Read once the served revision is known, and again whenever it moves (a namespace may come or go).
    if (revision === undefined) return;
    let current = true;
    api.environments.listNamespaces({ environmentKey: env }).then(
      (response) => {
        if (current) setNamespaces(response.items);
      },
      () => {
        if (current) setNamespaces([]);
      },
    );
    return () => {
      current = false;
    };
  }, [api, env, revision]);
  return namespaces;
}
