import type { Logger } from "pino";
import type { Config } from "../../config/config.js";
import { ConfigError } from "../../config/config-error.js";
import { openStorageDatabase } from "../../server/create-environments.js";
import { migrateDatabase } from "../../storage/database/migrations/migrate-database.js";
import { readMigrationStatus } from "../../storage/database/migrations/read-migration-status.js";
import { describeTracks, refuseDirty } from "../../storage/database/migrations/refuse-dirty.js";

/** `--database`'s values, as Flipt's `migrate` takes them. */
const DATABASES = ["default", "analytics"] as const;

export interface MigrateOptions {
  /** `--database`: `default` (the flag state's database) or `analytics` (Flipt's ClickHouse, not Pennant's). */
  readonly database: string | undefined;
  readonly logger: Logger;
  /** Hears each line of progress as it happens (the CLI prints it on standard output). */
  readonly onLine: (line: string) => void;
}

/** What `pennant migrate` ends with: lines for standard error, and the exit code (2: bad usage). */
export interface MigrateResult {
  readonly messages: readonly string[];
  readonly exitCode: 0 | 1 | 2;
}

/**
 * `pennant migrate`: applies every pending migration to each database storage of the configuration (the one of a
 * Flipt v1 file, `db`), step by step as it goes, or says it is already up to date. A dirty schema is refused
 * with what to do. `--database=analytics` names Flipt's ClickHouse analytics store, which Pennant does not have.
 */
export async function migrate(config: Config, options: MigrateOptions): Promise<MigrateResult> {
  const which = options.database ?? "default";
  if (which === "analytics") {
    return {
      messages: [
        "pennant: --database=analytics migrates Flipt's analytics store (ClickHouse), which is not part of Pennant: " +
          "Pennant keeps no evaluation analytics, so there is nothing to migrate. Run `pennant migrate` for the flag database.",
      ],
      exitCode: 1,
    };
  }
  if (!(DATABASES as readonly string[]).includes(which)) {
    return {
      messages: [`pennant: --database must be "default" or "analytics", got ${JSON.stringify(which)}`],
      exitCode: 2,
    };
  }
  const ids = Object.keys(config.storage).filter((id) => config.storage[id]?.backend.type === "database");
  if (ids.length === 0) {
    return {
      messages: [
        "pennant: no database storage is configured (Flipt v1's `db` with `storage.type: database`, or a storage of " +
          "`backend.type: database`): nothing to migrate",
      ],
      exitCode: 1,
    };
  }
  const messages: string[] = [];
  for (const id of ids) {
    try {
      await migrateStorage(config, id, options);
    } catch (error) {
      if (error instanceof ConfigError)
        return { messages: [...messages, `pennant: ${error.message}`], exitCode: 2 };
      return { messages: [...messages, `pennant: ${(error as Error).message}`], exitCode: 1 };
    }
  }
  return { messages, exitCode: 0 };
}

async function migrateStorage(config: Config, id: string, options: MigrateOptions): Promise<void> {
  const database = await openStorageDatabase(config, id, options.logger);
  try {
    const name = `database ${database.redactedUrl}`;
    const before = await readMigrationStatus(database);
    refuseDirty(before, database.redactedUrl);
    if (before.upToDate) {
      options.onLine(`${name}: already up to date (${describeTracks(before)})`);
      return;
    }
    options.onLine(`${name}: migrating (${describeTracks(before)})`);
    const report = await migrateDatabase(database, {
      onStep: (step) =>
        options.onLine(
          `applied ${step.track === "flipt" ? "Flipt" : "Pennant"} migration ${step.version} (${step.title}) in ${step.ms} ms`,
        ),
    });
    const count = report.applied.length === 1 ? "1 migration" : `${report.applied.length} migrations`;
    options.onLine(`${name}: applied ${count}; now up to date (${describeTracks(report.status)})`);
  } finally {
    await database.close();
  }
}
