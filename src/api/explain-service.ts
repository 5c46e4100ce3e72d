import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { NotFoundError } from "../domain/errors.js";
import { findFlag } from "../engine/evaluate-request.js";
import { explainFlag } from "../engine/explain-flag.js";
import type { ExplainService } from "../gen/pennant/explain/v1/explain_pb.js";
import type { Environments } from "../storage/environments.js";
import { toBatchItem } from "./batch-item.js";
import { toExplainResponse } from "./convert-explain.js";
import { resolveEvaluationCall } from "./resolve-evaluation-call.js";

/**
 * `pennant.explain.v1.ExplainService` (`POST /pennant/v1/explain`): one flag of either type evaluated as
 * `flipt.evaluation.EvaluationService` evaluates it, answered with the engine's trace beside the answer.
 *
 * The request is Flipt's `EvaluationRequest`, resolved as a single Boolean or Variant call resolves it (the body's
 * environment key if it names one, else `X-Flipt-Environment`, else the default; the namespace from the body, then
 * the `X-Flipt-Namespace` header except on REST, then `default`), and a missing flag or namespace is NotFound with
 * Flipt's message. `result` is what `Batch` answers for the flag (an evaluation error such as an unknown comparison
 * type is an error item there, and here too, with the trace that led to it); `revision` is the snapshot's that
 * answered. Context limits apply as to evaluations (the limits interceptor knows the request type).
 *
 * Explanations are not evaluations an application served: they are not recorded in Flipt's evaluation metrics
 * (`flipt_evaluations_*`), only in the per-RPC gRPC families every call has.
 */
export function createExplainService(environments: Environments): ServiceImpl<typeof ExplainService> {
  return {
    async explain(request, context) {
      const started = performance.now();
      const { environment, input } = resolveEvaluationCall(environments, request, context);
      const snapshot = await environment.snapshotFor(input.namespaceKey, "evaluate");
      const found = findFlag(snapshot, input);
      if (!found.ok) throw new NotFoundError(found.error.message);
      const { result, trace } = explainFlag(found.value, input);
      return toExplainResponse(trace, {
        environmentKey: environment.key,
        namespaceKey: input.namespaceKey,
        flagKey: input.flagKey,
        revision: snapshot.revision,
        result: toBatchItem(request, result, performance.now() - started, timestampNow()),
      });
    },
  };
}
