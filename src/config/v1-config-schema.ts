import { CONFIG_FIELDS } from "./config-schema.js";
import { BASIC_AUTH_FIELDS, SSH_AUTH_FIELDS } from "./credentials-schema.js";
import { DATABASE_FIELDS } from "./database-schema.js";
import { OCI_FIELDS, OCI_POLL_INTERVAL } from "./oci-schema.js";
import * as s from "./schema.js";

/** Flipt v1's storage types (spec v1-backends §1.3); `database` is its default. */
export const V1_STORAGE_TYPES = ["database", "local", "git", "object", "oci"] as const;

const V1_GIT_FIELDS = {
  repository: s.string("Git repository URL (required when type is git)."),
  ref: s.string(
    "Branch, or a 40-hex commit, to serve; with `ref_type: semver`, the constraint tags must satisfy.",
    { default: "main" },
  ),
  ref_type: s.string("`static` follows `ref`; `semver` follows the newest tag matching it.", {
    values: ["static", "semver"],
    default: "static",
  }),
  directory: s.string("Sub-directory of the repository holding the flag files."),
  poll_interval: s.duration("How often the repository is fetched.", { default: "30s", min: "1s" }),
  insecure_skip_tls: s.boolean("Skip TLS verification.", { default: false }),
  ca_cert_path: s.string("CA bundle file (exclusive with `ca_cert_bytes`)."),
  ca_cert_bytes: s.string("CA bundle PEM text (exclusive with `ca_cert_path`).", { secret: true }),
  backend: s.object("Where the clone is kept.", {
    type: s.string("`memory`: a temporary clone; `local`: a clone kept at `path`.", {
      values: ["memory", "local"],
      default: "memory",
    }),
    path: s.string("Directory of a `local` clone; a temporary one when not set."),
  }),
  authentication: s.object("Credentials; the first block given is used: basic, then token, then ssh.", {
    basic: s.object("HTTP basic authentication.", BASIC_AUTH_FIELDS, { optional: true }),
    token: s.object(
      "HTTP token authentication.",
      { access_token: s.string("The token.", { secret: true }) },
      { optional: true },
    ),
    ssh: s.object("SSH public-key authentication.", SSH_AUTH_FIELDS, { optional: true }),
  }),
};

/** How often a v1 object store is listed (`storage.object.<type>.poll_interval`). */
const V1_OBJECT_POLL_INTERVAL = s.duration("How often the bucket is listed for changes.", {
  default: "1m",
  min: "1s",
});

/** Flipt v1's object stores (spec v1-backends §1.3): `type`, and a section of keys per type. */
const V1_OBJECT_FIELDS = {
  type: s.string("The object store: `s3`, `azblob` or `googlecloud` (required).", {
    values: ["s3", "azblob", "googlecloud"],
  }),
  s3: s.object("`type: s3`.", {
    bucket: s.string("The bucket (required)."),
    prefix: s.string("The prefix of the objects' keys, used literally."),
    region: s.string("The bucket's region."),
    endpoint: s.string("An S3-compatible store's URL (MinIO, ...)."),
    poll_interval: V1_OBJECT_POLL_INTERVAL,
  }),
  azblob: s.object("`type: azblob`.", {
    container: s.string("The container (required)."),
    endpoint: s.string("The blob service's domain, such as `https://blob.core.windows.net`."),
    poll_interval: V1_OBJECT_POLL_INTERVAL,
  }),
  googlecloud: s.object("`type: googlecloud`.", {
    bucket: s.string("The bucket (required)."),
    prefix: s.string("The prefix of the objects' keys, used literally."),
    poll_interval: V1_OBJECT_POLL_INTERVAL,
  }),
};

/** Flipt v1's OCI bundle storage (spec v1-backends §1.3): the v2 kind's keys, and its poll interval. */
const V1_OCI_FIELDS = {
  ...OCI_FIELDS,
  poll_interval: s.duration("How often the bundle's tag is resolved for changes.", {
    default: OCI_POLL_INTERVAL,
    min: "1s",
  }),
};

const V1_STORAGE_SCHEMA = s.object("Flipt v1's storage: one, of `type`.", {
  type: s.string(
    "`database` (Flipt v1's default), `local` (a directory), `git` (a repository), `object` (an object store), `oci` (a bundle).",
    { values: V1_STORAGE_TYPES, default: "database" },
  ),
  read_only: s.boolean(
    "Refuse writes. Only a database is writable: `false` with another type is an error, as in Flipt v1.",
  ),
  local: s.object(
    "`type: local`.",
    { path: s.string("Directory of the flag files.", { default: ".", nonEmpty: true }) },
    { optional: true },
  ),
  git: s.object("`type: git`.", V1_GIT_FIELDS, { optional: true }),
  object: s.object("`type: object`.", V1_OBJECT_FIELDS, { optional: true }),
  oci: s.object("`type: oci`.", V1_OCI_FIELDS, { optional: true }),
});

/** Every section of the v2 configuration but those v1 shapes differently (or lacks). */
const { version, storage, environments, credentials, ...SHARED_FIELDS } = CONFIG_FIELDS;

/**
 * A Flipt v1 configuration file (`db`, `storage.type`, spec v1-backends §1): the sections v1 and v2 share (`cache`
 * included: v2 has it for its database storages), with v1's `version`, `db` and `storage` in place of v2's
 * `version`, `storage`, `environments` and `credentials`. `fromV1Config` turns what it decodes into the v2
 * `Config`: one storage and one environment.
 */
export const V1_CONFIG_SCHEMA = s.object("Flipt v1 configuration.", {
  ...SHARED_FIELDS,
  version: s.string('Config format version; "1.0" in a Flipt v1 file.', {
    values: ["1.0"],
    normalize: (text) => (text === "1" ? "1.0" : text),
  }),
  db: s.object("Flipt v1's relational database (`storage.type: database`).", DATABASE_FIELDS),
  storage: V1_STORAGE_SCHEMA,
});

export type V1Config = s.Infer<typeof V1_CONFIG_SCHEMA>;
