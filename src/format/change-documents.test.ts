/**
 * The document path of the write layer (`applyChangeToDocuments`, for storages that hold documents) against the
 * text path (`applyChange`): the same changes leave the same documents, the same refusals throw the same errors,
 * and nothing is parsed or written as YAML.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ValidationError } from "../domain/errors.js";
import type { Flag, Segment } from "../domain/flag-state.js";
import { applyChange, applyChangeToDocuments, type Change } from "./apply-change.js";
import type { FeaturesDocument } from "./features-document.js";
import { parseFeatures } from "./parse-features.js";
import { serializeFeatures } from "./serialize-features.js";

const PATH = "team/features.yaml";

/** Namespace `team` twice around a document of namespace `other`, as documents in the stable layout. */
const TEAM_TEXT = serializeFeatures(
  parseFeatures(
    readFileSync(new URL("../../test/fixtures/changes/team/features.yaml", import.meta.url), "utf8"),
    PATH,
  ).documents,
);
const TEAM: readonly FeaturesDocument[] = parseFeatures(TEAM_TEXT, PATH).documents.map(
  ({ lines: _lines, ...document }) => ({ ...document, line: 0 }),
);

/** The fixture's flags and segments, by key, to make the changes from. */
const [FIRST] = TEAM;
const fixtureFlag = (key: string): Flag => FIRST?.flags.find((flag) => flag.key === key) as Flag;
const STAFF = FIRST?.segments.find((segment) => segment.key === "staff") as Segment;

/** A boolean flag that sees `staff` (defined in the first document) and a threshold. */
const GATE: Flag = { ...fixtureFlag("dark-mode"), key: "gate", name: "Gate" };

/** The fixture's `checkout`, changed everywhere a write can change it. */
const CHECKOUT: Flag = {
  ...fixtureFlag("checkout"),
  name: "Checkout v2",
  enabled: false,
  defaultVariant: "blue",
  rules: [
    {
      segment: { keys: ["staff", "beta"], operator: "AND_SEGMENT_OPERATOR" },
      distributions: [
        { variant: "control", rollout: 40 },
        { variant: "blue", rollout: 60 },
      ],
    },
  ],
};

const VIP: Segment = {
  ...STAFF,
  key: "vip",
  constraints: [{ type: "NUMBER_COMPARISON_TYPE", property: "spend", operator: "gte", value: "1000" }],
};

/** What a file's documents say, as the snapshot sees it: namespace, flags and segments of each. */
function meaning(documents: readonly FeaturesDocument[] | undefined): unknown {
  if (documents === undefined) return undefined;
  const written = parseFeatures(serializeFeatures(documents), PATH);
  assert.deepEqual(written.issues, []);
  return JSON.parse(
    JSON.stringify(
      written.documents.map(({ namespace, flags, segments }) => ({ namespace, flags, segments })),
    ),
  );
}

/** Both paths on the same file: TEAM, or a missing file. */
function both(change: Change, missing = false) {
  const namespaceKey =
    "namespace" in change ? change.namespace.key : "namespaceKey" in change ? change.namespaceKey : "";
  const path = missing ? `${namespaceKey}/features.yaml` : PATH;
  return {
    text: () => applyChange(change, missing ? undefined : TEAM_TEXT, path),
    documents: () => applyChangeToDocuments(change, missing ? undefined : TEAM, path),
  };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("expected an error");
}

describe("applyChangeToDocuments()", () => {
  const changes: [string, Change, boolean?][] = [
    ["create a flag", { kind: "create-flag", namespaceKey: "team", flag: GATE }],
    ["update a flag", { kind: "update-flag", namespaceKey: "team", flag: CHECKOUT }],
    ["delete a flag", { kind: "delete-flag", namespaceKey: "team", key: "dark-mode" }],
    ["create a segment", { kind: "create-segment", namespaceKey: "team", segment: VIP }],
    ["update a segment", { kind: "update-segment", namespaceKey: "team", segment: { ...VIP, key: "late" } }],
    ["delete a segment", { kind: "delete-segment", namespaceKey: "team", key: "late" }],
    [
      "create a flag in a missing default file",
      {
        kind: "create-flag",
        namespaceKey: "default",
        flag: { ...GATE, rollouts: [{ threshold: { percentage: 10, value: true } }] },
      },
      true,
    ],
    ["create a namespace", { kind: "create-namespace", namespace: { key: "ops", name: "Ops" } }, true],
    ["update a namespace", { kind: "update-namespace", namespace: { key: "team", description: "New" } }],
    ["delete a namespace", { kind: "delete-namespace", key: "team" }],
    ["delete the only namespace of a file", { kind: "delete-namespace", key: "other" }],
  ];
  for (const [name, change, missing] of changes) {
    it(`leaves the documents the text path leaves: ${name}`, () => {
      const { text, documents } = both(change, missing);
      const fromText = text();
      const fromDocuments = documents();
      assert.equal(fromDocuments.description, fromText.description);
      const textDocuments =
        fromText.text === undefined ? undefined : parseFeatures(fromText.text, fromText.path).documents;
      assert.deepEqual(meaning(fromDocuments.documents), meaning(textDocuments));
    });
  }

  it("keeps every flag and segment it did not change as the same object", () => {
    const written = applyChangeToDocuments(
      { kind: "create-flag", namespaceKey: "team", flag: GATE },
      TEAM,
      PATH,
    );
    const before = TEAM.flatMap((document) => [...document.flags, ...document.segments]);
    const after = new Set(
      written.documents?.flatMap((document) => [...document.flags, ...document.segments]),
    );
    for (const item of before) assert.ok(after.has(item), item.key);
  });

  const refusals: [string, Change][] = [
    ["an existing flag", { kind: "create-flag", namespaceKey: "team", flag: { ...GATE, key: "checkout" } }],
    ["a missing flag", { kind: "update-flag", namespaceKey: "team", flag: GATE }],
    ["a missing namespace", { kind: "create-flag", namespaceKey: "nowhere", flag: GATE }],
    ["an existing namespace", { kind: "create-namespace", namespace: { key: "team" } }],
    ["a missing namespace update", { kind: "update-namespace", namespace: { key: "nowhere" } }],
    ["a segment in use", { kind: "delete-segment", namespaceKey: "team", key: "beta" }],
    ["a delete of what the file does not define", { kind: "delete-flag", namespaceKey: "team", key: "gate" }],
    [
      "an unknown segment",
      {
        kind: "create-flag",
        namespaceKey: "team",
        flag: {
          ...CHECKOUT,
          key: "new",
          rules: [
            {
              ...(CHECKOUT.rules[0] as Flag["rules"][0]),
              segment: { keys: ["x"], operator: "OR_SEGMENT_OPERATOR" },
            },
          ],
        },
      },
    ],
    [
      "an unknown variant",
      {
        kind: "update-flag",
        namespaceKey: "team",
        flag: {
          ...CHECKOUT,
          rules: [
            {
              segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR" },
              distributions: [{ variant: "red", rollout: 1 }],
            },
          ],
        },
      },
    ],
    [
      "a segment only a later document defines",
      {
        kind: "create-flag",
        namespaceKey: "team",
        flag: {
          ...GATE,
          rollouts: [{ segment: { keys: ["late"], operator: "OR_SEGMENT_OPERATOR", value: true } }],
        },
      },
    ],
    ["an invalid key", { kind: "create-flag", namespaceKey: "team", flag: { ...GATE, key: "a b" } }],
    ["deleting default", { kind: "delete-namespace", key: "default" }],
  ];
  for (const [name, change] of refusals) {
    it(`refuses what the text path refuses, with the same error: ${name}`, () => {
      const { text, documents } = both(change);
      const fromText = thrown(text);
      const fromDocuments = thrown(documents);
      assert.equal(fromDocuments.constructor, fromText.constructor);
      assert.equal(fromDocuments.message, fromText.message);
      if (fromText instanceof ValidationError) {
        assert.deepEqual((fromDocuments as ValidationError).issues, fromText.issues);
      }
    });
  }

  it("checks what it wrote against the schema, on its own: the text path's error without a line", () => {
    const flag: Flag = {
      ...CHECKOUT,
      rules: [
        {
          segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR" },
          distributions: [{ variant: "blue", rollout: 110 }],
        },
      ],
    };
    for (const change of [
      { kind: "update-flag", namespaceKey: "team", flag },
      { kind: "create-flag", namespaceKey: "team", flag: { ...flag, key: "another" } },
    ] satisfies Change[]) {
      const { text, documents } = both(change);
      const fromText = thrown(text);
      const fromDocuments = thrown(documents);
      assert.ok(fromText instanceof ValidationError && fromDocuments instanceof ValidationError);
      assert.equal(fromDocuments.message, fromText.message.replace(/ \(line \d+\)$/, ""));
      assert.deepEqual(
        fromDocuments.issues,
        fromText.issues.map(({ line: _line, ...issue }) => issue),
      );
    }
    const segment = thrown(() =>
      applyChangeToDocuments(
        {
          kind: "create-segment",
          namespaceKey: "team",
          segment: {
            ...VIP,
            constraints: [{ ...(VIP.constraints[0] as Segment["constraints"][0]), operator: "nope" }],
          },
        },
        TEAM,
        PATH,
      ),
    );
    assert.ok(segment instanceof ValidationError);
    assert.deepEqual(
      segment.issues.map((issue) => issue.path),
      ["segments[2].constraints[0].operator"],
    );
  });
});
