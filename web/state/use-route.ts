import { useEffect, useState } from "preact/hooks";
import { parseRoute, type Route } from "./route.js";

/** The route in the page's hash, updated on every hash change (links, back and forward). */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
