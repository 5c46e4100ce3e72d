import { type Authentication, Method } from "../../src/gen/flipt/auth/auth_pb.js";

/** Whether the signed-in principal may write, and if not, why (shown beside the disabled controls). */
export interface WriteAccess {
  readonly allowed: boolean;
  readonly reason: string;
}

/** The metadata key a static token's role is under, and where a JWT's mapped `role` claim appears. */
const TOKEN_ROLE = "role";
const JWT_ROLE = "io.flipt.auth.jwt.role";

/**
 * Mirrors the server's rule (src/api/auth-interceptor.ts): with authentication required, only a principal whose
 * role is `write`, or that has no role at all, may write; `read`, and any role the server does not know, may only
 * read. A static token's role is its metadata's `role`; a JWT's is its mapped `role` claim. Without a signed-in
 * principal (authentication not required) everyone may write. The server stays the judge: a write it refuses
 * anyway is shown with its reason.
 */
export function writeAccessOf(authentication: Authentication | undefined): WriteAccess {
  if (authentication === undefined) return { allowed: true, reason: "" };
  const role = roleOf(authentication);
  if (role === undefined || role === "write") return { allowed: true, reason: "" };
  const who = authentication.id === "" ? "This token" : `Token "${authentication.id}"`;
  return {
    allowed: false,
    reason: `${who} has role "${role}": it may read, not change flags or segments (that needs role "write").`,
  };
}

/** A static token's metadata `role`, or a JWT's mapped `role` claim; undefined when it has none. */
export function roleOf(authentication: Authentication): string | undefined {
  return authentication.metadata[authentication.method === Method.JWT ? JWT_ROLE : TOKEN_ROLE];
}
