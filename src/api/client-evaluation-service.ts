import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import type { NamespaceState, Snapshot } from "../domain/snapshot.js";
import {
  type ClientEvaluationService,
  type EvaluationNamespaceSnapshot,
  EvaluationNamespaceSnapshotSchema,
} from "../gen/evaluation/evaluation_pb.js";
import type { Environment } from "../storage/environment.js";
import type { Environments } from "../storage/environments.js";
import { restCallKey } from "./context-keys.js";
import { toClientSnapshot } from "./convert-client-snapshot.js";
import type { EvaluationRecorder } from "./evaluation-recorder.js";
import { ENVIRONMENT_HEADER, environmentForEvaluation } from "./resolve-environment.js";

/** The digest a stream client may send back: a file's full SHA-1. */
const DIGEST_LENGTH = 40;

/**
 * `evaluation.ClientEvaluationService`, the protocol of Flipt's client SDKs (api.md §5): a namespace's snapshot
 * with its digest as ETag (304 when `If-None-Match` equals it), and a stream that sends the snapshot at once and
 * again whenever the namespace's digest changes.
 *
 * Both record through `recorder` once their environment resolves (an environment header naming none that exists
 * records nothing), labelled with the namespace when the environment has it.
 */
export function createClientEvaluationService(
  environments: Environments,
  recorder: EvaluationRecorder,
): ServiceImpl<typeof ClientEvaluationService> {
  const environmentOf = (key: string, context: HandlerContext): Environment =>
    environmentForEvaluation(environments, key, context.requestHeader.get(ENVIRONMENT_HEADER));

  return {
    async evaluationSnapshotNamespace(request, context) {
      const started = performance.now();
      const environment = environmentOf(request.environmentKey, context);
      const snapshot = await environment.snapshotFor(request.key, "evaluate");
      try {
        const state = namespaceWithState(snapshot, request.key);
        context.responseHeader.set("x-etag", state.digest);
        if (ifNoneMatch(context) === state.digest) {
          context.responseHeader.set("x-http-code", "304");
          recorder.snapshot(environment.key, request.key, performance.now() - started, "not-modified");
          return create(EvaluationNamespaceSnapshotSchema);
        }
        const message = toClientSnapshot(state, snapshot.builtAt);
        recorder.snapshot(environment.key, request.key, performance.now() - started, "sent");
        return message;
      } catch (error) {
        const namespace = namespaceLabel(snapshot, request.key);
        recorder.snapshot(environment.key, namespace, performance.now() - started, "failed");
        throw error;
      }
    },

    evaluationSnapshotNamespaceStream(request, context) {
      const started = performance.now();
      let environment: Environment;
      try {
        environment = environmentOf(request.environmentKey, context);
      } catch (error) {
        // Not recorded; the digest is still checked first, as for any stream.
        checkDigest(request.digest);
        throw error;
      }
      return recorder.stream(
        environment.key,
        namespaceLabel(environment.snapshot, request.key),
        started,
        context.signal,
        namespaceSnapshots(environment, request.key, request.digest, context),
      );
    },
  };
}

/**
 * A stream's snapshots of namespace `key`: at once, and again whenever its digest changes, skipping the `digest` the
 * client holds. Snapshots without the namespace (or with the empty built-in `default`) send nothing.
 */
async function* namespaceSnapshots(
  environment: Environment,
  key: string,
  digest: string | undefined,
  context: HandlerContext,
): AsyncIterable<EvaluationNamespaceSnapshot> {
  checkDigest(digest);
  const updates = subscribe(environment, context.signal);
  // gRPC, gRPC-Web and Connect in binary (REST too: its gateway speaks binary to this handler).
  const binary = !(context.requestHeader.get("content-type") ?? "").includes("json");
  let lastSent = digest ?? "";
  for (
    let snapshot: Snapshot | undefined = await environment.snapshotFor(key, "evaluate");
    snapshot !== undefined;
    snapshot = await updates.next()
  ) {
    const state = snapshot.namespaces.get(key);
    if (state === undefined || state.digest === "" || state.digest === lastSent) continue;
    lastSent = state.digest;
    yield binary ? preEncodedSnapshot(state, snapshot.builtAt) : sharedSnapshot(state, snapshot.builtAt);
  }
}

/** The digest a stream client may send back: none, or a file's full SHA-1. */
function checkDigest(digest: string | undefined): void {
  if (digest !== undefined && digest !== "" && digest.length !== DIGEST_LENGTH) {
    throw new ValidationError(`invalid field digest: must be a ${DIGEST_LENGTH}-character string`);
  }
}

/** A namespace key as a metrics label: itself when the snapshot has it, else "" (labels stay bounded). */
function namespaceLabel(snapshot: Snapshot, key: string): string {
  return snapshot.namespaces.has(key) ? key : "";
}

/**
 * One message per namespace state, however many streams send it: a change reaches every open stream of the
 * namespace at once, and converting the state once per stream would make the last one wait for all the others.
 */
const converted = new WeakMap<NamespaceState, EvaluationNamespaceSnapshot>();

function sharedSnapshot(state: NamespaceState, builtAt: string): EvaluationNamespaceSnapshot {
  let message = converted.get(state);
  if (message === undefined) {
    message = toClientSnapshot(state, builtAt);
    converted.set(state, message);
  }
  return message;
}

const preEncoded = new WeakMap<NamespaceState, EvaluationNamespaceSnapshot>();

/**
 * The same message for binary streams, encoded once: its fields are carried as unknown fields holding their own
 * encoded bytes, which protobuf-es writes out verbatim. A thousand streams then copy bytes instead of encoding the
 * namespace a thousand times. (JSON has no such form: JSON streams get `sharedSnapshot`.)
 */
function preEncodedSnapshot(state: NamespaceState, builtAt: string): EvaluationNamespaceSnapshot {
  let message = preEncoded.get(state);
  if (message === undefined) {
    const bytes = toBinary(EvaluationNamespaceSnapshotSchema, sharedSnapshot(state, builtAt));
    message = create(EvaluationNamespaceSnapshotSchema);
    message.$unknown = fromBinary(EmptySchema, bytes).$unknown ?? [];
    preEncoded.set(state, message);
  }
  return message;
}

/** A namespace that has flag state in a file; the empty built-in `default` counts as missing, as in Flipt. */
function namespaceWithState(snapshot: Snapshot, key: string): NamespaceState {
  const state = snapshot.namespaces.get(key);
  if (state === undefined || state.digest === "") {
    throw new NotFoundError(`evaluation snapshot for namespace "${key}" not found`);
  }
  return state;
}

/**
 * The ETag the client holds. Over REST it is the `If-None-Match` header; over gRPC, Flipt honours only the
 * gateway's `grpcgateway-if-none-match` metadata, and so do we.
 */
function ifNoneMatch(context: HandlerContext): string | null {
  const gateway = context.requestHeader.get("grpcgateway-if-none-match");
  if (gateway !== null) return gateway;
  return context.values.get(restCallKey) === undefined ? null : context.requestHeader.get("if-none-match");
}

/** New snapshots of an environment, one at a time, until `signal` aborts (then `next` gives undefined). */
function subscribe(environment: Environment, signal: AbortSignal): { next(): Promise<Snapshot | undefined> } {
  let latest: Snapshot | undefined;
  let wake: (() => void) | undefined;
  environment.subscribe((snapshot) => {
    latest = snapshot;
    wake?.();
  }, signal);
  signal.addEventListener("abort", () => wake?.(), { once: true });
  return {
    async next() {
      while (latest === undefined && !signal.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      const snapshot = latest;
      latest = undefined;
      return signal.aborted ? undefined : snapshot;
    },
  };
}
