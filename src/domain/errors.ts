/**
 * The errors Pennant raises for expected outcomes. They are thrown where the problem is found and mapped to
 * gRPC/Connect codes in exactly one place, `api/error-mapping.ts`. Anything else that escapes a handler is an
 * internal error: its message is logged and never sent.
 */

/** Something named by the request does not exist: a flag, namespace, environment or route. */
export class NotFoundError extends Error {
  override readonly name: string = "NotFoundError";
}

/** The thing to create exists already. */
export class AlreadyExistsError extends Error {
  override readonly name: string = "AlreadyExistsError";
}

/** The request's expectation about current state (a revision, a file's content) no longer holds. */
export class ConflictError extends Error {
  override readonly name: string = "ConflictError";
}

/** One problem found by validation: where it is and what is wrong. */
export interface ValidationIssue {
  /** A path to the offending field, such as `flags[2].rules[0].segment`, or "" for the whole input. */
  readonly path: string;
  readonly message: string;
  /** The file the problem is in, relative to the storage root, when it comes from a file. */
  readonly file?: string | undefined;
  /** The 1-based line in that file. */
  readonly line?: number | undefined;
}

/** The request, or the state it would produce, is invalid. */
export class ValidationError extends Error {
  override readonly name: string = "ValidationError";
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, options?: { issues?: readonly ValidationIssue[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.issues = options?.issues ?? [];
  }
}

/** The request is well formed but the system is not in a state that allows it (a segment still in use). */
export class PreconditionError extends Error {
  override readonly name: string = "PreconditionError";
}

/** A write was sent to storage that is configured read-only. */
export class ReadOnlyError extends Error {
  override readonly name: string = "ReadOnlyError";
}

/** A limit was exceeded: a body too large, too many context entries. */
export class LimitExceededError extends Error {
  override readonly name: string = "LimitExceededError";
}

/** A dependency (a git remote, the disk) cannot be reached right now; retrying later may succeed. */
export class UnavailableError extends Error {
  override readonly name: string = "UnavailableError";
}

/**
 * A remote refused the server's own credentials (git, a GitHub App). Unavailable to API callers, whose own
 * credentials are not in question: never a 401 that would send them looking at their token.
 */
export class RemoteCredentialsError extends UnavailableError {
  override readonly name: string = "RemoteCredentialsError";
}

/** The caller did not prove who it is. */
export class UnauthenticatedError extends Error {
  override readonly name: string = "UnauthenticatedError";
}

/** The caller proved who it is, and that caller may not do this. */
export class PermissionDeniedError extends Error {
  override readonly name: string = "PermissionDeniedError";
}
