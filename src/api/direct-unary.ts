import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

/**
 * Services whose unary RPCs are served directly, outside Connect's transport machinery: the evaluation hot path, and
 * gRPC health's Check (the do-nothing call the benchmark's echo is, and what load balancers poll).
 */
export const DIRECT_SERVICES: ReadonlySet<string> = new Set([
  "flipt.evaluation.EvaluationService",
  "flipt.ofrep.OFREPService",
  "grpc.health.v1.Health",
]);

/** One call to run: what the protocol read from the request, apart from the message. */
export interface DirectCall {
  /** The request headers the handler and the interceptors see. */
  readonly header: Headers;
  readonly contextValues: ContextValues;
  readonly url: string;
  /** "connect", "grpc", "grpc-web" (REST calls say "connect", as the REST gateway speaks Connect to its handlers). */
  readonly protocolName: string;
  /** Where the handler's response headers go (those it set before failing too); new ones when absent. */
  readonly responseHeader?: Headers;
  readonly responseTrailer?: Headers;
}

/** What a unary RPC answered: its message, and the headers and trailers the handler and the interceptors set. */
export interface DirectAnswer<O extends DescMessage = DescMessage> {
  readonly message: MessageShape<O>;
  readonly header: Headers;
  readonly trailer: Headers;
}

/**
 * Unary RPCs run the way Connect's handlers run them, without its transport: the same service implementation, behind
 * the same interceptors in the same order (so authentication, limits, metrics, error mapping and the request log stay
 * in one place each), with none of the per-call abort controllers, async iterables and envelope pipelines.
 */
export interface DirectUnary {
  /** Whether `method` is a unary RPC this serves (its service was registered and is in `DIRECT_SERVICES`). */
  serves(method: DescMethod): boolean;
  /** Registers a service's implementation, as `ConnectRouter.service` receives it; others are ignored. */
  register(service: DescService, implementation: object): void;
  /**
   * Runs `method` on `input`. Rejects with a ConnectError, as Connect's handler would write it: what the interceptors
   * threw (already mapped), or "internal error" for anything that is not a ConnectError.
   */
  call<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    input: MessageShape<I>,
    call: DirectCall,
  ): Promise<DirectAnswer<O>>;
}

type UnaryImplementation = (message: unknown, context: HandlerContext) => unknown;

/** A signal that never aborts: unary evaluations run to their end once started (Connect aborts only at their end). */
const NEVER_ABORTED = new AbortController().signal;
const NO_TIMEOUT = () => undefined;

export function createDirectUnary(
  interceptors: readonly Interceptor[],
  shutdownSignal: AbortSignal | undefined,
): DirectUnary {
  const implementations = new Map<DescMethod, UnaryImplementation>();
  const signal = shutdownSignal ?? NEVER_ABORTED;
  return {
    serves: (method) => implementations.has(method),
    register(service, implementation) {
      if (!DIRECT_SERVICES.has(service.typeName)) return;
      for (const method of service.methods) {
        if (method.methodKind !== "unary") continue;
        const fn = (implementation as Record<string, unknown>)[method.localName];
        if (typeof fn === "function")
          implementations.set(method, fn.bind(implementation) as UnaryImplementation);
      }
    },
    async call(method, input, call) {
      const implementation = implementations.get(method);
      if (implementation === undefined)
        throw new ConnectError(`${method.name} is not served directly`, Code.Internal);
      const service = method.parent;
      const responseHeader = call.responseHeader ?? new Headers();
      const responseTrailer = call.responseTrailer ?? new Headers();
      const run = async (req: UnaryRequest): Promise<UnaryResponse> => {
        const context: HandlerContext = {
          method,
          service: req.service,
          signal: req.signal,
          timeoutMs: NO_TIMEOUT,
          requestMethod: req.requestMethod,
          requestHeader: req.header,
          responseHeader,
          responseTrailer,
          protocolName: call.protocolName,
          values: req.contextValues,
          url: req.url,
        };
        const output = create(method.output, (await implementation(req.message, context)) as never);
        return {
          stream: false,
          service,
          method: method as never,
          header: responseHeader,
          trailer: responseTrailer,
          message: output,
        };
      };
      let next = run as (req: UnaryRequest) => Promise<UnaryResponse>;
      for (let index = interceptors.length - 1; index >= 0; index--) {
        next = (interceptors[index] as Interceptor)(next as never) as typeof next;
      }
      try {
        const response = await next({
          stream: false,
          service,
          method: method as never,
          requestMethod: "POST",
          url: call.url,
          signal,
          header: call.header,
          contextValues: call.contextValues,
          message: input,
        });
        copyHeaders(response.header, responseHeader);
        copyHeaders(response.trailer, responseTrailer);
        return {
          message: response.message as MessageShape<typeof method.output>,
          header: responseHeader,
          trailer: responseTrailer,
        };
      } catch (reason) {
        throw reason instanceof ConnectError
          ? reason
          : new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
      }
    },
  };
}

/** What Connect does with an interceptor's own response headers: they replace the handler's. */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  const keys: string[] = [];
  to.forEach((_, key) => {
    keys.push(key);
  });
  for (const key of keys) to.delete(key);
  from.forEach((value, key) => {
    to.set(key, value);
  });
}
