/** Flipt v1's pool settings (`db.max_idle_conn`, …), spec v1-backends §1.2 and §2.2. */
export interface DatabaseOptions {
  /** `db.max_idle_conn` (default 2); MySQL only, as `pg`'s pool keeps idle connections by time, not count. */
  readonly maxIdleConn?: number | undefined;
  /** `db.max_open_conn`; 0 or unset is the driver's default (10). Always 1 for SQLite and libSQL. */
  readonly maxOpenConn?: number | undefined;
  /** `db.conn_max_lifetime` in milliseconds; 0 or unset keeps connections until they fail. */
  readonly connMaxLifetimeMs?: number | undefined;
  /** `db.prepared_statements_enabled` (default true). False: PostgreSQL uses the simple query protocol. */
  readonly preparedStatements?: boolean | undefined;
  /** How long opening a connection may take before it is Unavailable (default 10 s). */
  readonly connectTimeoutMs?: number | undefined;
}

/** The pool's size when `db.max_open_conn` leaves it to the driver. */
const DEFAULT_POOL_SIZE = 10;
/** How long opening a connection may take by default. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The most connections a server's pool opens (`db.max_open_conn`, else the drivers' default of 10). */
export function poolSize(options: DatabaseOptions): number {
  return options.maxOpenConn !== undefined && options.maxOpenConn > 0
    ? options.maxOpenConn
    : DEFAULT_POOL_SIZE;
}

/** How long opening a connection may take (`connectTimeoutMs`, else 10 s). */
export function connectTimeoutMs(options: DatabaseOptions): number {
  return options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
}
