import { randomUUID } from "node:crypto";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import type { Snapshot } from "../domain/snapshot.js";
import {
  type EvaluationRequest as EngineRequest,
  evaluateAnyRequest,
  evaluateBooleanRequest,
  evaluateVariantRequest,
} from "../engine/evaluate-request.js";
import type {
  BooleanEvaluation,
  EvaluationError,
  EvaluationResult,
  VariantEvaluation,
} from "../engine/evaluation-result.js";
import type { EvaluationRequest, EvaluationService } from "../gen/flipt/evaluation/evaluation_pb.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import { isNotFound, toBatchItem } from "./batch-item.js";
import { booleanAnswer, type Envelope, variantAnswer } from "./evaluation-answer.js";
import type { EvaluationRecorder } from "./evaluation-recorder.js";
import { ENVIRONMENT_HEADER, environmentForEvaluation } from "./resolve-environment.js";
import { requireFlagKey, resolveEvaluationCall, toEngineInput } from "./resolve-evaluation-call.js";

export interface EvaluationServiceOptions {
  readonly environments: Environments;
  /** `evaluation.max_batch_size`: the most requests one batch may carry. */
  readonly maxBatchSize: number;
  /** Where each flag found and evaluated is recorded, in the environment and namespace it was evaluated in. */
  readonly recorder: EvaluationRecorder;
}

/**
 * `flipt.evaluation.EvaluationService`: Boolean, Variant and Batch, evaluated by the pure engine against the
 * environment's current snapshot, taken once per call. Environments and namespaces resolve as in Flipt
 * (api.md §4); responses carry the request id (a new UUID when none is sent), the timestamp and the duration.
 * A call that succeeds records each flag it evaluated, with the call's duration.
 */
export function createEvaluationService(
  options: EvaluationServiceOptions,
): ServiceImpl<typeof EvaluationService> {
  const { environments, recorder } = options;
  /**
   * Boolean and Variant: one flag, evaluated against the snapshot taken once, answered with the engine's result
   * in Flipt's envelope, and recorded once the answer is built.
   */
  const evaluateOne = async <T extends BooleanEvaluation | VariantEvaluation, R>(
    request: EvaluationRequest,
    context: HandlerContext,
    evaluate: (snapshot: Snapshot, input: EngineRequest) => EvaluationResult<T>,
    respond: (value: T, envelope: Envelope) => R,
  ): Promise<R> => {
    const started = performance.now();
    const { environment, input } = resolveEvaluationCall(environments, request, context);
    const snapshot = await environment.snapshotFor(input.namespaceKey, "evaluate");
    const result = evaluate(snapshot, input);
    if (!result.ok) throw toError(result.error);
    const stamped = envelope(request.requestId, started);
    const response = respond(result.value, stamped);
    recorder.evaluated(environment.key, input.namespaceKey, result.value, stamped.requestDurationMillis);
    return response;
  };
  return {
    boolean: (request, context) => evaluateOne(request, context, evaluateBooleanRequest, booleanAnswer),
    variant: (request, context) => evaluateOne(request, context, evaluateVariantRequest, variantAnswer),
    async batch(request, context) {
      const started = performance.now();
      if (request.requests.length > options.maxBatchSize) {
        throw new ValidationError(
          `a batch may carry at most ${options.maxBatchSize} requests (evaluation.max_batch_size), got ${request.requests.length}`,
        );
      }
      const header = context.requestHeader.get(ENVIRONMENT_HEADER);
      const resolved = request.requests.map((item, index) => {
        requireFlagKey(item, `requests[${index}].`);
        const environment = environmentForEvaluation(environments, item.environmentKey, header);
        return { item, environment, input: toEngineInput(item, "") };
      });
      const snapshots = await snapshotsFor(resolved);
      const items = resolved.map(({ item, environment, input }) => {
        const result = evaluateAnyRequest(snapshots.get(environment) as Snapshot, input);
        return result.ok
          ? { ok: true as const, item, value: result.value, environment: environment.key, input }
          : { ok: false as const, item, error: result.error };
      });
      const { requestId, requestDurationMillis, timestamp } = envelope(request.requestId, started);
      // Each flag found, in the environment and namespace it was evaluated in (items that are errors found none).
      for (const entry of items) {
        if (entry.ok) {
          recorder.evaluated(entry.environment, entry.input.namespaceKey, entry.value, requestDurationMillis);
        }
      }
      return {
        requestId,
        requestDurationMillis,
        responses: items.map((entry) =>
          toBatchItem(
            entry.item,
            entry.ok ? { ok: true, value: entry.value } : { ok: false, error: entry.error },
            requestDurationMillis,
            timestamp,
          ),
        ),
      };
    },
  };
}

/**
 * One snapshot per environment a batch names, taken once every namespace it evaluates there may be served (see
 * `Environment.snapshotFor`), so that all of a batch's items in one environment see the same state.
 */
async function snapshotsFor(
  items: readonly { environment: Environment; input: EngineRequest }[],
): Promise<Map<Environment, Snapshot>> {
  const namespaces = new Map<Environment, Set<string>>();
  for (const { environment, input } of items) {
    const keys = namespaces.get(environment) ?? new Set<string>();
    keys.add(input.namespaceKey);
    namespaces.set(environment, keys);
  }
  const snapshots = new Map<Environment, Snapshot>();
  for (const [environment, keys] of namespaces) {
    await Promise.all([...keys].map((key) => environment.snapshotFor(key, "evaluate")));
    snapshots.set(environment, environment.snapshot);
  }
  return snapshots;
}

function envelope(requestId: string, started: number): Envelope {
  return {
    requestId: requestId === "" ? randomUUID() : requestId,
    requestDurationMillis: performance.now() - started,
    timestamp: timestampNow(),
  };
}

function toError(error: EvaluationError): Error {
  return isNotFound(error) ? new NotFoundError(error.message) : new ValidationError(error.message);
}
