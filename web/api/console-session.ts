/** The server's sign-in route for the console: it sets (POST) or clears (DELETE) the HttpOnly token cookie. */
const SESSION_PATH = "pennant/v1/console/session";

/**
 * Asks the server to remember `token` in this browser as the HttpOnly `flipt_client_token` cookie. Resolves to
 * undefined when it did, or to the server's reason when it refused the token.
 */
export async function rememberToken(baseUrl: string, token: string): Promise<string | undefined> {
  const response = await fetch(`${baseUrl}/${SESSION_PATH}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    credentials: "same-origin",
  });
  if (response.ok) return undefined;
  return (await reasonOf(response)) ?? `the server answered ${response.status}`;
}

/** Clears the cookie (signs out); a failure is ignored, the token held in memory is dropped anyway. */
export async function forgetToken(baseUrl: string): Promise<void> {
  try {
    await fetch(`${baseUrl}/${SESSION_PATH}`, { method: "DELETE", credentials: "same-origin" });
  } catch {
    // Nothing to undo: the server is unreachable, and so is the cookie's use.
  }
}

async function reasonOf(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.json();
    if (typeof body === "object" && body !== null && "message" in body && typeof body.message === "string") {
      return body.message;
    }
  } catch {
    // Not JSON: the status says it.
  }
  return undefined;
}
