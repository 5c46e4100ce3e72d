import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import { COMPILE_AFTER } from "../engine/match-segments.js";
import { buildSnapshot } from "../storage/build-snapshot.js";
import { createResponder } from "./create-responder.js";
import type { EvaluationRequest, EvaluationResponse } from "./evaluator.js";

/** Flags of both types sharing segments, so that a batch's items for one entity share remembered segments. */
const FEATURES = `version: "1.6"
namespace: default
flags:
  - key: v1
    name: v1
    enabled: true
    variants: [{key: a, default: true}, {key: b, attachment: {n: 1}}]
    rules:
      - segment: pro
        distributions: [{variant: a, rollout: 40}, {variant: b, rollout: 60}]
      - segment: {keys: [adults, acme], operator: OR_SEGMENT_OPERATOR}
        distributions: [{variant: b, rollout: 100}]
  - key: v2
    name: v2
    enabled: true
    variants: [{key: a}, {key: b}]
    rules:
      - segment: {keys: [adults, pro], operator: AND_SEGMENT_OPERATOR}
        distributions: [{variant: a, rollout: 50}, {variant: b, rollout: 50}]
      - segment: broken
  - key: b1
    name: b1
    type: BOOLEAN_FLAG_TYPE
    rollouts:
      - segment: {keys: [acme, pro], value: true}
      - threshold: {percentage: 50, value: true}
  - key: b2
    name: b2
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts:
      - segment: {key: adults, value: false}
segments:
  - key: pro
    name: pro
    match_type: ALL_MATCH_TYPE
    constraints: [{type: STRING_COMPARISON_TYPE, property: plan, operator: isoneof, value: [pro, team]}]
  - key: adults
    name: adults
    match_type: ALL_MATCH_TYPE
    constraints: [{type: NUMBER_COMPARISON_TYPE, property: age, operator: gte, value: "18"}]
  - key: acme
    name: acme
    match_type: ANY_MATCH_TYPE
    constraints:
      - {type: STRING_COMPARISON_TYPE, property: org, operator: prefix, value: acme-}
      - {type: ENTITY_ID_COMPARISON_TYPE, property: entity, operator: suffix, value: "7"}
  - key: broken
    name: broken
    match_type: ALL_MATCH_TYPE
    constraints: [{type: SEMVER_COMPARISON_TYPE, property: version, operator: gte, value: "1.0.0"}]
`;

function responder() {
  const build = buildSnapshot(
    { revision: "r", files: [{ path: "features.yaml", bytes: new TextEncoder().encode(FEATURES) }] },
    new Date(),
  );
  if (!build.ok) throw build.error;
  const snapshot = build.snapshot;
  return createResponder(() => snapshot);
}

/** A batch item's answer without its envelope, as the single call for the same request answers it. */
function single(evaluate: ReturnType<typeof responder>, request: EvaluationRequest): unknown {
  try {
    const { requestDurationMillis, timestamp, ...rest } = ["b1", "b2"].includes(request.flagKey)
      ? evaluate.boolean(request)
      : evaluate.variant(request);
    assert.ok(requestDurationMillis >= 0 && timestamp.endsWith("Z"));
    return rest;
  } catch (error) {
    return error instanceof ValidationError ? "error" : "not found";
  }
}

function item(response: EvaluationResponse): unknown {
  switch (response.type) {
    case "BOOLEAN_EVALUATION_RESPONSE_TYPE": {
      const { requestDurationMillis, timestamp, ...rest } = response.booleanResponse;
      return rest;
    }
    case "VARIANT_EVALUATION_RESPONSE_TYPE": {
      const { requestDurationMillis, timestamp, ...rest } = response.variantResponse;
      return rest;
    }
    default:
      return response.errorResponse.reason === "NOT_FOUND_ERROR_EVALUATION_REASON" ? "not found" : "error";
  }
}

/** Requests over every flag of FEATURES, their segments matched and missed, and the calls' errors. */
const REQUESTS: readonly EvaluationRequest[] = [
  ...["v1", "v2", "b1", "b2", "missing"].flatMap((flagKey) =>
    [
      { plan: "pro", age: "30", org: "acme-1" },
      { plan: "free", age: "12" },
      { plan: "team", age: "x", org: "other" },
      {},
    ].flatMap((context) => [
      { flagKey, entityId: "user-7", context },
      { flagKey, entityId: "user-8", context, requestId: "r" },
    ]),
  ),
  { flagKey: "b1", namespaceKey: "other", entityId: "user-9" },
  { flagKey: "", entityId: "user-9" },
];

/** A call's answer, or its error's class and message. */
function outcome(call: () => unknown): unknown {
  try {
    return call();
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe("createResponder", () => {
  it("resolves as the single calls answer, without the envelope, and fails with the same errors", () => {
    const evaluate = responder();
    const answers = new Set<string>();
    // Often enough for the segments to be compiled: both ways must answer alike.
    for (let round = 0; round <= COMPILE_AFTER; round++) {
      for (const request of REQUESTS) {
        const boolean = ["b1", "b2"].includes(request.flagKey);
        const resolved = outcome(() =>
          boolean ? evaluate.resolveBoolean(request) : evaluate.resolveVariant(request),
        );
        const full = outcome(() => {
          const { requestId, requestDurationMillis, timestamp, ...answer } = boolean
            ? evaluate.boolean(request)
            : evaluate.variant(request);
          assert.equal(requestId, request.requestId ?? "");
          return answer;
        });
        assert.deepEqual(resolved, full, JSON.stringify(request));
        // The same fields in the same order as Flipt's response, less the envelope.
        if (!("error" in (resolved as object)))
          assert.deepEqual(Object.keys(resolved as object), Object.keys(full as object));
        answers.add(JSON.stringify(resolved));
      }
    }
    const all = [...answers].join("\n");
    for (const expected of [
      "MATCH_EVALUATION_REASON",
      "DEFAULT_EVALUATION_REASON",
      NotFoundError.name,
      ValidationError.name,
    ]) {
      assert.ok(all.includes(expected), `some request answers ${expected}`);
    }
  });

  it("answers the same where code generation is disallowed (the segments are then never compiled)", async () => {
    const script = `
      import { buildSnapshot } from ${JSON.stringify(new URL("../storage/build-snapshot.ts", import.meta.url).href)};
      import { createResponder } from ${JSON.stringify(new URL("./create-responder.ts", import.meta.url).href)};
      import { compileSegment } from ${JSON.stringify(new URL("../engine/segment-code.ts", import.meta.url).href)};
      const build = buildSnapshot({ revision: "r", files: [{ path: "features.yaml", bytes: new TextEncoder().encode(${JSON.stringify(FEATURES)}) }] }, new Date());
      const evaluate = createResponder(() => build.snapshot);
      const answers = [];
      for (let round = 0; round <= ${COMPILE_AFTER}; round++) {
        for (const request of ${JSON.stringify(REQUESTS)}) {
          try { answers.push(evaluate.resolveBoolean(request)); } catch (error) { answers.push(error.message); }
          try { answers.push(evaluate.resolveVariant(request)); } catch (error) { answers.push(error.message); }
        }
      }
      const compiled = compileSegment({ key: "s", matchAll: true, constraints: [] }) !== undefined;
      process.stdout.write(JSON.stringify({ compiled, answers }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, [
      "--disallow-code-generation-from-strings",
      "--import",
      "tsx",
      "--input-type=module",
      "--eval",
      script,
    ]);
    const child = JSON.parse(stdout) as { compiled: boolean; answers: unknown[] };
    assert.equal(child.compiled, false);
    const evaluate = responder();
    const answers: unknown[] = [];
    for (let round = 0; round <= COMPILE_AFTER; round++) {
      for (const request of REQUESTS) {
        answers.push(outcome(() => evaluate.resolveBoolean(request)));
        answers.push(outcome(() => evaluate.resolveVariant(request)));
      }
    }
    const messages = answers.map((answer) =>
      typeof answer === "object" && answer !== null && "message" in answer ? answer.message : answer,
    );
    assert.deepEqual(child.answers, JSON.parse(JSON.stringify(messages)));
  });

  it("answers each batch item as the single call for the same request, whatever the batch shares", () => {
    const evaluate = responder();
    const contexts = [
      { plan: "pro", age: "30", org: "acme-1" },
      { plan: "free", age: "12" },
      { plan: "team", age: "x", org: "other" },
    ];
    const requests: EvaluationRequest[] = [];
    // Runs of items for one entity in one context object, broken by other entities, contexts and missing flags.
    for (const [index, context] of [...contexts, ...contexts].entries()) {
      for (const entityId of ["user-7", "user-8"]) {
        for (const flagKey of ["v1", "b1", "v2", "missing", "b2", "v1"]) {
          requests.push({ flagKey, entityId, context, requestId: `${index}` });
        }
      }
      requests.push({ flagKey: "v1", entityId: "user-9", context: { ...context } });
      requests.push({ flagKey: "b1", namespaceKey: "other", entityId: "user-9", context });
    }
    const batch = evaluate.batch(requests, { requestId: "batch" });
    assert.equal(batch.requestId, "batch");
    assert.equal(batch.responses.length, requests.length);
    for (const [index, request] of requests.entries()) {
      assert.deepEqual(
        item(batch.responses[index] as EvaluationResponse),
        single(evaluate, request),
        `${index}`,
      );
    }
    // Every answer carries the batch's duration and finishing time.
    const answers = batch.responses.flatMap(
      (response): { requestDurationMillis: number; timestamp: string }[] =>
        response.type === "BOOLEAN_EVALUATION_RESPONSE_TYPE"
          ? [response.booleanResponse]
          : response.type === "VARIANT_EVALUATION_RESPONSE_TYPE"
            ? [response.variantResponse]
            : [],
    );
    assert.ok(answers.length > 0);
    for (const answer of answers) {
      assert.equal(answer.requestDurationMillis, batch.requestDurationMillis);
      assert.equal(answer.timestamp, answers[0]?.timestamp);
    }
  });

  it("answers a call made from inside another, through a context's getter, for its own request", () => {
    const evaluate = responder();
    const inner: EvaluationRequest = { flagKey: "b2", entityId: "user-8", context: { age: "30" } };
    let nested: unknown;
    let reads = 0;
    const context = {
      // Read once when the context is checked, then by the engine: the nested call comes mid-evaluation.
      get plan() {
        reads += 1;
        if (reads === 2) nested = single(evaluate, inner);
        return "pro";
      },
      age: "12",
    };
    const outer = single(evaluate, { flagKey: "v1", entityId: "user-7", context });
    assert.deepEqual(
      outer,
      single(evaluate, { flagKey: "v1", entityId: "user-7", context: { plan: "pro", age: "12" } }),
    );
    assert.equal(reads, 2);
    assert.deepEqual(nested, single(evaluate, inner));
    assert.equal((nested as { reason: string }).reason, "MATCH_EVALUATION_REASON");
  });
});
