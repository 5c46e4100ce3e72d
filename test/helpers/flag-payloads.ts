/**
 * Flag and segment payloads as the environments API takes them (JSON of `flipt.core.*` with its `@type`), for the
 * tests that write through it.
 */

/** Segment `pro`: every entity whose context has `plan` = `pro`. */
export const PRO_SEGMENT = {
  "@type": "flipt.core.Segment",
  key: "pro",
  name: "Pro",
  matchType: "ALL_MATCH_TYPE",
  constraints: [{ type: "STRING_COMPARISON_TYPE", property: "plan", operator: "eq", value: "pro" }],
};

/** Variant flag `color`: `gray` by default, `blue` (attachment `{"hex":"#00f"}`) for segment `pro`. */
export const COLOR_FLAG = {
  "@type": "flipt.core.Flag",
  key: "color",
  name: "Color",
  type: "VARIANT_FLAG_TYPE",
  enabled: true,
  variants: [
    { key: "gray", name: "Gray" },
    { key: "blue", name: "Blue", attachment: { hex: "#00f" } },
  ],
  defaultVariant: "gray",
  rules: [{ segments: ["pro"], distributions: [{ variant: "blue", rollout: 100 }] }],
};

/** Boolean flag `beta`: `enabled` for everyone but segment `pro`, which gets the opposite. */
export function betaFlag(enabled: boolean) {
  return {
    "@type": "flipt.core.Flag",
    key: "beta",
    name: "Beta",
    type: "BOOLEAN_FLAG_TYPE",
    enabled,
    rollouts: [{ type: "SEGMENT_ROLLOUT_TYPE", segment: { segments: ["pro"], value: !enabled } }],
  };
}

/** A boolean flag without rollouts, named after its key unless `fields` names it. */
export function booleanFlag(
  key: string,
  fields: { readonly enabled?: boolean; readonly description?: string; readonly name?: string } = {},
) {
  return { "@type": "flipt.core.Flag", key, name: key, type: "BOOLEAN_FLAG_TYPE", ...fields };
}
