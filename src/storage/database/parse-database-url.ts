import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { ValidationError } from "../../domain/errors.js";
import { redactDatabaseUrl } from "./redact-database-url.js";

/** The database servers Pennant speaks to; libSQL shares SQLite's SQL and migrations. */
export type DatabaseDriver = "sqlite" | "libsql" | "postgres" | "cockroachdb" | "mysql";

/** A `db.url` resolved the way Flipt v1 resolves it (xo/dburl with Flipt's patches, spec v1-backends §2.1). */
export interface DatabaseUrl {
  readonly driver: DatabaseDriver;
  /**
   * What the client library is given: a `file:` URL for SQLite, the libSQL server URL without its token, or a
   * `postgres://` / `mysql://` URL with defaults filled in. It may hold a password: never log it.
   */
  readonly connection: string;
  /** The URL as given, without its password or token: the only form that goes into messages and logs. */
  readonly redacted: string;
  /** The libSQL auth token (`?authToken=`), kept out of `connection`. */
  readonly authToken?: string | undefined;
  /** The database (or SQLite file) name, which golang-migrate's lock ids are derived from. */
  readonly database: string;
  /** Every secret in the URL, to be scrubbed from driver messages that might echo them. */
  readonly secrets: readonly string[];
}

const SQLITE_HEADER = "SQLite format 3\0";
const SQLITE_EXTENSION = /\.(db|sqlite|sqlite3)$/i;

const SCHEMES: Readonly<Record<string, DatabaseDriver>> = {
  file: "sqlite",
  sqlite: "sqlite",
  sqlite3: "sqlite",
  sq: "sqlite",
  libsql: "libsql",
  li: "libsql",
  http: "libsql",
  https: "libsql",
  postgres: "postgres",
  postgresql: "postgres",
  pgx: "postgres",
  px: "postgres",
  cockroachdb: "cockroachdb",
  cockroach: "cockroachdb",
  crdb: "cockroachdb",
  cr: "cockroachdb",
  cdb: "cockroachdb",
  mysql: "mysql",
  mariadb: "mysql",
  maria: "mysql",
  percona: "mysql",
  aurora: "mysql",
  my: "mysql",
};

const DEFAULT_PORTS: Readonly<Partial<Record<DatabaseDriver, number>>> = {
  postgres: 5432,
  cockroachdb: 26257,
  mysql: 3306,
};

/**
 * Resolves a Flipt v1 `db.url`. Every scheme Flipt accepts is accepted, with its aliases; anything else is
 * Flipt's `unknown database driver for: "<scheme>"`. A `file:` URL is SQLite when the file is empty or starts
 * with SQLite's header, or, when it does not exist yet, when its name ends in `.db`, `.sqlite` or `.sqlite3`.
 * go-sqlite3's own query parameters (`_fk`, `cache`, `mode`) are dropped: Pennant always opens the file
 * read-write with foreign keys on, which is what Flipt asks of them.
 */
export function parseDatabaseUrl(url: string): DatabaseUrl {
  const redacted = redactDatabaseUrl(url);
  const colon = url.indexOf(":");
  const scheme = colon <= 0 ? "" : url.slice(0, colon).toLowerCase();
  const driver = SCHEMES[scheme];
  if (driver === undefined) {
    throw invalid(`unknown database driver for: "${colon <= 0 ? url : scheme}"`, redacted);
  }
  const rest = url.slice(colon + 1);
  switch (driver) {
    case "sqlite":
      return sqliteUrl(scheme === "file" ? fileTarget(rest) : sqliteTarget(rest), redacted);
    case "libsql":
      return libsqlUrl(scheme, rest, url, redacted);
    default:
      return serverUrl(driver, rest, redacted);
  }
}

/** The path of `file:<path>`, `file:/abs` or `file:///abs`, checked as Flipt checks it. */
function fileTarget(rest: string): string {
  const path = stripQuery(rest.startsWith("//") ? rest.slice(2) : rest);
  const decoded = decodeURIComponent(path);
  let size: number | undefined;
  try {
    const stat = statSync(decoded);
    size = stat.isFile() ? stat.size : undefined;
  } catch {
    size = undefined;
  }
  if (size === undefined) {
    if (/\.duckdb$/i.test(decoded)) throw invalid('unknown database driver for: "duckdb"', rest);
    if (!SQLITE_EXTENSION.test(decoded)) throw invalid("unknown file extension", `file:${decoded}`);
    return decoded;
  }
  if (size > 0 && readHeader(decoded) !== SQLITE_HEADER) {
    throw invalid("unknown file header", `file:${decoded}`);
  }
  return decoded;
}

function readHeader(path: string): string {
  const buffer = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, "r");
  try {
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString("latin1");
  } finally {
    closeSync(fd);
  }
}

/** `sqlite:flipt.db`, `sqlite://flipt.db` (host and path together, as dburl does) or `sqlite:///abs/flipt.db`. */
function sqliteTarget(rest: string): string {
  return decodeURIComponent(stripQuery(rest.startsWith("//") ? rest.slice(2) : rest));
}

function sqliteUrl(path: string, redacted: string): DatabaseUrl {
  if (path === "") throw invalid("a SQLite URL needs a file path", redacted);
  return {
    driver: "sqlite",
    connection: `file:${path}`,
    redacted,
    database: path,
    secrets: [],
  };
}

/**
 * `libsql://file:/x.db` (Flipt's opaque form) is a local file; `libsql://host` and `http(s)://host` are a libSQL
 * server (sqld, Turso), whose token comes from the `authToken` query parameter.
 */
function libsqlUrl(scheme: string, rest: string, url: string, redacted: string): DatabaseUrl {
  const opaque = rest.startsWith("//") ? rest.slice(2) : rest;
  if (scheme !== "http" && scheme !== "https" && /^file:/i.test(opaque)) {
    const path = decodeURIComponent(stripQuery(opaque.slice("file:".length)));
    return { ...sqliteUrl(path, redacted), driver: "libsql" };
  }
  let parsed: URL;
  try {
    parsed = new URL(scheme === "li" ? `libsql:${rest}` : url);
  } catch {
    throw invalid("not a valid libSQL URL", redacted);
  }
  const authToken = parsed.searchParams.get("authToken") ?? undefined;
  parsed.searchParams.delete("authToken");
  return {
    driver: "libsql",
    connection: parsed.toString(),
    redacted,
    authToken,
    database: parsed.host + parsed.pathname,
    secrets: authToken === undefined ? [] : [authToken],
  };
}

/** PostgreSQL, CockroachDB (PostgreSQL's wire, port 26257, `sslmode=disable` unless set) and MySQL URLs. */
function serverUrl(driver: DatabaseDriver, rest: string, redacted: string): DatabaseUrl {
  let parsed: URL;
  try {
    // Any special scheme parses the authority the same way; `http` makes `new URL` fill in nothing by itself.
    parsed = new URL(`http:${rest}`);
  } catch {
    throw invalid("not a valid database URL", redacted);
  }
  if (parsed.hostname === "") throw invalid("the database URL names no host", redacted);
  if (rest.slice(2).split(/[/?]/, 1)[0]?.includes(",")) {
    throw invalid("several hosts in one database URL are not supported", redacted);
  }
  const port = parsed.port === "" ? DEFAULT_PORTS[driver] : Number(parsed.port);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (driver === "cockroachdb" && !parsed.searchParams.has("sslmode")) {
    parsed.searchParams.set("sslmode", "disable");
  }
  const auth = user === "" ? "" : `${parsed.username}${password === "" ? "" : `:${parsed.password}`}@`;
  const query = parsed.searchParams.toString();
  const protocol = driver === "mysql" ? "mysql" : "postgres";
  return {
    driver,
    connection: `${protocol}://${auth}${parsed.hostname}:${port}${parsed.pathname}${query === "" ? "" : `?${query}`}`,
    redacted,
    database,
    secrets: password === "" ? [] : [password, parsed.password],
  };
}

function stripQuery(text: string): string {
  const query = text.indexOf("?");
  return query < 0 ? text : text.slice(0, query);
}

function invalid(message: string, redacted: string): ValidationError {
  return new ValidationError(`invalid database URL ${JSON.stringify(redacted)}: ${message}`, {
    issues: [{ path: "db.url", message }],
  });
}
