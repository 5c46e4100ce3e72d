import { serveAsWorker } from "../server/worker-server.js";

// A worker of `pennant server` with `server.workers` above 1, forked by the owning process (node:cluster). The owner
// coordinates shutdown: a signal to the whole process group (Ctrl-C) reaches the owner, which stops its workers.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});

serveAsWorker(process as unknown as Parameters<typeof serveAsWorker>[0]).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("pennant worker: fatal:", error);
    process.exit(1);
  },
);
