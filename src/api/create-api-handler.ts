import { createRegistry, type DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import { EnvironmentsService } from "../gen/environments/environments_pb.js";
import { ClientEvaluationService } from "../gen/evaluation/evaluation_pb.js";
import { AuthenticationService, PublicAuthenticationService } from "../gen/flipt/auth/auth_pb.js";
import { file_flipt_core_core } from "../gen/flipt/core/core_pb.js";
import { EvaluationService } from "../gen/flipt/evaluation/evaluation_pb.js";
import { Flipt } from "../gen/flipt/flipt_pb.js";
import { MetadataService } from "../gen/flipt/meta/meta_pb.js";
import { OFREPService } from "../gen/flipt/ofrep/ofrep_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ExplainService } from "../gen/pennant/explain/v1/explain_pb.js";
import { StatusService } from "../gen/pennant/status/v1/status_pb.js";
import type { BranchService } from "../storage/branch-environments.js";
import type { Environments } from "../storage/environments.js";
import { type AuthPolicy, createAuthInterceptor } from "./auth-interceptor.js";
import {
  type AuthServiceOptions,
  createAuthenticationService,
  createPublicAuthenticationService,
} from "./auth-service.js";
import { createClientEvaluationService } from "./client-evaluation-service.js";
import type { ClusterView } from "./cluster-view.js";
import { consoleSessionRoutes } from "./console-session.js";
import type { CorsOptions } from "./cors.js";
import { createEnvironmentsService } from "./environments-service.js";
import { createEvaluationService } from "./evaluation-service.js";
import { createExplainService } from "./explain-service.js";
import { createFliptService } from "./flipt-service.js";
import { createHealthService, type HealthStatus } from "./health-service.js";
import { createHttpHandler, type NodeHandler } from "./http-handler.js";
import type { JwtAuthenticator } from "./jwt-authenticator.js";
import { createLimitsInterceptor, type RequestLimits } from "./limits-interceptor.js";
import { type BuildInfo, createMetadataService } from "./meta-service.js";
import { createMetrics } from "./metrics.js";
import { ofrepErrorBody } from "./ofrep-error.js";
import { createOfrepService } from "./ofrep-service.js";
import { registerReflection } from "./reflection.js";
import { createErrorMappingInterceptor, createRequestInterceptor } from "./request-interceptor.js";
import { type ConsoleBuild, createConsoleServer } from "./serve-console.js";
import { createTokenAuthenticator, nodeHeaders, type StaticToken } from "./static-tokens.js";
import { createStatusService, reportStatus } from "./status-service.js";
import { createWebhookSync, SYNC_PATH } from "./webhook-sync.js";

/** Prometheus's scrape path; open, as in Flipt. */
const METRICS_PATH = /^\/metrics\/?$/;

/** Every service Pennant serves, in the order reflection lists them. */
export const SERVICES: readonly DescService[] = [
  EvaluationService,
  ClientEvaluationService,
  EnvironmentsService,
  OFREPService,
  Flipt,
  MetadataService,
  PublicAuthenticationService,
  AuthenticationService,
  StatusService,
  ExplainService,
  Health,
];

export interface ApiHandlerOptions {
  readonly logger: Logger;
  readonly health: HealthStatus;
  readonly environments: Environments;
  /** Branch environments of environments on git storage (the environments API's branch calls). */
  readonly branches?: BranchService | undefined;
  /** In a worker process (`server.workers`): the owner, for the metrics and status of every process. */
  readonly cluster?: ClusterView | undefined;
  /** `evaluation.max_batch_size`. */
  readonly maxBatchSize: number;
  readonly build: BuildInfo;
  readonly cors: CorsOptions;
  readonly maxRequestBytes: number;
  readonly shutdownSignal?: AbortSignal;
  /** Static API tokens by name (`authentication.methods.token`), when that method is enabled. */
  readonly staticTokens?: Readonly<Record<string, StaticToken>> | undefined;
  /** `limits.*`: context sizes and open streams. */
  readonly limits: RequestLimits;
  /** `authentication.methods.jwt`, when enabled. */
  readonly jwt?: JwtAuthenticator | undefined;
  /** `authentication.required` and `authentication.exclude`; nothing is enforced when absent. */
  readonly authentication?: Pick<AuthPolicy, "required" | "exclude"> & {
    /** `authentication.methods.jwt.claims_mapping`: which claims `GET /auth/v1/self` reports for a JWT. */
    readonly methods?: { readonly jwt?: { readonly claimsMapping?: Readonly<Record<string, string>> } };
  };
  /** `metrics.enabled`: record Flipt's `flipt_*` families (`GET /metrics` is served either way). */
  readonly metrics?: boolean;
  /** The web console's files, served at `/` (`ui.enabled`); none when absent. */
  readonly console?: ConsoleBuild | undefined;
  /** `authentication.session`: the console's sign-in cookie. */
  readonly session: { readonly secure: boolean; readonly lifetimeMs: number };
  /** False: the evaluation RPCs go through Connect's handlers too (the direct path's tests compare the two). */
  readonly direct?: boolean;
}

/**
 * The request handler for both listeners: every service over gRPC, gRPC-Web and Connect, their REST routes,
 * `/health`, and reflection. RPCs not built yet answer Unimplemented, naming the RPC.
 */
export function createApiHandler(options: ApiHandlerOptions): NodeHandler {
  const auth: AuthServiceOptions = {
    methods: {
      token: { enabled: options.staticTokens !== undefined },
      jwt: {
        enabled: options.jwt !== undefined,
        claimsMapping: options.authentication?.methods?.jwt?.claimsMapping ?? {},
      },
    },
    loadedAt: new Date(),
  };
  // As in Flipt, /metrics is always served; `metrics.enabled: false` leaves out only the flipt_* families.
  const metrics = createMetrics(options.environments, {
    flipt: options.metrics === true,
    services: SERVICES,
    aggregate: options.cluster?.metrics,
  });
  options.cluster?.attach(metrics.registry);
  const routes = (router: ConnectRouter) => {
    router.service(
      EvaluationService,
      createEvaluationService({
        environments: options.environments,
        maxBatchSize: options.maxBatchSize,
        recorder: metrics.evaluations,
      }),
    );
    router.service(
      ClientEvaluationService,
      createClientEvaluationService(options.environments, metrics.evaluations),
    );
    router.service(
      EnvironmentsService,
      metrics.recordRepositoryCalls(createEnvironmentsService(options.environments, options.branches)),
    );
    router.service(OFREPService, createOfrepService(options.environments, metrics.evaluations));
    router.service(Flipt, createFliptService({ environments: options.environments }));
    router.service(
      StatusService,
      createStatusService(options.cluster?.status ?? (() => reportStatus(options.environments))),
    );
    router.service(ExplainService, createExplainService(options.environments));
    router.service(MetadataService, createMetadataService(options.build));
    router.service(PublicAuthenticationService, createPublicAuthenticationService(auth));
    router.service(AuthenticationService, createAuthenticationService(auth));
    router.service(Health, createHealthService(options.health));
    registerReflection(router, SERVICES, [file_flipt_core_core]);
  };
  const tokens =
    options.staticTokens === undefined ? undefined : createTokenAuthenticator(options.staticTokens);
  const sync = createWebhookSync(options.environments, tokens);
  const authentication = options.authentication ?? {
    required: false,
    exclude: { evaluation: false, ofrep: false },
  };
  return createHttpHandler({
    routes,
    extraBindings: [
      { method: Health.method.check, verb: "GET", path: "/health" },
      // Flipt's OFREP change notifications: the snapshot stream as server-sent events.
      {
        method: ClientEvaluationService.method.evaluationSnapshotNamespaceStream,
        verb: "GET",
        path: "/ofrep/v1/_stream/{environment_key}/{key}/events",
        eventStreamOnly: true,
      },
    ],
    registry: createRegistry(file_flipt_core_core, ...SERVICES.map((service) => service.file)),
    interceptors: [
      // First, so that it maps and logs what the metrics interceptor raises reading a stream's request message.
      createRequestInterceptor(options.logger),
      // The gRPC metrics count the codes clients see: the errors of the interceptors and handlers inside, mapped.
      metrics.interceptor,
      createErrorMappingInterceptor(),
      createAuthInterceptor({ ...authentication, tokens, jwt: options.jwt }),
      createLimitsInterceptor(options.limits),
    ],
    maxRequestBytes: options.maxRequestBytes,
    cors: options.cors,
    errorBody: ofrepErrorBody,
    rawRoutes: [
      {
        method: "GET",
        path: METRICS_PATH,
        handle: async () => ({
          status: 200,
          headers: new Headers({ "content-type": metrics.registry.contentType }),
          body: new TextEncoder().encode(await metrics.scrape()),
        }),
      },
      {
        method: "POST",
        path: SYNC_PATH,
        handle: (match, body, headers) => sync(match[1] as string, body, nodeHeaders(headers)),
      },
      ...consoleSessionRoutes({ tokens, ...options.session }),
    ],
    ...(options.console === undefined ? {} : { fallback: createConsoleServer(options.console) }),
    logger: options.logger,
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
    ...(options.direct === false ? { direct: false } : {}),
  });
}
