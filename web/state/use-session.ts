import { Code, ConnectError } from "@connectrpc/connect";
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Authentication } from "../../src/gen/flipt/auth/auth_pb.js";
import type { EnvironmentStatus } from "../../src/gen/pennant/status/v1/status_pb.js";
import { applyUiSettings } from "../api/apply-ui-settings.js";
import { forgetToken, rememberToken } from "../api/console-session.js";
import type { Api } from "../api/create-api.js";
import { type CredentialStore, schemeOf } from "../api/credential-store.js";
import { describeProblem, type Problem } from "../api/describe-problem.js";
import { type WriteAccess, writeAccessOf } from "../api/write-access.js";

/** Where the console's credentials come from. */
export type SignedInVia = "none" | "cookie" | "memory";

export type Session =
  | { readonly state: "checking" }
  /** The server needs a token the console does not have (or has one it no longer accepts). */
  | { readonly state: "signed-out"; readonly problem: string | undefined }
  | { readonly state: "failed"; readonly problem: Problem }
  | {
      readonly state: "ready";
      /** `/meta/status` as read at sign-in: every environment, the default one marked. */
      readonly statuses: readonly EnvironmentStatus[];
      /** When they were asked for (ms since the epoch). */
      readonly statusesAt: number;
      /** Who the server says we are; undefined when it requires no authentication. */
      readonly authentication: Authentication | undefined;
      readonly access: WriteAccess;
      readonly via: SignedInVia;
    };

export interface SessionControl {
  readonly session: Session;
  /** Signs in with a token: remembered as the HttpOnly cookie, or held in this tab's memory. */
  signIn(token: string, remember: boolean): Promise<void>;
  signOut(): Promise<void>;
}

const isUnauthenticated = (error: unknown) => ConnectError.from(error).code === Code.Unauthenticated;

/**
 * `authentication.required` from `/meta/info` (MetadataService.GetInfo, whose answer is JSON in an HttpBody); the
 * `ui` settings it reports are applied on the way.
 */
async function authenticationRequired(api: Api): Promise<boolean> {
  const body = await api.meta.getInfo({});
  const info: unknown = JSON.parse(new TextDecoder().decode(body.data));
  applyUiSettings(info);
  return (
    typeof info === "object" &&
    info !== null &&
    "authentication" in info &&
    typeof info.authentication === "object" &&
    info.authentication !== null &&
    "required" in info.authentication &&
    info.authentication.required === true
  );
}

/**
 * Finds out whether the server lets the console in: `/meta/status` (which the header shows anyway, and which lists
 * every environment) needs credentials when authentication is required. Then who we are (GetAuthenticationSelf,
 * asked only when authentication is required) decides whether writes are offered.
 */
export function useSession(api: Api, credentials: CredentialStore): SessionControl {
  const [session, setSession] = useState<Session>({ state: "checking" });

  const check = useCallback(
    async (problemIfRefused?: string): Promise<boolean> => {
      const statusesAt = Date.now();
      // Both at once: the status lists the environments (and needs credentials when authentication is
      // required); the server's info says whether it is required. Only then is there someone to ask about:
      // GetAuthenticationSelf answers 401 otherwise.
      const [status, info] = await Promise.allSettled([
        api.status.getStatus({}),
        authenticationRequired(api),
      ]);
      if (status.status === "rejected") {
        if (isUnauthenticated(status.reason)) {
          setSession({ state: "signed-out", problem: problemIfRefused });
          return false;
        }
        setSession({ state: "failed", problem: describeProblem(status.reason) });
        return false;
      }
      const statuses = status.value.environments;
      let authentication: Authentication | undefined;
      if (info.status === "rejected" || info.value) {
        try {
          authentication = await api.auth.getAuthenticationSelf({});
        } catch (error) {
          if (!isUnauthenticated(error)) {
            setSession({ state: "failed", problem: describeProblem(error) });
            return false;
          }
        }
      }
      const via: SignedInVia =
        authentication === undefined
          ? "none"
          : credentials.authorization() !== undefined
            ? "memory"
            : "cookie";
      setSession({
        state: "ready",
        statuses,
        statusesAt,
        authentication,
        access: writeAccessOf(authentication),
        via,
      });
      return true;
    },
    [api, credentials],
  );

  useEffect(() => {
    void check();
  }, [check]);

  const signIn = useCallback(
    async (token: string, remember: boolean) => {
      const scheme = schemeOf(token);
      if (remember && scheme === "Bearer") {
        credentials.clear();
        const refused = await rememberToken(api.baseUrl, token);
        if (refused !== undefined) {
          setSession({ state: "signed-out", problem: `The server did not accept this token: ${refused}` });
          return;
        }
        await check(
          "The server accepted the token but not the cookie: is the page served over HTTP with a Secure cookie?",
        );
        return;
      }
      credentials.set(token, scheme);
      if (!(await check("The server did not accept this token."))) credentials.clear();
    },
    [api, credentials, check],
  );

  const signOut = useCallback(async () => {
    credentials.clear();
    await forgetToken(api.baseUrl);
    await check();
  }, [api, credentials, check]);

  return { session, signIn, signOut };
}
