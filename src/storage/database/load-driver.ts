import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Loads a database driver package when a database is first opened, not when the server starts: `pg`, `mysql2`
 * and `@libsql/client` together add about 37 MB of resident memory to a process that loads them, which every
 * server without a database storage would otherwise pay. The drivers ship CommonJS builds, so this stays
 * synchronous.
 */
export function loadDriver<T>(name: "pg" | "mysql2/promise" | "@libsql/client"): T {
  return require(name) as T;
}
