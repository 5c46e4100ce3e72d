import { validRange } from "semver";
import { DATABASE_FIELDS, resolveDatabaseAddress } from "./database-schema.js";
import { OCI_FIELDS, resolveOciBackend } from "./oci-schema.js";
import * as s from "./schema.js";

/** Shown when the repository history needs an author and the user is unknown. */
const SIGNATURE_NAME = "flipt";
const SIGNATURE_EMAIL = "flipt[bot]@noreply.flipt.io";

// The keys of object stores (spec v1-backends §1.3, §4.1), shared by the kinds that have them: one node each.
const BUCKET = s.string("`s3`, `googlecloud`: the bucket holding the flag files (required).");
const PREFIX = s.string(
  "`s3`, `googlecloud`: the prefix of the objects' keys, used literally: `flags/` reads `flags/.flipt.yml`, `flags` reads `flags.flipt.yml`.",
);
const REGION = s.string("`s3`: the bucket's region; else the AWS SDK's (`AWS_REGION`, the profile).");
const ENDPOINT = s.string(
  "`s3`: an S3-compatible store's URL (MinIO, ...), addressed path-style; `azblob`: the blob service's domain, such as `https://blob.core.windows.net` or `http://127.0.0.1:10000` (Azurite).",
);
const CONTAINER = s.string("`azblob`: the container holding the flag files (required).");

/**
 * The kinds of storage, by `backend.type`: one entry each, with its doc (shown in `backend.type`'s) and its own
 * keys under `backend`, whose defaults apply to storages of that kind only.
 *
 * To add a kind, add its entry here: decoding, the `FLIPT_STORAGE_<ID>_BACKEND_*`
 * variables, the key list the docs check reads and the `StorageConfig` type all follow from it. Give a block of
 * keys `optional: true`; kinds may share a key without a default as one node (the object stores' `bucket`); a
 * rule across keys goes in `checkStorage`. Then document its keys in
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
  s3: {
    doc: "Amazon S3 or an S3-compatible store (MinIO, ...), read-only",
    keys: { bucket: BUCKET, prefix: PREFIX, region: REGION, endpoint: ENDPOINT },
  },
  azblob: {
    doc: "an Azure Blob Storage container, read-only",
    keys: { container: CONTAINER, endpoint: ENDPOINT },
  },
  googlecloud: {
    doc: "a Google Cloud Storage bucket, read-only",
    keys: { bucket: BUCKET, prefix: PREFIX },
  },
  oci: {
    doc: "an OCI bundle of Flipt v1's (`flipt bundle`, `pennant bundle`) in a registry or the local bundles directory, read-only",
    keys: OCI_FIELDS,
  },
};

/** The kinds that are object stores (Flipt v1's `storage.type: object`): polled and always read-only. */
export const OBJECT_STORAGE_KINDS = ["s3", "azblob", "googlecloud"] as const;

export type ObjectStorageKind = (typeof OBJECT_STORAGE_KINDS)[number];

export function isObjectStorageKind(type: string | undefined): type is ObjectStorageKind {
  return (OBJECT_STORAGE_KINDS as readonly (string | undefined)[]).includes(type);
}

/**
 * Whether a storage of `type` is always read-only: an object store, an OCI bundle (Flipt v1 serves every storage
 * but a database read-only, and Pennant has no way to write these).
 */
export function isReadOnlyKind(type: string | undefined): boolean {
  return isObjectStorageKind(type) || type === "oci";
}

/** How often a database is checked for changes made elsewhere, unless `poll_interval` says otherwise. */
export const DATABASE_POLL_INTERVAL = "1s";

/** How often an object store is listed for changes, unless `poll_interval` says otherwise (Flipt v1's default). */
export const OBJECT_POLL_INTERVAL = "1m";

/** The `backend.type` of a storage being decoded, from its already-decoded siblings. */
function backendTypeOf(siblings: Readonly<Record<string, unknown>>): string | undefined {
  return (siblings.backend as { type?: string } | undefined)?.type;
}

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
    "How often the remote is fetched, a database checked for changes made by others, an object store listed, or an OCI bundle's tag resolved.",
    {
      default: (siblings) => {
        const type = backendTypeOf(siblings);
        if (type === "database") return DATABASE_POLL_INTERVAL;
        return isObjectStorageKind(type) ? OBJECT_POLL_INTERVAL : "30s";
      },
      defaultText: `30s, ${DATABASE_POLL_INTERVAL} for a database, ${OBJECT_POLL_INTERVAL} for an object store`,
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
  read_only: s.boolean(
    "Pennant: reject writes to this storage (an object store or OCI bundle always does).",
    {
      default: (siblings) => isReadOnlyKind(backendTypeOf(siblings)),
      defaultText: "false, true for an object store or OCI bundle",
    },
  ),
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
  if (isObjectStorageKind(storage.backend.type)) return checkObjectStorage(storage, context);
  if (storage.backend.type === "oci") return checkOciStorage(storage, context);
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

/** A key of a storage's, and whether a storage sets it (a key with a default: to another value than it). */
type KeyUse = readonly [key: string, isSet: (storage: Storage) => boolean];

/** Git's keys, which mean nothing to a storage that is no git repository: a database, an object store. */
const GIT_ONLY_KEYS: readonly KeyUse[] = [
  ["remote", (storage) => storage.remote !== undefined],
  ["credentials", (storage) => storage.credentials !== undefined],
  ["ref", (storage) => storage.ref !== undefined],
  ["ref_type", (storage) => storage.refType === "semver"],
  ["ca_cert_path", (storage) => storage.caCertPath !== undefined],
  ["ca_cert_bytes", (storage) => storage.caCertBytes !== undefined],
];

/**
 * Further keys an object store has no use for: it has no TLS setting of git's, and it refuses to start when its
 * bucket cannot be listed.
 */
const OBJECT_STORE_REFUSED_KEYS: readonly KeyUse[] = [
  ["insecure_skip_tls", (storage) => storage.insecureSkipTls],
  ["fetch_policy", (storage) => storage.fetchPolicy === "lenient"],
];

/** Reports each of `keys` that `storage` sets: it does not apply to a storage of its `backend.type`. */
function refuseKeys(storage: Storage, keys: readonly KeyUse[], context: s.NodeContext): void {
  for (const [key, isSet] of keys) {
    if (isSet(storage)) {
      context.report(key, `does not apply to a storage of backend.type ${storage.backend.type}`);
    }
  }
}

/** A database storage: its address (Flipt v1's `db` rules), and none of git's keys. */
function checkDatabaseStorage(storage: Storage, context: s.NodeContext): Storage {
  refuseKeys(storage, GIT_ONLY_KEYS, context);
  return { ...storage, backend: resolveDatabaseAddress(storage.backend, "backend", context) };
}

/** The key naming where an object store's flag files are, by kind (required). */
const OBJECT_STORE_LOCATION = { s3: "bucket", azblob: "container", googlecloud: "bucket" } as const;

/** An object store: its bucket (or container), and what every read-only kind refuses (`checkReadOnlyKind`). */
function checkObjectStorage(storage: Storage, context: s.NodeContext): Storage {
  const type = storage.backend.type as ObjectStorageKind;
  checkReadOnlyKind(storage, "an object store", context);
  const location = OBJECT_STORE_LOCATION[type];
  const backend = storage.backend as Readonly<Record<string, unknown>>;
  if (backend[location] === undefined || backend[location] === "") {
    context.report(`backend.${location}`, `is required when backend.type is ${type}`);
  }
  return { ...storage, readOnly: true };
}

/**
 * An OCI bundle (Flipt v1's `storage.type: oci`): Flipt's rules for its keys (`resolveOciBackend`), none of git's
 * keys nor another kind's, and read-only as an object store is.
 */
function checkOciStorage(storage: Storage, context: s.NodeContext): Storage {
  checkReadOnlyKind(storage, "an OCI bundle", context);
  return { ...storage, backend: resolveOciBackend(storage.backend, "backend", context), readOnly: true };
}

/**
 * What a read-only kind (an object store, an OCI bundle) refuses: git's keys, the keys of other kinds under
 * `backend`, and `read_only: false` (Flipt v1 refuses it for every storage but a database: "setting read only mode
 * is only supported with database storage").
 */
function checkReadOnlyKind(storage: Storage, what: string, context: s.NodeContext): void {
  const type = storage.backend.type;
  refuseKeys(storage, [...GIT_ONLY_KEYS, ...OBJECT_STORE_REFUSED_KEYS], context);
  if (!storage.readOnly) {
    context.report(
      "read_only",
      `cannot be false: a storage of backend.type ${type} is ${what}, which is always read-only (leave read_only out)`,
    );
  }
  const backend = storage.backend as Readonly<Record<string, unknown>>;
  const own = new Set(Object.keys(STORAGE_KINDS[type].keys));
  const others = Object.values(STORAGE_KINDS).flatMap((kind) => Object.keys(kind.keys));
  for (const key of new Set(others)) {
    if (!own.has(key) && backend[s.camelCase(key)] !== undefined) {
      context.report(`backend.${key}`, `does not apply to backend.type ${type}`);
    }
  }
}

/** `storage.<id>`: the storages environments read, and `storage.read_only` for all of them. */
export const STORAGE_SCHEMA = s.map(
  "Storages by id; each environment reads one.",
  "id",
  s.object("A git-backed, database, object or OCI storage.", STORAGE_FIELDS, { finalize: checkStorage }),
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
