import { UnavailableError } from "../../domain/errors.js";

/**
 * Why an object store refused: the bucket (or container) does not exist, the credentials were refused or may not
 * read it, or the store could not be reached (or answered something else).
 */
export type ObjectStoreProblem = "missing" | "denied" | "unreachable";

/**
 * An object store's failure, named for the user: which bucket, and the provider's reason (its error code and
 * message, never a credential). Unavailable to API callers: the store, not their request, is at fault.
 */
export class ObjectStoreError extends UnavailableError {
  override readonly name: string = "ObjectStoreError";
  readonly problem: ObjectStoreProblem;

  constructor(message: string, problem: ObjectStoreProblem, options?: { cause?: unknown }) {
    super(message, options);
    this.problem = problem;
  }
}
