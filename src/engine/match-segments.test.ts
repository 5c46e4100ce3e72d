import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evalConstraint, evalSegment, segmentSet } from "../../test/helpers/eval-model.js";
import type { EvaluationInput } from "./evaluation-result.js";
import { matchSegment, matchSegments, setKeys, UNKNOWN_KEYS, UNKNOWN_TYPE } from "./match-segments.js";
import { newSubject } from "./subject.js";

const constraint = evalConstraint;

const isBar = constraint("STRING_COMPARISON_TYPE", "foo", "eq", "bar");
const isAdmin = constraint("BOOLEAN_COMPARISON_TYPE", "admin", "true");
const badNumber = constraint("NUMBER_COMPARISON_TYPE", "age", "present");
const unknown = constraint("UNKNOWN_COMPARISON_TYPE", "x", "eq", "y");

const segment = evalSegment;

function input(context: Record<string, string>, entityId = "entity"): EvaluationInput {
  return { flagKey: "flag", entityId, context };
}

describe("matchSegment", () => {
  it("ALL needs every constraint, ANY one; no constraints always match", () => {
    assert.equal(
      matchSegment(segment("s", true, isBar, isAdmin), input({ foo: "bar", admin: "true" })),
      true,
    );
    assert.equal(matchSegment(segment("s", true, isBar, isAdmin), input({ foo: "bar" })), false);
    assert.equal(matchSegment(segment("s", false, isBar, isAdmin), input({ admin: "1" })), true);
    assert.equal(matchSegment(segment("s", false, isBar, isAdmin), input({ admin: "yes" })), false);
    assert.equal(matchSegment(segment("s", true), input({})), true);
    assert.equal(matchSegment(segment("s", false), input({})), true);
  });

  it("short-circuits before an unknown type: ALL on a non-match, ANY on a match", () => {
    assert.equal(matchSegment(segment("s", true, isBar, unknown), input({})), false);
    assert.equal(matchSegment(segment("s", true, isBar, unknown), input({ foo: "bar" })), UNKNOWN_TYPE);
    assert.equal(matchSegment(segment("s", false, isBar, unknown), input({ foo: "bar" })), true);
    assert.equal(matchSegment(segment("s", false, isBar, unknown), input({})), UNKNOWN_TYPE);
  });

  it("counts a value that does not parse as a non-match", () => {
    const gt = constraint("NUMBER_COMPARISON_TYPE", "age", "gt", "18");
    assert.equal(matchSegment(segment("s", false, gt, isBar), input({ age: "abc", foo: "bar" })), true);
    assert.equal(matchSegment(segment("s", true, gt, isBar), input({ age: "abc", foo: "bar" })), false);
    assert.equal(matchSegment(segment("s", true, badNumber), input({ age: " " })), false);
  });

  it("reads missing and inherited context keys as empty", () => {
    const empty = constraint("STRING_COMPARISON_TYPE", "constructor", "empty");
    assert.equal(matchSegment(segment("s", true, empty), input({})), true);
    const proto = constraint("STRING_COMPARISON_TYPE", "__proto__", "notempty");
    assert.equal(matchSegment(segment("s", true, proto), input({})), false);
  });

  it("compares ENTITY_ID constraints with the entity id, ignoring the property", () => {
    const entity = constraint("ENTITY_ID_COMPARISON_TYPE", "whatever", "eq", "user@flipt.io");
    assert.equal(
      matchSegment(segment("s", true, entity), input({ whatever: "nope" }, "user@flipt.io")),
      true,
    );
    assert.equal(matchSegment(segment("s", true, entity), input({ whatever: "user@flipt.io" }, "x")), false);
  });
});

describe("matchSegments", () => {
  const bar = segment("bar", true, isBar);
  const admin = segment("admin", true, isAdmin);

  it("OR returns the matched keys, null when none", () => {
    assert.deepEqual(matchSegments(segmentSet("OR_SEGMENT_OPERATOR", [bar, admin]), input({ admin: "t" })), [
      "admin",
    ]);
    assert.equal(matchSegments(segmentSet("OR_SEGMENT_OPERATOR", [bar, admin]), input({})), null);
    assert.equal(matchSegments(segmentSet("OR_SEGMENT_OPERATOR", []), input({})), null);
  });

  it("AND needs every segment; an empty AND set matches with no keys", () => {
    const both = input({ foo: "bar", admin: "true" });
    assert.deepEqual(matchSegments(segmentSet("AND_SEGMENT_OPERATOR", [bar, admin]), both), ["bar", "admin"]);
    assert.equal(
      matchSegments(segmentSet("AND_SEGMENT_OPERATOR", [bar, admin]), input({ foo: "bar" })),
      null,
    );
    assert.deepEqual(matchSegments(segmentSet("AND_SEGMENT_OPERATOR", []), input({})), []);
  });

  it("keeps matched keys in listed order whichever segments miss", () => {
    const third = segment("third", true);
    const set = segmentSet("OR_SEGMENT_OPERATOR", [bar, admin, third]);
    assert.deepEqual(matchSegments(set, input({ foo: "bar", admin: "t" })), ["bar", "admin", "third"]);
    assert.deepEqual(matchSegments(set, input({ foo: "bar" })), ["bar", "third"]);
    assert.deepEqual(matchSegments(set, input({ admin: "t" })), ["admin", "third"]);
    assert.deepEqual(matchSegments(segmentSet("OR_SEGMENT_OPERATOR", [bar, admin]), input({ foo: "bar" })), [
      "bar",
    ]);
  });

  it("answers a full match with the set's own keys, frozen so that no caller can change them", () => {
    const set = segmentSet("AND_SEGMENT_OPERATOR", [bar, admin]);
    const keys = matchSegments(set, input({ foo: "bar", admin: "true" }));
    assert.equal(keys, set.keys);
    assert.ok(Object.isFrozen(keys));
  });

  it("evaluates every segment, so an unknown type anywhere is an error", () => {
    const broken = segment("broken", true, unknown);
    assert.equal(
      matchSegments(segmentSet("OR_SEGMENT_OPERATOR", [bar, broken]), input({ foo: "bar" })),
      UNKNOWN_TYPE,
    );
  });

  it("answers the engine's form, setKeys, with the UNKNOWN_KEYS sentinel for an unknown type", () => {
    const broken = segment("broken", true, unknown);
    const subject = () => newSubject("entity", { foo: "bar" }, false);
    assert.equal(setKeys(segmentSet("OR_SEGMENT_OPERATOR", [bar, broken]), subject()), UNKNOWN_KEYS);
    assert.equal(setKeys(segmentSet("OR_SEGMENT_OPERATOR", [broken]), subject()), UNKNOWN_KEYS);
    assert.deepEqual(setKeys(segmentSet("OR_SEGMENT_OPERATOR", [bar]), subject()), ["bar"]);
    assert.equal(setKeys(segmentSet("AND_SEGMENT_OPERATOR", [bar, admin]), subject()), null);
  });
});
