import { AUTHENTICATION_SCHEMA } from "./authentication-schema.js";
import { CACHE_SCHEMA } from "./cache-schema.js";
import { CREDENTIALS_SCHEMA } from "./credentials-schema.js";
import { ENVIRONMENTS_SCHEMA } from "./environments-schema.js";
import { DEFAULT_SECRETS_BASE_PATH } from "./resolve-secrets.js";
import * as s from "./schema.js";
import { STORAGE_SCHEMA } from "./storage-schema.js";

/** The levels Flipt's logger (zap) reads, in any case, lowest first: `zapcore.ParseLevel`. */
const LOG_LEVELS = ["debug", "info", "warn", "error", "dpanic", "panic", "fatal"] as const;

type LogLevel = (typeof LOG_LEVELS)[number];

/** Flipt's default CORS request headers (api.md §1.2). */
const CORS_ALLOWED_HEADERS = [
  "Accept",
  "Authorization",
  "Content-Type",
  "X-CSRF-Token",
  "X-Flipt-Accept-Server-Version",
  "X-Flipt-Environment",
  "X-Flipt-Namespace",
  "If-None-Match",
];

const port = (doc: string, value: number) => s.integer(doc, { default: value, min: 0, max: 65535 });

const SERVER_SCHEMA = s.object("Listeners.", {
  protocol: s.string("`https` serves HTTP on `https_port` and gRPC with TLS, using `cert_file`/`cert_key`.", {
    values: ["http", "https"],
    default: "http",
  }),
  host: s.string("Address the listeners bind to.", { default: "0.0.0.0" }),
  http_port: port("HTTP port when `protocol` is `http`; 0 picks a free port.", 8080),
  https_port: port("HTTP port when `protocol` is `https`.", 443),
  grpc_port: port("gRPC port.", 9000),
  cert_file: s.string("TLS certificate file (required with https; must exist)."),
  cert_key: s.string("TLS key file (required with https; must exist)."),
  grpc_conn_max_idle_time: s.duration("gRPC keepalive: close connections idle this long.", { min: "0s" }),
  grpc_conn_max_age: s.duration("gRPC keepalive: maximum connection age.", { min: "0s" }),
  grpc_conn_max_age_grace: s.duration("gRPC keepalive: grace period after the maximum age.", { min: "0s" }),
  max_request_bytes: s.integer("Pennant: largest request body accepted, in bytes.", {
    default: 4 * 1024 * 1024,
    min: 1,
  }),
  shutdown_grace_period: s.duration("Pennant: how long shutdown waits for in-flight requests.", {
    default: "10s",
    min: "0s",
  }),
  workers: s.integer(
    "Pennant: processes serving requests on the same ports, beside one that owns storage; 0 is one per CPU the process may use, 1 serves from a single process.",
    { default: 0, min: 0, max: 1024 },
  ),
});

const LOG_FIELDS = {
  level: s.string(
    "Minimum level logged, case-insensitive: debug, info, warn, error, dpanic, panic or fatal; any other is a warning and info, as in Flipt.",
    { default: "info" },
  ),
  encoding: s.string("Output format.", { values: ["console", "json"], default: "console" }),
  grpc_level: s.string("Minimum level of gRPC's own logs (case-insensitive; accepted, not used).", {
    values: LOG_LEVELS,
    caseInsensitive: true,
    // zap reads "" as info.
    normalize: (text) => (text === "" ? "info" : text),
    default: "error",
  }),
  file: s.string("Log to this file instead of standard output."),
  keys: s.object("Key names of the `json` encoding's fields.", {
    time: s.string("Key of the time (RFC 3339); empty leaves the time out.", { default: "T" }),
    level: s.string("Key of the level (`INFO`, `WARN`, ...); empty leaves it out.", { default: "L" }),
    message: s.string("Key of the message; empty leaves it out.", { default: "M" }),
  }),
};

type Log = s.InferFields<typeof LOG_FIELDS>;

/**
 * Flipt starts with an unknown `log.level`, warning and logging at info (zap reads "" as info): so does Pennant.
 * The level is then one of `LOG_LEVELS`.
 */
function checkLogLevel(log: Log, context: s.NodeContext): Omit<Log, "level"> & { readonly level: LogLevel } {
  // Absent when its value was refused (and reported).
  const given = log.level ?? "";
  const level = LOG_LEVELS.find((known) => known === given.toLowerCase());
  if (level !== undefined) return { ...log, level };
  if (given !== "") {
    context.warn(
      "level",
      `log.level: unknown level ${JSON.stringify(given)} (known: ${LOG_LEVELS.join(", ")}): logging at info, as Flipt does`,
    );
  }
  return { ...log, level: "info" };
}

/** Flipt refuses a top bar colour that is not a hex colour, with its message. */
function checkTopbarColor(color: string, context: s.NodeContext): void {
  if (color !== "" && !/^#(?:[0-9a-fA-F]{3}){1,2}$/.test(color)) {
    context.report("topbar.color", `expected valid hex color, got ${JSON.stringify(color.slice(0, 64))}`);
  }
}

/** The sections of the configuration, by key; a Flipt v1 file shares all but its storage (see `V1_CONFIG_SCHEMA`). */
export const CONFIG_FIELDS = {
  version: s.string('Config format version; must be "2.0" if given.', {
    values: ["2.0"],
    normalize: (text) => (text === "2" ? "2.0" : text),
  }),
  log: s.object("Logging.", LOG_FIELDS, { finalize: checkLogLevel }),
  server: SERVER_SCHEMA,
  cors: s.object("Cross-origin requests.", {
    enabled: s.boolean("Send CORS headers.", { default: false }),
    allowed_origins: s.list("Allowed origins.", { default: ["*"] }),
    allowed_headers: s.list("Allowed request headers.", { default: CORS_ALLOWED_HEADERS }),
  }),
  storage: STORAGE_SCHEMA,
  environments: ENVIRONMENTS_SCHEMA,
  credentials: CREDENTIALS_SCHEMA,
  // Pennant: Flipt v1's storage cache, for a database storage (which v2 files may have too).
  cache: CACHE_SCHEMA,
  authentication: AUTHENTICATION_SCHEMA,
  templates: s.object("Go templates for commits and proposals.", {
    commit_message: s.string("Commit message template."),
    proposal_title: s.string("Proposal title template."),
    proposal_body: s.string("Proposal body template."),
  }),
  evaluation: s.object("Evaluation.", {
    include_flag_metadata: s.boolean(
      "Flipt v2's switch for metadata in `ListFlags`; accepted, and without effect: Pennant's `ListFlags` answers in Flipt v1's shape, metadata included ([api.md](api.md#flipt-flipt)).",
      { default: false },
    ),
    max_batch_size: s.integer(
      "Most evaluation requests one batch may carry (Pennant; Flipt has no such limit, so the default is far past any batch Flipt can answer over gRPC).",
      { default: 100_000, min: 1 },
    ),
  }),
  limits: s.object(
    "Pennant: limits on requests, streams, connections and features files (see also `server.max_request_bytes`).",
    {
      max_context_entries: s.integer(
        "Most entries one evaluation context may have (InvalidArgument beyond).",
        { default: 100_000, min: 1 },
      ),
      max_context_value_bytes: s.integer(
        "Longest evaluation context key or value, in UTF-8 bytes (InvalidArgument beyond).",
        { default: 64 * 1024, min: 1 },
      ),
      max_streams: s.integer(
        "Most server streams other than health watches open at once (ResourceExhausted beyond).",
        { default: 10_000, min: 1 },
      ),
      max_streams_per_client: s.integer(
        "Most server streams other than health watches open at once from one client address (ResourceExhausted beyond); 0 for no limit.",
        { default: 0, min: 0 },
      ),
      max_health_watches: s.integer(
        "Most grpc.health.v1 Watch streams open at once, counted apart from `max_streams` (ResourceExhausted beyond).",
        { default: 1000, min: 1 },
      ),
      max_health_watches_per_client: s.integer(
        "Most health watches open at once from one client address (ResourceExhausted beyond); 0 for no limit.",
        { default: 0, min: 0 },
      ),
      header_timeout: s.duration(
        "Longest a client may take to send a request's headers (HTTP/1.1; and the first bytes of a connection); 0s for none.",
        { default: "10s", min: "0s" },
      ),
      request_timeout: s.duration(
        "Longest a client may take to send a whole request, body included (HTTP/1.1 requests, HTTP/2 streams but gRPC reflection); 0s for none.",
        { default: "30s", min: "0s" },
      ),
      idle_timeout: s.duration(
        "How long a connection with no request in flight stays open (HTTP/1.1 keep-alive, HTTP/2 with no open stream); 0s for ever.",
        { default: "2m", min: "0s" },
      ),
      max_streams_per_connection: s.integer(
        "Most concurrent streams one HTTP/2 connection may have (SETTINGS_MAX_CONCURRENT_STREAMS).",
        { default: 10_000, min: 1 },
      ),
      max_half_open_streams: s.integer(
        "Most streams one HTTP/2 connection may hold whose request the client has not finished sending (REFUSED_STREAM beyond).",
        { default: 100, min: 1 },
      ),
      max_connections_per_client: s.integer(
        "Most connections open at once from one client address, both ports together (closed at once beyond); 0 for no limit.",
        { default: 0, min: 0 },
      ),
      max_features_file_bytes: s.integer(
        "Largest features file read, in bytes (the state fails to load beyond).",
        {
          default: 8 * 1024 * 1024,
          min: 1,
        },
      ),
      max_yaml_alias_nodes: s.integer(
        "Most nodes YAML aliases may add to one features document (the state fails to load beyond).",
        { default: 10_000, min: 0 },
      ),
      max_features_expanded_bytes: s.integer(
        "Most bytes one features file may hold once its YAML aliases are expanded (the file is refused beyond).",
        { default: 16 * 1024 * 1024, min: 1 },
      ),
      max_snapshot_bytes: s.integer(
        "Most bytes of flag state one environment may hold, aliases expanded (the state fails to load beyond).",
        { default: 128 * 1024 * 1024, min: 1 },
      ),
    },
    {
      finalize: (limits, context) => {
        // Node refuses a header timeout longer than the request timeout: say so here, naming both keys.
        if (limits.requestTimeout > 0 && limits.headerTimeout > limits.requestTimeout) {
          context.report("header_timeout", "must not be longer than limits.request_timeout");
        }
        return limits;
      },
    },
  ),
  metrics: s.object(
    "Metrics.",
    {
      enabled: s.boolean("Serve metrics.", { default: true }),
      exporter: s.string("Metrics exporter.", { values: ["prometheus", "otlp"], default: "prometheus" }),
      otlp: s.opaque("OTLP exporter settings (accepted, not interpreted)."),
    },
    {
      finalize: (metrics, context) => {
        if (metrics.exporter === "otlp") {
          context.warn("exporter", "Pennant exports metrics for Prometheus only: GET /metrics serves them");
        }
        return metrics;
      },
    },
  ),
  tracing: s.object(
    "Tracing (keys other than `enabled` are accepted and ignored).",
    { enabled: s.boolean("Export traces.", { default: false }) },
    {
      open: true,
      finalize: (tracing, context) => {
        if (tracing.enabled) context.warn("enabled", "Pennant does not export traces: tracing is ignored");
        return tracing;
      },
    },
  ),
  ui: s.object(
    "The web UI (keys other than these are accepted and ignored).",
    {
      enabled: s.boolean("Serve the web console at `/` on the HTTP port.", { default: true }),
      default_theme: s.string("The UI's theme, reported in `/meta/info` as `ui.theme`.", {
        default: "system",
      }),
      topbar: s.object("The UI's top bar.", {
        color: s.string("Its colour, a hex colour such as `#1a2b3c`, reported as `ui.topbarColor`.", {
          default: "",
        }),
      }),
    },
    {
      open: true,
      finalize: (ui, context) => {
        checkTopbarColor(ui.topbar.color, context);
        return ui;
      },
    },
  ),
  meta: s.object("Update checks and telemetry.", {
    check_for_updates: s.boolean("Check for new releases at startup.", { default: true }),
    telemetry_enabled: s.boolean("Send anonymous telemetry.", { default: true }),
    state_directory: s.string("Directory for local state.", { ignored: true }),
  }),
  analytics: s.opaque("Analytics (accepted, not interpreted)."),
  authorization: s.opaque(
    "Authorization policies (Rego). Accepted only while `required` is false: Pennant does not evaluate them, so `required: true` is refused.",
  ),
  secrets: s.object(`Secret providers, for \`\${secret:<provider>:<key>}\` values.`, {
    providers: s.object("Secret providers.", {
      file: s.object(
        `Flipt's file provider: \`\${secret:file:<key>}\` is \`data.<key>\` of \`<base_path>/<key>.json\`.`,
        {
          enabled: s.boolean(`Resolve \`\${secret:file:…}\` values.`, { default: false }),
          base_path: s.string("Directory of the secret files.", { default: DEFAULT_SECRETS_BASE_PATH }),
        },
      ),
      vault: s.opaque("HashiCorp Vault (accepted, not supported: its references are not resolved)."),
      gcp: s.opaque("Google Secret Manager (accepted, not supported: its references are not resolved)."),
      aws: s.opaque("AWS Secrets Manager (accepted, not supported: its references are not resolved)."),
      azure: s.opaque("Azure Key Vault (accepted, not supported: its references are not resolved)."),
    }),
  }),
  experimental: s.opaque("Experimental features (accepted, not interpreted)."),
  license: s.opaque("Licence key (accepted, not interpreted)."),
  diagnostics: s.opaque("Diagnostics (accepted, not interpreted)."),
};

/**
 * Every key Pennant understands, with type, default, doc and constraints: the single description behind file
 * decoding, `FLIPT_*` env mapping, defaults, the docs check and the `Config` type. The rules across sections are
 * not here: `checkConfig` runs them after decoding.
 */
export const CONFIG_SCHEMA = s.object("Pennant configuration (Flipt v2 format).", CONFIG_FIELDS);

/**
 * Pennant's configuration: Flipt v2's config format (file keys are snake_case, fields here are camelCase), as
 * `CONFIG_SCHEMA` describes it. Durations are milliseconds. Map-valued sections (`storage`, `environments`,
 * `credentials`, static tokens) are plain records keyed by the (lower-cased) id; `storageReadOnly` is
 * `storage.read_only`. Built by `loadConfig`; see docs/configuration.md for the file keys and `FLIPT_*` variables.
 */
export type Config = s.Infer<typeof CONFIG_SCHEMA>;
