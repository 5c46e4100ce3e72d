import type { DatabaseOptions } from "./database-options.js";
import { openLibsql } from "./open-libsql.js";
import { openMysql } from "./open-mysql.js";
import { openPostgres } from "./open-postgres.js";
import { type DatabaseUrl, parseDatabaseUrl } from "./parse-database-url.js";
import type { SqlDatabase } from "./sql-database.js";

/**
 * Opens a database from a `db.url` (or its parsed form). Nothing connects until the first statement, which
 * rejects with UnavailableError naming the URL without its password when the server cannot be reached (a
 * `SELECT 1` at start finds out early).
 */
export function openDatabase(url: string | DatabaseUrl, options: DatabaseOptions = {}): SqlDatabase {
  const parsed = typeof url === "string" ? parseDatabaseUrl(url) : url;
  switch (parsed.driver) {
    case "sqlite":
    case "libsql":
      return openLibsql(parsed, options);
    case "mysql":
      return openMysql(parsed, options);
    case "postgres":
    case "cockroachdb":
      return openPostgres(parsed, options);
  }
}
