/**
 * The takeover metrics, on two workers over one set of in-process stores (as over Kafka and
 * MongoDB): the worker that takes a lapsed run over counts it, and counts the resumed attempt.
 */
import { MemorySaver } from "@langchain/langgraph";
import { afterEach, expect, it } from "vitest";
import { LeaseKeeper } from "../../../src/actors/lease-keeper.js";
import { silentLogger } from "../../../src/logger.js";
import { RunbusMetrics } from "../../../src/ops/metrics.js";
import { systemClock } from "../../../src/ports.js";
import { Runtime, memoryAdapters } from "../../../src/runtime.js";
import { UNLIMITED_STEPS, lifecycleGraphs, newId, quickSlowGraph } from "../../helpers/runtime.js";

const LEASE_MS = 1200;
const keepers: LeaseKeeper[] = [];
afterEach(() => {
  for (const keeper of keepers.splice(0)) keeper.stop();
});

async function value(metrics: RunbusMetrics, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

it("counts a run taken over after its worker's lease lapsed, and its resumed attempt", async () => {
  const adapters = memoryAdapters();
  const checkpointer = new MemorySaver();
  const graphs = lifecycleGraphs({ steps: quickSlowGraph(12, 100) });
  const metrics = new RunbusMetrics({ processMetrics: false });
  const a = new Runtime({ graphs, checkpointer, adapters, workerId: "worker-a", leaseMs: LEASE_MS });
  const b = new Runtime({ graphs, checkpointer, adapters, workerId: "worker-b", leaseMs: LEASE_MS, onTakeover: (resumed) => metrics.takenOver(resumed) });
  const keeper = new LeaseKeeper({ runs: adapters.runs, clock: systemClock, logger: silentLogger(), workerId: "worker-b", hosted: () => b.supervisor.activeRuns.values() }, LEASE_MS);
  keeper.start();
  keepers.push(keeper);

  expect(await value(metrics, "runbus_takeovers_total")).toBe(0);
  // Worker A renews nothing: its lease lapses, as a worker that died.
  await a.submit({ type: "run.create", thread_id: newId("thread"), graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
  await expect.poll(() => b.supervisor.takeOverExpired(), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);

  expect(await value(metrics, "runbus_takeovers_total")).toBe(1);
  expect(await value(metrics, "runbus_resumed_attempts_total")).toBe(1);
});
