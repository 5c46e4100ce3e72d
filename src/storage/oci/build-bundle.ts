import { ValidationError } from "../../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits } from "../../format/limits.js";
import { loadState } from "../../format/load-state.js";
import { readFeaturesTree } from "../local/read-features-tree.js";
import { type PackBundleOptions, type PackedBundle, packBundle } from "./pack-bundle.js";

export interface BuildBundleOptions extends PackBundleOptions {
  /** The directory to bundle: `flipt bundle build` bundles the current directory. */
  readonly directory: string;
  /** The limits on features files; the defaults by default, as `pennant validate` uses. */
  readonly limits?: FeaturesLimits | undefined;
}

/**
 * Builds a bundle from a directory's flag state (`flipt bundle build`, spec v1-backends §5.4): the features files
 * discovery selects (the `.flipt.yml` index, else the default globs), read as an environment directory is (regular
 * files only) and validated as the server loads them. Any problem throws a ValidationError whose issues carry the
 * file and line, and nothing is built, so nothing is written. Otherwise the documents, in file path order then
 * document order, are packed one layer each (`packBundle`); the caller stores or pushes the result.
 */
export async function buildBundle(options: BuildBundleOptions): Promise<PackedBundle> {
  const limits = options.limits ?? DEFAULT_FEATURES_LIMITS;
  const tree = await readFeaturesTree(options.directory, "", limits);
  const issues = [...tree.refused];
  const loaded = issues.length === 0 ? loadState(tree.files, limits) : undefined;
  issues.push(...(loaded?.issues ?? []));
  if (issues.length > 0) {
    const first = issues[0];
    const where =
      first?.file === undefined ? "" : `${first.file}${first.line === undefined ? "" : `:${first.line}`}: `;
    throw new ValidationError(
      `the flag state in ${options.directory} is invalid (${issues.length} problem(s)); first: ${where}${first?.message}`,
      { issues },
    );
  }
  // The files as loadState parsed them, in its (lexical path) order: one layer per document.
  const documents = [...(loaded?.parsed.values() ?? [])].flatMap((file) => file.documents);
  return packBundle(documents, options);
}
