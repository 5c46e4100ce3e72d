import { useId, useState } from "preact/hooks";
import { schemeOf } from "../api/credential-store.js";

export interface TokenPromptProps {
  readonly problem: string | undefined;
  readonly onSubmit: (token: string, remember: boolean) => Promise<void>;
}

/**
 * The sign-in form, shown when the server requires authentication. A static token can be remembered in this browser
 * as the HttpOnly `flipt_client_token` cookie (set by the server: page scripts never read it back) or kept in this
 * tab's memory only; a JWT is kept in memory.
 */
export function TokenPrompt({ problem, onSubmit }: TokenPromptProps) {
  const [token, setToken] = useState("");
  const [remember, setRemember] = useState(true);
  const [busy, setBusy] = useState(false);
  const tokenId = useId();
  const helpId = useId();
  const errorId = useId();
  // As the session decides: a JWT is never remembered in the cookie.
  const looksLikeJwt = schemeOf(token.trim()) === "JWT";
  return (
    <main class="sign-in" id="main">
      <form
        class="card sign-in-card"
        onSubmit={async (event) => {
          event.preventDefault();
          if (token.trim() === "") return;
          setBusy(true);
          try {
            await onSubmit(token.trim(), remember && !looksLikeJwt);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Sign in to Pennant</h1>
        <p id={helpId}>
          This server requires authentication. Paste an API token (one of{" "}
          <code>authentication.methods.token</code>) or a JWT. A token with role <code>read</code> can look
          but not change anything.
        </p>
        <label for={tokenId}>API token or JWT</label>
        <input
          id={tokenId}
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          aria-describedby={problem === undefined ? helpId : `${helpId} ${errorId}`}
          aria-invalid={problem !== undefined}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <fieldset class="choices">
          <legend>Keep the token</legend>
          <label>
            <input
              type="radio"
              name="remember"
              checked={remember && !looksLikeJwt}
              disabled={looksLikeJwt}
              onChange={() => setRemember(true)}
            />{" "}
            Remember in this browser (an HttpOnly cookie the server sets; sign out to remove it)
          </label>
          <label>
            <input
              type="radio"
              name="remember"
              checked={!remember || looksLikeJwt}
              onChange={() => setRemember(false)}
            />{" "}
            Only in this tab's memory (gone when the page reloads)
          </label>
          {looksLikeJwt ? (
            <p class="hint">A JWT is kept in memory only: the cookie holds static tokens.</p>
          ) : null}
        </fieldset>
        {problem !== undefined ? (
          <p class="field-error" id={errorId} role="alert">
            {problem}
          </p>
        ) : null}
        <button type="submit" class="button primary" disabled={busy || token.trim() === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
