import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ValidationIssue } from "../../domain/errors.js";
import { DEFAULT_FEATURES_LIMITS } from "../../format/limits.js";
import { loadState } from "../../format/load-state.js";
import { readFeaturesTree } from "../../storage/local/read-features-tree.js";

/** The result of `pennant validate`: the lines to print and the exit code. */
export interface ValidateReport {
  readonly problems: readonly string[];
  readonly summary: string;
  readonly exitCode: 0 | 1;
}

/**
 * Validates flag files as the server would load them. Each directory is one root, discovered like an
 * environment directory (default globs or its `.flipt.yml`); files named directly are validated together,
 * whatever their names. Every problem is one `file:line: message` line. It reads no config, so the files keep
 * to the default limits.
 */
export async function validate(paths: readonly string[]): Promise<ValidateReport> {
  const roots: { path: string; bytes: Uint8Array }[][] = [];
  const named: { path: string; bytes: Uint8Array }[] = [];
  const problems: string[] = [];
  for (const path of paths.length === 0 ? ["."] : paths) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch {
      problems.push(`${path}: no such file or directory`);
      continue;
    }
    if (!isDirectory) {
      named.push({ path, bytes: await readFile(path) });
      continue;
    }
    try {
      const tree = await discover(path);
      roots.push(tree.files);
      problems.push(...describeIssues(tree.refused, path, undefined));
    } catch (error) {
      problems.push(...describeIssues((error as { issues?: ValidationIssue[] }).issues ?? [], path, error));
    }
  }
  if (named.length > 0) roots.push(named);
  let fileCount = 0;
  for (const files of roots) {
    fileCount += files.length;
    problems.push(...describeIssues(loadState(files, DEFAULT_FEATURES_LIMITS).issues, undefined, undefined));
  }
  if (problems.length > 0) {
    return { problems, summary: `${problems.length} problem(s) found`, exitCode: 1 };
  }
  return { problems, summary: `${fileCount} file(s) valid`, exitCode: 0 };
}

/** A directory's features files as the server reads them, named by their path from the working directory. */
async function discover(root: string) {
  const tree = await readFeaturesTree(root, "", DEFAULT_FEATURES_LIMITS);
  const named = <T extends { readonly file?: string | undefined }>(item: T): T =>
    item.file === undefined ? item : { ...item, file: join(root, item.file) };
  return {
    files: tree.files.map((file) => ({ path: join(root, file.path), bytes: file.bytes })),
    refused: tree.refused.map(named),
  };
}

function describeIssues(
  issues: readonly ValidationIssue[],
  fallbackFile: string | undefined,
  error: unknown,
): string[] {
  if (issues.length === 0 && error !== undefined)
    return [`${fallbackFile ?? "?"}: ${(error as Error).message}`];
  return issues.map((issue) => {
    const file = issue.file ?? fallbackFile ?? "?";
    const where = issue.line === undefined ? file : `${file}:${issue.line}`;
    return `${where}: ${issue.message}${issue.path === "" ? "" : ` (at ${issue.path})`}`;
  });
}
