/** The pages of the console, addressed by the URL's hash so the server needs to know only `/`. */
export type Route =
  | { readonly page: "home" }
  | { readonly page: "flags"; readonly env: string; readonly ns: string }
  | { readonly page: "flag"; readonly env: string; readonly ns: string; readonly key: string }
  | { readonly page: "new-flag"; readonly env: string; readonly ns: string }
  | { readonly page: "segments"; readonly env: string; readonly ns: string }
  | { readonly page: "segment"; readonly env: string; readonly ns: string; readonly key: string }
  | { readonly page: "new-segment"; readonly env: string; readonly ns: string }
  | { readonly page: "console"; readonly env: string; readonly ns: string; readonly flag: string }
  | { readonly page: "status"; readonly env: string; readonly ns: string };

/** A route inside an environment and namespace. */
export type ScopedRoute = Exclude<Route, { page: "home" }>;

const part = encodeURIComponent;

/**
 * `#/<env>/<ns>/flags`, `#/<env>/<ns>/flags/<key>`, `#/<env>/<ns>/new/flag`, the same for segments,
 * `#/<env>/<ns>/console[/<flag>]` and `#/<env>/<ns>/status`. Keys never hold `/` (Flipt's key rules).
 */
export function formatRoute(route: Route): string {
  if (route.page === "home") return "#/";
  const base = `#/${part(route.env)}/${part(route.ns)}`;
  switch (route.page) {
    case "flags":
      return `${base}/flags`;
    case "flag":
      return `${base}/flags/${part(route.key)}`;
    case "new-flag":
      return `${base}/new/flag`;
    case "segments":
      return `${base}/segments`;
    case "segment":
      return `${base}/segments/${part(route.key)}`;
    case "new-segment":
      return `${base}/new/segment`;
    case "console":
      return route.flag === "" ? `${base}/console` : `${base}/console/${part(route.flag)}`;
    case "status":
      return `${base}/status`;
  }
}

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter((piece) => piece !== "")
    .map((piece) => {
      try {
        return decodeURIComponent(piece);
      } catch {
        return piece;
      }
    });
  const [env, ns, page, key] = parts;
  if (env === undefined || ns === undefined) return { page: "home" };
  switch (page) {
    case "flags":
      return key === undefined ? { page: "flags", env, ns } : { page: "flag", env, ns, key };
    case "segments":
      return key === undefined ? { page: "segments", env, ns } : { page: "segment", env, ns, key };
    case "new":
      return key === "segment" ? { page: "new-segment", env, ns } : { page: "new-flag", env, ns };
    case "console":
      return { page: "console", env, ns, flag: key ?? "" };
    case "status":
      return { page: "status", env, ns };
    default:
      return { page: "flags", env, ns };
  }
}

/** The same page in another environment or namespace (a flag or segment page falls back to its list). */
export function switchScope(route: ScopedRoute, env: string, ns: string): ScopedRoute {
  switch (route.page) {
    case "flag":
    case "new-flag":
      return { page: "flags", env, ns };
    case "segment":
    case "new-segment":
      return { page: "segments", env, ns };
    case "console":
      return { page: "console", env, ns, flag: "" };
    default:
      return { ...route, env, ns };
  }
}
