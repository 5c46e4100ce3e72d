import type { ComponentChildren } from "preact";
import type { EvaluationResponse } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { EvaluationReason } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import {
  type ConstraintTrace,
  type ExplainResponse,
  type ExplainStep,
  FlagKind,
  type SegmentTrace,
} from "../../src/gen/pennant/explain/v1/explain_pb.js";
import { typeLabel } from "../model/constraint-rules.js";
import { formatFloat32 } from "../model/format-number.js";
import { shortRevision } from "../model/format-time.js";
import { BucketBar } from "./bucket-bar.js";

/** The explain trace of one evaluation as a timeline: each step the engine took, in order, then the answer. */
export function ExplainTimeline({ explain }: { readonly explain: ExplainResponse }) {
  const kind = explain.flagKind === FlagKind.BOOLEAN ? "boolean" : "variant";
  return (
    <section class="card explain" aria-labelledby="explain-title" data-testid="explain">
      <h2 id="explain-title">
        Why <code>{explain.flagKey}</code> answered this
      </h2>
      <p class="muted">
        A {kind} flag, {explain.flagEnabled ? "enabled" : "disabled"}, in namespace{" "}
        <code>{explain.namespaceKey}</code> of environment <code>{explain.environmentKey}</code> at revision{" "}
        <code title={explain.revision}>{shortRevision(explain.revision)}</code>.
      </p>
      <ol class="timeline" aria-label="Evaluation steps">
        {explain.steps.map((step, index) => (
          <TimelineStep key={index} step={step} />
        ))}
        <li class="step step-result">
          <div class="step-head">
            <span class="step-icon" aria-hidden="true">
              ⚑
            </span>
            <h3>Answer</h3>
          </div>
          <ResultLine result={explain.result} />
          {explain.summary !== "" ? <p class="summary">{explain.summary}</p> : null}
        </li>
      </ol>
    </section>
  );
}

function TimelineStep({ step }: { readonly step: ExplainStep }) {
  switch (step.step.case) {
    case "flagDisabled": {
      const { defaultVariantKey } = step.step.value;
      return (
        <Step tone="decided" title="The flag is disabled">
          <p>
            Rules are skipped; the answer is{" "}
            {defaultVariantKey === "" ? (
              "no variant"
            ) : (
              <>
                the default variant <code>{defaultVariantKey}</code>
              </>
            )}
            .
          </p>
        </Step>
      );
    }
    case "rule": {
      const rule = step.step.value;
      const bucket = rule.bucket;
      return (
        <Step
          tone={rule.matched ? "decided" : "missed"}
          title={`Rule ${rule.rank}`}
          outcome={rule.matched ? "matched" : "did not match"}
        >
          <Segments operator={rule.segmentOperator} segments={rule.segments} />
          {bucket !== undefined ? (
            <div class="bucket-step">
              <p>
                Bucket <strong>{bucket.bucket}</strong> (crc32 of flag key and entity id, mod 1000){" "}
                {bucket.selectedVariantKey === "" ? (
                  "fell in no distribution's range."
                ) : (
                  <>
                    fell in variant <code>{bucket.selectedVariantKey}</code>'s range.
                  </>
                )}
              </p>
              <BucketBar
                size={1000}
                bucket={bucket.bucket}
                ranges={bucket.distributions.map((distribution) => ({
                  label: `${distribution.variantKey} (${formatFloat32(distribution.rollout)}%)`,
                  start: distribution.bucketStart,
                  end: distribution.bucketEnd,
                  selected:
                    distribution.variantKey === bucket.selectedVariantKey &&
                    bucket.bucket >= distribution.bucketStart &&
                    bucket.bucket < distribution.bucketEnd,
                }))}
              />
            </div>
          ) : null}
        </Step>
      );
    }
    case "rollout": {
      const rollout = step.step.value;
      const threshold = rollout.threshold;
      return (
        <Step
          tone={rollout.matched ? "decided" : "missed"}
          title={`Rollout ${rollout.rank} (${threshold !== undefined ? "percentage" : "segments"})`}
          outcome={rollout.matched ? `matched: answers ${rollout.value}` : "did not match"}
        >
          {rollout.segment !== undefined ? (
            <Segments operator={rollout.segment.segmentOperator} segments={rollout.segment.segments} />
          ) : null}
          {threshold !== undefined ? (
            <div class="bucket-step">
              <p>
                Bucket <strong>{threshold.bucket}</strong> (crc32 of entity id and flag key, mod 100){" "}
                {rollout.matched ? "is below" : "is not below"} the threshold{" "}
                <strong>{formatFloat32(threshold.percentage)}%</strong>.
              </p>
              <BucketBar
                size={100}
                bucket={threshold.bucket}
                ranges={[
                  {
                    label: `answers ${rollout.value}`,
                    start: 0,
                    end: Math.min(100, Math.ceil(threshold.percentage)),
                    selected: rollout.matched,
                  },
                ]}
              />
            </div>
          ) : null}
        </Step>
      );
    }
    case "fallback": {
      const { defaultVariantKey, enabled } = step.step.value;
      return (
        <Step tone="decided" title="Nothing matched: the fallback answers">
          <p>
            {defaultVariantKey !== "" ? (
              <>
                The default variant <code>{defaultVariantKey}</code>.
              </>
            ) : (
              <>The flag's own value: {String(enabled)}.</>
            )}
          </p>
        </Step>
      );
    }
    case "error":
      return (
        <Step tone="error" title="The evaluation failed">
          <p>{step.step.value.message}</p>
        </Step>
      );
    default:
      return null;
  }
}

interface StepProps {
  readonly tone: "decided" | "missed" | "error";
  readonly title: string;
  readonly outcome?: string;
  readonly children: ComponentChildren;
}

const ICONS = { decided: "✓", missed: "✗", error: "!" } as const;

function Step({ tone, title, outcome, children }: StepProps) {
  return (
    <li class={`step step-${tone}`}>
      <div class="step-head">
        <span class="step-icon" aria-hidden="true">
          {ICONS[tone]}
        </span>
        <h3>
          {title}
          {outcome !== undefined ? <span class="step-outcome">: {outcome}</span> : null}
        </h3>
      </div>
      {children}
    </li>
  );
}

function Segments({
  operator,
  segments,
}: {
  readonly operator: string;
  readonly segments: readonly SegmentTrace[];
}) {
  const and = operator.startsWith("AND");
  return (
    <div class="segments-trace">
      {segments.length > 1 ? (
        <p class="muted">
          {and ? "All" : "Any"} of {segments.length} segments must match ({and ? "AND" : "OR"}).
        </p>
      ) : null}
      {segments.map((segment) => (
        <div key={segment.key} class={`segment-trace ${outcomeClass(segment.evaluated, segment.matched)}`}>
          <p class="segment-trace-head">
            Segment <code>{segment.key}</code> ({segment.matchType.startsWith("ANY") ? "any" : "all"}{" "}
            constraints): <strong>{outcomeText(segment.evaluated, segment.matched)}</strong>
          </p>
          {segment.constraints.length === 0 ? (
            <p class="muted">No constraints: matches every entity.</p>
          ) : (
            <div class="table-wrap">
              <table class="table compact">
                <thead>
                  <tr>
                    <th scope="col">Property</th>
                    <th scope="col">Type</th>
                    <th scope="col">Operator</th>
                    <th scope="col">Value</th>
                    <th scope="col">Compared with</th>
                    <th scope="col">Outcome</th>
                  </tr>
                </thead>
                <tbody>
                  {segment.constraints.map((constraint, index) => (
                    <ConstraintRow key={index} constraint={constraint} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      ))}
    </div>
  );
}

function ConstraintRow({ constraint }: { readonly constraint: ConstraintTrace }) {
  const entity = constraint.type.startsWith("ENTITY_ID");
  return (
    <tr class={outcomeClass(constraint.evaluated, constraint.matched)}>
      <td>{entity ? <em>entity id</em> : <code>{constraint.property}</code>}</td>
      <td>{typeLabel(constraint.type)}</td>
      <td>
        <code>{constraint.operator}</code>
      </td>
      <td>{constraint.value === "" ? <span class="muted">none</span> : <code>{constraint.value}</code>}</td>
      <td>
        {constraint.contextPresent ? (
          <code>{JSON.stringify(constraint.contextValue)}</code>
        ) : (
          <span class="muted">missing from the context</span>
        )}
      </td>
      <td>{outcomeText(constraint.evaluated, constraint.matched)}</td>
    </tr>
  );
}

function outcomeClass(evaluated: boolean, matched: boolean): string {
  return !evaluated ? "outcome-skipped" : matched ? "outcome-matched" : "outcome-missed";
}

function outcomeText(evaluated: boolean, matched: boolean): string {
  return !evaluated ? "– not evaluated" : matched ? "✓ matched" : "✗ no match";
}

/** The answer of an evaluation in one line: value, reason and segments. */
export function ResultLine({ result }: { readonly result: EvaluationResponse | undefined }) {
  const response = result?.response;
  switch (response?.case) {
    case "booleanResponse":
      return (
        <p class="result-line">
          <strong class={`value value-${response.value.enabled}`}>{String(response.value.enabled)}</strong> ·{" "}
          {reasonText(response.value.reason)}
          {response.value.segmentKeys.length > 0
            ? ` · segments ${response.value.segmentKeys.join(", ")}`
            : ""}
        </p>
      );
    case "variantResponse":
      return (
        <p class="result-line">
          {response.value.variantKey === "" ? (
            <strong class="value">no variant</strong>
          ) : (
            <strong class="value">{response.value.variantKey}</strong>
          )}{" "}
          · {response.value.match ? "match" : "no match"} · {reasonText(response.value.reason)}
          {response.value.segmentKeys.length > 0
            ? ` · segments ${response.value.segmentKeys.join(", ")}`
            : ""}
        </p>
      );
    case "errorResponse":
      return (
        <p class="result-line field-error">
          Error: {response.value.reason === 1 ? "flag not found" : "evaluation failed"} (
          <code>{response.value.flagKey}</code>)
        </p>
      );
    default:
      return <p class="result-line muted">No answer.</p>;
  }
}

/** The reason's enum name without its suffix, e.g. MATCH. */
function reasonText(reason: EvaluationReason): string {
  return (EvaluationReason[reason] ?? String(reason)).replace(/_EVALUATION_REASON$/, "");
}
