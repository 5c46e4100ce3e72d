import type { SqlDatabase, SqlExecutor, SqlSession } from "./sql-database.js";

/** A database whose statements are counted, whichever way they are run. */
export interface CountedDatabase {
  readonly database: SqlDatabase;
  /** Statements sent since it was made (queries, executions, BEGIN and COMMIT not included). */
  readonly count: () => number;
}

/**
 * Wraps `database` so that every statement Pennant's storage sends through it is counted (Pennant's
 * `pennant_database_queries_total`): what shows that a cache hit, or an evaluation, costs no query.
 */
export function countQueries(database: SqlDatabase): CountedDatabase {
  let count = 0;
  const counted = (executor: SqlExecutor): SqlExecutor => ({
    query: (sql, params) => {
      count++;
      return executor.query(sql, params);
    },
    exec: (sql, params) => {
      count++;
      return executor.exec(sql, params);
    },
  });
  const session = (inner: SqlSession): SqlSession => ({
    ...inner,
    ...counted(inner),
    transaction: (work, mode) => inner.transaction((tx) => work(counted(tx)), mode),
  });
  const wrapped: SqlDatabase = {
    ...database,
    ...session(database),
    session: (work) => database.session((inner) => work(session(inner))),
    close: () => database.close(),
  };
  return { database: wrapped, count: () => count };
}
