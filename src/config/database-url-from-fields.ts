/** Flipt v1's `db` keys that describe a database without a URL (spec v1-backends §1.2). */
export interface DatabaseFields {
  readonly protocol: string;
  readonly host: string;
  readonly port?: number | undefined;
  readonly name: string;
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
 * password escaped into the user info (and used only with a user), the port only when above 0. The fields are
 * checked already (`resolveDatabaseAddress`): the protocol is one of Flipt's, host and name are there.
 */
export function databaseUrlFromFields(fields: DatabaseFields): string {
  const protocol = PROTOCOLS[fields.protocol.trim().toLowerCase()] ?? fields.protocol;
  const user = fields.user ?? "";
  const password = fields.password ?? "";
  const auth =
    user === "" ? "" : `${encodeUserInfo(user)}${password === "" ? "" : `:${encodeUserInfo(password)}`}@`;
  const port = fields.port !== undefined && fields.port > 0 ? `:${fields.port}` : "";
  return `${protocol}://${auth}${fields.host}${port}/${fields.name}`;
}

/** Escapes user info so that `:`, `@`, `/` and `%` in a user or password survive the URL round trip. */
function encodeUserInfo(text: string): string {
  return encodeURIComponent(text);
}
