import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNamespaceFile } from "./generate-state.js";
import type { BenchResult } from "./result.js";
import { spawnServer } from "./spawn-server.js";
import { median } from "./stats.js";
import { timeBuilds } from "./time-builds.js";

const NAMESPACES = 100;
const FLAGS_PER_NAMESPACE = 100;
const EDITS = 20;
/** Issue 23's targets at 10 000 flags: a cold snapshot build, and the server's RSS once it has loaded them. */
export const TARGET_BUILD_MS = 500;
export const TARGET_RSS_MB = 150;

/**
 * Issue 3's measurements on 10 000 flags in 100 namespaces: snapshot build time, RSS after load, and the time
 * from editing a file on disk to serving the change over HTTP. The build and RSS targets are issue 23's.
 */
export async function snapshotBench(): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), "pennant-bench-"));
  try {
    for (let index = 0; index < NAMESPACES; index++) {
      const namespace = `ns-${String(index).padStart(3, "0")}`;
      await writeFile(
        join(root, `${namespace}.features.yaml`),
        generateNamespaceFile(namespace, FLAGS_PER_NAMESPACE),
      );
    }
    const builds = (await timeBuilds(root, 6)).slice(1); // the first warms up the JIT

    const server = await spawnServer({
      FLIPT_STORAGE_DEFAULT_BACKEND_TYPE: "local",
      FLIPT_STORAGE_DEFAULT_BACKEND_PATH: root,
    });
    const latencies: number[] = [];
    let rssMb: number;
    let streamLatencies: number[] = [];
    try {
      rssMb = await server.rssMb();
      for (let edit = 1; edit <= EDITS; edit++) {
        const namespace = `ns-${String(edit).padStart(3, "0")}`;
        const url = `${server.httpUrl}/api/v2/environments/default/namespaces/${namespace}/resources/flipt.core.Flag/flag-0000`;
        const started = performance.now();
        await writeFile(
          join(root, `${namespace}.features.yaml`),
          generateNamespaceFile(namespace, FLAGS_PER_NAMESPACE, edit),
        );
        for (;;) {
          const body = (await (await fetch(url)).json()) as {
            resource?: { payload?: { description?: string } };
          };
          if (body.resource?.payload?.description === `revision ${edit}`) break;
          if (performance.now() - started > 30_000) throw new Error(`edit ${edit} not served within 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        latencies.push(performance.now() - started);
      }
      streamLatencies = await streamLatency(server.httpUrl, root);
    } finally {
      await server.stop();
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return [
      {
        name: "snapshot build, 10 000 flags (median of 5)",
        value: median(builds),
        unit: "ms",
        target: TARGET_BUILD_MS,
        lowerIsBetter: true,
      },
      {
        name: "server RSS after load, 10 000 flags",
        value: rssMb,
        unit: "MB",
        target: TARGET_RSS_MB,
        lowerIsBetter: true,
      },
      {
        name: `edit to client stream message, median of ${STREAM_EDITS}`,
        value: median(streamLatencies),
        unit: "ms",
        target: 1000,
        lowerIsBetter: true,
      },
      {
        name: "edit to served, median of 20",
        value: median(latencies),
        unit: "ms",
        target: 250,
        lowerIsBetter: true,
      },
      {
        name: "edit to served, max of 20",
        value: sorted[sorted.length - 1] ?? 0,
        unit: "ms",
        lowerIsBetter: true,
      },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const STREAM_EDITS = 10;

/** Time from editing a namespace file to the snapshot stream (REST JSON lines) delivering the new digest. */
async function streamLatency(httpUrl: string, root: string): Promise<number[]> {
  const namespace = "ns-000";
  const abort = new AbortController();
  const response = await fetch(`${httpUrl}/client/v2/environments/default/namespaces/${namespace}/stream`, {
    signal: abort.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const chunk = await reader.read();
      if (chunk.done) throw new Error("stream ended");
      buffered += decoder.decode(chunk.value, { stream: true });
    }
  };
  await nextLine(); // the snapshot sent on subscribe
  const latencies: number[] = [];
  try {
    for (let edit = 1; edit <= STREAM_EDITS; edit++) {
      const started = performance.now();
      await writeFile(
        join(root, `${namespace}.features.yaml`),
        generateNamespaceFile(namespace, FLAGS_PER_NAMESPACE, 100 + edit),
      );
      await nextLine();
      latencies.push(performance.now() - started);
    }
  } finally {
    abort.abort();
  }
  return latencies;
}
