/**
 * Issue 17: a Flipt v1 config file (`db.url`, nothing else about storage) runs a real `pennant server` process on
 * SQLite, PostgreSQL and MariaDB, each on a database of its own, created empty: the server migrates it, flags
 * written through the environments API are evaluated over gRPC, Connect and REST (Flipt's REST SDK), a stale
 * revision is refused (409 / Aborted) as on git storage, a bad write is InvalidArgument, and a second replica on
 * the same database with `storage.read_only: true` serves the first one's writes and refuses its own.
 *
 * The config file is found where Flipt looks for it: `$XDG_CONFIG_HOME/flipt/config.yml`.
 *
 * Cost: two `pennant` processes per database (six in all), about 15 s on 2 cores.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FliptClient as RestSdk } from "@flipt-io/flipt";
import { EnvironmentsService } from "../../src/gen/environments/environments_pb.js";
import { FlagSchema, FlagType } from "../../src/gen/flipt/core/core_pb.js";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { betaFlag, COLOR_FLAG, PRO_SEGMENT } from "../helpers/flag-payloads.js";
import { resourcesPath, restJson, writeResource } from "../helpers/rest-json.js";
import { type PennantProcess, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTestDatabase, type TestDatabase, type TestDatabaseKind } from "../helpers/test-databases.js";
import { waitFor } from "../helpers/wait-for.js";

interface FliptError {
  code: number;
  message: string;
}

/** Writes `text` as the Flipt config file of a fresh `XDG_CONFIG_HOME`, and returns that directory. */
async function configHome(root: string, name: string, text: string): Promise<string> {
  const home = join(root, name);
  await mkdir(join(home, "flipt"), { recursive: true });
  await writeFile(join(home, "flipt", "config.yml"), text);
  return home;
}

/** `beta` is off for everyone but the `pro` segment. */
const BETA = betaFlag(false);

const KINDS: readonly TestDatabaseKind[] = ["sqlite", "postgres", "mysql"];

for (const kind of KINDS) {
  describe(`a Flipt v1 config file on ${kind}`, () => {
    let root: string;
    let database: TestDatabase;
    let server: PennantProcess;
    let replica: PennantProcess;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), "pennant-database-storage-"));
      database = await createTestDatabase(kind);
      server = await startPennantProcess({
        XDG_CONFIG_HOME: await configHome(root, "writer", `db:\n  url: ${database.url}\n`),
      });
      replica = await startPennantProcess({
        XDG_CONFIG_HOME: await configHome(
          root,
          "reader",
          `version: "1.0"\ndb:\n  url: ${database.url}\nstorage:\n  read_only: true\n`,
        ),
      });
    });
    after(async () => {
      await server?.killHard();
      await replica?.killHard();
      await database?.drop();
      await rm(root, { recursive: true, force: true });
    });

    it("migrates the empty database at start, reading the file as Flipt v1's", () => {
      const output = server.output();
      assert.match(output, /"format":"Flipt v1","by":"db"/);
      assert.match(output, /"track":"flipt","version":0,"title":"initial".*"M":"database migration applied"/);
      assert.doesNotMatch(replica.output(), /database migration applied/, "the replica found it migrated");
    });

    it("serves flags written through the environments API over gRPC, Connect and REST", async () => {
      const segment = await writeResource(server, "POST", PRO_SEGMENT);
      assert.equal(segment.status, 200, JSON.stringify(segment.body));
      for (const payload of [COLOR_FLAG, BETA]) {
        const created = await writeResource(server, "POST", payload);
        assert.equal(created.status, 200, JSON.stringify(created.body));
      }
      const request = { namespaceKey: "default", entityId: "u1", context: { plan: "pro" } };
      const grpc = createClient(
        EvaluationService,
        createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
      );
      const variant = await grpc.variant({ ...request, flagKey: "color" });
      assert.deepEqual([variant.match, variant.variantKey, variant.segmentKeys], [true, "blue", ["pro"]]);
      assert.deepEqual(JSON.parse(variant.variantAttachment), { hex: "#00f" });
      const connect = createClient(
        EvaluationService,
        createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }),
      );
      assert.equal((await connect.boolean({ ...request, flagKey: "beta" })).enabled, true);
      assert.equal((await connect.boolean({ ...request, flagKey: "beta", context: {} })).enabled, false);
      const sdk = new RestSdk({ url: server.httpUrl });
      const other = await sdk.evaluation.variant({ ...request, flagKey: "color", context: { plan: "free" } });
      assert.deepEqual([other.match, other.variantKey], [false, "gray"]);
    });

    it("refuses a stale revision: 409 over REST, Aborted over gRPC, as on git storage", async () => {
      const read = await restJson(server, "GET", `${resourcesPath()}/flipt.core.Flag/beta`);
      const revision = String(read.body.revision);
      const updated = await writeResource(server, "PUT", { ...BETA, enabled: true }, { revision });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      const stale = await writeResource(server, "PUT", { ...BETA, description: "late" }, { revision });
      assert.equal(stale.status, 409);
      assert.match((stale.body as unknown as FliptError).message, /has changed/);
      const client = createClient(
        EnvironmentsService,
        createGrpcTransport({ baseUrl: server.grpcUrl, idleConnectionTimeoutMs: 5 }),
      );
      const flag = create(FlagSchema, { key: "late", name: "Late", type: FlagType.BOOLEAN_FLAG_TYPE });
      const refused = await client
        .createResource({
          environmentKey: "default",
          namespaceKey: "default",
          key: "late",
          revision,
          payload: anyPack(FlagSchema, flag),
        })
        .then(
          () => undefined,
          (error: unknown) => ConnectError.from(error).code,
        );
      assert.equal(refused, Code.Aborted);
    });

    it("answers InvalidArgument for a bad write, and changes nothing", async () => {
      const before = await restJson(server, "GET", `${resourcesPath()}/flipt.core.Flag/color`);
      const invalid = await writeResource(server, "POST", {
        ...BETA,
        key: "bad",
        rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: ["nope"] } }],
      });
      assert.equal(invalid.status, 400);
      assert.equal((invalid.body as unknown as FliptError).code, Code.InvalidArgument);
      assert.match((invalid.body as unknown as FliptError).message, /unknown segment "nope"/);
      const after = await restJson(server, "GET", `${resourcesPath()}/flipt.core.Flag/color`);
      assert.equal(after.body.revision, before.body.revision);
    });

    it("a read-only replica on the same database serves the other's writes and refuses its own", async () => {
      const written = await writeResource(server, "POST", { ...BETA, key: "from-writer", rollouts: [] });
      assert.equal(written.status, 200, JSON.stringify(written.body));
      await waitFor(
        async () => {
          const read = await restJson(replica, "GET", `${resourcesPath()}/flipt.core.Flag/from-writer`);
          return read.status === 200 && read.body.revision === written.body.revision ? true : undefined;
        },
        { deadlineMs: 10_000, intervalMs: 50, what: "the replica serving the write" },
      );
      const refused = await writeResource(replica, "POST", { ...BETA, key: "from-reader", rollouts: [] });
      assert.equal(refused.status, 400);
      assert.equal((refused.body as unknown as FliptError).code, Code.FailedPrecondition);
      assert.match((refused.body as unknown as FliptError).message, /read-only/);
      const info = (await (await fetch(`${replica.httpUrl}/meta/info`)).json()) as { readOnly?: boolean };
      assert.equal(info.readOnly, true);
      const sdk = new RestSdk({ url: replica.httpUrl });
      const served = await sdk.evaluation.variant({
        namespaceKey: "default",
        flagKey: "color",
        entityId: "u1",
        context: { plan: "pro" },
      });
      assert.equal(served.variantKey, "blue", "reads and evaluation are unaffected");
    });
  });
}
