/**
 * Reads `stream` until it ends or more than `limit` bytes arrived, and returns at most `limit` bytes. Leaving early
 * destroys the stream and its connection; a stream that ends by itself within `limit` (a ranged download) is read to
 * its end, so its connection is kept for the next request.
 */
export async function readStreamAtMost(
  stream: AsyncIterable<Uint8Array | string>,
  limit: number,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chunks.push(bytes);
    total += bytes.byteLength;
    if (total > limit) break;
  }
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, Math.min(all.byteLength, limit));
}
