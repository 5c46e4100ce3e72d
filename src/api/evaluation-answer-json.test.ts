import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, type Message, toJson } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  BooleanEvaluationResponseSchema,
  EvaluationReason,
  EvaluationRequestSchema,
  VariantEvaluationResponseSchema,
} from "../gen/flipt/evaluation/evaluation_pb.js";
import { answerJson } from "./evaluation-answer-json.js";

/** What protobuf-es writes, the reference: its JSON object as `JSON.stringify` prints it. */
function reference(schema: DescMessage, message: Message, alwaysEmitImplicit: boolean): string {
  return JSON.stringify(toJson(schema, message, { alwaysEmitImplicit }));
}

const STRINGS = [
  "",
  "flag-0001",
  'quote " and \\ backslash',
  "line\nbreak\ttab\u0001",
  "ünïcödé 🚀",
  "\ud800 lone",
  "</script>",
];
const DOUBLES = [
  0,
  -0,
  1,
  0.1 + 0.2,
  1e-7,
  123456.789,
  1e21,
  -5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
const REASONS = [
  EvaluationReason.UNKNOWN_EVALUATION_REASON,
  EvaluationReason.FLAG_DISABLED_EVALUATION_REASON,
  EvaluationReason.MATCH_EVALUATION_REASON,
  EvaluationReason.DEFAULT_EVALUATION_REASON,
  99 as EvaluationReason,
];
const KEYS = [[], ["beta"], ["a", "b\u00e9", 'c"']];
const ms = (iso: string) => Date.parse(iso);
/** Timestamps of every precision ProtoJSON writes (none, ms, µs, ns), at the ends of its range, and none at all. */
const TIMESTAMPS: (Timestamp | undefined)[] = [
  undefined,
  create(TimestampSchema, { seconds: 1_796_595_460n, nanos: 0 }),
  create(TimestampSchema, { seconds: 1_796_595_460n, nanos: 466_000_000 }),
  create(TimestampSchema, { seconds: 1_796_595_460n, nanos: 466_123_000 }),
  create(TimestampSchema, { seconds: 1_796_595_461n, nanos: 466_123_456 }),
  create(TimestampSchema, { seconds: 0n, nanos: 1 }),
  create(TimestampSchema, { seconds: BigInt(ms("0001-01-01T00:00:00Z") / 1000), nanos: 0 }),
  create(TimestampSchema, { seconds: BigInt(ms("9999-12-31T23:59:59Z") / 1000), nanos: 999_999_999 }),
  create(TimestampSchema, { seconds: -1n, nanos: 500_000_000 }),
];

/** Cycles through the value lists so that every value meets the others, without their full product. */
function pick<T>(values: readonly T[], index: number, stride: number): T {
  return values[Math.floor(index / stride) % values.length] as T;
}

describe("answerJson", () => {
  it("writes Boolean answers as protobuf-es's toJson does, with and without default values", () => {
    let compared = 0;
    for (let index = 0; index < 600; index++) {
      const timestamp = pick(TIMESTAMPS, index, 1);
      const message = create(BooleanEvaluationResponseSchema, {
        enabled: index % 2 === 0,
        reason: pick(REASONS, index, 2),
        requestId: pick(STRINGS, index, 3),
        requestDurationMillis: pick(DOUBLES, index, 5),
        ...(timestamp === undefined ? {} : { timestamp }),
        flagKey: pick(STRINGS, index, 7),
        segmentKeys: pick(KEYS, index, 11),
      });
      for (const all of [true, false]) {
        assert.equal(answerJson(message, all), reference(BooleanEvaluationResponseSchema, message, all));
        compared++;
      }
    }
    assert.equal(compared, 1200);
  });

  it("writes Variant answers as protobuf-es's toJson does, with and without default values", () => {
    for (let index = 0; index < 600; index++) {
      const timestamp = pick(TIMESTAMPS, index, 1);
      const message = create(VariantEvaluationResponseSchema, {
        match: index % 2 === 1,
        segmentKeys: pick(KEYS, index, 2),
        reason: pick(REASONS, index, 3),
        variantKey: pick(STRINGS, index, 5),
        variantAttachment: index % 4 === 0 ? '{"a":[1,2,{"b":null}]}' : pick(STRINGS, index, 7),
        requestId: pick(STRINGS, index, 11),
        requestDurationMillis: pick(DOUBLES, index, 13),
        ...(timestamp === undefined ? {} : { timestamp }),
        flagKey: pick(STRINGS, index, 17),
      });
      for (const all of [true, false]) {
        assert.equal(answerJson(message, all), reference(VariantEvaluationResponseSchema, message, all));
      }
    }
  });

  it("leaves timestamps ProtoJSON refuses to toJson, and other messages too", () => {
    for (const timestamp of [
      create(TimestampSchema, { seconds: BigInt(ms("0001-01-01T00:00:00Z") / 1000) - 1n, nanos: 0 }),
      create(TimestampSchema, { seconds: BigInt(ms("9999-12-31T23:59:59Z") / 1000) + 1n, nanos: 0 }),
      create(TimestampSchema, { seconds: 1n, nanos: -1 }),
      create(TimestampSchema, { seconds: 1n, nanos: 1_000_000_000 }),
    ]) {
      const message = create(BooleanEvaluationResponseSchema, { timestamp });
      assert.equal(answerJson(message, true), undefined);
      assert.throws(() => toJson(BooleanEvaluationResponseSchema, message));
    }
    assert.equal(answerJson(create(EvaluationRequestSchema, { flagKey: "f" }), true), undefined);
  });
});
