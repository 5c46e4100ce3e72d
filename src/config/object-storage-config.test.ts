/**
 * Object storage in the configuration (issue 19; spec v1-backends §1.3, §4, §6): the v2 kinds `s3`, `azblob` and
 * `googlecloud` under `backend`, and Flipt v1's `storage.type: object` with `storage.object.*` and
 * `FLIPT_STORAGE_OBJECT_*`, which becomes one of them. Polled every minute unless told otherwise, always
 * read-only, none of git's keys.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  configProblemLines,
  configProblems,
  useConfigTextLoader,
} from "../../test/helpers/load-config-text.js";
import { CACHE_WITHOUT_DATABASE } from "./check-config.js";

const configs = useConfigTextLoader("pennant-object-config-");
const { load } = configs;

const SIGNATURE = { name: "flipt", email: "flipt[bot]@noreply.flipt.io", enabled: false, type: "gpg" };
const ONE_ENVIRONMENT = "environments:\n  production:\n    storage: flags\n";

/** A v2 file with one storage `flags` of `backend` (YAML lines under `backend:`) and `rest` beside it. */
function v2(backend: string, rest = "", environments = ONE_ENVIRONMENT): string {
  const indented = backend
    .trim()
    .split("\n")
    .map((line) => `      ${line}`)
    .join("\n");
  return `storage:\n  flags:\n    backend:\n${indented}\n${rest}${environments}`;
}

describe("an object storage (v2 shape)", () => {
  it("s3: bucket, prefix, region and endpoint under backend; polled every minute; read-only", async () => {
    const { config, warnings } = await load(
      v2(
        "type: s3\nbucket: acme-flags\nprefix: pennant/\nregion: eu-west-1\nendpoint: http://127.0.0.1:9000",
      ),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.storage.flags, {
      backend: {
        type: "s3",
        bucket: "acme-flags",
        prefix: "pennant/",
        region: "eu-west-1",
        endpoint: "http://127.0.0.1:9000",
      },
      branch: "main",
      refType: "static",
      pollInterval: 60_000,
      fetchPolicy: "strict",
      insecureSkipTls: false,
      readOnly: true,
      signature: SIGNATURE,
    });
  });

  it("azblob: container and endpoint; googlecloud: bucket and prefix", async () => {
    const azure = await load(v2("type: azblob\ncontainer: flags\nendpoint: http://127.0.0.1:10000"));
    assert.deepEqual(azure.warnings, []);
    assert.deepEqual(azure.config.storage.flags?.backend, {
      type: "azblob",
      container: "flags",
      endpoint: "http://127.0.0.1:10000",
    });
    assert.equal(azure.config.storage.flags?.pollInterval, 60_000);
    assert.equal(azure.config.storage.flags?.readOnly, true);
    const google = await load(
      v2("type: googlecloud\nbucket: acme\nprefix: flags/", "    poll_interval: 1s\n"),
    );
    assert.deepEqual(google.config.storage.flags?.backend, {
      type: "googlecloud",
      bucket: "acme",
      prefix: "flags/",
    });
    assert.equal(google.config.storage.flags?.pollInterval, 1000);
  });

  it("is set by FLIPT_STORAGE_<ID>_BACKEND_* variables, poll interval and read_only included", async () => {
    const { config, warnings } = await load(ONE_ENVIRONMENT, {
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "s3",
      FLIPT_STORAGE_FLAGS_BACKEND_BUCKET: "from-env",
      FLIPT_STORAGE_FLAGS_BACKEND_PREFIX: "p/",
      FLIPT_STORAGE_FLAGS_BACKEND_REGION: "us-east-2",
      FLIPT_STORAGE_FLAGS_BACKEND_ENDPOINT: "https://minio.internal",
      FLIPT_STORAGE_FLAGS_POLL_INTERVAL: "15s",
      FLIPT_STORAGE_FLAGS_READ_ONLY: "true",
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.storage.flags?.backend, {
      type: "s3",
      bucket: "from-env",
      prefix: "p/",
      region: "us-east-2",
      endpoint: "https://minio.internal",
    });
    assert.equal(config.storage.flags?.pollInterval, 15_000);
    assert.equal(config.storage.flags?.readOnly, true);
    const azure = await load(ONE_ENVIRONMENT, {
      FLIPT_STORAGE_FLAGS_BACKEND_TYPE: "azblob",
      FLIPT_STORAGE_FLAGS_BACKEND_CONTAINER: "c",
    });
    assert.deepEqual(azure.config.storage.flags?.backend, { type: "azblob", container: "c" });
  });

  it("keeps poll_interval at 1s or more", async () => {
    assert.deepEqual(await configProblems(load(v2("type: s3\nbucket: b", "    poll_interval: 500ms\n"))), [
      'storage.flags.poll_interval: must be at least 1s, got "500ms"',
    ]);
  });

  it("needs its bucket (or container), naming the key", async () => {
    assert.deepEqual(await configProblems(load(v2("type: s3\nprefix: flags/"))), [
      "storage.flags.backend.bucket: is required when backend.type is s3",
    ]);
    assert.deepEqual(await configProblems(load(v2("type: azblob"))), [
      "storage.flags.backend.container: is required when backend.type is azblob",
    ]);
    assert.deepEqual(await configProblems(load(v2('type: googlecloud\nbucket: ""'))), [
      "storage.flags.backend.bucket: is required when backend.type is googlecloud",
    ]);
  });

  it("refuses git's keys, naming each", async () => {
    const found = await configProblems(
      load(
        v2(
          "type: s3\nbucket: b",
          `    remote: https://example.com/flags.git
    credentials: gh
    ref_type: semver
    ref: v1.*
    ca_cert_path: /etc/ca.pem
    insecure_skip_tls: true
    fetch_policy: lenient
credentials:
  gh:
    type: access_token
    access_token: t
`,
        ),
      ),
    );
    assert.deepEqual(found, [
      "storage.flags.ca_cert_path: does not apply to a storage of backend.type s3",
      "storage.flags.credentials: does not apply to a storage of backend.type s3",
      "storage.flags.fetch_policy: does not apply to a storage of backend.type s3",
      "storage.flags.insecure_skip_tls: does not apply to a storage of backend.type s3",
      "storage.flags.ref: does not apply to a storage of backend.type s3",
      "storage.flags.ref_type: does not apply to a storage of backend.type s3",
      "storage.flags.remote: does not apply to a storage of backend.type s3",
    ]);
  });

  it("refuses the keys of another kind: Azure has no prefix, S3 no container", async () => {
    assert.deepEqual(
      await configProblems(load(v2("type: azblob\ncontainer: c\nprefix: flags/\nbucket: b"))),
      [
        "storage.flags.backend.bucket: does not apply to backend.type azblob",
        "storage.flags.backend.prefix: does not apply to backend.type azblob",
      ],
    );
    assert.deepEqual(
      await configProblems(
        load(v2("type: googlecloud\nbucket: b\nregion: r\nendpoint: http://x\nurl: file:x")),
      ),
      [
        "storage.flags.backend.endpoint: does not apply to backend.type googlecloud",
        "storage.flags.backend.region: does not apply to backend.type googlecloud",
        "storage.flags.backend.url: does not apply to backend.type googlecloud",
      ],
    );
    assert.deepEqual(await configProblems(load(v2("type: s3\nbucket: b\ncontainer: c"))), [
      "storage.flags.backend.container: does not apply to backend.type s3",
    ]);
  });

  it("is always read-only: read_only true is accepted, false refused; storage.read_only false changes nothing", async () => {
    const explicit = await load(v2("type: s3\nbucket: b", "    read_only: true\n"));
    assert.equal(explicit.config.storage.flags?.readOnly, true);
    assert.deepEqual(await configProblems(load(v2("type: s3\nbucket: b", "    read_only: false\n"))), [
      "storage.flags.read_only: cannot be false: a storage of backend.type s3 is an object store, which is always read-only (leave read_only out)",
    ]);
    const fromVariable = await configProblemLines(
      load(v2("type: googlecloud\nbucket: b"), { FLIPT_STORAGE_FLAGS_READ_ONLY: "false" }),
    );
    assert.match(
      fromVariable[0] ?? "",
      /^storage\.flags\.read_only: cannot be false: .* \(from FLIPT_STORAGE_FLAGS_READ_ONLY\)$/,
    );
    const global = await load(v2("type: azblob\ncontainer: c"), { FLIPT_STORAGE_READ_ONLY: "false" });
    assert.equal(global.config.storage.flags?.readOnly, true);
    assert.equal(global.config.storageReadOnly, false);
  });

  it("serves one environment per directory, each a further prefix; two on one directory are refused", async () => {
    const { config } = await load(
      v2(
        "type: s3\nbucket: b\nprefix: pennant/",
        "",
        "environments:\n  production:\n    storage: flags\n    directory: production\n    default: true\n  staging:\n    storage: flags\n    directory: staging\n",
      ),
    );
    assert.equal(config.environments.production?.directory, "production");
    assert.equal(config.environments.staging?.directory, "staging");
    assert.deepEqual(
      await configProblems(
        load(
          v2(
            "type: s3\nbucket: b",
            "",
            "environments:\n  a:\n    storage: flags\n    default: true\n  b:\n    storage: flags\n",
          ),
        ),
      ),
      ['environments: environments [a, b] share the same storage "flags" and directory ""'],
    );
  });

  it("with cache.enabled and no database, warns that the cache does nothing there", async () => {
    const { warnings } = await load(v2("type: s3\nbucket: b", "cache:\n  enabled: true\n"));
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]?.startsWith(`${CACHE_WITHOUT_DATABASE} (from `), warnings[0]);
  });
});

describe("a Flipt v1 object storage (storage.type: object)", () => {
  const BASE = {
    branch: "main",
    refType: "static",
    fetchPolicy: "strict",
    insecureSkipTls: false,
    readOnly: true,
    signature: SIGNATURE,
  };

  it("s3 becomes a storage of backend.type s3 with v1's keys, read by the environment default", async () => {
    const { config, shape, warnings } = await load(`storage:
  type: object
  object:
    type: s3
    s3:
      bucket: acme-flags
      prefix: flags/
      region: us-west-2
      endpoint: http://127.0.0.1:9000
      poll_interval: 30s
`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(shape, { version: "v1", reason: "storage.type" });
    assert.deepEqual(config.storage, {
      default: {
        ...BASE,
        backend: {
          type: "s3",
          bucket: "acme-flags",
          prefix: "flags/",
          region: "us-west-2",
          endpoint: "http://127.0.0.1:9000",
        },
        pollInterval: 30_000,
      },
    });
    assert.deepEqual(config.environments, {
      default: { name: "default", storage: "default", directory: "", default: true },
    });
  });

  it("runs from FLIPT_STORAGE_OBJECT_* variables alone, polling every minute by default", async () => {
    const azure = await load(undefined, {
      FLIPT_STORAGE_TYPE: "object",
      FLIPT_STORAGE_OBJECT_TYPE: "azblob",
      FLIPT_STORAGE_OBJECT_AZBLOB_CONTAINER: "flags",
      FLIPT_STORAGE_OBJECT_AZBLOB_ENDPOINT: "http://127.0.0.1:10000",
    });
    assert.deepEqual(azure.warnings, []);
    assert.deepEqual(azure.config.storage.default, {
      ...BASE,
      backend: { type: "azblob", container: "flags", endpoint: "http://127.0.0.1:10000" },
      pollInterval: 60_000,
    });
    const google = await load(undefined, {
      FLIPT_STORAGE_TYPE: "object",
      FLIPT_STORAGE_OBJECT_TYPE: "googlecloud",
      FLIPT_STORAGE_OBJECT_GOOGLECLOUD_BUCKET: "acme",
      FLIPT_STORAGE_OBJECT_GOOGLECLOUD_PREFIX: "flags/",
      FLIPT_STORAGE_OBJECT_GOOGLECLOUD_POLL_INTERVAL: "2m",
    });
    assert.deepEqual(google.config.storage.default, {
      ...BASE,
      backend: { type: "googlecloud", bucket: "acme", prefix: "flags/" },
      pollInterval: 120_000,
    });
    const s3 = await load("storage:\n  type: object\n  object:\n    type: s3\n", {
      FLIPT_STORAGE_OBJECT_S3_BUCKET: "b",
      FLIPT_STORAGE_OBJECT_S3_PREFIX: "p/",
      FLIPT_STORAGE_OBJECT_S3_REGION: "eu-central-1",
      FLIPT_STORAGE_OBJECT_S3_ENDPOINT: "https://s3.example",
      FLIPT_STORAGE_OBJECT_S3_POLL_INTERVAL: "5s",
    });
    assert.deepEqual(s3.config.storage.default, {
      ...BASE,
      backend: {
        type: "s3",
        bucket: "b",
        prefix: "p/",
        region: "eu-central-1",
        endpoint: "https://s3.example",
      },
      pollInterval: 5000,
    });
  });

  it("refuses a missing type or bucket with Flipt v1's messages, at v1's keys", async () => {
    assert.deepEqual(await configProblemLines(load(undefined, { FLIPT_STORAGE_TYPE: "object" })), [
      "storage.object.type: object storage type must be specified",
    ]);
    assert.deepEqual(
      await configProblemLines(
        load(undefined, { FLIPT_STORAGE_TYPE: "object", FLIPT_STORAGE_OBJECT_TYPE: "s3" }),
      ),
      ["storage.object.s3.bucket: s3 bucket must be specified"],
    );
    assert.deepEqual(
      await configProblems(load("storage:\n  type: object\n  object:\n    type: azblob\n    azblob: {}\n")),
      ["storage.object.azblob.container: azblob container must be specified"],
    );
    assert.deepEqual(
      await configProblems(
        load(
          'storage:\n  type: object\n  object:\n    type: googlecloud\n    googlecloud:\n      bucket: ""\n',
        ),
      ),
      ["storage.object.googlecloud.bucket: googlecloud bucket must be specified"],
    );
    assert.match(
      (await configProblemLines(load("storage:\n  type: object\n  object:\n    type: gcs\n")))[0] ?? "",
      /^storage\.object\.type: must be one of "s3", "azblob", "googlecloud", got "gcs"/,
    );
  });

  it("refuses storage.read_only: false as Flipt v1 does, and accepts true", async () => {
    const object = {
      FLIPT_STORAGE_TYPE: "object",
      FLIPT_STORAGE_OBJECT_TYPE: "s3",
      FLIPT_STORAGE_OBJECT_S3_BUCKET: "b",
    };
    assert.deepEqual(
      await configProblemLines(load(undefined, { ...object, FLIPT_STORAGE_READ_ONLY: "false" })),
      [
        'storage.read_only: setting read only mode is only supported with database storage (storage.type is "object", which is always read-only) (from FLIPT_STORAGE_READ_ONLY)',
      ],
    );
    const readOnly = await load(undefined, { ...object, FLIPT_STORAGE_READ_ONLY: "true" });
    assert.equal(readOnly.config.storage.default?.readOnly, true);
  });

  it("ignores storage.object when storage.type is another", async () => {
    const { config, warnings } = await load(
      "storage:\n  type: local\n  local:\n    path: /srv/flags\n  object:\n    type: s3\n",
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.storage.default?.backend, { type: "local", path: "/srv/flags" });
  });
});
