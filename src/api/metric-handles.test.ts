import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { counterHandle, histogramHandle } from "./metric-handles.js";

/** Two registries with the same families: one fed through the handles, one through prom-client's own calls. */
function families() {
  const make = () => {
    const registry = new Registry();
    const counter = new Counter({
      name: "c_total",
      help: "c",
      labelNames: ["a", "b"],
      registers: [registry],
    });
    const histogram = new Histogram({
      name: "h_seconds",
      help: "h",
      labelNames: ["a"],
      buckets: [0.1, 1, 10],
      registers: [registry],
    });
    return { registry, counter, histogram };
  };
  return { handled: make(), plain: make() };
}

describe("metric handles", () => {
  it("count and observe exactly as prom-client's labelled series do, across a reset", async () => {
    const { handled, plain } = families();
    const labels = { a: "x", b: "y" };
    const counter = counterHandle(handled.counter, labels);
    const other = counterHandle(handled.counter, { a: "x", b: "z" });
    const histogram = histogramHandle(handled.histogram, { a: "x" });
    plain.counter.inc(labels, 0);
    plain.counter.inc({ a: "x", b: "z" }, 0);
    const values = [0.05, 0.1, 0.5, 1, 5, 10, 50, 0, 3];
    for (const value of values) {
      counter.inc();
      plain.counter.inc(labels);
      histogram.observe(value);
      plain.histogram.observe({ a: "x" }, value);
    }
    other.inc(3);
    plain.counter.inc({ a: "x", b: "z" }, 3);
    assert.equal(await handled.registry.metrics(), await plain.registry.metrics());

    handled.registry.resetMetrics();
    plain.registry.resetMetrics();
    counter.inc();
    plain.counter.inc(labels);
    histogram.observe(2);
    histogram.observe(0.2);
    plain.histogram.observe({ a: "x" }, 2);
    plain.histogram.observe({ a: "x" }, 0.2);
    assert.equal(await handled.registry.metrics(), await plain.registry.metrics());
    assert.throws(() => counter.inc(-1));
    assert.throws(() => histogram.observe(Number.NaN));
  });
});
