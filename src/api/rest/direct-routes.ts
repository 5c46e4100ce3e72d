import type { DirectUnary } from "../direct-unary.js";
import { splitPath } from "./path-template.js";
import type { RestRoute, RouteTable } from "./route-table.js";

/** A request target that a route of the direct path serves, with its path parameters. */
export interface DirectRoute {
  readonly route: RestRoute;
  readonly params: ReadonlyMap<string, string>;
}

/** How many request targets are remembered (OFREP's single-flag route has one per flag key); then all are dropped. */
const REMEMBERED_TARGETS = 10_000;

/**
 * Finds the REST route of a POST (or of a GET whose route takes no body) whose RPC is served on the direct path, from
 * its request method and target as Node read them:
 * the route the route table matches for it, remembered per target. A target is only taken when it is its own URL path
 * (no query, nothing `URL` would normalise), when no raw route (which come first) takes it, and when its route's
 * RPC is unary and served directly; otherwise undefined, and the request goes the usual way.
 */
export function createDirectRoutes(
  table: RouteTable,
  direct: DirectUnary,
  rawRoutes: readonly { readonly method: string; readonly path: RegExp }[],
): (verb: string, target: string) => DirectRoute | undefined {
  const remembered = new Map<string, DirectRoute | null>();
  const resolve = (verb: string, target: string): DirectRoute | null => {
    let pathname: string;
    try {
      pathname = new URL(target, "http://localhost").pathname;
    } catch {
      return null;
    }
    if (pathname !== target) return null;
    if (rawRoutes.some((route) => route.method === verb && route.path.test(pathname))) return null;
    let match: ReturnType<RouteTable["match"]>;
    try {
      match = table.match(verb, splitPath(pathname));
    } catch {
      return null;
    }
    if (match.kind !== "route" || (verb === "GET" && match.route.body !== "")) return null;
    const method = match.route.handler.method;
    if (method.methodKind !== "unary" || !direct.serves(method)) return null;
    return { route: match.route, params: match.params };
  };
  return (verb, target) => {
    if (verb !== "POST" && verb !== "GET") return undefined;
    const key = `${verb} ${target}`;
    let found = remembered.get(key);
    if (found === undefined) {
      found = resolve(verb, target);
      if (remembered.size >= REMEMBERED_TARGETS) remembered.clear();
      remembered.set(key, found);
    }
    return found ?? undefined;
  };
}
