import { RemoteCredentialsError, UnavailableError } from "../../domain/errors.js";
import { GitError } from "./run-git.js";

/** A remote failure as the API reports it: Unavailable, as RemoteCredentialsError when the credentials were refused. */
export function remoteError(action: string, remote: string, error: unknown): Error {
  const detail =
    error instanceof GitError ? error.stderr.trim().split("\n").slice(-2).join(" ") : String(error);
  const message = `${action} ${remote} failed: ${detail}`;
  // A credential helper's refusal is typed already; git's is matched by its own words ("returned error: 403"),
  // never by a bare number: the port in "Failed to connect to 127.0.0.1 port 40123" would make an unreachable
  // remote look like a credential problem.
  if (
    error instanceof RemoteCredentialsError ||
    /Authentication failed|could not read Username|Permission denied|returned error: 40[13]\b/.test(detail)
  ) {
    return new RemoteCredentialsError(message, { cause: error });
  }
  return new UnavailableError(message, { cause: error });
}
