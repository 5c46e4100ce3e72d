import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { Config } from "../../config/config.js";
import { ValidationError } from "../../domain/errors.js";
import { DEFAULT_NAMESPACE } from "../../domain/flag-state.js";
import type { Change } from "../../format/apply-change.js";
import { parseFeatures } from "../../format/parse-features.js";
import { featuresLimitsOf } from "../../server/create-environments.js";
import { type ChangeRequest, writeChanges } from "../../storage/write-changes.js";
import { type CommandResult, withEnvironment } from "./with-environment.js";

export interface ImportOptions {
  readonly files: readonly string[];
  readonly environment?: string | undefined;
  /** One commit for all files instead of one per file. */
  readonly squash: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
}

/**
 * `pennant import`: loads features documents into an environment through the same write path as the API:
 * namespaces are created when missing, segments then flags are created or updated, each file is one commit
 * (or all files one, with `--squash`). A file that does not validate is refused and nothing of it is written.
 */
export async function importFiles(config: Config, options: ImportOptions): Promise<CommandResult> {
  const changesByFile: { file: string; changes: ChangeRequest[] }[] = [];
  const problems: string[] = [];
  // The files are checked against the limits the environment's state keeps to.
  const limits = featuresLimitsOf(config);
  for (const file of options.files) {
    const parsed = parseFeatures(await readFile(file, "utf8"), file, limits);
    problems.push(
      ...parsed.issues.map((issue) => `${issue.file ?? file}:${issue.line ?? 0}: ${issue.message}`),
    );
    changesByFile.push({ file, changes: parsed.documents.flatMap((document) => documentChanges(document)) });
  }
  if (problems.length > 0) return { messages: problems, exitCode: 1 };

  return withEnvironment(
    config,
    { key: options.environment, env: options.env, logger: options.logger },
    async (environment) => {
      const batches = options.squash
        ? [{ file: options.files.join(", "), changes: changesByFile.flatMap((entry) => entry.changes) }]
        : changesByFile;
      const messages: string[] = [];
      for (const batch of batches) {
        try {
          const revision = await writeChanges(
            environment,
            withNamespaces(environment.snapshot.namespaces, batch.changes),
            "",
          );
          messages.push(`imported ${batch.file} as ${revision}`);
        } catch (error) {
          const issues = error instanceof ValidationError ? error.issues : [];
          return {
            messages: [
              ...messages,
              `pennant: ${batch.file}: ${(error as Error).message}`,
              ...issues.map((issue) => `${issue.file ?? "?"}:${issue.line ?? 0}: ${issue.message}`),
            ],
            exitCode: 1,
          };
        }
      }
      return { messages, exitCode: 0 };
    },
  );
}

type Document = ReturnType<typeof parseFeatures>["documents"][number];

/** A document's segments, then its flags, each created or else updated. */
function documentChanges(document: Document): ChangeRequest[] {
  const namespaceKey = document.namespace.key;
  const put = (create: Change, update: Change): ChangeRequest => ({ kind: "put", create, update });
  return [
    ...document.segments.map((segment) =>
      put(
        { kind: "create-segment", namespaceKey, segment },
        { kind: "update-segment", namespaceKey, segment },
      ),
    ),
    ...document.flags.map((flag) =>
      put({ kind: "create-flag", namespaceKey, flag }, { kind: "update-flag", namespaceKey, flag }),
    ),
    // Carries the namespace's name for `withNamespaces`; never applied itself.
    ...(namespaceKey === DEFAULT_NAMESPACE
      ? []
      : [{ kind: "create-namespace", namespace: document.namespace } as const]),
  ];
}

/** Moves each namespace creation to the front, and drops it when the namespace exists already. */
function withNamespaces(
  existing: ReadonlyMap<string, unknown>,
  changes: readonly ChangeRequest[],
): ChangeRequest[] {
  const creations = new Map<string, ChangeRequest>();
  const rest: ChangeRequest[] = [];
  for (const change of changes) {
    if (change.kind === "create-namespace") {
      if (!existing.has(change.namespace.key) && !creations.has(change.namespace.key)) {
        creations.set(change.namespace.key, change);
      }
    } else {
      rest.push(change);
    }
  }
  return [...creations.values(), ...rest];
}
