import { validRange } from "semver";
import { DATABASE_FIELDS, resolveDatabaseAddress } from "./database-schema.js";
import * as s from "./schema.js";

/** Shown when the repository history needs an author and the user is unknown. */
const SIGNATURE_NAME = "flipt";
const SIGNATURE_EMAIL = "flipt[bot]@noreply.flipt.io";

/**
 * The kinds of storage, by `backend.type`: one entry each, with its doc (shown in `backend.type`'s) and its own
 * keys under `backend`, whose defaults apply to storages of that kind only.
 *
 * To add a kind (object, oci, ...), add its entry here: decoding, the `FLIPT_STORAGE_<ID>_BACKEND_*`
 * variables, the key list the docs check reads and the `StorageConfig` type all follow from it. Give a block of
 * keys `optional: true`; a rule across keys goes in `checkStorage`. Then document its keys in
 * docs/configuration.md (the docs check names any missing row) and open it in src/server/create-environments.ts.
 */
const STORAGE_KINDS = {
  memory: { doc: "in-process repository, lost on restart", keys: {} },
  local: {
    doc: "repository on disk",
    keys: {
      path: s.string("Repository directory for `local` (normal, bare or empty directory).", { default: "." }),
    },
  },
  database: {
    doc: "a relational database in Flipt v1's schema (SQLite, libSQL, PostgreSQL, MySQL, CockroachDB)",
    keys: DATABASE_FIELDS,
  },
};

/** How often a database is checked for changes made elsewhere, unless `poll_interval` says otherwise. */
export const DATABASE_POLL_INTERVAL = "1s";

const STORAGE_FIELDS = {
  backend: s.tagged("Where the repository lives.", "type", STORAGE_KINDS, "memory"),
  remote: s.string("Upstream git remote to fetch from and push to (URL or `git@host:org/repo.git`)."),
  branch: s.string("Tracked branch; a 40-hex value pins a commit.", { default: "main", nonEmpty: true }),
  ref_type: s.string(
    "`static` follows `branch`; `semver` follows the newest tag matching `ref` and makes the storage read-only.",
    { values: ["static", "semver"], default: "static" },
  ),
  ref: s.string(
    "With `ref_type: semver`: the constraint tags must satisfy, such as `v1.0.*` or `>=1.2, <2`.",
  ),
  poll_interval: s.duration(
    "How often the remote is fetched, or a database checked for changes made by others.",
    {
      default: (siblings) =>
        (siblings.backend as { type?: string } | undefined)?.type === "database"
          ? DATABASE_POLL_INTERVAL
          : "30s",
      defaultText: `30s, ${DATABASE_POLL_INTERVAL} for a database`,
      min: "1s",
    },
  ),
  fetch_policy: s.string("`lenient` tolerates an unreachable remote at startup when local commits exist.", {
    values: ["strict", "lenient"],
    default: "strict",
  }),
  credentials: s.string("Name of a `credentials` entry used for the remote."),
  ca_cert_path: s.string("CA bundle file for HTTPS remotes (exclusive with `ca_cert_bytes`)."),
  ca_cert_bytes: s.string("CA bundle PEM text for HTTPS remotes (exclusive with `ca_cert_path`).", {
    secret: true,
  }),
  insecure_skip_tls: s.boolean("Skip TLS verification for the remote.", { default: false }),
  read_only: s.boolean("Pennant: reject writes to this storage.", { default: false }),
  webhook_secret: s.string(
    "Pennant: shared secret of `POST /api/v2/environments/{env}/sync` (GitHub's X-Hub-Signature-256 HMAC).",
    { secret: true },
  ),
  signature: s.object("Commit author and signing.", {
    name: s.string("Commit author/committer name when the user is unknown.", { default: SIGNATURE_NAME }),
    email: s.string("Commit author/committer email when the user is unknown.", { default: SIGNATURE_EMAIL }),
    enabled: s.boolean("Sign commits (not supported; accepted for compatibility).", { default: false }),
    type: s.string("Signature type.", { values: ["gpg"], default: "gpg" }),
    key_ref: s.object(
      "Where the signing key comes from.",
      {
        provider: s.string("Secret provider name.", { ignored: true }),
        path: s.string("Secret path.", { ignored: true }),
        key: s.string("Key within the secret.", { ignored: true }),
      },
      { optional: true },
    ),
    key_id: s.string("Signing key id.", { ignored: true }),
  }),
};

type Storage = s.InferFields<typeof STORAGE_FIELDS>;

function checkStorage(storage: Storage, context: s.NodeContext): Storage {
  if (storage.backend.type === "database") return checkDatabaseStorage(storage, context);
  if (storage.caCertPath !== undefined && storage.caCertBytes !== undefined) {
    context.report("", "ca_cert_path and ca_cert_bytes are mutually exclusive");
  }
  if (storage.refType === "semver") {
    if (storage.remote === undefined) context.report("ref_type", "semver needs a remote");
    if (storage.ref === undefined || validRange(storage.ref.replaceAll(",", " ")) === null) {
      context.report(
        "ref",
        `must be a semver constraint such as "v1.0.*" when ref_type is semver, got ${JSON.stringify(storage.ref ?? "")}`,
      );
    }
  }
  if (storage.backend.type === "local" && storage.backend.path === "") {
    context.report("backend.path", "must not be empty when backend.type is local");
  }
  return storage;
}

/** The git keys that mean nothing to a database, which is read and written in place. */
const GIT_ONLY_KEYS = [
  ["remote", "remote"],
  ["credentials", "credentials"],
  ["ref", "ref"],
  ["caCertPath", "ca_cert_path"],
  ["caCertBytes", "ca_cert_bytes"],
] as const;

/** A database storage: its address (Flipt v1's `db` rules), and none of git's keys. */
function checkDatabaseStorage(storage: Storage, context: s.NodeContext): Storage {
  for (const [field, key] of GIT_ONLY_KEYS) {
    if (storage[field] !== undefined) {
      context.report(key, "does not apply to a storage of backend.type database");
    }
  }
  if (storage.refType === "semver") {
    context.report("ref_type", "does not apply to a storage of backend.type database");
  }
  return { ...storage, backend: resolveDatabaseAddress(storage.backend, "backend", context) };
}

/** `storage.<id>`: the storages environments read, and `storage.read_only` for all of them. */
export const STORAGE_SCHEMA = s.map(
  "Storages by id; each environment reads one.",
  "id",
  s.object("A git-backed or database storage.", STORAGE_FIELDS, { finalize: checkStorage }),
  {
    reserved: {
      read_only: s.boolean(
        "Pennant: make every storage read-only (applies on top of `storage.<id>.read_only`).",
        { default: false },
      ),
    },
    whenEmpty: { default: {} },
  },
);
