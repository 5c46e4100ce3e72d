import * as s from "./schema.js";

/**
 * The values of a token's `role` metadata Pennant knows: `read` tokens may not write; `write` tokens and tokens
 * without a role may. Flipt treats metadata as free-form, so any other role is accepted, with a warning, and gets
 * the least privilege: it may read, not write.
 */
const ROLES = ["read", "write"];

const STATIC_TOKEN_FIELDS = {
  credential: s.string("The bearer token (exactly one of this and `credential_file`).", {
    nonEmpty: true,
    secret: true,
  }),
  credential_file: s.string(
    "Pennant: a file holding the bearer token, read at startup, surrounding whitespace trimmed.",
  ),
  metadata: s.map(
    "Metadata attached to the authentication; Pennant reads `role`: `read` (no writes) or `write`; no role may do both, any other role only read (with a warning).",
    "key",
    s.string("Metadata value."),
  ),
};

type StaticToken = s.InferFields<typeof STATIC_TOKEN_FIELDS>;

function checkStaticToken(token: StaticToken, context: s.NodeContext): StaticToken {
  if ((token.credential === undefined) === (token.credentialFile === undefined)) {
    context.report("", "exactly one of credential and credential_file is required");
  } else if (token.credentialFile !== undefined && !context.fileExists(token.credentialFile)) {
    context.report("credential_file", `file ${JSON.stringify(token.credentialFile)} does not exist`);
  }
  const role = token.metadata.role;
  if (role !== undefined && !ROLES.includes(role)) {
    context.warn(
      "metadata.role",
      `${context.path}.metadata.role: unknown role ${JSON.stringify(role)} (Pennant knows ${ROLES.join(" and ")}): this token may read but not write`,
    );
  }
  return token;
}

const JWT_METHOD_FIELDS = {
  enabled: s.boolean("Accept `JWT` tokens.", { default: false }),
  jwks_url: s.string("JWKS endpoint (exactly one of this and `public_key_file` when enabled)."),
  public_key_file: s.string("PEM public key file (exactly one of this and `jwks_url` when enabled)."),
  validate_claims: s.object("Claims that must match.", {
    issuer: s.string("Required `iss`."),
    subject: s.string("Required `sub`."),
    audiences: s.list("Accepted `aud` values.", { default: [] }),
  }),
  claims_mapping: s.map(
    "Claim name → JSON pointer into the JWT payload.",
    "claim",
    s.string("JSON pointer, e.g. `/user/email`."),
  ),
};

type JwtMethod = s.InferFields<typeof JWT_METHOD_FIELDS>;

function checkJwt(jwt: JwtMethod, context: s.NodeContext): JwtMethod {
  if (!jwt.enabled) return jwt;
  if ((jwt.jwksUrl === undefined) === (jwt.publicKeyFile === undefined)) {
    context.report("", "exactly one of jwks_url and public_key_file is required when enabled");
  }
  if (jwt.jwksUrl !== undefined && !URL.canParse(jwt.jwksUrl)) {
    context.report("jwks_url", `must be a URL, got ${JSON.stringify(jwt.jwksUrl)}`);
  }
  if (jwt.publicKeyFile !== undefined && !context.fileExists(jwt.publicKeyFile)) {
    context.report("public_key_file", `file ${JSON.stringify(jwt.publicKeyFile)} does not exist`);
  }
  return jwt;
}

/** `authentication`: who may call the APIs. */
export const AUTHENTICATION_SCHEMA = s.object("Client authentication.", {
  required: s.boolean("Require credentials on every API call (health and metrics stay open).", {
    default: false,
  }),
  exclude: s.object("API sections exempt from `required`.", {
    evaluation: s.boolean("No authentication for `/evaluate/v1` and client snapshots/streams.", {
      default: false,
    }),
    ofrep: s.boolean("No authentication for `/ofrep`.", { default: false }),
  }),
  session: s.object("Browser sessions (used by OIDC and GitHub login).", {
    domain: s.string("Cookie domain.", { ignored: true }),
    secure: s.boolean("Secure cookies (the console's sign-in cookie too).", { default: false }),
    token_lifetime: s.duration("Lifetime of session tokens and of the console's sign-in cookie.", {
      default: "24h",
    }),
    state_lifetime: s.duration("Lifetime of the login state cookie.", { default: "10m" }),
    csrf: s.object("CSRF protection.", {
      key: s.string("CSRF token key.", { secret: true, ignored: true }),
      secure: s.boolean("CSRF cookies only over TLS.", { default: true }),
      trusted_origins: s.list("Origins trusted for CSRF.", { default: [] }),
    }),
    storage: s.opaque("Session storage (accepted, not interpreted)."),
  }),
  methods: s.object("Authentication methods.", {
    token: s.object("Static `Bearer` tokens.", {
      enabled: s.boolean("Accept static tokens.", { default: false }),
      storage: s.object("Where tokens come from.", {
        type: s.string("Token storage kind.", { values: ["static"], default: "static" }),
        tokens: s.map(
          "Static tokens by name.",
          "name",
          s.object("A static client token.", STATIC_TOKEN_FIELDS, { finalize: checkStaticToken }),
        ),
      }),
    }),
    jwt: s.object("`authorization: JWT <token>` authentication.", JWT_METHOD_FIELDS, { finalize: checkJwt }),
    oidc: s.opaque("OIDC login (accepted, not interpreted)."),
    github: s.opaque("GitHub login (accepted, not interpreted)."),
    kubernetes: s.opaque("Kubernetes service-account tokens (accepted, not interpreted)."),
  }),
});
