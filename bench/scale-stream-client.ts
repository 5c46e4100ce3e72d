import * as http from "node:http";

/**
 * The client side of the stream fan-out benchmark, run as its own process (`node --import tsx
 * bench/scale-stream-client.ts <url> <streams>`) so that reading a thousand streams does not take CPU from the
 * benchmark process. It opens `<streams>` client snapshot streams on `<url>` (REST framing: one JSON line per
 * snapshot) over HTTP/1.1, one connection each, as Flipt's client SDKs open them. It prints one JSON line on stdout per digest once every stream has received a snapshot
 * with it (`{"digest", "spreadMs"}`: the time between the first and the last stream getting it), and one per
 * failure (`{"error"}`). The first line is the snapshot every stream gets on subscribe: the streams are open.
 */

/** The field every snapshot line ends with. */
const DIGEST_FIELD = Buffer.from('"digest":"');
const DIGEST_LENGTH = 40;
const NEWLINE = 0x0a;

const [url = "", countText = "1000"] = process.argv.slice(2);
const count = Number(countText);

/** Per digest: how many streams have it, and when the first one got it. */
const arrivals = new Map<string, { streams: number; firstAt: number }>();

function report(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function onSnapshot(line: Buffer): void {
  const at = performance.now();
  const field = line.lastIndexOf(DIGEST_FIELD);
  if (field === -1) {
    report({ error: `no digest in ${line.subarray(0, 200).toString()}` });
    return;
  }
  const start = field + DIGEST_FIELD.length;
  const digest = line.subarray(start, start + DIGEST_LENGTH).toString("latin1");
  const seen = arrivals.get(digest) ?? { streams: 0, firstAt: at };
  seen.streams++;
  arrivals.set(digest, seen);
  if (seen.streams === count) report({ digest, spreadMs: at - seen.firstAt });
}

/** Splits a stream's bytes into lines, one snapshot each. */
function lineReader(): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  return (chunk) => {
    let from = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      pending.push(chunk.subarray(from, newline));
      onSnapshot(pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending));
      pending = [];
      from = newline + 1;
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  };
}

function openStreams(): void {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  for (let index = 0; index < count; index++) {
    const request = http.get(url, { agent }, (response) => {
      if (response.statusCode !== 200) report({ error: `stream ${index}: HTTP ${response.statusCode}` });
      response.on("data", lineReader());
      response.on("end", () => report({ error: `stream ${index} ended` }));
    });
    request.on("error", (error) => report({ error: `stream ${index}: ${error.message}` }));
  }
}

openStreams();
