import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type BatchEvaluationResponse,
  type BooleanResolution,
  createEvaluator,
  type EvaluationRequest,
  type Evaluator,
  NotFoundError,
  ValidationError,
  type VariantResolution,
} from "../../src/index.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { createTempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { waitFor } from "../helpers/wait-for.js";

const FEATURES = `version: "1.6"
flags:
  - key: new-ui
    name: New UI
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts:
      - segment:
          keys: [beta, adults]
          operator: AND_SEGMENT_OPERATOR
          value: false
      - segment:
          key: beta
          value: true
      - threshold:
          percentage: 50
          value: false
  - key: color
    name: Color
    enabled: true
    variants:
      - key: red
        default: true
      - key: blue
        attachment:
          hex: "#00f"
          shades: [1, 2.5]
      - key: green
    rules:
      - segment:
          keys: [beta, adults]
          operator: OR_SEGMENT_OPERATOR
        distributions:
          - variant: blue
            rollout: 50
          - variant: green
            rollout: 50
      - segment: everyone
  - key: off
    name: Off
    enabled: false
    variants:
      - key: only
        default: true
  - key: broken-type
    name: Broken type
    enabled: true
    rules:
      - segment: odd
segments:
  - key: beta
    name: Beta
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: eq
        value: beta
  - key: adults
    name: Adults
    match_type: ANY_MATCH_TYPE
    constraints:
      - type: NUMBER_COMPARISON_TYPE
        property: age
        operator: gte
        value: "18"
  - key: everyone
    name: Everyone
    match_type: ANY_MATCH_TYPE
  - key: odd
    name: Odd
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: SEMVER_COMPARISON_TYPE
        property: x
        operator: eq
        value: y
`;

const TEAM = JSON.stringify({
  version: "1.6",
  namespace: { key: "team" },
  flags: [{ key: "dark-mode", name: "Dark mode", type: "BOOLEAN_FLAG_TYPE", enabled: true }],
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

const flagFile = (enabled: boolean) => `flags:
  - key: switch
    name: Switch
    type: BOOLEAN_FLAG_TYPE
    enabled: ${enabled}
`;

async function tempDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), "pennant-evaluator-"));
}

describe("createEvaluator({ documents })", () => {
  let evaluator: Evaluator;
  before(async () => {
    evaluator = await createEvaluator({ documents: [FEATURES, TEAM] });
  });

  it("evaluates boolean flags with Flipt's envelope", () => {
    const response = evaluator.boolean({ flagKey: "new-ui", entityId: "u1", context: { plan: "beta" } });
    assert.equal(response.enabled, true);
    assert.equal(response.reason, "MATCH_EVALUATION_REASON");
    assert.deepEqual(response.segmentKeys, ["beta"]);
    assert.equal(response.flagKey, "new-ui");
    assert.equal(response.requestId, "", "no request id is made up");
    assert.match(response.timestamp, RFC3339);
    assert.equal(typeof response.requestDurationMillis, "number");
    assert.deepEqual(Object.keys(response), [
      "enabled",
      "reason",
      "requestId",
      "requestDurationMillis",
      "timestamp",
      "flagKey",
      "segmentKeys",
    ]);
  });

  it("evaluates variant flags, echoing the request id", () => {
    const response = evaluator.variant({
      namespaceKey: "default",
      flagKey: "color",
      entityId: "u1",
      context: { age: "30" },
      requestId: "req-1",
    });
    assert.equal(response.match, true);
    assert.equal(response.reason, "MATCH_EVALUATION_REASON");
    assert.deepEqual(response.segmentKeys, ["adults"]);
    assert.ok(["blue", "green"].includes(response.variantKey));
    assert.equal(
      response.variantAttachment,
      response.variantKey === "blue" ? '{"hex":"#00f","shades":[1,2.5]}' : "null",
    );
    assert.equal(response.requestId, "req-1");
    assert.deepEqual(Object.keys(response), [
      "match",
      "segmentKeys",
      "reason",
      "variantKey",
      "variantAttachment",
      "requestId",
      "requestDurationMillis",
      "timestamp",
      "flagKey",
    ]);
    const disabled = evaluator.variant({ flagKey: "off", entityId: "u1" });
    assert.equal(disabled.reason, "FLAG_DISABLED_EVALUATION_REASON");
    assert.equal(disabled.variantKey, "only");
  });

  it("resolves the same answers without the envelope", () => {
    const resolved: BooleanResolution = evaluator.resolveBoolean({
      flagKey: "new-ui",
      entityId: "u1",
      context: { plan: "beta" },
    });
    assert.deepEqual(resolved, {
      enabled: true,
      reason: "MATCH_EVALUATION_REASON",
      flagKey: "new-ui",
      segmentKeys: ["beta"],
    });
    const request = { flagKey: "color", entityId: "u1", context: { age: "30" }, requestId: "r" };
    const variant: VariantResolution = evaluator.resolveVariant(request);
    const { requestId, requestDurationMillis, timestamp, ...answer } = evaluator.variant(request);
    assert.deepEqual(variant, answer);
    assert.deepEqual(Object.keys(variant), Object.keys(answer));
    assert.throws(
      () => evaluator.resolveVariant({ flagKey: "new-ui", entityId: "u" }),
      (error) => error instanceof ValidationError && error.message === "flag type BOOLEAN_FLAG_TYPE invalid",
    );
    assert.throws(
      () => evaluator.resolveBoolean({ flagKey: "missing", entityId: "u" }),
      (error) => error instanceof NotFoundError && error.message === 'flag "default/missing" not found',
    );
  });

  it("reads JSON documents into the namespace they declare", () => {
    assert.equal(
      evaluator.boolean({ namespaceKey: "team", flagKey: "dark-mode", entityId: "u" }).reason,
      "DEFAULT_EVALUATION_REASON",
    );
  });

  it("throws typed errors with Flipt's messages", () => {
    assert.throws(
      () => evaluator.boolean({ flagKey: "missing", entityId: "u" }),
      (error) => error instanceof NotFoundError && error.message === 'flag "default/missing" not found',
    );
    assert.throws(
      () => evaluator.boolean({ namespaceKey: "nope", flagKey: "x", entityId: "u" }),
      (error) => error instanceof NotFoundError && error.message === 'namespace "nope" not found',
    );
    assert.throws(
      () => evaluator.variant({ flagKey: "new-ui", entityId: "u" }),
      (error) => error instanceof ValidationError && error.message === "flag type BOOLEAN_FLAG_TYPE invalid",
    );
    assert.throws(
      () => evaluator.boolean({ flagKey: "color", entityId: "u" }),
      (error) => error instanceof ValidationError && error.message === "flag type VARIANT_FLAG_TYPE invalid",
    );
    assert.throws(
      () => evaluator.variant({ flagKey: "broken-type", entityId: "u" }),
      (error) => error instanceof ValidationError && error.message === "unknown constraint type",
    );
    assert.throws(
      () => evaluator.boolean({ flagKey: "", entityId: "u" }),
      (error) =>
        error instanceof ValidationError && error.message === "invalid field flag_key: must not be empty",
    );
    const context = { age: 3 } as unknown as Record<string, string>;
    assert.throws(
      () => evaluator.variant({ flagKey: "color", entityId: "u", context }),
      (error) => error instanceof ValidationError && /context/.test(error.message),
    );
  });

  it("evaluates a batch of mixed types, with error items for missing flags and failed evaluations", () => {
    const batch = evaluator.batch(
      [
        { flagKey: "new-ui", entityId: "u1", context: { plan: "beta" }, requestId: "a" },
        { flagKey: "color", entityId: "u1" },
        { flagKey: "missing", entityId: "u1" },
        { namespaceKey: "team", flagKey: "missing", entityId: "u1" },
        { flagKey: "broken-type", entityId: "u1" },
      ],
      { requestId: "batch-1" },
    );
    assert.equal(batch.requestId, "batch-1");
    assert.deepEqual(
      batch.responses.map((item) => item.type),
      [
        "BOOLEAN_EVALUATION_RESPONSE_TYPE",
        "VARIANT_EVALUATION_RESPONSE_TYPE",
        "ERROR_EVALUATION_RESPONSE_TYPE",
        "ERROR_EVALUATION_RESPONSE_TYPE",
        "ERROR_EVALUATION_RESPONSE_TYPE",
      ],
    );
    const [first, second, missing, missingTeam, failed] = batch.responses;
    assert.ok(first?.type === "BOOLEAN_EVALUATION_RESPONSE_TYPE");
    assert.equal(first.booleanResponse.requestId, "a");
    assert.equal(first.booleanResponse.requestDurationMillis, batch.requestDurationMillis);
    assert.ok(second?.type === "VARIANT_EVALUATION_RESPONSE_TYPE");
    assert.equal(second.variantResponse.requestId, "", "inner request ids are not generated");
    assert.equal(second.variantResponse.reason, "MATCH_EVALUATION_REASON");
    assert.deepEqual(second.variantResponse.segmentKeys, ["everyone"]);
    assert.equal(second.variantResponse.variantKey, "red");
    assert.deepEqual(missing, {
      type: "ERROR_EVALUATION_RESPONSE_TYPE",
      errorResponse: { flagKey: "missing", namespaceKey: "", reason: "NOT_FOUND_ERROR_EVALUATION_REASON" },
    });
    assert.ok(missingTeam?.type === "ERROR_EVALUATION_RESPONSE_TYPE");
    assert.equal(missingTeam.errorResponse.namespaceKey, "team");
    assert.ok(failed?.type === "ERROR_EVALUATION_RESPONSE_TYPE");
    assert.equal(failed.errorResponse.reason, "UNKNOWN_ERROR_EVALUATION_REASON");
    const empty = evaluator.batch([]);
    assert.equal(empty.requestId, "");
    assert.deepEqual(empty.responses, []);
    assert.throws(
      () =>
        evaluator.batch([
          { flagKey: "color", entityId: "u" },
          { flagKey: "", entityId: "u" },
        ]),
      (error) =>
        error instanceof ValidationError &&
        error.message === "invalid field requests[1].flag_key: must not be empty",
    );
  });

  it("takes documents as a record of file names, and reports problems against those names", async () => {
    const named = await createEvaluator({ documents: { "flags.yaml": FEATURES, "team.json": TEAM } });
    assert.equal(named.boolean({ namespaceKey: "team", flagKey: "dark-mode", entityId: "u" }).enabled, true);
    assert.equal(named.status().watching, false);
    await assert.rejects(
      createEvaluator({
        documents: { "b.yaml": "flags:\n  - key: x\n    name: X\n    rules:\n      - segment: nope\n" },
      }),
      (error) =>
        error instanceof ValidationError &&
        error.issues.length === 1 &&
        error.issues[0]?.file === "b.yaml" &&
        error.issues[0]?.line === 5 &&
        /unknown segment "nope"/.test(error.issues[0]?.message ?? ""),
    );
    await assert.rejects(
      createEvaluator({ documents: ["flags: [", "flags:\n  - key: 1\n"] }),
      (error) =>
        error instanceof ValidationError &&
        error.issues.some((issue) => issue.file === "document-1.yaml") &&
        error.issues.some((issue) => issue.file === "document-2.yaml" && issue.line === 2),
    );
  });

  it("needs exactly one source", async () => {
    await assert.rejects(
      createEvaluator({} as never),
      (error) => error instanceof ValidationError && /exactly one/.test(error.message),
    );
  });
});

describe("createEvaluator({ directory })", () => {
  const directories: string[] = [];
  const evaluators: Evaluator[] = [];
  after(async () => {
    await Promise.all(evaluators.map((evaluator) => evaluator.close()));
    await Promise.all(directories.map((path) => rm(path, { recursive: true, force: true })));
  });
  const open = async (files: Record<string, string>, options: { watch?: boolean } = {}) => {
    const directory = await tempDirectory();
    directories.push(directory);
    for (const [name, text] of Object.entries(files)) await writeFile(join(directory, name), text);
    const errors: Error[] = [];
    const evaluator = await createEvaluator({
      directory,
      ...options,
      onError: (error) => errors.push(error),
    });
    evaluators.push(evaluator);
    return { directory, evaluator, errors };
  };
  const switchOn = (evaluator: Evaluator) => evaluator.boolean({ flagKey: "switch", entityId: "u" }).enabled;

  it("loads the files discovery selects, without creating a git repository", async () => {
    const { directory, evaluator } = await open({
      "features.yaml": FEATURES,
      "team.features.json": TEAM,
      "notes.yaml": "not: [flag state",
    });
    assert.equal(
      evaluator.boolean({ flagKey: "new-ui", entityId: "u1", context: { plan: "beta" } }).enabled,
      true,
    );
    assert.equal(
      evaluator.boolean({ namespaceKey: "team", flagKey: "dark-mode", entityId: "u" }).enabled,
      true,
    );
    assert.deepEqual((await readdir(directory)).sort(), [
      "features.yaml",
      "notes.yaml",
      "team.features.json",
    ]);
    const status = evaluator.status();
    assert.match(status.revision, /^[0-9a-f]{40}$/);
    assert.equal(status.watching, true);
    assert.equal(status.lastError, undefined);
  });

  it("honours a .flipt.yml index", async () => {
    const { evaluator } = await open({
      ".flipt.yml": "version: '1.0'\ninclude:\n  - flags/*.yaml\n  - custom.yaml\n",
      "custom.yaml": flagFile(true),
      "features.yaml": "flags: [",
    });
    assert.equal(switchOn(evaluator), true);
  });

  it("serves a change moments after the file is written", async () => {
    const { directory, evaluator } = await open({ "features.yaml": flagFile(false) });
    const before = evaluator.status().revision;
    await writeFile(join(directory, "features.yaml"), flagFile(true));
    await waitFor(() => (switchOn(evaluator) ? true : undefined), { what: "the edit to be served" });
    assert.notEqual(evaluator.status().revision, before);
  });

  it("keeps the last good state after a broken edit, reports it, and recovers", async () => {
    const { directory, evaluator, errors } = await open({ "features.yaml": flagFile(true) });
    await writeFile(join(directory, "features.yaml"), `${flagFile(false)}  - key: [broken\n`);
    const error = await waitFor(() => evaluator.status().lastError, {
      what: "the broken edit to be reported",
    });
    assert.ok(error instanceof ValidationError);
    assert.equal(error.issues[0]?.file, "features.yaml");
    assert.ok((error.issues[0]?.line ?? 0) >= 5);
    assert.equal(switchOn(evaluator), true, "the last good state is still served");
    assert.ok(errors.includes(error), "onError was told");
    await writeFile(join(directory, "features.yaml"), flagFile(false));
    await waitFor(
      () => (evaluator.status().lastError === undefined && !switchOn(evaluator) ? true : undefined),
      {
        what: "the fix to be served",
      },
    );
  });

  it("ignores editor scratch files and .git", async () => {
    const { directory, evaluator, errors } = await open({ "features.yaml": flagFile(false) });
    await writeFile(join(directory, "features.yaml~"), "flags: [");
    await writeFile(join(directory, ".features.yaml.swp"), "\u0000");
    await writeFile(join(directory, "features.yaml"), flagFile(true));
    await waitFor(() => (switchOn(evaluator) ? true : undefined), { what: "the edit" });
    assert.deepEqual(errors, []);
  });

  it("stops watching on close, and keeps evaluating the state it has", async () => {
    const { directory, evaluator } = await open({ "features.yaml": flagFile(false) });
    const witness = await createEvaluator({ directory });
    evaluators.push(witness);
    await evaluator.close();
    await evaluator.close();
    assert.equal(evaluator.status().watching, false);
    await writeFile(join(directory, "features.yaml"), flagFile(true));
    await waitFor(() => (switchOn(witness) ? true : undefined), { what: "the witness to see the edit" });
    // The closed evaluator had the same debounce; give it a generous margin to (wrongly) reload.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(switchOn(evaluator), false);
  });

  it("with watch: false, changes only on reload(), which rejects on invalid state", async () => {
    const { directory, evaluator } = await open({ "features.yaml": flagFile(false) }, { watch: false });
    assert.equal(evaluator.status().watching, false);
    await writeFile(join(directory, "features.yaml"), flagFile(true));
    assert.equal(switchOn(evaluator), false);
    await evaluator.reload();
    assert.equal(switchOn(evaluator), true);
    await writeFile(join(directory, "features.yaml"), "flags:\n  - key: switch\n    type: NOPE\n");
    await assert.rejects(evaluator.reload(), ValidationError);
    assert.equal(switchOn(evaluator), true);
    assert.ok(evaluator.status().lastError instanceof ValidationError);
  });

  it("rejects invalid initial state with every problem, and a missing directory", async () => {
    const directory = await tempDirectory();
    directories.push(directory);
    await writeFile(join(directory, "features.yaml"), "flags:\n  - key: a\n    name: A\n    type: NOPE\n");
    await writeFile(join(directory, "other.features.yml"), "segments:\n  - key: s\n    match_type: SOME\n");
    await assert.rejects(createEvaluator({ directory }), (error) => {
      assert.ok(error instanceof ValidationError);
      const where = error.issues.map((issue) => `${issue.file}:${issue.line}`);
      assert.ok(where.includes("features.yaml:4"), where.join(", "));
      assert.ok(
        where.some((at) => at.startsWith("other.features.yml:")),
        where.join(", "),
      );
      return true;
    });
    await assert.rejects(createEvaluator({ directory: join(directory, "nope") }), NotFoundError);
  });
});

describe("the evaluator answers as the server's REST routes do", () => {
  let repo: TempRepo;
  let server: TestServer;
  let evaluator: Evaluator;
  before(async () => {
    repo = await createTempRepo({ "features.yaml": FEATURES, "team.features.json": TEAM });
    server = await startTestServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: repo.path,
    });
    evaluator = await createEvaluator({ directory: repo.path, watch: false });
  });
  after(async () => {
    await evaluator?.close();
    await server?.stop();
    await repo?.remove();
  });

  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${server.httpUrl}/evaluate/v1/${route}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** A response without the fields that differ per call; segment keys sorted (Flipt's order is random). */
  const stable = (response: object): Record<string, unknown> => {
    const {
      requestDurationMillis: _duration,
      timestamp: _timestamp,
      requestId: _id,
      ...rest
    } = response as Record<string, unknown>;
    if (Array.isArray(rest.segmentKeys)) rest.segmentKeys = [...rest.segmentKeys].sort();
    return rest;
  };
  const requests: EvaluationRequest[] = [];
  for (const entityId of ["u1", "u2", "u3", "user-42", ""]) {
    for (const context of [{}, { plan: "beta" }, { age: "30" }, { plan: "beta", age: "17" }, { age: "x" }]) {
      for (const flagKey of ["new-ui", "color", "off", "broken-type", "missing"]) {
        requests.push({ namespaceKey: "default", flagKey, entityId, context });
      }
    }
  }
  requests.push({ namespaceKey: "team", flagKey: "dark-mode", entityId: "u1" });
  requests.push({ namespaceKey: "nope", flagKey: "dark-mode", entityId: "u1" });

  it("for single calls, results and errors alike", async () => {
    for (const request of requests) {
      for (const kind of ["boolean", "variant"] as const) {
        const rest = await post(kind, request);
        let local: { status: number; body: Record<string, unknown> };
        try {
          local = { status: 200, body: evaluator[kind](request) as unknown as Record<string, unknown> };
        } catch (error) {
          const status = error instanceof NotFoundError ? 404 : error instanceof ValidationError ? 400 : 500;
          local = { status, body: { message: (error as Error).message } };
        }
        const what = `${kind} ${JSON.stringify(request)}`;
        assert.equal(local.status, rest.status, what);
        if (rest.status === 200) {
          assert.deepEqual(stable(local.body), stable(rest.body), what);
          assert.match(String(local.body.timestamp), RFC3339);
        } else {
          assert.equal(local.body.message, rest.body.message, what);
        }
      }
    }
  });

  it("for a batch", async () => {
    const rest = await post("batch", { requestId: "b", requests });
    assert.equal(rest.status, 200);
    const local = evaluator.batch(requests, { requestId: "b" });
    const items = (batch: BatchEvaluationResponse | Record<string, unknown>) =>
      (batch.responses as Record<string, Record<string, unknown>>[]).map((item) => {
        const inner = item.booleanResponse ?? item.variantResponse;
        return inner === undefined ? item : { ...item, [Object.keys(item)[1] as string]: stable(inner) };
      });
    assert.equal(local.requestId, rest.body.requestId);
    assert.deepEqual(items(local), items(rest.body));
  });
});
