import type { Registry } from "prom-client";
import type { StatusReport } from "./status-service.js";

/**
 * What a worker process (`server.workers`) asks of the process that owns storage, for the answers that cover
 * every process: `/metrics` and `/meta/status`.
 */
export interface ClusterView {
  /** Called once with this process's registry, which the owner collects from every worker for each scrape. */
  attach(registry: Registry): void;
  /** The exposition text of every process's metrics added up (as prom-client's cluster registry adds them). */
  metrics(): Promise<string>;
  /** The owner's environments, and every worker. */
  status(): Promise<StatusReport>;
}
