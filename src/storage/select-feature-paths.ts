import { ValidationError } from "../domain/errors.js";
import { createFeaturesMatcher, FEATURES_INDEX_FILES, type FeaturesMatcher } from "../format/discovery.js";

/** The `.flipt.yml` index among `paths`, if the directory has one at its root. */
export function findIndexPath(paths: readonly string[]): string | undefined {
  return FEATURES_INDEX_FILES.find((name) => paths.includes(name));
}

/**
 * Applies discovery to the files of one environment directory: the `.flipt.yml` index (its text, when there is
 * one) else the default globs. Returns the selected paths in lexical order, and the matcher that says which rule
 * selected each. A malformed index is a ValidationError, so the environment keeps its last good state.
 */
export function selectFeaturePaths(
  paths: readonly string[],
  indexText: string | undefined,
): { readonly selected: string[]; readonly matcher: FeaturesMatcher } {
  const matcher = createFeaturesMatcher(indexText);
  if (matcher.issues.length > 0) {
    throw new ValidationError(`invalid ${findIndexPath(paths) ?? ".flipt.yml"}`, { issues: matcher.issues });
  }
  // The index is never a features file itself, whatever its include says (`**/*.yml` would select it).
  const index = findIndexPath(paths);
  return { selected: paths.filter((path) => path !== index && matcher.matches(path)).sort(), matcher };
}
