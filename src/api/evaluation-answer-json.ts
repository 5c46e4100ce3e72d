import type { Message } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type BooleanEvaluationResponse,
  EvaluationReasonSchema,
  type VariantEvaluationResponse,
} from "../gen/flipt/evaluation/evaluation_pb.js";

/** Each reason's JSON value (its name, quoted) by number; a number not in the enum is written as itself. */
const REASONS = new Map(EvaluationReasonSchema.values.map((value) => [value.number, `"${value.jsonName}"`]));

/** The range ProtoJSON gives a timestamp (inclusive), in ms: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const TIMESTAMP_MS_MIN = Date.parse("0001-01-01T00:00:00Z");
const TIMESTAMP_MS_MAX = Date.parse("9999-12-31T23:59:59Z");

/**
 * A Boolean or Variant answer as JSON text, written field by field: the text `JSON.stringify` makes of protobuf-es's
 * `toJson(schema, message, { alwaysEmitImplicit })`, character for character (fields in number order, JSON names,
 * defaults written or left out alike, reasons by name, durations as numbers or "NaN"/"Infinity", timestamps in RFC
 * 3339 with 0, 3, 6 or 9 fractional digits), without building the intermediate object: the evaluation path's answers
 * (REST, Connect JSON). `undefined` for any other message, and for a timestamp ProtoJSON refuses, which the caller
 * hands to `toJson` (which then fails as it always did).
 */
export function answerJson(message: Message, alwaysEmitImplicit: boolean): string | undefined {
  switch (message.$typeName) {
    case "flipt.evaluation.BooleanEvaluationResponse":
      return booleanJson(message as BooleanEvaluationResponse, alwaysEmitImplicit);
    case "flipt.evaluation.VariantEvaluationResponse":
      return variantJson(message as VariantEvaluationResponse, alwaysEmitImplicit);
    default:
      return undefined;
  }
}

function booleanJson(answer: BooleanEvaluationResponse, all: boolean): string | undefined {
  const timestamp = timestampField(answer);
  if (timestamp === undefined) return undefined;
  let json = "";
  if (answer.enabled || all) json += `,"enabled":${answer.enabled}`;
  json += reasonField(answer.reason, all);
  json += stringField("requestId", answer.requestId, all);
  json += doubleField("requestDurationMillis", answer.requestDurationMillis, all);
  json += timestamp;
  json += stringField("flagKey", answer.flagKey, all);
  json += listField("segmentKeys", answer.segmentKeys, all);
  return `{${json.slice(1)}}`;
}

function variantJson(answer: VariantEvaluationResponse, all: boolean): string | undefined {
  const timestamp = timestampField(answer);
  if (timestamp === undefined) return undefined;
  let json = "";
  if (answer.match || all) json += `,"match":${answer.match}`;
  json += listField("segmentKeys", answer.segmentKeys, all);
  json += reasonField(answer.reason, all);
  json += stringField("variantKey", answer.variantKey, all);
  json += stringField("variantAttachment", answer.variantAttachment, all);
  json += stringField("requestId", answer.requestId, all);
  json += doubleField("requestDurationMillis", answer.requestDurationMillis, all);
  json += timestamp;
  json += stringField("flagKey", answer.flagKey, all);
  return `{${json.slice(1)}}`;
}

/*
 * Each field's text starts with its comma; the caller drops the first. A field with implicit presence is left out
 * at its zero value unless every field is asked for (a double's zero is +0 only: -0 is written, as `toJson` does).
 */

function reasonField(reason: number, all: boolean): string {
  if (reason === 0 && !all) return "";
  return `,"reason":${REASONS.get(reason) ?? reason}`;
}

function stringField(name: string, value: string, all: boolean): string {
  return value === "" && !all ? "" : `,"${name}":${JSON.stringify(value)}`;
}

function doubleField(name: string, value: number, all: boolean): string {
  if (Object.is(value, 0) && !all) return "";
  const json = Number.isNaN(value)
    ? '"NaN"'
    : value === Number.POSITIVE_INFINITY
      ? '"Infinity"'
      : value === Number.NEGATIVE_INFINITY
        ? '"-Infinity"'
        : JSON.stringify(value);
  return `,"${name}":${json}`;
}

function listField(name: string, values: readonly string[], all: boolean): string {
  return values.length === 0 && !all ? "" : `,"${name}":${JSON.stringify(values)}`;
}

/**
 * The timestamp field's text: "" when the message has none (a message field is written only when set, whatever
 * defaults are asked for), `undefined` when ProtoJSON refuses it (out of range, or nanos outside 0..999 999 999).
 */
function timestampField(answer: { timestamp?: Timestamp | undefined }): string | undefined {
  const timestamp = answer.timestamp;
  if (timestamp === undefined || !Object.hasOwn(answer, "timestamp")) return "";
  const text = timestampJson(timestamp);
  return text === undefined ? undefined : `,"timestamp":"${text}"`;
}

/** The last second formatted (`YYYY-MM-DDTHH:MM:SS`): answers come many to a second. */
let lastSeconds: bigint | undefined;
let lastSecond = "";

function timestampJson(timestamp: Timestamp): string | undefined {
  const { seconds, nanos } = timestamp;
  const ms = Number(seconds) * 1000;
  if (!(ms >= TIMESTAMP_MS_MIN && ms <= TIMESTAMP_MS_MAX)) return undefined;
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return undefined;
  if (seconds !== lastSeconds) {
    // Within ProtoJSON's range, toISOString is always `YYYY-MM-DDTHH:MM:SS.000Z` (whole seconds).
    lastSecond = new Date(ms).toISOString().slice(0, 19);
    lastSeconds = seconds;
  }
  if (nanos === 0) return `${lastSecond}Z`;
  const digits = String(nanos + 1_000_000_000).slice(1);
  const fraction = digits.endsWith("000000")
    ? digits.slice(0, 3)
    : digits.endsWith("000")
      ? digits.slice(0, 6)
      : digits;
  return `${lastSecond}.${fraction}Z`;
}
