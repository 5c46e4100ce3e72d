import * as s from "./schema.js";

const ENVIRONMENT_FIELDS = {
  name: s.string("Environment key used by the APIs.", {
    default: (_, entryKey) => entryKey,
    defaultText: "the map key",
    nonEmpty: true,
  }),
  storage: s.string("Id of the storage holding this environment's files.", { default: "default" }),
  directory: s.string("Sub-directory of the repository holding `<namespace>/features.yaml`.", {
    default: "",
  }),
  default: s.boolean("The default environment (exactly one when there are several).", { default: false }),
  scm: s.object(
    "SCM integration for proposals (accepted; proposals are not implemented).",
    {
      type: s.string("SCM kind.", {
        values: ["github", "gitea", "gitlab", "azure", "bitbucket"],
        required: true,
      }),
      credentials: s.string("Name of a `credentials` entry for the SCM API."),
      api_url: s.string("SCM API base URL (self-hosted instances).", { ignored: true }),
    },
    { optional: true },
  ),
};

type Environment = s.InferFields<typeof ENVIRONMENT_FIELDS>;

/** An environment's directory stays inside its repository: relative, `/`-separated, without `..` or NUL. */
export function checkEnvironment(environment: Environment, context: s.NodeContext): Environment {
  const { directory } = environment;
  const escapes =
    directory.startsWith("/") ||
    directory.includes("\\") ||
    directory.includes("\0") ||
    /^[A-Za-z]:/.test(directory) ||
    directory.split("/").includes("..");
  if (escapes) {
    context.report(
      "directory",
      `must be a relative path inside the repository (no leading "/", "..", "\\" or NUL), got ${JSON.stringify(directory)}`,
    );
  }
  return environment;
}

/** `environments.<key>`: each a directory of one storage. */
export const ENVIRONMENTS_SCHEMA = s.map(
  "Environments by key.",
  "key",
  s.object("An environment: a directory of one storage.", ENVIRONMENT_FIELDS, { finalize: checkEnvironment }),
  { whenEmpty: { default: {} } },
);
