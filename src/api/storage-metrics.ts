import { Counter, Gauge, type Registry } from "prom-client";
import type { Environments } from "../storage/environments.js";

/**
 * The cache's and the database's families, read from the storages at each scrape: Flipt v1's
 * `flipt_cache_{hit,miss,error}_total{cache}` (`cache` is the backend, `memory` or `redis`; every database storage
 * behind the same backend adds to one series), Pennant's `pennant_cache_entries{storage,cache}` and
 * `pennant_database_queries_total{storage}`, with which a user (and a test) sees that a hit costs no query.
 */
export function registerStorageMetrics(registry: Registry, environments: Environments): void {
  const registers = [registry];
  // Environments sharing a storage share its cache and its database.
  const storages = () => environments.perStorage();
  const cacheCounter = (name: string, help: string, count: (status: CacheCounts) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["cache"],
      registers,
      collect() {
        this.reset();
        for (const environment of storages()) {
          const status = environment.cacheStatus;
          if (status !== undefined) this.inc({ cache: status.backend }, count(status));
        }
      },
    });
  cacheCounter("flipt_cache_hit_total", "Reads and evaluations served from the cache.", (s) => s.hits);
  cacheCounter(
    "flipt_cache_miss_total",
    "Reads and evaluations that read the storage again.",
    (s) => s.misses,
  );
  cacheCounter("flipt_cache_error_total", "Operations on the shared cache that failed.", (s) => s.errors);
  new Gauge({
    name: "pennant_cache_entries",
    help: "Cache entries held in this process.",
    labelNames: ["storage", "cache"],
    registers,
    collect() {
      this.reset();
      for (const environment of storages()) {
        const status = environment.cacheStatus;
        if (status !== undefined) {
          this.set({ storage: environment.storage, cache: status.backend }, status.entries);
        }
      }
    },
  });
  new Counter({
    name: "pennant_database_queries_total",
    help: "Statements sent to a database storage since start.",
    labelNames: ["storage"],
    registers,
    collect() {
      this.reset();
      for (const environment of storages()) {
        const queries = environment.queryCount;
        if (queries !== undefined) this.inc({ storage: environment.storage }, queries);
      }
    },
  });
}

interface CacheCounts {
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
}
