import { join } from "node:path";
import { databaseUrlFromFields } from "./database-url-from-fields.js";
import * as s from "./schema.js";

/** Flipt v1's `db.protocol` values (`file` and `sqlite` are SQLite; `cockroach` is `cockroachdb`). */
const DATABASE_PROTOCOLS = [
  "file",
  "sqlite",
  "libsql",
  "postgres",
  "mysql",
  "cockroachdb",
  "cockroach",
] as const;

/** Where the Docker image of Flipt v1 keeps its SQLite file; used for the default URL when it exists. */
const FLIPT_DATA_DIRECTORY = "/var/opt/flipt";

/**
 * A relational database's keys, named as Flipt v1's `db` section names them (spec v1-backends §1.2): the v1
 * `db` section is these fields, and a v2 storage of `backend.type: database` has them under `backend`.
 */
export const DATABASE_FIELDS = {
  url: s.string(
    "Database URL: `file:` (SQLite), `libsql://` or `http(s)://` (libSQL, `?authToken=`), `postgres://`, `cockroachdb://`, `mysql://`. Without it, the URL is built from `protocol`, `host`, `port`, `name`, `user`, `password`.",
    { secret: true },
  ),
  protocol: s.string("Database kind when `url` is not set.", {
    values: DATABASE_PROTOCOLS,
    caseInsensitive: true,
  }),
  host: s.string("Database host when `url` is not set."),
  port: s.integer("Database port when `url` is not set (left out when 0).", { min: 0, max: 65535 }),
  name: s.string("Database name when `url` is not set."),
  user: s.string("Database user when `url` is not set."),
  password: s.string("Database password when `url` is not set (never logged).", { secret: true }),
  max_idle_conn: s.integer("Most idle connections kept open (MySQL).", { default: 2, min: 0 }),
  max_open_conn: s.integer(
    "Most connections open at once; 0 for the driver's default (always 1 for SQLite).",
    {
      default: 0,
      min: 0,
    },
  ),
  conn_max_lifetime: s.duration("Longest a connection is reused; 0s for no limit.", {
    default: "0s",
    min: "0s",
  }),
  prepared_statements_enabled: s.boolean(
    "Prepare statements; false sends PostgreSQL queries with the simple protocol (for PgBouncer).",
    { default: true },
  ),
};

/** The decoded connection keys (as in `db`, or a database storage's `backend`). */
export interface DatabaseKeys {
  readonly url?: string;
  readonly protocol?: string;
  readonly host?: string;
  readonly port?: number;
  readonly name?: string;
  readonly user?: string;
  readonly password?: string;
}

/** The keys that, when any is set, describe the database instead of the default URL. */
const FIELD_KEYS = ["protocol", "host", "port", "name", "user", "password"] as const;

/**
 * Flipt v1's rule for the database's address (spec v1-backends §1.2): `url` when set; else, when none of
 * `protocol`, `host`, `port`, `name`, `user` and `password` is set, the SQLite file
 * `file:/var/opt/flipt/flipt.db` (when that directory exists, as in Flipt's image) or
 * `file:<user config dir>/flipt/flipt.db`; else the URL Flipt v1 builds from the fields, of which `protocol`,
 * `host` and `name` are required. Problems are reported at `<prefix>.<key>`. Returns the keys with `url` filled in.
 */
export function resolveDatabaseAddress<T extends DatabaseKeys>(
  keys: T,
  prefix: string,
  context: s.NodeContext,
): T {
  if (keys.url !== undefined && keys.url !== "") return keys;
  if (FIELD_KEYS.every((key) => keys[key] === undefined)) {
    const url = defaultDatabaseUrl(context);
    if (url !== undefined) return { ...keys, url };
    context.report(
      `${prefix}.url`,
      `is required: neither ${FLIPT_DATA_DIRECTORY} nor a user config directory ($XDG_CONFIG_HOME or $HOME) exists for the default SQLite file`,
    );
    return keys;
  }
  const { protocol, host, name } = keys;
  for (const [key, value] of [
    ["protocol", protocol],
    ["host", host],
    ["name", name],
  ] as const) {
    if (value === undefined || value === "")
      context.report(`${prefix}.${key}`, "is required when url is not set");
  }
  if (!protocol || !host || !name) return keys;
  return { ...keys, url: databaseUrlFromFields({ ...keys, protocol, host, name }) };
}

/** `file:<dir>/flipt.db` in Flipt v1's data directory, with `/` separators. */
function defaultDatabaseUrl(context: s.NodeContext): string | undefined {
  const linuxData = process.platform === "linux" && context.fileExists(FLIPT_DATA_DIRECTORY);
  const root = linuxData
    ? FLIPT_DATA_DIRECTORY
    : context.userConfigDir === undefined
      ? undefined
      : join(context.userConfigDir, "flipt");
  return root === undefined ? undefined : `file:${join(root, "flipt.db").replaceAll("\\", "/")}`;
}
