import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { ValidationIssue } from "../domain/errors.js";
import type { Flag, Segment } from "../domain/flag-state.js";
import type { FeaturesDocument } from "./features-document.js";
import { DEFAULT_FEATURES_LIMITS, type FeaturesLimits, MAX_NESTING_DEPTH } from "./limits.js";
import { featuresFileSyntax, parseFeatures } from "./parse-features.js";

const FIXTURES = new URL("../../test/fixtures/features/", import.meta.url);

function fixture(path: string): string {
  return readFileSync(new URL(path, FIXTURES), "utf8");
}

/** Parses a fixture that must be valid and returns its documents. */
function valid(path: string): FeaturesDocument[] {
  const parsed = parseFeatures(fixture(path), path);
  assert.deepEqual(parsed.issues, [], `${path} should be valid`);
  return parsed.documents;
}

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1);
  return items[0] as T;
}

function flag(document: FeaturesDocument | undefined, key: string): Flag {
  const found = document?.flags.find((candidate) => candidate.key === key);
  assert.ok(found, `flag ${key}`);
  return found;
}

function segment(document: FeaturesDocument | undefined, key: string): Segment {
  const found = document?.segments.find((candidate) => candidate.key === key);
  assert.ok(found, `segment ${key}`);
  return found;
}

/** The issues as `line path: message` lines, for compact comparisons. */
function summary(issues: readonly ValidationIssue[]): string[] {
  return issues.map((issue) => `${issue.line} ${issue.path}: ${issue.message}`);
}

function parseText(
  text: string,
  file = "features.yaml",
  limits: FeaturesLimits = DEFAULT_FEATURES_LIMITS,
): ReturnType<typeof parseFeatures> {
  return parseFeatures(text, file, limits);
}

describe("parseFeatures()", () => {
  describe("valid files, one per version", () => {
    it("reads every field of a 1.0 document", () => {
      const document = only(valid("valid/v1.0.yaml"));
      assert.equal(document.version, "1.0");
      assert.equal(document.versionDeclared, true);
      assert.deepEqual(document.namespace, { key: "v1_0" });
      assert.equal(document.namespaceForm, "string");
      assert.equal(document.line, 2);
      const color = flag(document, "color");
      assert.equal(color.type, "VARIANT_FLAG_TYPE");
      assert.equal(color.description, "Button color");
      assert.equal(color.enabled, true);
      assert.deepEqual(color.variants[0], {
        key: "red",
        name: "Red",
        description: "A red button",
        attachment: { hex: "#ff0000", weights: [1, 2.5], nested: { deep: { deeper: null } } },
      });
      assert.deepEqual(color.variants[1]?.attachment, ["blue", 1, true, null]);
      assert.deepEqual(color.rules, [
        {
          segment: { keys: ["internal"], operator: "OR_SEGMENT_OPERATOR" },
          distributions: [
            { variant: "red", rollout: 30 },
            { variant: "blue", rollout: 70 },
          ],
        },
        { segment: { keys: ["everyone"], operator: "OR_SEGMENT_OPERATOR" }, distributions: [] },
      ]);
      assert.deepEqual(flag(document, "minimal"), {
        key: "minimal",
        name: "Minimal",
        type: "VARIANT_FLAG_TYPE",
        enabled: false,
        variants: [],
        rules: [],
        rollouts: [],
      });
      const internal = segment(document, "internal");
      assert.equal(internal.matchType, "ANY_MATCH_TYPE");
      assert.deepEqual(
        internal.constraints.map((constraint) => [constraint.type, constraint.operator, constraint.value]),
        [
          ["STRING_COMPARISON_TYPE", "suffix", "@example.com"],
          ["ENTITY_ID_COMPARISON_TYPE", "isoneof", '["u1","u2"]'],
          ["NUMBER_COMPARISON_TYPE", "gte", "18"],
          ["BOOLEAN_COMPARISON_TYPE", "true", ""],
          ["DATETIME_COMPARISON_TYPE", "lt", "2024-01-01T00:00:00Z"],
        ],
      );
      assert.equal(internal.constraints[0]?.description, "company email");
    });

    it("reads flag types and segment and threshold rollouts at 1.1", () => {
      const document = only(valid("valid/v1.1.yaml"));
      assert.deepEqual(
        flag(document, "checkout").variants.map((variant) => variant.key),
        ["on", "off"],
      );
      const darkMode = flag(document, "dark-mode");
      assert.equal(darkMode.type, "BOOLEAN_FLAG_TYPE");
      assert.deepEqual(darkMode.rollouts, [
        {
          description: "beta users get it",
          segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR", value: true },
        },
        { segment: { keys: ["beta"], operator: "AND_SEGMENT_OPERATOR", value: false } },
        { threshold: { percentage: 50.5, value: true } },
        { threshold: { percentage: 10, value: false } },
        {},
      ]);
    });

    it("reads multi-segment references at 1.2", () => {
      const document = only(valid("valid/v1.2.yaml"));
      assert.deepEqual(
        flag(document, "banner").rules.map((rule) => rule.segment),
        [
          { keys: ["eu", "beta"], operator: "AND_SEGMENT_OPERATOR" },
          { keys: ["eu"], operator: "OR_SEGMENT_OPERATOR" },
        ],
      );
      assert.deepEqual(flag(document, "eu-launch").rollouts[0]?.segment, {
        keys: ["eu", "beta"],
        operator: "OR_SEGMENT_OPERATOR",
        value: true,
      });
    });

    it("reads metadata and keeps the last default variant at 1.3", () => {
      const pricing = flag(only(valid("valid/v1.3.yaml")), "pricing");
      assert.deepEqual(pricing.metadata, {
        team: "growth",
        priority: 2,
        experimental: true,
        ratio: 0.25,
        owners: ["ana", "bo"],
        links: { jira: "GROW-1" },
      });
      assert.equal(pricing.defaultVariant, "fallback");
      assert.deepEqual(
        pricing.variants.map((variant) => variant.key),
        ["cheap", "pricey", "fallback"],
      );
    });

    it("reads namespace objects and each document of a 1.4 stream", () => {
      const [first, second] = valid("valid/v1.4.yaml");
      assert.deepEqual(first?.namespace, {
        key: "v1_4",
        name: "Version 1.4",
        description: "Namespace details",
      });
      assert.equal(first?.namespaceForm, "object");
      assert.equal(first?.line, 2);
      assert.deepEqual(second?.namespace, { key: "v1_4_other" });
      assert.equal(second?.line, 13);
    });

    it("reads null descriptions as none at 1.5", () => {
      const document = only(valid("valid/v1.5.yaml"));
      assert.deepEqual(document.namespace, { key: "v1_5", name: "Version 1.5" });
      const nulls = flag(document, "nulls");
      assert.equal("description" in nulls, false);
      assert.deepEqual(nulls.variants, [{ key: "v" }]);
      assert.deepEqual(nulls.rollouts, [{ threshold: { percentage: 1, value: false } }]);
      assert.deepEqual(segment(document, "s"), {
        key: "s",
        name: "S",
        matchType: "ANY_MATCH_TYPE",
        constraints: [{ type: "STRING_COMPARISON_TYPE", property: "p", operator: "empty", value: "" }],
      });
    });

    it("reads list values as JSON array text at 1.6", () => {
      const listed = segment(only(valid("valid/v1.6.yaml")), "listed");
      assert.deepEqual(
        listed.constraints.map((constraint) => constraint.value),
        ['["DE","FR","123"]', "[18,21.5,65]", "[]", "gold", "tin", "1.10.0"],
      );
      assert.equal(listed.constraints[5]?.type, "SEMVER_COMPARISON_TYPE");
    });

    it("reads a document without version as 1.6 and without namespace as default", () => {
      const unversioned = only(valid("valid/unversioned.yaml"));
      assert.equal(unversioned.version, "1.6");
      assert.equal(unversioned.versionDeclared, false);
      assert.equal(flag(unversioned, "flag1").defaultVariant, "variant1");
      assert.deepEqual(flag(unversioned, "flag1").rules[0]?.segment, {
        keys: ["segment2"],
        operator: "OR_SEGMENT_OPERATOR",
      });
      const zero = only(valid("valid/zero-values.yaml"));
      assert.deepEqual(zero.namespace, { key: "default" });
      assert.equal(zero.namespaceForm, "absent");
    });

    it("keeps zero values", () => {
      const document = only(valid("valid/zero-values.yaml"));
      assert.deepEqual(flag(document, "zero").rules[0]?.distributions, [{ variant: "a", rollout: 0 }]);
      assert.deepEqual(flag(document, "zero-bool").rollouts, [
        { threshold: { percentage: 0, value: false } },
        { threshold: { percentage: 0, value: false } },
        { segment: { keys: ["s"], operator: "OR_SEGMENT_OPERATOR", value: false } },
      ]);
    });

    it("reads a stream with two namespaces and one with the same namespace twice", () => {
      const [a, b] = valid("valid/stream-two-namespaces.yaml");
      assert.equal(a?.namespace.key, "team-a");
      assert.deepEqual(b?.namespace, { key: "team-b", name: "Team B" });
      const [first, second] = valid("valid/stream-same-namespace.yaml");
      assert.equal(first?.namespace.key, "merged");
      assert.equal(second?.namespace.key, "merged");
      assert.equal(second?.line, 17);
    });

    it("normalises the 1.5 JSON-string and 1.6 list forms of isoneof identically", () => {
      const old = only(valid("isoneof/features_1_5.yaml"));
      const current = only(valid("isoneof/features_1_6.yaml"));
      const values = (document: FeaturesDocument) =>
        segment(document, "orgs").constraints.map((c) => c.value);
      assert.deepEqual(values(old), ['["org-a","org-b","org-c"]', "[18,21,65]"]);
      assert.deepEqual(values(current), values(old));
      assert.deepEqual(
        flag(current, "toggle").variants.map((variant) => variant.key),
        ["on", "off"],
      );
      assert.deepEqual(current.flags, old.flags);
    });
  });

  describe("JSON", () => {
    it("reads a .json file with the same rules as YAML", () => {
      const document = only(valid("valid/features.json"));
      assert.deepEqual(document.namespace, { key: "json", name: "JSON" });
      const jsonFlag = flag(document, "json-flag");
      assert.equal(jsonFlag.defaultVariant, "a");
      assert.deepEqual(jsonFlag.metadata, { team: "api", count: 3 });
      assert.deepEqual(jsonFlag.variants[0]?.attachment, { n: 1.5, s: "x" });
      assert.deepEqual(
        segment(document, "json-seg").constraints.map((c) => c.value),
        ["[1,2,3]", "2024-01-01"],
      );
      assert.equal(document.lines?.get("flags[0].rules[0].segment"), 17);
    });

    it("reads concatenated JSON values as a stream", () => {
      const [one, two] = valid("valid/stream.features.json");
      assert.equal(one?.namespace.key, "json-one");
      assert.equal(two?.namespace.key, "json-two");
      assert.equal(two?.line, 2);
      assert.deepEqual(summary(parseText('{"namespace":"a"}{"namespace":"b"}', "x.json").issues), []);
    });

    it("reports a JSON syntax error with its line and keeps the values before it", () => {
      const parsed = parseFeatures(fixture("invalid/broken.json"), "broken.json");
      assert.deepEqual(summary(parsed.issues), ['4 : invalid JSON: unexpected ","']);
      assert.equal(parsed.issues[0]?.file, "broken.json");
      assert.deepEqual(
        parsed.documents.map((document) => document.namespace.key),
        ["fine"],
      );
    });

    it("rejects JSON extensions of YAML", () => {
      assert.deepEqual(summary(parseText("{namespace: x}", "features.json").issues), [
        '1 : invalid JSON: expected a string key, found "n"',
      ]);
      assert.deepEqual(summary(parseText('{"a": 1, "a": 2}', "features.json").issues), [
        '1 : invalid JSON: duplicate key "a"',
      ]);
    });
  });

  describe("invalid files", () => {
    it("reports a distribution rollout of 110 with its line", () => {
      const parsed = parseFeatures(fixture("invalid/rollout-110.yaml"), "invalid/rollout-110.yaml");
      assert.deepEqual(parsed.documents, []);
      assert.deepEqual(parsed.issues, [
        {
          path: "flags[0].rules[1].distributions[0].rollout",
          message: "rollout 110 is out of range: it must be between 0 and 100",
          file: "invalid/rollout-110.yaml",
          line: 22,
        },
      ]);
    });

    it("reports the line within the whole file for a later document of a stream", () => {
      const parsed = parseFeatures(fixture("invalid/rollout-110-stream.yaml"), "stream.yaml");
      assert.deepEqual(summary(parsed.issues), [
        "59 flags[0].rules[1].distributions[0].rollout: rollout 110 is out of range: it must be between 0 and 100",
      ]);
      assert.deepEqual(
        parsed.documents.map((document) => document.namespace.key),
        ["default"],
      );
    });

    it("reports every schema error with its line and path", () => {
      const parsed = parseFeatures(fixture("invalid/schema-errors.yaml"), "schema-errors.yaml");
      assert.deepEqual(parsed.documents, []);
      assert.ok(parsed.issues.every((issue) => issue.file === "schema-errors.yaml"));
      assert.deepEqual(summary(parsed.issues), [
        '4 flgs: unknown key "flgs" in a features document (allowed: version, namespace, flags, segments)',
        '8 flags[0].enable: unknown key "enable" in a flag (allowed: key, name, type, description, enabled, metadata, variants, rules, rollouts)',
        '10 namespace: namespace "bad namespace" must match ^[-_,A-Za-z0-9]+$',
        '12 flags[0].key: key "has space" must match ^[-_,A-Za-z0-9]+$',
        "16 segments[0].name: name must be a non-empty single-line string",
        "20 flags[0].name: name is required",
        "21 flags[1].key: key is required",
        '22 flags[1].type: type must be one of VARIANT_FLAG_TYPE, BOOLEAN_FLAG_TYPE, got "SOMETHING_ELSE"',
        '26 segments[0].match_type: match_type must be one of ANY_MATCH_TYPE, ALL_MATCH_TYPE, got "ANY"',
        "29 segments[0].constraints[0].property: property must be a non-empty single-line string",
        '30 segments[0].constraints[0].operator: operator "gt" is not valid for STRING_COMPARISON_TYPE (valid: eq, neq, empty, notempty, prefix, suffix, contains, notcontains, isoneof, isnotoneof)',
        "34 segments[0].constraints[1].value: value must be a string, got the number 30 (quote it)",
        '40 flags[0].enabled: enabled must be true or false, got the string "yes"',
        "42 flags[0].rollouts[0]: a rollout has a segment or a threshold, not both",
        "44 flags[0].rollouts[1].segment.key: a rollout's segment takes key or keys, not both",
        '45 flags[0].rollouts[2].threshold.percentage: percentage must be a finite number, got the string "50"',
        '50 flags[1].variants[0].attachment: attachment must be a mapping, a list or null, got the string "plain string" (wrap a plain value, e.g. {value: ...})',
        "52 flags[1].rules[0].segment: segment is required",
        "53 flags[1].rules[1].segment.key: a rule's segment takes keys: [...] (or a plain segment key); key: is only for rollouts",
        '55 flags[1].rules[2].rank: rank must be an integer, got the string "first"',
        "58 flags[1].rules[2].distributions[0].rollout: rollout -1 is out of range: it must be between 0 and 100",
      ]);
    });

    it("reports fields used before the version that introduced them", () => {
      const parsed = parseFeatures(fixture("invalid/version-gating.yaml"), "version-gating.yaml");
      assert.deepEqual(summary(parsed.issues), [
        '6 flags[0].type: type is not allowed at version "1.0"; it needs version "1.1" or later',
        '7 flags[0].rollouts: rollouts is not allowed at version "1.0"; it needs version "1.1" or later',
        '13 flags[0].metadata: metadata is not allowed at version "1.2"; it needs version "1.3" or later',
        '16 flags[0].variants[0].default: default is not allowed at version "1.2"; it needs version "1.3" or later',
        `24 segments[0].constraints[0].value: a list value for isoneof needs version "1.6" or later; at version "1.5" write a JSON array string such as '["a","b"]'`,
        '32 segments[0].constraints[0].value: value for isoneof must be a list, got the string "[\\"a\\",\\"b\\"]"; a JSON array string is only read before version "1.6"',
        '33 segments[0].constraints[1].value[0]: value items for NUMBER_COMPARISON_TYPE must each be a number, got the string "1"',
        '35 version: version must be a quoted string: write version: "1.6"',
        '37 version: unsupported version "1.7" (supported: "1.0" to "1.6")',
        "42 flags[0].rollouts: rollouts are only allowed on flags with type: BOOLEAN_FLAG_TYPE",
      ]);
    });

    it("reports YAML syntax errors and duplicate keys with their lines", () => {
      const parsed = parseFeatures(fixture("invalid/syntax.yaml"), "syntax.yaml");
      assert.deepEqual(parsed.documents, []);
      assert.deepEqual(
        parsed.issues.map((issue) => issue.line),
        [5, 7],
      );
      assert.match(parsed.issues[0]?.message ?? "", /^invalid YAML: /);
      assert.equal(parsed.issues[1]?.message, 'duplicate key "namespace"');
    });

    it("stops a billion-laughs file at the alias limit, with an alias issue", () => {
      // The issue says the expansion stopped at the limit: it never builds the billion nodes.
      const parsed = parseFeatures(fixture("invalid/billion-laughs.yaml"), "laughs.yaml");
      const issue = only(parsed.issues);
      assert.equal(
        issue.message,
        `YAML aliases expand to more than ${DEFAULT_FEATURES_LIMITS.maxAliasNodes} nodes (limits.max_yaml_alias_nodes); the document looks like an alias bomb`,
      );
      assert.equal(issue.file, "laughs.yaml");
      assert.ok((issue.line ?? 0) >= 9 && (issue.line ?? 0) <= 17, `line ${issue.line}`);
    });

    it("accepts aliases and merge keys within the budget", () => {
      const text = [
        "segments:",
        "  - &base",
        "    key: a",
        "    name: A",
        "    match_type: ANY_MATCH_TYPE",
        "  - <<: *base",
        "    key: b",
      ].join("\n");
      const document = only(parseText(text).documents);
      assert.deepEqual(
        document.segments.map((s) => [s.key, s.name]),
        [
          ["a", "A"],
          ["b", "A"],
        ],
      );
    });

    it("rejects files over the size limit and nesting over the depth limit", () => {
      const big = parseText(" ".repeat(DEFAULT_FEATURES_LIMITS.maxFileBytes + 1));
      assert.equal(
        only(big.issues).message,
        "the file is larger than the 8 MiB limit for a features file (limits.max_features_file_bytes)",
      );
      const deep = `flags:\n  - key: a\n    name: A\n    metadata: ${"[".repeat(MAX_NESTING_DEPTH + 5)}${"]".repeat(MAX_NESTING_DEPTH + 5)}`;
      assert.match(only(parseText(deep).issues).message, /nesting is deeper than 100 levels/);
    });

    it("applies configured limits, at the limit and one past it, counting UTF-8 bytes", () => {
      const flag = "flags:\n  - key: a\n    name: A\n    description: ";
      const anchors = "segments:\n  - &s {key: s, name: S, match_type: ANY_MATCH_TYPE}\n";
      const aliases = (count: number) =>
        `${anchors}flags:\n${Array.from({ length: count }, (_, i) => `  - {key: f${i}, name: F, metadata: {s: *s}}\n`).join("")}`;
      const small = { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 100, maxAliasNodes: 12 };
      const room = 100 - flag.length;
      const fits = `${flag}${"x".repeat(room % 2)}${"é".repeat(Math.floor(room / 2))}`;
      assert.equal(Buffer.byteLength(fits), 100);
      assert.deepEqual(parseText(fits, "features.yaml", small).issues, []);
      assert.equal(
        only(parseText(`${fits}x`, "features.yaml", small).issues).message,
        "the file is larger than the 100-byte limit for a features file (limits.max_features_file_bytes)",
      );
      assert.deepEqual(parseText(`${fits}x`).issues, [], "the defaults, in the same process, still take it");
      // Each alias of the segment mapping adds 4 nodes: the mapping and its three values.
      const few = { ...DEFAULT_FEATURES_LIMITS, maxFileBytes: 1024 * 1024, maxAliasNodes: 8 };
      assert.deepEqual(parseText(aliases(2), "features.yaml", few).issues, []);
      assert.match(
        only(parseText(aliases(3), "features.yaml", few).issues).message,
        /^YAML aliases expand to more than 8 nodes \(limits.max_yaml_alias_nodes\)/,
      );
    });

    it("rejects unexpected extensions with Flipt's message", () => {
      assert.deepEqual(parseFeatures("", "notes.txt").issues, [
        { path: "", message: 'unexpected extension: ".txt"', file: "notes.txt", line: 1 },
      ]);
      assert.equal(featuresFileSyntax("a/features.yml"), "yaml");
      assert.equal(featuresFileSyntax("a/features"), "json");
      assert.equal(featuresFileSyntax("a.b/features.json"), "json");
    });

    it("rejects unsupported tags, scalar documents and non-string map keys", () => {
      assert.match(only(parseText("namespace: !custom x").issues).message, /unsupported YAML tag !custom/);
      assert.equal(
        only(parseText("just a string").issues).message,
        'a features document must be a mapping, got the string "just a string"',
      );
      assert.match(only(parseText("? [a]\n: b").issues).message, /mapping keys must be plain values/);
    });
  });

  describe("scalars", () => {
    /** The value a constraint gets from a YAML scalar written as `value: <text>` with an eq operator. */
    function constraintValue(text: string, version = "1.6"): string | ValidationIssue[] {
      const yaml = `version: "${version}"\nsegments:\n  - key: s\n    name: S\n    match_type: ANY_MATCH_TYPE\n    constraints:\n      - {type: STRING_COMPARISON_TYPE, property: p, operator: eq, value: ${text}}\n`;
      const parsed = parseText(yaml);
      return parsed.issues.length > 0
        ? parsed.issues
        : (parsed.documents[0]?.segments[0]?.constraints[0]?.value ?? "");
    }

    it("keeps quoted strings as written and turns unquoted dates into Go time text", () => {
      assert.equal(constraintValue('"042"'), "042");
      assert.equal(constraintValue("yes"), "yes");
      assert.equal(constraintValue("12:30"), "12:30");
      assert.equal(constraintValue("2024-01-01"), "2024-01-01 00:00:00 +0000 UTC");
      assert.equal(constraintValue("2024-01-01T10:00:00Z"), "2024-01-01 10:00:00 +0000 UTC");
      assert.equal(constraintValue('"2024-01-01"'), "2024-01-01");
    });

    it("rejects unquoted numbers and booleans for non-list operators, as Flipt's schema does", () => {
      for (const text of ["42", "0x1F", "1.5", "true", "~"]) {
        const result = constraintValue(text);
        assert.ok(Array.isArray(result), text);
        assert.match(result[0]?.message ?? "", /^value must be a string, got /);
      }
    });
  });
});
