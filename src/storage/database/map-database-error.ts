import { NotFoundError, UnavailableError, ValidationError } from "../../domain/errors.js";
import { RetryableDatabaseError } from "./retryable-database-error.js";

/** What an error message may say about the database it came from, and what it must never say. */
export interface ErrorContext {
  /** The URL without its password. */
  readonly redactedUrl: string;
  /** Passwords and tokens to scrub from any driver message that echoes them. */
  readonly secrets: readonly string[];
}

/** Socket-level failures, whichever driver reports them. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_CONNECTION_KILLED",
  "SQLITE_CANTOPEN",
  "SERVER_ERROR",
  "HRANA_WEBSOCKET_ERROR",
]);

/**
 * Turns a driver's error into Pennant's typed errors, with Flipt v1's mapping (spec v1-backends §2.2): a foreign
 * key violation is NotFound ("associated resource not found"), a unique one Invalid ("not unique"), another
 * constraint Invalid; a lost or refused connection is Unavailable naming the URL without its password;
 * deadlocks and serialization failures are retryable. Secrets are scrubbed from every message, and the
 * driver's error is kept as the cause only when it holds none of them.
 */
export function mapDatabaseError(error: unknown, context: ErrorContext): Error {
  if (
    error instanceof NotFoundError ||
    error instanceof UnavailableError ||
    error instanceof ValidationError
  ) {
    return error;
  }
  const raw = error instanceof Error ? error.message : String(error);
  const message = scrub(raw, context.secrets);
  const options = message === raw ? { cause: error } : undefined;
  const code = errorCode(error);
  const errno = (error as { errno?: unknown } | undefined)?.errno;
  if (
    code === "23503" ||
    code === "ER_NO_REFERENCED_ROW_2" ||
    code === "ER_ROW_IS_REFERENCED_2" ||
    errno === 1452 ||
    /^SQLITE_CONSTRAINT_FOREIGNKEY/.test(code) ||
    /FOREIGN KEY constraint failed/.test(raw)
  ) {
    return new NotFoundError(`associated resource not found: ${message}`, options);
  }
  if (
    code === "23505" ||
    code === "ER_DUP_ENTRY" ||
    errno === 1062 ||
    /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)/.test(code)
  ) {
    return new ValidationError(`not unique: ${message}`, options);
  }
  if (code.startsWith("23") || code.startsWith("SQLITE_CONSTRAINT")) {
    return new ValidationError(message, options);
  }
  if (
    code === "40001" ||
    code === "40P01" ||
    errno === 1213 ||
    errno === 1205 ||
    code === "SQLITE_BUSY" ||
    code === "SQLITE_LOCKED"
  ) {
    return new RetryableDatabaseError(`database ${context.redactedUrl}: ${message}`, options);
  }
  if (isConnectionFailure(error, code, raw)) {
    return new UnavailableError(`database ${context.redactedUrl} is unavailable: ${message}`, options);
  }
  return new Error(`database ${context.redactedUrl}: ${message}`, options);
}

function errorCode(error: unknown): string {
  const { code, extendedCode } = (error ?? {}) as { code?: unknown; extendedCode?: unknown };
  if (typeof extendedCode === "string" && extendedCode.startsWith("SQLITE_CONSTRAINT")) return extendedCode;
  return typeof code === "string" ? code : "";
}

function isConnectionFailure(error: unknown, code: string, message: string): boolean {
  if (NETWORK_CODES.has(code)) return true;
  // SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator intervention).
  if (/^(08|53|57P)/.test(code)) return true;
  if ((error as { fatal?: unknown } | undefined)?.fatal === true) return true;
  // PostgreSQL's refusal of a database whose connections an operator turned off (`ALLOW_CONNECTIONS false`) is
  // SQLSTATE 55000, which other refusals share.
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed|Pool is closed|fetch failed|is not currently accepting connections/i.test(
    message,
  );
}

function scrub(message: string, secrets: readonly string[]): string {
  let scrubbed = message;
  for (const secret of secrets) {
    if (secret.length > 0) scrubbed = scrubbed.split(secret).join("xxxxx");
  }
  return scrubbed;
}
