import { useEffect, useId, useMemo, useRef, useState } from "preact/hooks";
import { FlagType } from "../../src/gen/flipt/core/core_pb.js";
import type { EvaluationRequest, EvaluationResponse } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import type { ExplainResponse } from "../../src/gen/pennant/explain/v1/explain_pb.js";
import { describeProblem, type Problem } from "../api/describe-problem.js";
import { ChoiceGroup } from "../components/choice-group.js";
import { ContextEditor, type ContextInput, contextOf } from "../components/context-editor.js";
import { ExplainTimeline, ResultLine } from "../components/explain-timeline.js";
import { WithNamespaceData } from "../components/with-namespace-data.js";
import { emptyContextRow } from "../model/evaluation-context.js";
import type { FlagListing } from "../model/flag-summary.js";
import { formatRoute } from "../state/route.js";
import { useDocumentTitle } from "../state/use-document-title.js";
import type { NamespaceData } from "../state/use-namespace-store.js";
import { useWorkspace } from "../state/workspace-context.js";

/** Requests per Batch call when every flag of a large namespace is evaluated. */
const BATCH_SIZE = 1000;
/** Results listed at once; a filter narrows the rest. */
const RESULTS_SHOWN = 200;

/** What the console was last asked, kept while the tab lives so that moving between pages keeps it. */
let lastInput: { entity: string; context: ContextInput } = {
  entity: "user-1",
  context: { mode: "rows", rows: [emptyContextRow()], json: "{}" },
};

/** Evaluates one flag or every flag of the namespace for an entity and context, and explains an answer. */
export function ConsolePage({ flagKey }: { readonly flagKey: string }) {
  const { ns } = useWorkspace();
  useDocumentTitle(`Console · ${ns}`);
  return (
    <WithNamespaceData>{(data) => <EvaluationConsole data={data} initialFlag={flagKey} />}</WithNamespaceData>
  );
}

interface Results {
  readonly entity: string;
  readonly responses: readonly EvaluationResponse[];
}

function EvaluationConsole({
  data,
  initialFlag,
}: {
  readonly data: NamespaceData;
  readonly initialFlag: string;
}) {
  const { api, env, ns } = useWorkspace();
  const [scope, setScope] = useState<"one" | "all">(
    initialFlag !== "" || data.flags.length > 0 ? "one" : "all",
  );
  const [flag, setFlag] = useState(initialFlag !== "" ? initialFlag : (data.flags[0]?.key ?? ""));
  const [entity, setEntity] = useState(lastInput.entity);
  const [context, setContext] = useState<ContextInput>(lastInput.context);
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<Results | undefined>(undefined);
  const [explain, setExplain] = useState<ExplainResponse | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [filter, setFilter] = useState("");
  const ids = { flag: useId(), flags: useId(), entity: useId(), filter: useId() };
  const types = useMemo(
    () => new Map(data.flags.map((candidate) => [candidate.key, candidate.type])),
    [data.flags],
  );
  // The same element each render, so that typing does not compare 10 000 options each time.
  const flagOptions = useMemo(
    () => <FlagOptions id={ids.flags} flags={data.flags} />,
    [ids.flags, data.flags],
  );
  /** The newest explanation asked for: an answer to an older one, arriving late, is dropped. */
  const explaining = useRef(0);
  const parsed = contextOf(context);
  const contextProblem = "problem" in parsed ? parsed.problem : undefined;

  useEffect(() => {
    lastInput = { entity, context };
  }, [entity, context]);
  useEffect(() => {
    if (initialFlag !== "") {
      setFlag(initialFlag);
      setScope("one");
    }
  }, [initialFlag]);

  const request = (flagKey: string): Omit<EvaluationRequest, "$typeName"> => ({
    requestId: "",
    environmentKey: env,
    namespaceKey: ns,
    flagKey,
    entityId: entity,
    context: "context" in parsed ? parsed.context : {},
    reference: "",
  });

  const evaluate = async () => {
    if (contextProblem !== undefined) return;
    setBusy(true);
    setProblem(undefined);
    setExplain(undefined);
    explaining.current++;
    try {
      const keys = scope === "one" ? [flag] : data.flags.map((candidate) => candidate.key);
      const responses: EvaluationResponse[] = [];
      for (let start = 0; start < keys.length; start += BATCH_SIZE) {
        const answer = await api.evaluation.batch({
          requests: keys.slice(start, start + BATCH_SIZE).map(request),
        });
        responses.push(...answer.responses);
      }
      setResults({ entity, responses });
      if (scope === "one") await runExplain(flag);
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const runExplain = async (flagKey: string) => {
    const asked = ++explaining.current;
    setProblem(undefined);
    try {
      const answer = await api.explain.explain(request(flagKey));
      if (asked === explaining.current) setExplain(answer);
    } catch (error) {
      if (asked !== explaining.current) return;
      setExplain(undefined);
      setProblem(describeProblem(error));
    }
  };

  const needle = filter.trim().toLowerCase();
  const listed = (results?.responses ?? []).filter(
    (response) => needle === "" || keyOf(response).toLowerCase().includes(needle),
  );

  return (
    <section class="page console-page" aria-labelledby="console-title">
      <h1 id="console-title">
        Console <span class="muted">in {ns}</span>
      </h1>
      <p class="hint">
        Evaluates through Pennant's public API (EvaluationService.Batch), as your application would, and
        explains an answer step by step (ExplainService.Explain).
      </p>
      <form
        class="card console-form"
        onSubmit={(event) => {
          event.preventDefault();
          void evaluate();
        }}
      >
        <ChoiceGroup
          legend="Evaluate"
          choices={[
            { value: "one", label: "one flag" },
            {
              value: "all",
              label: (
                <>
                  all {data.flags.length.toLocaleString()} flags of <code>{ns}</code>
                </>
              ),
            },
          ]}
          value={scope}
          onChange={setScope}
        />
        <div class="grid-2">
          {scope === "one" ? (
            <div class="field">
              <label for={ids.flag}>Flag</label>
              <input
                id={ids.flag}
                list={ids.flags}
                value={flag}
                spellcheck={false}
                autocomplete="off"
                onInput={(event) => setFlag(event.currentTarget.value)}
              />
              {flagOptions}
              {flag !== "" && !types.has(flag) ? (
                <p class="hint">No flag {flag} in this namespace: the answer will be a not-found error.</p>
              ) : null}
            </div>
          ) : null}
          <div class="field">
            <label for={ids.entity}>Entity ID</label>
            <input
              id={ids.entity}
              value={entity}
              spellcheck={false}
              aria-describedby={`${ids.entity}-help`}
              onInput={(event) => setEntity(event.currentTarget.value)}
            />
            <p class="hint" id={`${ids.entity}-help`}>
              Decides the entity's bucket, so the same entity always lands in the same split.
            </p>
          </div>
        </div>
        <ContextEditor value={context} onChange={setContext} />
        <div class="save-bar">
          <button
            type="submit"
            class="button primary"
            disabled={busy || contextProblem !== undefined || (scope === "one" && flag === "")}
          >
            {busy ? "Evaluating…" : scope === "one" ? "Evaluate and explain" : "Evaluate all"}
          </button>
        </div>
      </form>
      {problem !== undefined ? (
        <div class="notice notice-error" role="alert">
          <p class="notice-title">The server answered an error</p>
          <p>
            <code>{problem.code}</code> {problem.message}
          </p>
        </div>
      ) : null}
      {results !== undefined ? (
        <section class="card" aria-labelledby="results-title" aria-live="polite">
          <h2 id="results-title">
            Results for <code>{results.entity}</code>
          </h2>
          {results.responses.length > RESULTS_SHOWN ? (
            <div class="field">
              <label for={ids.filter}>Filter results by flag key</label>
              <input
                id={ids.filter}
                type="search"
                value={filter}
                onInput={(event) => setFilter(event.currentTarget.value)}
              />
            </div>
          ) : null}
          <div class="table-wrap">
            <table class="table" data-testid="results">
              <thead>
                <tr>
                  <th scope="col">Flag</th>
                  <th scope="col">Type</th>
                  <th scope="col">Answer</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {listed.slice(0, RESULTS_SHOWN).map((response) => {
                  const key = keyOf(response);
                  return (
                    <tr key={key} data-flag-key={key}>
                      <th scope="row">
                        <a href={formatRoute({ page: "flag", env, ns, key })}>
                          <code>{key}</code>
                        </a>
                      </th>
                      <td>{typeOf(response, types.get(key))}</td>
                      <td>
                        <ResultLine result={response} />
                      </td>
                      <td>
                        <button
                          type="button"
                          class="button small"
                          aria-label={`Explain ${key}`}
                          onClick={() => void runExplain(key)}
                        >
                          Explain
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {listed.length > RESULTS_SHOWN ? (
            <p class="hint">
              Showing {RESULTS_SHOWN} of {listed.length.toLocaleString()} results; filter to see others.
            </p>
          ) : null}
        </section>
      ) : null}
      {explain !== undefined ? <ExplainTimeline explain={explain} /> : null}
    </section>
  );
}

function FlagOptions({ id, flags }: { readonly id: string; readonly flags: readonly FlagListing[] }) {
  return (
    <datalist id={id}>
      {flags.map((flag) => (
        <option key={flag.key} value={flag.key}>
          {flag.name}
        </option>
      ))}
    </datalist>
  );
}

function keyOf(response: EvaluationResponse): string {
  return response.response.case === undefined ? "" : response.response.value.flagKey;
}

function typeOf(response: EvaluationResponse, type: FlagType | undefined): string {
  if (response.response.case === "booleanResponse") return "Boolean";
  if (response.response.case === "variantResponse") return "Variant";
  return type === FlagType.BOOLEAN_FLAG_TYPE
    ? "Boolean"
    : type === FlagType.VARIANT_FLAG_TYPE
      ? "Variant"
      : "—";
}
