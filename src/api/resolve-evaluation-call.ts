import type { HandlerContext } from "@connectrpc/connect";
import { ValidationError } from "../domain/errors.js";
import { DEFAULT_NAMESPACE } from "../domain/flag-state.js";
import type { EvaluationRequest as EngineRequest } from "../engine/evaluate-request.js";
import type { EvaluationRequest } from "../gen/flipt/evaluation/evaluation_pb.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import { restCallKey } from "./context-keys.js";
import { ENVIRONMENT_HEADER, environmentForEvaluation, NAMESPACE_HEADER } from "./resolve-environment.js";

/**
 * The environment and the engine input of a single-flag call (Boolean, Variant, Explain): the flag key is required;
 * the environment from the body, else `X-Flipt-Environment`, else the default; the namespace from the body, else
 * `X-Flipt-Namespace` (not on REST: Flipt's gateway does not forward it on /evaluate/v1), else `default`.
 */
export function resolveEvaluationCall(
  environments: Environments,
  request: EvaluationRequest,
  context: HandlerContext,
): { environment: Environment; input: EngineRequest } {
  requireFlagKey(request, "");
  const header = context.requestHeader.get(ENVIRONMENT_HEADER);
  const environment = environmentForEvaluation(environments, request.environmentKey, header);
  const namespaceHeader =
    context.values.get(restCallKey) === undefined ? context.requestHeader.get(NAMESPACE_HEADER) : null;
  return { environment, input: toEngineInput(request, namespaceHeader ?? "") };
}

/** The engine's input for one request; `namespaceHeader` is used when the request names no namespace. */
export function toEngineInput(request: EvaluationRequest, namespaceHeader: string): EngineRequest {
  return {
    namespaceKey: request.namespaceKey || namespaceHeader || DEFAULT_NAMESPACE,
    flagKey: request.flagKey,
    entityId: request.entityId,
    context: request.context,
  };
}

/** InvalidArgument for an empty flag key, naming the field (`requests[2].flag_key` in a batch). */
export function requireFlagKey(request: EvaluationRequest, prefix: string): void {
  if (request.flagKey === "") throw new ValidationError(`invalid field ${prefix}flag_key: must not be empty`);
}
