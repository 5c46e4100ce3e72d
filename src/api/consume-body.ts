import type { Readable } from "node:stream";

/** What to do with a request body as it arrives (see `consumeBody`). */
export interface BodyConsumer<T> {
  /** Each chunk as it arrives; throwing fails the read there, and the rest of the body is left unread. */
  readonly chunk: (chunk: Buffer) => void;
  /** Once the body has ended: what it returns, or throws, settles the read. */
  readonly end: () => T;
  /** The error the read fails with when the request closes before its body ends. */
  readonly closed: () => unknown;
}

/**
 * Reads a request body from the stream's events, which cost a fraction of what an async iterator costs per request,
 * handing each chunk to `consumer` and settling with what its `end` returns. A stream error fails the read with
 * that error; a request that closes first fails it with `consumer.closed()`. The listeners are removed once the read
 * settles, whichever way.
 */
export function consumeBody<T>(request: Readable, consumer: BodyConsumer<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    if (request.destroyed) {
      reject(consumer.closed());
      return;
    }
    const settle = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("close", onClose);
    };
    const fail = (error: unknown) => {
      settle();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      try {
        consumer.chunk(chunk);
      } catch (error) {
        fail(error);
      }
    };
    const onEnd = () => {
      settle();
      try {
        resolve(consumer.end());
      } catch (error) {
        reject(error);
      }
    };
    const onError = (error: Error) => fail(error);
    const onClose = () => fail(consumer.closed());
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
    request.on("close", onClose);
  });
}

/** The chunks of a body as one buffer (the chunk itself when there is one). */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
