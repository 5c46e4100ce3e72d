import { ValidationError, type ValidationIssue } from "../../domain/errors.js";

/** Flipt v1's `db` keys that describe a database without a URL (spec v1-backends §1.2). */
export interface DatabaseFields {
  readonly protocol?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly name?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
}

/** `db.protocol` values as Flipt's decoder reads them, to the scheme its URL is written with. */
const PROTOCOLS: Readonly<Record<string, string>> = {
  file: "sqlite",
  sqlite: "sqlite",
  libsql: "libsql",
  postgres: "postgres",
  mysql: "mysql",
  cockroachdb: "cockroachdb",
  cockroach: "cockroachdb",
};

/**
 * The URL Flipt v1 builds when `db.url` is empty: `<protocol>://[user[:password]@]host[:port]/<name>`, the
 * password escaped into the user info (and used only with a user), the port only when above 0. `protocol`,
 * `host` and `name` are required; an unknown protocol counts as missing, as Flipt's enum decoder leaves it 0.
 * Every missing field is reported at once, each named by its key.
 */
export function databaseUrlFromFields(fields: DatabaseFields): string {
  const issues: ValidationIssue[] = [];
  const protocol = PROTOCOLS[fields.protocol?.trim().toLowerCase() ?? ""];
  if (protocol === undefined) issues.push(required("db.protocol"));
  if ((fields.host ?? "") === "") issues.push(required("db.host"));
  if ((fields.name ?? "") === "") issues.push(required("db.name"));
  if (issues.length > 0) {
    const message = issues.map((issue) => `field "${issue.path}": ${issue.message}`).join("; ");
    throw new ValidationError(message, { issues });
  }
  const user = fields.user ?? "";
  const password = fields.password ?? "";
  const auth =
    user === "" ? "" : `${encodeUserInfo(user)}${password === "" ? "" : `:${encodeUserInfo(password)}`}@`;
  const port = fields.port !== undefined && fields.port > 0 ? `:${fields.port}` : "";
  return `${protocol}://${auth}${fields.host}${port}/${fields.name}`;
}

function required(path: string): ValidationIssue {
  return { path, message: "non-empty value is required" };
}

/** Escapes user info so that `:`, `@`, `/` and `%` in a user or password survive the URL round trip. */
function encodeUserInfo(text: string): string {
  return encodeURIComponent(text);
}
