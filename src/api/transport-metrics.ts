import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Counter } from "prom-client";
import {
  type CounterHandle,
  counterHandle,
  type HistogramHandle,
  histogramHandle,
} from "./metric-handles.js";
import { FLIPT_SCOPE, type ServerFamilies } from "./metrics-families.js";
import { whenStreamEnds } from "./when-stream-ends.js";

/** Services whose streams a client may leave without an error: Flipt ends a left snapshot stream `OK`. */
const LEAVING_IS_OK: ReadonlySet<string> = new Set(["evaluation.ClientEvaluationService"]);

/** Every gRPC code by name, as go-grpc-prometheus pre-initializes `grpc_server_handled_total` with them. */
const ALL_CODES = [
  "OK",
  ...Object.values(Code)
    .filter((code): code is Code => typeof code === "number")
    .sort((a, b) => a - b)
    .map((code) => Code[code]),
];

export interface TransportMetricsOptions {
  /** `flipt_server_errors_total`, when Flipt's own families are recorded. */
  readonly serverErrors: Counter<string> | undefined;
  /** Services whose methods get their series at zero from the start, as go-grpc-prometheus does. */
  readonly services: readonly DescService[];
}

/** One method's series, resolved once (its labels are the method's alone, or those and a code). */
interface MethodSeries {
  readonly started: CounterHandle;
  readonly received: CounterHandle;
  readonly sent: CounterHandle;
  readonly handling: HistogramHandle;
  handled(code: string): CounterHandle;
}

/**
 * go-grpc-prometheus's server metrics for every call, whichever protocol carried it (gRPC, Connect, gRPC-Web, REST,
 * OFREP), and Flipt's `flipt_server_errors_total`, which its error interceptor counts for every call that ends in
 * an error. Put it outside the error mapping, so that it counts the codes clients see.
 */
export function createTransportMetrics(s: ServerFamilies, options: TransportMetricsOptions): Interceptor {
  const methods = new Map<DescMethod, MethodSeries>();
  const seriesOf = (method: DescMethod): MethodSeries => {
    let series = methods.get(method);
    if (series === undefined) {
      series = methodSeries(s, method);
      methods.set(method, series);
    }
    return series;
  };
  for (const service of options.services) {
    for (const method of service.methods) {
      const series = seriesOf(method);
      // The handles create their series at zero.
      s.handling.zero(rpcLabels(method));
      for (const code of ALL_CODES) series.handled(code);
    }
  }
  const serverErrors = options.serverErrors?.labels(FLIPT_SCOPE);

  return (next) => async (input) => {
    const started = performance.now();
    const rpc = seriesOf(input.method);
    rpc.started.inc();
    /** Ends the call for go-grpc-prometheus and for `flipt_server_errors_total`, which counts every error. */
    const finish = (code: string) => {
      rpc.handled(code).inc();
      rpc.handling.observe((performance.now() - started) / 1000);
      if (code !== "OK") serverErrors?.inc();
    };

    let req = input;
    try {
      if (!input.stream) {
        rpc.received.inc();
      } else if (input.method.methodKind === "server_streaming") {
        // A server stream's one request message is read here, and counted as received before the call goes on.
        const replayed = await readAhead(input.message);
        rpc.received.inc(replayed.count);
        req = { ...input, message: replayed };
      } else {
        req = { ...input, message: counted(input.message, () => rpc.received.inc()) };
      }
    } catch (error) {
      finish(codeName(error));
      throw error;
    }

    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      finish(codeName(error));
      throw error;
    }
    if (!res.stream) {
      rpc.sent.inc();
      finish("OK");
      return res;
    }
    const leavingIsOk = LEAVING_IS_OK.has(input.service.typeName);
    return {
      ...res,
      message: whenStreamEnds(
        res.message,
        req.signal,
        (error) => {
          // Aborted: the client left.
          const cancelled = req.signal.aborted;
          finish(
            error === undefined || (cancelled && leavingIsOk)
              ? "OK"
              : cancelled
                ? "Canceled"
                : codeName(error),
          );
        },
        () => rpc.sent.inc(),
      ),
    };
  };
}

function methodSeries(s: ServerFamilies, method: DescMethod): MethodSeries {
  const rpc = rpcLabels(method);
  const handled = new Map<string, CounterHandle>();
  return {
    started: counterHandle(s.started, rpc),
    received: counterHandle(s.received, rpc),
    sent: counterHandle(s.sent, rpc),
    handling: histogramHandle(s.handling, rpc),
    handled(code) {
      let series = handled.get(code);
      if (series === undefined) {
        series = counterHandle(s.handled, { ...rpc, grpc_code: code });
        handled.set(code, series);
      }
      return series;
    },
  };
}

function rpcLabels(method: DescMethod): Record<string, string> {
  const grpc_type = {
    unary: "unary",
    server_streaming: "server_stream",
    client_streaming: "client_stream",
    bidi_streaming: "bidi_stream",
  }[method.methodKind];
  return { grpc_type, grpc_service: method.parent.typeName, grpc_method: method.name };
}

function codeName(error: unknown): string {
  const code = error instanceof ConnectError ? error.code : Code.Unknown;
  // go-grpc-prometheus's names: `OK`, `NotFound`, ... (Connect's enum names, which match).
  return Code[code] ?? "Unknown";
}

/** A client or bidi stream's messages, calling `received` for each one read. */
async function* counted<T>(messages: AsyncIterable<T>, received: () => void): AsyncIterable<T> {
  for await (const message of messages) {
    received();
    yield message;
  }
}

/** A stream's request messages, read ahead, which can be read again. */
interface Replayed<T> extends AsyncIterable<T> {
  readonly count: number;
}

async function readAhead<T>(messages: AsyncIterable<T>): Promise<Replayed<T>> {
  const all: T[] = [];
  for await (const message of messages) all.push(message);
  return {
    count: all.length,
    async *[Symbol.asyncIterator]() {
      yield* all;
    },
  };
}
