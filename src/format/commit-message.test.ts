import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Change } from "./change.js";
import { changeText, commitChange } from "./commit-message.js";

const flag = { key: "new-ui", name: "New UI", type: "BOOLEAN_FLAG_TYPE", enabled: true } as never;
const segment = { key: "beta", name: "Beta", matchType: "ANY_MATCH_TYPE", constraints: [] } as never;

describe("commitChange()", () => {
  const changes: Change[] = [
    { kind: "create-namespace", namespace: { key: "team", name: "Team" } as never },
    { kind: "update-namespace", namespace: { key: "team", name: "Team" } as never },
    { kind: "delete-namespace", key: "team" },
    { kind: "create-flag", namespaceKey: "default", flag },
    { kind: "update-flag", namespaceKey: "team", flag },
    { kind: "delete-flag", namespaceKey: "default", key: "old" },
    { kind: "create-segment", namespaceKey: "default", segment },
    { kind: "update-segment", namespaceKey: "team", segment },
    { kind: "delete-segment", namespaceKey: "default", key: "gone" },
  ];

  it("prints every change as Flipt's change text", () => {
    assert.deepEqual(
      changes.map((change) => changeText(commitChange(change))),
      [
        "create namespace team",
        "update namespace team",
        "delete namespace team",
        "create flag default/new-ui",
        "update flag team/new-ui",
        "delete flag default/old",
        "create segment default/beta",
        "update segment team/beta",
        "delete segment default/gone",
      ],
    );
  });

  it("gives Flipt's verb, resource type, namespace and key", () => {
    assert.deepEqual(commitChange(changes[3] as Change), {
      verb: "create",
      resource: { type: { package: "flipt.core", name: "Flag" }, namespace: "default", key: "new-ui" },
    });
    assert.deepEqual(commitChange(changes[2] as Change), {
      verb: "delete",
      resource: { type: { package: "flipt.config", name: "Namespace" }, namespace: "", key: "team" },
    });
    assert.equal(commitChange(changes[7] as Change).resource.type.name, "Segment");
  });
});
