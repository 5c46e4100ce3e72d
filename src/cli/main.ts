#!/usr/bin/env node
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/config-error.js";
import { type LoadedConfig, loadConfig } from "../config/load-config.js";
import { PreconditionError, UnavailableError } from "../domain/errors.js";
import { createLogger } from "../server/logger.js";
import { VERSION } from "../version.js";
import { readBundleSettings } from "./bundle-settings.js";
import { validate } from "./commands/validate.js";

// The server and the commands that open storages are imported when run: each command then loads only what it
// uses (the server's modules take about as long to load as a short command takes to run).

const USAGE = `Usage: pennant [command] [options]

A feature-flag service compatible with Flipt v2.

Commands:
  server                Run the server (the default when no command is given)
  validate [PATH...]    Check flag files (directories are discovered like an environment;
                        default ".") and print each problem as file:line: message; exit 1 if any
  import FILE...        Load features files into an environment through the write path:
                        one commit per file (--squash: one in all)
  export                Write an environment's flag state as features documents:
                        one <namespace>/features.yaml per namespace with -o, else a YAML stream
                        on standard output
  bundle build <name>:<tag>
                        Bundle the flag files of the current directory (discovered like an
                        environment; validated, nothing written if invalid) into the local bundles
                        directory, or push them to a registry reference; print the manifest digest
  bundle list           List the local bundles: DIGEST  REPO  TAG  CREATED
  bundle push <from> <to>
                        Copy a bundle between references (local <name>:<tag>, or a registry's
                        [http://|https://]<host>/<repo>:<tag>), both with a tag or digest; print its digest
  bundle pull <remote>  Copy a registry bundle to the local <repo>:<tag>; print its digest
  migrate               Apply pending migrations to the configured database (Flipt v1's \`db\`,
                        or each storage of backend.type database), saying each step

Options:
  --config <file>       Read configuration from this file, instead of Flipt's default locations
  --environment <key>   export, import: the environment (default: the default environment)
  --namespace <key>     export: only this namespace
  -o, --output <dir>    export: write files into this directory
  --squash              import: make one commit for all files
  --database <name>     migrate: "default" (the flag database); "analytics" is Flipt's ClickHouse,
                        which Pennant does not have
  --force-migrate       server: apply a database's pending migrations at start instead of refusing
  --version, -v         Print the version and exit
  --help, -h            Print this help and exit

Configuration: a Flipt v2 config file (or a Flipt v1 one, with its \`db\`), overridden by FLIPT_*
environment variables.
bundle: the bundles directory, registry authentication and manifest version are the OCI storage's
(bundles_directory, default ~/.config/flipt/bundles; see docs/cli.md).
See docs/configuration.md.`;

/** Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`pennant: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(`pennant ${VERSION}`);
    return 0;
  }
  const [command = "server", ...rest] = positionals;
  switch (command) {
    case "server":
      if (rest.length > 0) break;
      return runServer(values.config, values["force-migrate"] === true);
    case "validate": {
      const report = await validate(rest);
      for (const problem of report.problems) console.log(problem);
      console.error(report.summary);
      return report.exitCode;
    }
    case "export":
      if (rest.length > 0) break;
      return runExport(values);
    case "import":
      if (rest.length === 0) break;
      return runImport(rest, values);
    case "migrate":
      if (rest.length > 0) break;
      return runMigrate(values);
    case "bundle":
      return runBundleCommand(rest, values);
  }
  console.error(`pennant: unknown command "${positionals.join(" ")}"\n\n${USAGE}`);
  return EXIT_USAGE;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: "string" },
      environment: { type: "string" },
      namespace: { type: "string" },
      output: { type: "string", short: "o" },
      squash: { type: "boolean" },
      database: { type: "string" },
      "force-migrate": { type: "boolean" },
      version: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** Loads the configuration, or prints every problem and returns undefined. */
async function configure(configPath: string | undefined): Promise<LoadedConfig | undefined> {
  try {
    return await loadConfig({ configPath, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pennant: ${error.message}`);
      return undefined;
    }
    throw error;
  }
}

async function runExport(values: {
  config?: string;
  environment?: string;
  namespace?: string;
  output?: string;
}) {
  const loaded = await configure(values.config);
  if (loaded === undefined) return EXIT_USAGE;
  const logger = createLogger({ level: "warn", encoding: "console", destination: process.stderr });
  const { exportState } = await import("./commands/export.js");
  const result = await exportState(loaded.config, {
    environment: values.environment,
    namespace: values.namespace,
    output: values.output,
    env: process.env,
    logger,
  });
  if (result.stdout !== undefined) process.stdout.write(result.stdout);
  for (const line of result.messages) console.error(line);
  return result.exitCode;
}

async function runImport(
  files: readonly string[],
  values: { config?: string; environment?: string; squash?: boolean },
) {
  const loaded = await configure(values.config);
  if (loaded === undefined) return EXIT_USAGE;
  const { importFiles } = await import("./commands/import.js");
  const result = await importFiles(loaded.config, {
    files,
    environment: values.environment,
    squash: values.squash === true,
    env: process.env,
    logger: createLogger({ level: "warn", encoding: "console", destination: process.stderr }),
  });
  for (const line of result.messages) console.error(line);
  return result.exitCode;
}

async function runMigrate(values: { config?: string; database?: string }) {
  const loaded = await configure(values.config);
  if (loaded === undefined) return EXIT_USAGE;
  const { migrate } = await import("./commands/migrate.js");
  const result = await migrate(loaded.config, {
    database: values.database,
    logger: createLogger({ level: "warn", encoding: "console", destination: process.stderr }),
    onLine: (line) => console.log(line),
  });
  for (const line of result.messages) console.error(line);
  return result.exitCode;
}

async function runBundleCommand(args: readonly string[], values: { config?: string }) {
  const loaded = await configure(values.config);
  if (loaded === undefined) return EXIT_USAGE;
  let settings: ReturnType<typeof readBundleSettings>;
  try {
    settings = readBundleSettings(loaded.config, process.env);
  } catch (error) {
    console.error(`pennant: ${(error as Error).message}`);
    return EXIT_USAGE;
  }
  const { runBundle } = await import("./commands/bundle.js");
  const result = await runBundle(args, { settings, cwd: process.cwd(), env: process.env });
  process.stdout.write(result.stdout);
  for (const line of result.messages) console.error(line);
  return result.exitCode;
}

async function runServer(configPath: string | undefined, forceMigrate: boolean): Promise<number> {
  const loaded = await configure(configPath);
  if (loaded === undefined) return EXIT_USAGE;
  const { config, path, warnings } = loaded;
  // On standard output, in Flipt's shape, as Flipt logs.
  const logger = createLogger({
    level: config.log.level,
    encoding: config.log.encoding,
    keys: config.log.keys,
    file: config.log.file,
  });
  for (const warning of warnings) logger.warn({ config: path }, warning);
  logger.info(
    { config: path ?? "built-in defaults", format: `Flipt ${loaded.shape.version}`, by: loaded.shape.reason },
    "configuration loaded",
  );

  const workers = config.server.workers === 0 ? availableParallelism() : config.server.workers;
  let server: { stop(): Promise<void> };
  try {
    if (workers > 1) {
      const { OwnerServer } = await import("../server/owner-server.js");
      server = await OwnerServer.start({ config, logger, env: process.env, forceMigrate, workers });
    } else {
      const { PennantServer } = await import("../server/pennant-server.js");
      server = await PennantServer.start({ config, logger, env: process.env, forceMigrate });
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pennant: ${error.message}`);
      return EXIT_USAGE;
    }
    // A typed failure (a storage unreachable, refusing the credentials, needing migrations) says what to fix.
    const reason =
      error instanceof UnavailableError || error instanceof PreconditionError ? `: ${error.message}` : "";
    logger.fatal({ err: error }, `could not start${reason}`);
    return EXIT_FAILURE;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  logger.info({ signal }, "signal received");
  // A second signal means the operator does not want to wait.
  const forceExit = () => process.exit(EXIT_FAILURE);
  process.once("SIGTERM", forceExit);
  process.once("SIGINT", forceExit);
  await server.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("pennant: fatal:", error);
    process.exit(EXIT_FAILURE);
  },
);
