import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { pino } from "pino";
import { Registry } from "prom-client";
import {
  ClientEvaluationService,
  EvaluationNamespaceSnapshotRequestSchema,
  EvaluationNamespaceSnapshotStreamRequestSchema,
} from "../gen/evaluation/evaluation_pb.js";
import {
  BatchEvaluationRequestSchema,
  EvaluationRequestSchema,
  EvaluationService,
} from "../gen/flipt/evaluation/evaluation_pb.js";
import {
  EvaluateBulkRequestSchema,
  EvaluateFlagRequestSchema,
  OFREPService,
} from "../gen/flipt/ofrep/ofrep_pb.js";
import { Environment } from "../storage/environment.js";
import { Environments } from "../storage/environments.js";
import { MemorySource } from "../storage/memory/memory-source.js";
import { createClientEvaluationService } from "./client-evaluation-service.js";
import { createEvaluationMetrics } from "./evaluation-metrics.js";
import type { EvaluationRecorder } from "./evaluation-recorder.js";
import { createEvaluationService } from "./evaluation-service.js";
import { createFliptFamilies } from "./metrics-families.js";
import { createOfrepService } from "./ofrep-service.js";

const encode = (text: string) => new TextEncoder().encode(text);
const flags = (namespace: string, key: string) =>
  encode(`namespace: ${namespace}\nflags:\n  - key: ${key}\n    name: ${key}\n    type: BOOLEAN_FLAG_TYPE\n`);

function environment(key: string, isDefault: boolean): Environment {
  return new Environment({
    key,
    isDefault,
    storage: key,
    directory: "",
    ref: "main",
    source: new MemorySource([
      ["features.yaml", flags("default", "beta")],
      ["team/features.yaml", flags("team", "delta")],
    ]),
    logger: pino({ level: "silent" }),
  });
}

/** A recorder that notes each call as `environment/namespace/flag` (or what a client snapshot records). */
function spy(): { calls: string[]; recorder: EvaluationRecorder } {
  const calls: string[] = [];
  return {
    calls,
    recorder: {
      evaluated: (environment, namespace, evaluation) => {
        calls.push(`${environment}/${namespace}/${evaluation.flagKey}`);
      },
      snapshot: (environment, namespace, _ms, answer) => {
        calls.push(`snapshot ${environment}/${namespace} ${answer}`);
      },
      stream: (environment, namespace, _started, _signal, snapshots) => {
        calls.push(`stream ${environment}/${namespace}`);
        return snapshots;
      },
    },
  };
}

const context = (service: DescService, method: DescMethod, requestHeader: Record<string, string> = {}) =>
  createHandlerContext({
    service,
    method,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://localhost/",
    requestHeader,
  });

describe("the services record what they served through EvaluationRecorder", () => {
  const environments = new Environments([environment("default", true), environment("staging", false)]);
  before(() => Promise.all(environments.list().map((each) => each.start())));
  after(() => Promise.all(environments.list().map((each) => each.stop())));

  it("evaluation: each flag found, in the environment and namespace it was evaluated in", async () => {
    const { calls, recorder } = spy();
    const service = createEvaluationService({ environments, maxBatchSize: 10, recorder });
    const { method } = EvaluationService;
    await service.batch(
      create(BatchEvaluationRequestSchema, {
        requests: [
          { environmentKey: "staging", flagKey: "beta" },
          { namespaceKey: "team", flagKey: "delta" },
          { flagKey: "no-such-flag" },
        ],
      }),
      context(EvaluationService, method.batch, { "x-flipt-environment": "staging" }),
    );
    await service.boolean(
      create(EvaluationRequestSchema, { flagKey: "delta" }),
      context(EvaluationService, method.boolean, { "x-flipt-namespace": "team" }),
    );
    assert.deepEqual(calls, ["staging/default/beta", "staging/team/delta", "default/team/delta"]);
  });

  it("evaluation: nothing for a call that fails, though it evaluated flags before failing", async () => {
    const { calls, recorder } = spy();
    const service = createEvaluationService({ environments, maxBatchSize: 10, recorder });
    const batch = context(EvaluationService, EvaluationService.method.batch);
    const items = create(BatchEvaluationRequestSchema, { requests: [{ flagKey: "beta" }, { flagKey: "" }] });
    await assert.rejects(async () => service.batch(items, batch), /flag_key/);
    const boolean = context(EvaluationService, EvaluationService.method.boolean);
    await assert.rejects(async () =>
      service.boolean(create(EvaluationRequestSchema, { flagKey: "no-such-flag" }), boolean),
    );
    assert.deepEqual(calls, []);
  });

  it("OFREP: each flag of a bulk call in the header's scope, none for one answered 304 or one that fails", async () => {
    const { calls, recorder } = spy();
    const service = createOfrepService(environments, recorder);
    const headers = { "x-flipt-environment": "staging", "x-flipt-namespace": "team" };
    const bulk = async (listed: Record<string, string>, header: Record<string, string>) => {
      const call = context(OFREPService, OFREPService.method.evaluateBulk, header);
      await service.evaluateBulk?.(create(EvaluateBulkRequestSchema, { context: listed }), call);
      return call.responseHeader;
    };
    const etag = (await bulk({}, headers)).get("x-etag") ?? "";
    assert.equal((await bulk({}, { ...headers, "if-none-match": etag })).get("x-http-code"), "304");
    await assert.rejects(() => bulk({ flags: "delta,no-such-flag" }, headers), /no-such-flag/);
    const single = context(OFREPService, OFREPService.method.evaluateFlag);
    await service.evaluateFlag?.(create(EvaluateFlagRequestSchema, { key: "beta" }), single);
    assert.deepEqual(calls, ["staging/team/delta", "default/default/beta"]);
  });

  it("client snapshots: once the environment resolves, the namespace only when it exists", async () => {
    const { calls, recorder } = spy();
    const service = createClientEvaluationService(environments, recorder);
    const { method } = ClientEvaluationService;
    const snapshot = (environmentKey: string, key: string, header: Record<string, string> = {}) =>
      service.evaluationSnapshotNamespace(
        create(EvaluationNamespaceSnapshotRequestSchema, { environmentKey, key }),
        context(ClientEvaluationService, method.evaluationSnapshotNamespace, header),
      );
    await snapshot("staging", "team");
    await assert.rejects(async () => snapshot("staging", "no-such-namespace"), /no-such-namespace/);
    // The request names no environment and the header one that does not exist: nothing resolved, nothing recorded.
    await assert.rejects(async () => snapshot("", "team", { "x-flipt-environment": "nowhere" }), /nowhere/);
    const streaming = context(ClientEvaluationService, method.evaluationSnapshotNamespaceStream);
    service.evaluationSnapshotNamespaceStream(
      create(EvaluationNamespaceSnapshotStreamRequestSchema, { key: "team" }),
      streaming,
    );
    streaming.abort();
    assert.deepEqual(calls, [
      "snapshot staging/team sent",
      "snapshot staging/ failed",
      "stream default/team",
    ]);
  });
});

describe("createEvaluationMetrics", () => {
  const metrics = () => {
    const registry = new Registry();
    return {
      registry,
      recorder: createEvaluationMetrics(createFliptFamilies(registry, async () => undefined)),
    };
  };
  const lines = async (registry: Registry, family: string) =>
    (await registry.metrics()).split("\n").filter((line) => line.startsWith(`${family}{`));
  const SCOPE = 'otel_scope_name="go.flipt.io/flipt/v2",otel_scope_schema_url="",otel_scope_version=""';

  it("labels a variant flag's result with Flipt's labels, the same outcome counting into the same series", async () => {
    const { registry, recorder } = metrics();
    const evaluation = {
      kind: "variant",
      flagKey: "colour",
      match: true,
      reason: "MATCH_EVALUATION_REASON",
      variantKey: "blue",
      variantAttachment: "",
      segmentKeys: ["everyone", "staff"],
    } as const;
    recorder.evaluated("default", "team", evaluation, 1.5);
    recorder.evaluated("default", "team", evaluation, 0.5);
    assert.deepEqual(await lines(registry, "flipt_evaluations_results_total"), [
      `flipt_evaluations_results_total{flipt_environment="default",flipt_namespace="team",flipt_flag="colour",flipt_match="true",flipt_segments="[\\"everyone\\",\\"staff\\"]",flipt_reason="MATCH_EVALUATION_REASON",flipt_value="blue",flipt_flag_type="variant",${SCOPE}} 2`,
    ]);
    assert.deepEqual(await lines(registry, "flipt_evaluations_latency_milliseconds_sum"), [
      `flipt_evaluations_latency_milliseconds_sum{flipt_environment="default",flipt_namespace="team",flipt_flag="colour",${SCOPE}} 2`,
    ]);
  });

  it("ends a stream the client left without an error, and counts a 304 as a server error", async () => {
    const { registry, recorder } = metrics();
    const left = new AbortController();
    async function* snapshots() {
      yield 1;
      await new Promise(() => undefined);
    }
    const stream = recorder.stream("default", "team", performance.now(), left.signal, snapshots());
    const reading = stream[Symbol.asyncIterator]();
    await reading.next();
    void reading.next();
    left.abort();
    recorder.snapshot("default", "team", 3.7, "not-modified");
    const namespace = `flipt_environment="default",flipt_namespace="team",${SCOPE}`;
    assert.deepEqual(await lines(registry, "flipt_evaluations_streams_in_progress"), [
      `flipt_evaluations_streams_in_progress{${namespace}} 0`,
    ]);
    assert.deepEqual(await lines(registry, "flipt_evaluations_stream_messages_total"), [
      `flipt_evaluations_stream_messages_total{${namespace}} 1`,
    ]);
    assert.deepEqual(await lines(registry, "flipt_evaluations_stream_errors_total"), []);
    assert.deepEqual(await lines(registry, "flipt_evaluations_snapshot_requests_total"), [
      `flipt_evaluations_snapshot_requests_total{${namespace}} 1`,
    ]);
    assert.deepEqual(await lines(registry, "flipt_server_errors_total"), [
      `flipt_server_errors_total{${SCOPE}} 1`,
    ]);
  });
});
