import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);
const BUF = "node_modules/.bin/buf";

/** `buf curl` over gRPC with server reflection: the grpcurl of this machine, as the README shows it. */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
    timeout: 30_000,
  });
  return stdout;
}

const EXPECTED_SERVICES = [
  "environments.EnvironmentsService",
  "evaluation.ClientEvaluationService",
  "flipt.Flipt",
  "flipt.auth.AuthenticationService",
  "flipt.auth.PublicAuthenticationService",
  "flipt.evaluation.EvaluationService",
  "flipt.meta.MetadataService",
  "flipt.ofrep.OFREPService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "pennant.explain.v1.ExplainService",
  "pennant.status.v1.StatusService",
];

describe("gRPC server reflection", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  for (const version of ["grpc-v1", "grpc-v1alpha"]) {
    describe(`over ${version}`, () => {
      it("lists every service", async () => {
        const out = await bufCurl(["--reflect-protocol", version, "--list-services", server.grpcUrl]);
        assert.deepEqual(out.trim().split("\n").sort(), EXPECTED_SERVICES);
      });

      it("lists the methods, resolving every file and import", async () => {
        const out = await bufCurl(["--reflect-protocol", version, "--list-methods", server.grpcUrl]);
        const methods = out.trim().split("\n");
        assert.ok(methods.includes("flipt.evaluation.EvaluationService/Boolean"));
        assert.ok(methods.includes("environments.EnvironmentsService/CreateResource"));
        assert.ok(methods.includes("evaluation.ClientEvaluationService/EvaluationSnapshotNamespaceStream"));
      });
    });
  }

  it("makes a call described only by reflection", async () => {
    const out = await bufCurl(["-d", '{"service":""}', `${server.grpcUrl}/grpc.health.v1.Health/Check`]);
    assert.deepEqual(JSON.parse(out), { status: "SERVING" });
  });

  it("serves reflection on the HTTP port too, over h2c", async () => {
    const out = await bufCurl(["--list-services", server.httpUrl]);
    assert.ok(out.includes("flipt.evaluation.EvaluationService"));
  });

  it("reports an RPC not built yet through reflection as unimplemented", async () => {
    await assert.rejects(
      bufCurl([
        "-d",
        '{"key":"team"}',
        `${server.grpcUrl}/environments.EnvironmentsService/ProposeEnvironment`,
      ]),
      (error: Error & { stderr?: string }) => {
        assert.match(error.stderr ?? "", /unimplemented/);
        return true;
      },
    );
  });
});
