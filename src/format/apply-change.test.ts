import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  AlreadyExistsError,
  NotFoundError,
  PreconditionError,
  ValidationError,
  type ValidationIssue,
} from "../domain/errors.js";
import type { Flag, Segment } from "../domain/flag-state.js";
import { applyChange, type Change, describeChange, validateChange } from "./apply-change.js";
import { DEFAULT_FEATURES_LIMITS } from "./limits.js";
import { loadState } from "./load-state.js";
import { parseFeatures } from "./parse-features.js";

const CHANGES = new URL("../../test/fixtures/changes/", import.meta.url);
const FEATURES = new URL("../../test/fixtures/features/", import.meta.url);

function fixture(path: string, base = CHANGES): string {
  return readFileSync(new URL(path, base), "utf8");
}

/** `team/features.yaml`: namespace `team` (1.4, object) twice around a document of namespace `other`. */
const TEAM = fixture("team/features.yaml");
const TEAM_PATH = "team/features.yaml";

const NEW_UI: Flag = {
  key: "new-ui",
  name: "New UI",
  type: "VARIANT_FLAG_TYPE",
  description: "The redesign",
  enabled: false,
  metadata: { team: "web", rank: 3 },
  variants: [{ key: "on", name: "On" }, { key: "off" }],
  defaultVariant: "off",
  rules: [
    {
      segment: { keys: ["staff", "beta"], operator: "AND_SEGMENT_OPERATOR" },
      distributions: [
        { variant: "on", rollout: 33.3 },
        { variant: "off", rollout: 66.7 },
      ],
    },
  ],
  rollouts: [],
};

const CHECKOUT_V2: Flag = {
  key: "checkout",
  name: "Checkout v2",
  type: "VARIANT_FLAG_TYPE",
  enabled: false,
  variants: [{ key: "control" }, { key: "blue", attachment: { color: "navy", sizes: [1, 2] } }],
  defaultVariant: "blue",
  rules: [
    {
      segment: { keys: ["staff"], operator: "OR_SEGMENT_OPERATOR" },
      distributions: [{ variant: "control", rollout: 0 }],
    },
  ],
  rollouts: [],
};

const GATE: Flag = {
  key: "gate",
  name: "Gate",
  type: "BOOLEAN_FLAG_TYPE",
  enabled: true,
  variants: [],
  rules: [],
  rollouts: [
    {
      description: "staff first",
      segment: { keys: ["staff"], operator: "OR_SEGMENT_OPERATOR", value: true },
    },
    { threshold: { percentage: 10, value: true } },
  ],
};

const VIP: Segment = {
  key: "vip",
  name: "VIP",
  description: "Big spenders",
  matchType: "ALL_MATCH_TYPE",
  constraints: [
    { type: "NUMBER_COMPARISON_TYPE", property: "spend", operator: "gte", value: "1000" },
    { type: "STRING_COMPARISON_TYPE", property: "tier", operator: "isoneof", value: '["gold","platinum"]' },
  ],
};

type Target = [current?: string | undefined, path?: string, extraSegments?: Set<string>];

/** Applies `change` to `current` (TEAM when not given; an explicit undefined is a missing file) at `path`. */
function apply(change: Change, ...target: Target) {
  const [current, path, extra] = target;
  const options = extra === undefined ? {} : { extraSegments: extra };
  return applyChange(change, target.length === 0 ? TEAM : current, path ?? TEAM_PATH, options);
}

/** The text of a write that must produce one. */
function text(change: Change, ...target: Target): string {
  const written = apply(change, ...target).text;
  assert.ok(written !== undefined, "the write deletes the file");
  return written;
}

/** Loads written text the way a snapshot does, insisting on no issues (references included). */
function load(written: string, path = TEAM_PATH) {
  const state = loadState([{ path, bytes: new TextEncoder().encode(written) }], DEFAULT_FEATURES_LIMITS);
  assert.deepEqual(state.issues, []);
  return state.namespaces;
}

function documentsOf(written: string, path = TEAM_PATH) {
  const parsed = parseFeatures(written, path);
  assert.deepEqual(parsed.issues, []);
  return parsed.documents;
}

/** Asserts that `fn` throws an error of `type`, and returns it. */
function caught<T extends Error>(fn: () => unknown, type: new (...args: never[]) => T): T {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof type, `expected ${type.name}, got ${String(thrown)}`);
  return thrown;
}

/** Asserts that `fn` throws an error of `type` with exactly `message`, and returns it. */
function throwsExactly<T extends Error>(
  fn: () => unknown,
  type: new (...args: never[]) => T,
  message: string,
): T {
  const error = caught(fn, type);
  assert.equal(error.message, message);
  return error;
}

function paths(issues: readonly ValidationIssue[]): string[] {
  return issues.map((issue) => issue.path);
}

describe("applyChange(): exact output", () => {
  it("creates the default namespace's file for a flag written to a missing default/features.yaml", () => {
    const flag: Flag = { ...NEW_UI, metadata: undefined, rules: [] };
    const write = apply(
      { kind: "create-flag", namespaceKey: "default", flag },
      undefined,
      "default/features.yaml",
    );
    assert.equal(write.path, "default/features.yaml");
    assert.equal(write.description, "create flag default/new-ui");
    assert.equal(
      write.text,
      [
        'version: "1.6"',
        "namespace:",
        "    key: default",
        "    name: Default",
        "flags:",
        "    - key: new-ui",
        "      name: New UI",
        "      type: VARIANT_FLAG_TYPE",
        "      description: The redesign",
        "      enabled: false",
        "      variants:",
        '        - key: "on"',
        '          name: "On"',
        "        - default: true",
        '          key: "off"',
        "",
      ].join("\n"),
    );
    assert.equal(write.text, fixture("expected/create-flag-new-default.yaml"));
  });

  it("appends a new flag to the first document of the namespace and re-encodes the others at 1.6", () => {
    const write = apply({ kind: "create-flag", namespaceKey: "team", flag: NEW_UI });
    assert.equal(write.text, fixture("expected/create-flag-append.yaml"));
    assert.equal(write.description, "create flag team/new-ui");
  });

  it("updates a flag in place", () => {
    const write = apply({ kind: "update-flag", namespaceKey: "team", flag: CHECKOUT_V2 });
    assert.equal(write.text, fixture("expected/update-flag.yaml"));
    assert.equal(write.description, "update flag team/checkout");
  });

  it("deletes a flag", () => {
    const write = apply({ kind: "delete-flag", namespaceKey: "team", key: "dark-mode" });
    assert.equal(write.text, fixture("expected/delete-flag.yaml"));
    assert.equal(write.description, "delete flag team/dark-mode");
  });

  it("creates a namespace on a missing file exactly as Test_NamespaceStorage_PutNamespace expects", () => {
    const namespace = { key: "team_b", name: "Team B", description: "The Team B namespace" };
    const write = apply({ kind: "create-namespace", namespace }, undefined, "team_b/features.yaml");
    assert.equal(write.text, fixture("golden/namespace-put.yaml", FEATURES));
    assert.equal(write.description, "create namespace team_b");
  });

  it("updates a namespace in every matching document, keeping versions, flags and segments (yaml.v2 layout)", () => {
    const namespace = { key: "team", name: "Team A", description: "Renamed" };
    const write = apply({ kind: "update-namespace", namespace });
    assert.equal(write.text, fixture("expected/update-namespace.yaml"));
    assert.equal(write.description, "update namespace team");
    const documents = documentsOf(write.text ?? "");
    assert.deepEqual(
      documents.map((document) => [document.version, document.namespace, document.namespaceForm]),
      [
        ["1.4", namespace, "object"],
        ["1.6", { key: "other" }, "string"],
        ["1.4", namespace, "object"],
      ],
    );
    const before = load(TEAM).get("team");
    const after = load(write.text ?? "").get("team");
    assert.deepEqual(after?.flags, before?.flags);
    assert.deepEqual(after?.segments, before?.segments);
  });
});

describe("applyChange(): every kind of change", () => {
  it("creates a segment at the end of the first document of the namespace", () => {
    const written = text({ kind: "create-segment", namespaceKey: "team", segment: VIP });
    const [first, , third] = documentsOf(written);
    assert.deepEqual(
      first?.segments.map((segment) => segment.key),
      ["beta", "staff", "vip"],
    );
    assert.deepEqual(
      third?.segments.map((segment) => segment.key),
      ["late"],
    );
    const vip = load(written).get("team")?.segments.get("vip");
    assert.deepEqual(vip, {
      ...VIP,
      constraints: [VIP.constraints[0], { ...VIP.constraints[1], value: '["gold","platinum"]' }],
    });
    assert.match(written, /operator: isoneof\n {10}value:\n {12}- gold\n {12}- platinum\n/);
  });

  it("updates a segment in place, wherever in the namespace it is", () => {
    const late: Segment = { key: "late", name: "Later", matchType: "ANY_MATCH_TYPE", constraints: [] };
    const write = apply({ kind: "update-segment", namespaceKey: "team", segment: late });
    assert.equal(write.description, "update segment team/late");
    const documents = documentsOf(write.text ?? "");
    assert.deepEqual(documents[2]?.segments, [late]);
    assert.deepEqual(
      documents[0]?.segments.map((segment) => segment.key),
      ["beta", "staff"],
    );
  });

  it("deletes an unused segment", () => {
    const write = apply({ kind: "delete-segment", namespaceKey: "team", key: "staff" });
    assert.equal(write.description, "delete segment team/staff");
    const team = load(write.text ?? "").get("team");
    assert.deepEqual([...(team?.segments.keys() ?? [])], ["beta", "late"]);
  });

  it("deletes a namespace's file when it holds only that namespace", () => {
    const only = text(
      { kind: "create-namespace", namespace: { key: "solo" } },
      undefined,
      "solo/features.yaml",
    );
    const write = apply({ kind: "delete-namespace", key: "solo" }, only, "solo/features.yaml");
    assert.deepEqual(write, {
      path: "solo/features.yaml",
      text: undefined,
      description: "delete namespace solo",
    });
  });

  it("keeps other namespaces' documents when deleting a namespace from a shared file", () => {
    const write = apply({ kind: "delete-namespace", key: "team" });
    assert.equal(write.description, "delete namespace team");
    assert.equal(
      write.text,
      [
        "namespace: other",
        "flags:",
        "- key: checkout",
        "  name: Other checkout",
        "  type: BOOLEAN_FLAG_TYPE",
        "  enabled: false",
        "",
      ].join("\n"),
    );
  });

  it("creates a namespace in a file that holds only other namespaces by appending a document", () => {
    const others = fixture("valid/stream-two-namespaces.yaml", FEATURES);
    const written = text(
      { kind: "create-namespace", namespace: { key: "team-c", name: "" } },
      others,
      "x/features.yaml",
    );
    const documents = documentsOf(written, "x/features.yaml");
    assert.deepEqual(
      documents.map((document) => document.namespace),
      [{ key: "team-a" }, { key: "team-b", name: "Team B" }, { key: "team-c" }],
    );
    assert.ok(written.endsWith('---\nversion: "1.6"\nnamespace:\n  key: team-c\n'), written);
  });

  it("updates `default` when no document declares it by writing one, since default always exists", () => {
    const namespace = { key: "default", name: "Main", description: "Everything" };
    const written = text({ kind: "update-namespace", namespace }, undefined, "default/features.yaml");
    assert.equal(
      written,
      'version: "1.6"\nnamespace:\n  key: default\n  name: Main\n  description: Everything\n',
    );
  });

  it("treats documents without a namespace as `default`", () => {
    const current = "flags:\n  - key: a\n    name: A\n";
    const flag: Flag = { ...GATE, rollouts: [] };
    const written = text(
      { kind: "create-flag", namespaceKey: "default", flag },
      current,
      "default/features.yaml",
    );
    assert.equal(written.startsWith('version: "1.6"\nflags:\n    - key: a\n'), true, written);
    const flags = load(written, "default/features.yaml").get("default")?.flags;
    assert.deepEqual([...(flags?.keys() ?? [])], ["a", "gate"]);
  });

  it("adds the default document after other namespaces' documents when default has none", () => {
    const current = "namespace: other\n";
    const written = text(
      { kind: "create-flag", namespaceKey: "default", flag: { ...GATE, rollouts: [] } },
      current,
      "default/features.yaml",
    );
    const documents = documentsOf(written, "default/features.yaml");
    assert.deepEqual(
      documents.map((document) => [document.namespace, document.flags.length]),
      [
        [{ key: "other" }, 0],
        [{ key: "default", name: "Default" }, 1],
      ],
    );
  });

  it("writes to features.yml when that is the namespace's file", () => {
    const write = apply(
      { kind: "delete-flag", namespaceKey: "team", key: "checkout" },
      TEAM,
      "team/features.yml",
    );
    assert.equal(write.path, "team/features.yml");
    assert.ok(write.text?.startsWith('version: "1.6"\n'));
  });
});

describe("applyChange(): state after a write", () => {
  it("reads back the intended domain state for flag and segment writes", () => {
    const created = text({ kind: "create-flag", namespaceKey: "team", flag: NEW_UI });
    const afterCreate = load(created).get("team");
    // Rollouts are written as float32's shortest text (33.3), which reads back as the same number.
    assert.deepEqual(afterCreate?.flags.get("new-ui"), NEW_UI);

    const gated = text({ kind: "create-flag", namespaceKey: "team", flag: GATE }, created);
    const afterGate = load(gated).get("team");
    assert.deepEqual(afterGate?.flags.get("gate"), GATE);
    assert.deepEqual([...(afterGate?.flags.keys() ?? [])], ["checkout", "dark-mode", "new-ui", "gate"]);

    const updated = text({ kind: "update-flag", namespaceKey: "team", flag: CHECKOUT_V2 }, gated);
    const afterUpdate = load(updated).get("team");
    assert.deepEqual(afterUpdate?.flags.get("checkout"), CHECKOUT_V2);
    assert.deepEqual([...(afterUpdate?.flags.keys() ?? [])], ["checkout", "dark-mode", "new-ui", "gate"]);

    const deleted = text({ kind: "delete-flag", namespaceKey: "team", key: "new-ui" }, updated);
    assert.deepEqual([...(load(deleted).get("team")?.flags.keys() ?? [])], ["checkout", "dark-mode", "gate"]);
  });

  it("keeps the other namespaces' documents, their state and their namespace form", () => {
    const before = load(TEAM).get("other");
    for (const change of [
      { kind: "create-flag", namespaceKey: "team", flag: NEW_UI },
      { kind: "update-flag", namespaceKey: "team", flag: CHECKOUT_V2 },
      { kind: "delete-flag", namespaceKey: "team", key: "dark-mode" },
      { kind: "create-segment", namespaceKey: "team", segment: VIP },
      { kind: "delete-segment", namespaceKey: "team", key: "staff" },
      { kind: "update-namespace", namespace: { key: "team", name: "T" } },
    ] satisfies Change[]) {
      const written = text(change);
      const other = documentsOf(written).find((document) => document.namespace.key === "other");
      assert.equal(other?.namespaceForm, "string", change.kind);
      assert.deepEqual(load(written).get("other")?.flags, before?.flags, change.kind);
      assert.match(written, /\nnamespace: other\n/, change.kind);
    }
  });

  it("keeps the string form of the target namespace on flag writes", () => {
    const current = 'version: "1.2"\nnamespace: plain\n';
    const written = text(
      { kind: "create-flag", namespaceKey: "plain", flag: { ...GATE, rollouts: [] } },
      current,
      "plain/features.yaml",
    );
    assert.ok(written.startsWith('version: "1.6"\nnamespace: plain\nflags:\n'), written);
  });

  it("replaces every copy of a key the namespace repeats, so whichever copy loads is the new one", () => {
    const current = [
      "namespace: dup",
      "flags:",
      "  - {key: f, name: First, type: BOOLEAN_FLAG_TYPE}",
      "---",
      "namespace: dup",
      "flags:",
      "  - {key: f, name: Second, type: BOOLEAN_FLAG_TYPE}",
      "",
    ].join("\n");
    const flag: Flag = { ...GATE, key: "f", name: "Third", rollouts: [] };
    const updated = documentsOf(
      text({ kind: "update-flag", namespaceKey: "dup", flag }, current, "dup/features.yaml"),
    );
    assert.deepEqual(
      updated.map((document) => document.flags.map((f) => f.name)),
      [["Third"], ["Third"]],
    );
    const deleted = documentsOf(
      text({ kind: "delete-flag", namespaceKey: "dup", key: "f" }, current, "dup/features.yaml"),
    );
    assert.deepEqual(
      deleted.map((document) => document.flags.length),
      [0, 0],
    );
  });

  it("writes a namespace document at 1.6 when its content cannot be written at its old version", () => {
    const v12 = fixture("valid/v1.2.yaml", FEATURES);
    const written = text(
      { kind: "update-namespace", namespace: { key: "v1_2", name: "Renamed" } },
      v12,
      "v1_2/features.yaml",
    );
    const [document] = documentsOf(written);
    assert.equal(document?.version, "1.6");
    assert.deepEqual(document?.namespace, { key: "v1_2", name: "Renamed" });
    const before = load(v12, "v1_2/features.yaml").get("v1_2");
    const after = load(written, "v1_2/features.yaml").get("v1_2");
    assert.deepEqual(after?.flags, before?.flags);
    assert.deepEqual(
      [...(after?.segments.values() ?? [])].map((segment) =>
        segment.constraints.map((c) => JSON.parse(c.value)),
      ),
      [[["DE", "FR"]], []],
    );
  });
});

describe("applyChange(): a delete must find what it deletes in the file", () => {
  // Deletes of things that do not exist at all are answered by the API without a write (api.md §3.4); one that
  // reaches the file and finds nothing would commit nothing and delete nothing, so it is refused, naming both.
  const notIn = (what: string, path: string) =>
    `cannot delete ${what}: ${path} does not define it, and the management API changes only the features.yaml ` +
    "and features.yml files that define a namespace; edit the file that defines it";
  const cases: [string, Change, string][] = [
    ["flag", { kind: "delete-flag", namespaceKey: "team", key: "nope" }, 'flag "team/nope"'],
    ["segment", { kind: "delete-segment", namespaceKey: "team", key: "nope" }, 'segment "team/nope"'],
    ["namespace", { kind: "delete-namespace", key: "nope" }, 'namespace "nope"'],
    [
      "flag of another namespace",
      { kind: "delete-flag", namespaceKey: "other", key: "dark-mode" },
      'flag "other/dark-mode"',
    ],
  ];
  for (const [what, change, named] of cases) {
    it(`refuses to delete a ${what} the file does not define, present or missing`, () => {
      throwsExactly(() => apply(change), PreconditionError, notIn(named, TEAM_PATH));
      throwsExactly(
        () => apply(change, undefined, "x/features.yaml"),
        PreconditionError,
        notIn(named, "x/features.yaml"),
      );
    });
  }

  it("refuses a missing segment before looking for its users", () => {
    const current = "namespace: n\nflags:\n  - key: f\n    name: F\n    rules:\n      - segment: s\n";
    throwsExactly(
      () => apply({ kind: "delete-segment", namespaceKey: "n", key: "s" }, current, "n/features.yaml"),
      PreconditionError,
      notIn('segment "n/s"', "n/features.yaml"),
    );
  });
});

describe("applyChange(): errors", () => {
  it("refuses to create an existing namespace, and `default` always", () => {
    throwsExactly(
      () => apply({ kind: "create-namespace", namespace: { key: "team", name: "Team" } }),
      AlreadyExistsError,
      'create namespace "team"',
    );
    throwsExactly(
      () =>
        apply(
          { kind: "create-namespace", namespace: { key: "default" } },
          undefined,
          "default/features.yaml",
        ),
      AlreadyExistsError,
      'create namespace "default"',
    );
  });

  it("refuses to update a missing namespace", () => {
    throwsExactly(
      () =>
        apply(
          { kind: "update-namespace", namespace: { key: "ghost", name: "G" } },
          undefined,
          "ghost/features.yaml",
        ),
      NotFoundError,
      'update namespace "ghost": namespace "ghost" not found',
    );
    throwsExactly(
      () => apply({ kind: "update-namespace", namespace: { key: "ghost" } }, TEAM, "ghost/features.yaml"),
      NotFoundError,
      'update namespace "ghost": namespace "ghost" not found',
    );
  });

  it("refuses to delete `default`", () => {
    const error = throwsExactly(
      () => apply({ kind: "delete-namespace", key: "default" }, undefined, "default/features.yaml"),
      ValidationError,
      'namespace "default" is protected',
    );
    assert.deepEqual(paths(error.issues), ["key"]);
  });

  it("refuses to create an existing flag or segment, with Flipt's messages", () => {
    throwsExactly(
      () => apply({ kind: "create-flag", namespaceKey: "team", flag: CHECKOUT_V2 }),
      AlreadyExistsError,
      'resource type "flipt.core.Flag": create resource "flipt.core.Flag/team/checkout"',
    );
    throwsExactly(
      () => apply({ kind: "create-segment", namespaceKey: "team", segment: { ...VIP, key: "late" } }),
      AlreadyExistsError,
      'resource type "flipt.core.Segment": create resource "flipt.core.Segment/team/late"',
    );
  });

  it("refuses to update a missing flag or segment, with Flipt's messages", () => {
    throwsExactly(
      () => apply({ kind: "update-flag", namespaceKey: "team", flag: GATE }),
      NotFoundError,
      'resource type "flipt.core.Flag": update resource "flipt.core.Flag/team/gate": getting flag team/gate: flag team/gate not found',
    );
    throwsExactly(
      () => apply({ kind: "update-segment", namespaceKey: "team", segment: VIP }),
      NotFoundError,
      'resource type "flipt.core.Segment": update resource "flipt.core.Segment/team/vip": getting segment team/vip: segment team/vip not found',
    );
    throwsExactly(
      () =>
        apply(
          { kind: "update-flag", namespaceKey: "default", flag: GATE },
          undefined,
          "default/features.yaml",
        ),
      NotFoundError,
      'resource type "flipt.core.Flag": update resource "flipt.core.Flag/default/gate": getting flag default/gate: flag default/gate not found',
    );
  });

  it("refuses writes into a missing namespace other than default", () => {
    for (const current of [undefined, "# empty\n", "namespace: team\n"]) {
      throwsExactly(
        () =>
          apply({ kind: "create-flag", namespaceKey: "ghost", flag: GATE }, current, "ghost/features.yaml"),
        NotFoundError,
        'namespace "ghost" not found',
      );
      throwsExactly(
        () =>
          apply(
            { kind: "update-segment", namespaceKey: "ghost", segment: VIP },
            current,
            "ghost/features.yaml",
          ),
        NotFoundError,
        'namespace "ghost" not found',
      );
    }
  });

  it("refuses to delete a segment still in use, naming every rule and rollout", () => {
    throwsExactly(
      () => apply({ kind: "delete-segment", namespaceKey: "team", key: "beta" }),
      PreconditionError,
      'segment "beta" is in use by flag "checkout" rule 1, flag "dark-mode" rollout 1',
    );
    const withNewUi = text({ kind: "create-flag", namespaceKey: "team", flag: NEW_UI });
    const withGate = text({ kind: "create-flag", namespaceKey: "team", flag: GATE }, withNewUi);
    throwsExactly(
      () => apply({ kind: "delete-segment", namespaceKey: "team", key: "staff" }, withGate),
      PreconditionError,
      'segment "staff" is in use by flag "new-ui" rule 1, flag "gate" rollout 1',
    );
  });

  it("refuses a flag that references an unknown segment, with a path per reference", () => {
    const flag: Flag = {
      ...NEW_UI,
      rules: [
        { segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR" }, distributions: [] },
        { segment: { keys: ["x", "beta", "y"], operator: "AND_SEGMENT_OPERATOR" }, distributions: [] },
      ],
    };
    const error = throwsExactly(
      () => apply({ kind: "create-flag", namespaceKey: "team", flag }),
      ValidationError,
      'flag team/new-ui rule 2 references unknown segment "x"; flag team/new-ui rule 2 references unknown segment "y"',
    );
    assert.deepEqual(error.issues, [
      {
        path: "flags[2].rules[1].segment",
        message: 'flag team/new-ui rule 2 references unknown segment "x"',
        file: TEAM_PATH,
      },
      {
        path: "flags[2].rules[1].segment",
        message: 'flag team/new-ui rule 2 references unknown segment "y"',
        file: TEAM_PATH,
      },
    ]);
    const gate: Flag = {
      ...GATE,
      key: "dark-mode",
      rollouts: [
        GATE.rollouts[1] ?? {},
        { segment: { keys: ["z"], operator: "OR_SEGMENT_OPERATOR", value: false } },
      ],
    };
    const rolloutError = throwsExactly(
      () => apply({ kind: "update-flag", namespaceKey: "team", flag: gate }),
      ValidationError,
      'flag team/dark-mode rule 2 references unknown segment "z"',
    );
    assert.deepEqual(paths(rolloutError.issues), ["flags[1].rollouts[1].segment"]);
  });

  it("refuses a segment defined only in a later document, which the flag could not see when loaded", () => {
    const flag: Flag = {
      ...GATE,
      rollouts: [{ segment: { keys: ["late"], operator: "OR_SEGMENT_OPERATOR", value: true } }],
    };
    throwsExactly(
      () => apply({ kind: "create-flag", namespaceKey: "team", flag }),
      ValidationError,
      'flag team/gate rule 1 references unknown segment "late" (it is defined in a later document, which the flag cannot see)',
    );
  });

  it("accepts segments named in extraSegments", () => {
    const flag: Flag = {
      ...GATE,
      rollouts: [{ segment: { keys: ["elsewhere"], operator: "OR_SEGMENT_OPERATOR", value: true } }],
    };
    const write = apply(
      { kind: "create-flag", namespaceKey: "team", flag },
      TEAM,
      TEAM_PATH,
      new Set(["elsewhere"]),
    );
    assert.equal(documentsOf(write.text ?? "")[0]?.flags[2]?.rollouts[0]?.segment?.keys[0], "elsewhere");
  });

  it("refuses distributions naming a variant the flag does not have (Flipt commits these and then fails to load)", () => {
    const flag: Flag = {
      ...CHECKOUT_V2,
      rules: [
        {
          segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR" },
          distributions: [{ variant: "red", rollout: 50 }],
        },
      ],
    };
    const error = throwsExactly(
      () => apply({ kind: "update-flag", namespaceKey: "team", flag }),
      ValidationError,
      'flag team/checkout rule 1 references unknown variant "red"',
    );
    assert.deepEqual(paths(error.issues), ["flags[0].rules[0].distributions[0].variant"]);
  });

  it("refuses invalid keys and empty names with field paths", () => {
    const badKey = throwsExactly(
      () => apply({ kind: "create-flag", namespaceKey: "team", flag: { ...GATE, key: "a b" } }),
      ValidationError,
      'invalid field key: "a b" must match ^[-_,A-Za-z0-9]+$',
    );
    assert.deepEqual(paths(badKey.issues), ["key"]);
    throwsExactly(
      () => apply({ kind: "delete-segment", namespaceKey: "team", key: "" }),
      ValidationError,
      "key must not be empty",
    );
    const emptyName = throwsExactly(
      () => apply({ kind: "create-segment", namespaceKey: "team", segment: { ...VIP, name: "" } }),
      ValidationError,
      "invalid field name: must not be empty",
    );
    assert.deepEqual(paths(emptyName.issues), ["name"]);
    const both = throwsExactly(
      () => apply({ kind: "update-flag", namespaceKey: "../x", flag: { ...GATE, name: "" } }),
      ValidationError,
      'invalid field namespaceKey: "../x" must match ^[-_,A-Za-z0-9]+$; invalid field name: must not be empty',
    );
    assert.deepEqual(paths(both.issues), ["namespaceKey", "name"]);
    throwsExactly(
      () => apply({ kind: "create-namespace", namespace: { key: "a/b" } }, undefined, "a/b/features.yaml"),
      ValidationError,
      'invalid field key: "a/b" must match ^[-_,A-Za-z0-9]+$',
    );
  });

  it("refuses a change that would leave the file failing schema validation", () => {
    const flag: Flag = {
      ...CHECKOUT_V2,
      rules: [
        {
          segment: { keys: ["beta"], operator: "OR_SEGMENT_OPERATOR" },
          distributions: [{ variant: "blue", rollout: 110 }],
        },
      ],
    };
    const error = caught(() => apply({ kind: "update-flag", namespaceKey: "team", flag }), ValidationError);
    assert.match(
      error.message,
      /^the change would leave team\/features\.yaml invalid: flags\[0\]\.rules\[0\]\.distributions\[0\]\.rollout: .* \(line \d+\)$/,
    );
    assert.deepEqual(paths(error.issues), ["flags[0].rules[0].distributions[0].rollout"]);
  });

  it("refuses to write over a file that does not parse, carrying its issues", () => {
    const broken = fixture("invalid/rollout-110.yaml", FEATURES);
    for (const change of [
      { kind: "create-flag", namespaceKey: "default", flag: GATE },
      { kind: "delete-flag", namespaceKey: "default", key: "nope" },
      { kind: "delete-namespace", key: "team" },
      { kind: "update-namespace", namespace: { key: "default" } },
    ] satisfies Change[]) {
      const error = caught(() => apply(change, broken, "default/features.yaml"), ValidationError);
      assert.match(
        error.message,
        /^default\/features\.yaml is not a valid features file, so it cannot be changed through the API: .*rollout/,
      );
      assert.deepEqual(error.issues, parseFeatures(broken, "default/features.yaml").issues);
    }
    const syntax = fixture("invalid/syntax.yaml", FEATURES);
    assert.throws(
      () => apply({ kind: "delete-flag", namespaceKey: "team", key: "x" }, syntax),
      ValidationError,
    );
  });

  it("refuses files the management API does not edit", () => {
    throwsExactly(
      () => apply({ kind: "delete-flag", namespaceKey: "team", key: "x" }, "{}", "team/features.json"),
      ValidationError,
      "team/features.json: the management API edits only features.yaml and features.yml files",
    );
  });
});

describe("describeChange()", () => {
  it("writes Flipt's change texts", () => {
    assert.deepEqual(
      (
        [
          { kind: "create-namespace", namespace: { key: "team_b" } },
          { kind: "update-namespace", namespace: { key: "team_b" } },
          { kind: "delete-namespace", key: "team_b" },
          { kind: "create-flag", namespaceKey: "default", flag: CHECKOUT_V2 },
          { kind: "update-segment", namespaceKey: "default", segment: VIP },
          { kind: "delete-segment", namespaceKey: "prod", key: "beta-users" },
        ] satisfies Change[]
      ).map(describeChange),
      [
        "create namespace team_b",
        "update namespace team_b",
        "delete namespace team_b",
        "create flag default/checkout",
        "update segment default/vip",
        "delete segment prod/beta-users",
      ],
    );
  });
});

describe("validateChange() and bounded messages", () => {
  const huge = "k".repeat(2 * 1024 * 1024);
  const cut = `"${"k".repeat(64)}"…(2097152 bytes)`;

  it("refuses what applyChange refuses before reading any file, with the same errors", () => {
    assert.doesNotThrow(() => validateChange({ kind: "delete-flag", namespaceKey: "team", key: "nope" }));
    throwsExactly(
      () => validateChange({ kind: "delete-namespace", key: "default" }),
      ValidationError,
      'namespace "default" is protected',
    );
    throwsExactly(
      () => validateChange({ kind: "delete-segment", namespaceKey: "team", key: "a b" }),
      ValidationError,
      'invalid field key: "a b" must match ^[-_,A-Za-z0-9]+$',
    );
  });

  it("quotes a 2 MB key in part, wherever a message names it", () => {
    const bad = `${huge}/`;
    const refused = caught(
      () => validateChange({ kind: "delete-flag", namespaceKey: "team", key: bad }),
      ValidationError,
    );
    assert.equal(
      refused.message,
      `invalid field key: "${"k".repeat(64)}"…(2097153 bytes) must match ^[-_,A-Za-z0-9]+$`,
    );
    const missing = caught(
      () => apply({ kind: "update-flag", namespaceKey: "team", flag: { ...NEW_UI, key: huge } }),
      NotFoundError,
    );
    assert.ok(missing.message.length < 400, `message of ${missing.message.length} characters`);
    const named = `flag team/${"k".repeat(59)}…(2097157 bytes)`;
    assert.ok(missing.message.endsWith(`getting ${named}: ${named} not found`), missing.message);
    const notIn = caught(() => apply({ kind: "delete-namespace", key: huge }), PreconditionError);
    const start = `cannot delete namespace ${cut}: team/features.yaml does not define it`;
    assert.ok(notIn.message.startsWith(start), notIn.message);
    const exists = caught(
      () => apply({ kind: "create-namespace", namespace: { key: huge } }, `namespace: ${huge}\n`),
      AlreadyExistsError,
    );
    assert.equal(exists.message, `create namespace ${cut}`);
  });
});
