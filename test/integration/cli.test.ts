import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { runPennant, startPennantProcess } from "../helpers/start-pennant-process.js";
import { createTempRepo } from "../helpers/temp-repo.js";
import { within } from "../helpers/wait-for.js";

describe("pennant CLI", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pennant-cli-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("prints its version", async () => {
    const result = await runPennant(["--version"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^pennant \d+\.\d+\.\d+/);
  });

  it("prints help that names the server command and --config", async () => {
    const result = await runPennant(["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /server/);
    assert.match(result.stdout, /--config/);
  });

  it("rejects an unknown command with exit code 2", async () => {
    const result = await runPennant(["serve-me"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "serve-me"/);
  });

  it("reports every configuration problem at once and exits 2", async () => {
    const file = join(dir, "bad.yml");
    await writeFile(file, "server:\n  http_port: lots\nlog:\n  encoding: xml\n");
    const result = await runPennant(["--config", file], { FLIPT_SERVER_GRPC_PORT: "-1" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /server\.http_port/);
    assert.match(result.stderr, /log\.encoding/);
    assert.match(result.stderr, /server\.grpc_port/);
  });

  it("exits 2 naming a commit message template it cannot run", async () => {
    const result = await runPennant(["server"], { FLIPT_TEMPLATES_COMMIT_MESSAGE: "{{ upper .Changes }}" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /templates\.commit_message: .*function "upper" not defined/);
  });

  it("exits 2 naming a --config file that does not exist", async () => {
    const result = await runPennant(["server", "--config", join(dir, "missing.yml")]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /missing\.yml/);
  });

  it("serves with a config file, lets env override it, and shuts down gracefully on SIGTERM", async () => {
    const file = join(dir, "config.yml");
    await writeFile(
      file,
      "log:\n  level: debug\nserver:\n  host: 127.0.0.1\n  http_port: 1\n  grpc_port: 0\n",
    );
    const server = await startPennantProcess(
      { FLIPT_SERVER_HTTP_PORT: "0", FLIPT_LOG_ENCODING: "json", FLIPT_SERVER_SHUTDOWN_GRACE_PERIOD: "3s" },
      { args: ["server", "--config", file], serverDefaults: false, deadlineMs: 20_000 },
    );
    const { httpPort, grpcPort } = server;
    assert.notEqual(httpPort, 1, "FLIPT_SERVER_HTTP_PORT beats the file");

    const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
    assert.deepEqual(await health.json(), { status: "SERVING" });

    // A health watch is a request in flight when the signal arrives: it must see NOT_SERVING, then end.
    const client = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}` }));
    const watch = client.watch({ service: "" })[Symbol.asyncIterator]();
    assert.equal((await watch.next()).value?.status, HealthCheckResponse_ServingStatus.SERVING);

    server.signal("SIGTERM");
    assert.equal((await watch.next()).value?.status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    // A deadline so that a server that never exits fails the test instead of hanging it; not a measure of speed.
    const result = await within(server.exited, 30_000, "the exit after SIGTERM");
    assert.equal(result.code, 0, server.stderr());
    assert.match(server.stdout(), /"signal received"/);
    assert.match(server.stdout(), /"stopped"/);
  });

  describe("validate", () => {
    it("exits 0 and counts the files when everything is valid", async () => {
      const repo = await createTempRepo({
        "team/features.yaml": "namespace: team\nflags:\n  - key: a\n    name: A\n",
      });
      try {
        const result = await runPennant(["validate", repo.path]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stderr, /1 file\(s\) valid/);
      } finally {
        await repo.remove();
      }
    });

    it("prints every problem as file:line: message and exits 1", async () => {
      const bad = [
        'version: "1.6"',
        "flags:",
        "  - key: a",
        "    name: A",
        "    variants:",
        "      - key: on",
        "    rules:",
        "      - segment: everyone",
        "        distributions:",
        "          - variant: on",
        "            rollout: 110",
        "  - key: b",
        "",
      ].join("\n");
      const file = join(dir, "features.yaml");
      await writeFile(file, bad);
      const result = await runPennant(["validate", file]);
      assert.equal(result.code, 1);
      const lines = result.stdout.trim().split("\n");
      assert.ok(
        lines.some((line) => line.startsWith(`${file}:11: `)),
        result.stdout,
      );
      assert.ok(
        lines.some((line) => line.startsWith(`${file}:12: `) && /name/.test(line)),
        result.stdout,
      );
    });
  });

  describe("export", () => {
    it("writes each namespace of the environment as <namespace>/features.yaml", async () => {
      const repo = await createTempRepo({
        "features.yaml": 'version: "1.2"\nflags:\n  - key: a\n    name: A\n    enabled: true\n',
        "team/features.yaml": "namespace: team\nflags:\n  - key: b\n    name: B\n",
      });
      const out = join(dir, "export");
      try {
        const env = {
          FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
          FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
        };
        const result = await runPennant(["export", "-o", out], env);
        assert.equal(result.code, 0, result.stderr);
        const team = await readFile(join(out, "team", "features.yaml"), "utf8");
        assert.match(team, /^version: "1\.6"\nnamespace:\n {4}key: team\n/);
        assert.match(team, /key: b/);
        const stream = await runPennant(["export", "--namespace", "default"], env);
        assert.equal(stream.code, 0, stream.stderr);
        assert.match(stream.stdout, /key: a/);
        assert.doesNotMatch(stream.stdout, /key: b/);
        const validated = await runPennant(["validate", out]);
        assert.equal(validated.code, 0, validated.stdout);
      } finally {
        await repo.remove();
      }
    });
  });

  describe("import", () => {
    const teamFile =
      'version: "1.4"\nnamespace:\n  key: team\n  name: Team\nflags:\n  - key: t1\n    name: T1\n    enabled: true\n    variants:\n      - key: a\n';
    const defaultFile =
      "flags:\n  - key: d1\n    name: D1\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\nsegments:\n  - key: s1\n    name: S1\n    match_type: ANY_MATCH_TYPE\n";

    it("writes each file as one commit through the write path, then updates on a second import", async () => {
      const repo = await createTempRepo({ "README.md": "x\n" });
      try {
        await writeFile(join(dir, "team.yaml"), teamFile);
        await writeFile(join(dir, "default.yaml"), defaultFile);
        const env = {
          FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
          FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
        };
        const result = await runPennant(["import", join(dir, "team.yaml"), join(dir, "default.yaml")], env);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(repo.git("log", "--format=%s", "-2").split("\n"), [
          "updated multiple resources",
          "updated multiple resources",
        ]);
        assert.match(
          repo.git("log", "-1", "--format=%b"),
          /create segment default\/s1\ncreate flag default\/d1/,
        );
        const team = await readFile(join(repo.path, "team", "features.yaml"), "utf8");
        assert.match(team, /key: t1/);
        assert.match(team, /name: Team/);

        const again = await runPennant(
          ["import", "--squash", join(dir, "team.yaml"), join(dir, "default.yaml")],
          env,
        );
        assert.equal(again.code, 0, again.stderr);
        assert.match(repo.git("log", "-1", "--format=%b"), /update flag team\/t1/);
        assert.equal(repo.git("rev-list", "--count", "HEAD"), "4", "one more commit for both files");
        assert.equal(repo.git("status", "--porcelain"), "");
      } finally {
        await repo.remove();
      }
    });

    it("refuses a file that does not validate and commits nothing", async () => {
      const repo = await createTempRepo({ "README.md": "x\n" });
      try {
        await writeFile(join(dir, "bad.yaml"), "flags:\n  - key: nameless\n");
        const env = {
          FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
          FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
        };
        const result = await runPennant(["import", join(dir, "bad.yaml")], env);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /bad\.yaml:2: /);
        assert.equal(repo.git("rev-list", "--count", "HEAD"), "1");
      } finally {
        await repo.remove();
      }
    });
  });
});
