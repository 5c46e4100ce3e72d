import type { FeaturesLimits } from "../format/limits.js";
import { parseFeatures } from "../format/parse-features.js";

/**
 * The flags, segments and namespaces of one features file that changed on the remote since a write was planned
 * (`base` to `theirs`) and that the write, replayed on the remote's version, would change again (`theirs` to
 * `replayed`): overwriting them would lose the remote's change. Undefined stands for no such file. Resources are
 * named `flag <namespace>/<key>`, `segment <namespace>/<key>` and `namespace <key>`. Undefined when a version
 * does not parse: then only the whole file can be said to clash. The versions are read under the environment's
 * `limits`, as its loads read them: under tighter defaults a file the server accepts would count as unreadable.
 */
export function clashingResources(
  path: string,
  base: string | undefined,
  theirs: string | undefined,
  replayed: string | undefined,
  limits: FeaturesLimits,
): string[] | undefined {
  const [before, remote, after] = [base, theirs, replayed].map((text) => resources(path, text, limits));
  if (before === undefined || remote === undefined || after === undefined) return undefined;
  const names = new Set([...before.keys(), ...remote.keys(), ...after.keys()]);
  return [...names].filter(
    (name) => before.get(name) !== remote.get(name) && remote.get(name) !== after.get(name),
  );
}

/** Every resource of a features file by name, with its content as JSON; undefined when the file does not parse. */
function resources(
  path: string,
  text: string | undefined,
  limits: FeaturesLimits,
): Map<string, string> | undefined {
  const found = new Map<string, string>();
  if (text === undefined) return found;
  const parsed = parseFeatures(text, path, limits);
  if (parsed.issues.length > 0) return undefined;
  for (const document of parsed.documents) {
    const namespace = document.namespace.key;
    found.set(`namespace ${namespace}`, JSON.stringify(document.namespace));
    for (const flag of document.flags) found.set(`flag ${namespace}/${flag.key}`, JSON.stringify(flag));
    for (const segment of document.segments) {
      found.set(`segment ${namespace}/${segment.key}`, JSON.stringify(segment));
    }
  }
  return found;
}
