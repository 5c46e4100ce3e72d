import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goJsonString } from "../go/go-json-string.js";
import { constraintValueText } from "./constraint-value.js";
import { readYamlSource } from "./read-yaml-source.js";
import { resolvePlainScalar } from "./resolve-plain-scalar.js";

/** The constraint string for `value: <yaml>`, read the way the features reader reads it. */
function constraintValueOf(yaml: string): string {
  const source = readYamlSource(`value: ${yaml}\n`, "t.yaml");
  assert.deepEqual(source.issues, []);
  const root = source.documents[0]?.root;
  assert.ok(root?.kind === "map");
  return constraintValueText(root.entries[0]?.value);
}

describe("constraintValueText()", () => {
  it("turns YAML scalars into the strings of evaluation.md §1.3", () => {
    const table: [string, string][] = [
      ['"042"', "042"],
      ["42", "42"],
      ["0x1F", "31"],
      ["010", "8"],
      ["0o10", "8"],
      ["1_000", "1000"],
      ["1.10", "1.1"],
      ["1.0", "1"],
      ["1e3", "1000"],
      [".5", "0.5"],
      ["3.0e-5", "0.00003"],
      [".inf", "+Inf"],
      ["-.inf", "-Inf"],
      ["true", "true"],
      ["false", "false"],
      ["~", ""],
      ["null", ""],
      ["yes", "yes"],
      ["12:30", "12:30"],
      ["2024-01-01", "2024-01-01 00:00:00 +0000 UTC"],
      ["2024-01-01T10:00:00Z", "2024-01-01 10:00:00 +0000 UTC"],
      ["2024-01-01T10:00:00.120+02:00", "2024-01-01 10:00:00.12 +0200 +0200"],
      ["2024-13-01", "2024-13-01"],
      ["[a, 1, true, null, 2.50]", '["a",1,"true","",2.5]'],
      ['\'["a","b"]\'', '["a","b"]'],
      ["[]", "[]"],
      ["[1e21, 1e-7, 0.000001]", "[1e+21,1e-7,0.000001]"],
    ];
    for (const [yaml, expected] of table) assert.equal(constraintValueOf(yaml), expected, yaml);
  });

  it("gives an empty string for a missing value", () => {
    assert.equal(constraintValueText(undefined), "");
  });

  it("escapes HTML characters in list items as Go's encoding/json does", () => {
    assert.equal(constraintValueOf("['<a>&b']"), '["\\u003ca\\u003e\\u0026b"]');
    assert.equal(goJsonString("a\u2028b"), '"a\\u2028b"');
  });
});

describe("resolvePlainScalar()", () => {
  it("types unquoted scalars as Go's yaml.v3 does", () => {
    assert.deepEqual(resolvePlainScalar("09"), { type: "float", value: 9 });
    assert.deepEqual(resolvePlainScalar("-0b101"), { type: "int", value: -5n });
    assert.deepEqual(resolvePlainScalar("18446744073709551615"), {
      type: "int",
      value: 18446744073709551615n,
    });
    assert.deepEqual(resolvePlainScalar("18446744073709551616"), {
      type: "float",
      value: 2 ** 64,
    });
    assert.deepEqual(resolvePlainScalar("1e400"), { type: "string", value: "1e400", plain: true });
    assert.deepEqual(resolvePlainScalar("True"), { type: "bool", value: true });
    assert.deepEqual(resolvePlainScalar("on"), { type: "string", value: "on", plain: true });
    assert.deepEqual(resolvePlainScalar(""), { type: "null" });
    assert.ok(Number.isNaN((resolvePlainScalar(".NaN") as { value: number }).value));
  });
});
