import { Code, ConnectError } from "@connectrpc/connect";

/** What went wrong with a call, sorted by what the user can do about it. */
export type ProblemKind =
  | "conflict"
  | "read-only"
  | "unauthenticated"
  | "forbidden"
  | "invalid"
  | "not-found"
  | "unavailable"
  | "other";

export interface Problem {
  readonly kind: ProblemKind;
  /** The Connect code's name, e.g. `Aborted`. */
  readonly code: string;
  /** The server's message. */
  readonly message: string;
}

/** Sorts an error thrown by a call: Aborted is a revision conflict, the read-only refusal is its own kind. */
export function describeProblem(error: unknown): Problem {
  const connectError = ConnectError.from(error);
  const message = connectError.rawMessage;
  const code = Code[connectError.code] ?? String(connectError.code);
  return { kind: kindOf(connectError.code, message), code, message };
}

function kindOf(code: Code, message: string): ProblemKind {
  switch (code) {
    case Code.Aborted:
      return "conflict";
    case Code.FailedPrecondition:
      return /\bread-only\b/.test(message) ? "read-only" : "invalid";
    case Code.Unauthenticated:
      return "unauthenticated";
    case Code.PermissionDenied:
      return "forbidden";
    case Code.InvalidArgument:
    case Code.AlreadyExists:
    case Code.OutOfRange:
      return "invalid";
    case Code.NotFound:
      return "not-found";
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return "unavailable";
    default:
      return /failed to fetch|networkerror/i.test(message) ? "unavailable" : "other";
  }
}
