/**
 * A worker's memory does not grow with the threads it has served (issue 11): after 10,000
 * threads ran and went idle — a hundred of them after a cancelled run — nothing the runtime keeps
 * outside its stores has an entry per thread or per run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import type { GraphFactoryOptions } from "../../src/graph/example-graph.js";
import { allRunsDone, cancelRun, createRun, createTestRuntime, waitForEvent } from "../helpers/runtime.js";
import { collectionsReachableFrom, largeCollections } from "../helpers/retained.js";

const THREADS = 10_000;
const CANCELLED = 100;
const BATCH = 200;

const Counter = Annotation.Root({ n: Annotation<number>({ reducer: (total, add) => total + add, default: () => 0 }) });

/** One step: the cheapest run that still writes checkpoints. */
function stepGraph(options: GraphFactoryOptions = {}) {
  return new StateGraph(Counter)
    .addNode("add", () => ({ n: 1 }))
    .addEdge(START, "add")
    .addEdge("add", END)
    .compile({ checkpointer: options.checkpointer });
}

/** Writes a first step, then waits until it is cancelled. */
function waitingGraph(options: GraphFactoryOptions = {}) {
  return new StateGraph(Counter)
    .addNode("add", () => ({ n: 1 }))
    .addNode("wait", async (_state: typeof Counter.State, config: LangGraphRunnableConfig) => {
      await sleep(60_000, undefined, { signal: config.signal });
      return { n: 1 };
    })
    .addEdge(START, "add")
    .addEdge("add", "wait")
    .addEdge("wait", END)
    .compile({ checkpointer: options.checkpointer });
}

describe("a runtime after 10,000 threads", () => {
  it("keeps nothing per thread once they ran and went idle, cancelled ones included", { timeout: 300_000 }, async () => {
    const { runtime, checkpointer } = createTestRuntime({ graphs: { step: stepGraph, waiting: waitingGraph } });
    const runOnce = async (threadId: string, graphId: string) => {
      const reply = await createRun(runtime, { thread_id: threadId, graph_id: graphId, input: { n: 1 }, stream_mode: ["updates"] });
      expect(reply).toMatchObject({ accepted: true, disposition: "started" });
      return reply.run_id;
    };

    // A hundred threads whose run was cancelled (their graph fenced off), then ran again.
    await Promise.all(
      Array.from({ length: CANCELLED }, async (_, i) => {
        const threadId = `cancelled-${i}`;
        const runId = await runOnce(threadId, "waiting");
        await waitForEvent(runtime, runId, (event) => event.name === "updates");
        await cancelRun(runtime, threadId, runId, i % 2 === 0 ? "interrupt" : "rollback");
        await waitForEvent(runtime, runId, (event) => event.name === "end");
      }),
    );
    await allRunsDone(runtime);
    for (let start = 0; start < THREADS; start += BATCH) {
      await Promise.all(
        Array.from({ length: BATCH }, async (_, i) => {
          const index = start + i;
          const threadId = index < CANCELLED ? `cancelled-${index}` : `thread-${index}`;
          const runId = await runOnce(threadId, "step");
          await waitForEvent(runtime, runId, (event) => event.name === "end");
        }),
      );
      await allRunsDone(runtime);
    }

    expect(await runtime.adapters.threads.list({ status: "idle", limit: 0 })).toEqual([]);
    expect((await runtime.adapters.threads.list({ status: "idle" })).length).toBe(THREADS);
    expect(runtime.threads.threadsInFlight).toBe(0);
    expect(runtime.supervisor.activeRuns.size).toBe(0);

    const stores = [...Object.values(runtime.adapters), checkpointer];
    const retained = collectionsReachableFrom(runtime, stores);
    // The guard's per-thread state is found (so the check below sees it) and empty.
    const guard = retained.filter((collection) => /\.guard\.\w+$/.test(collection.path));
    expect(guard.length).toBeGreaterThan(0);
    expect(guard.filter((collection) => collection.size > 0)).toEqual([]);
    // Nothing else grew with the threads either: a hundredth of them would be a leak. (The last
    // runs' follow-ups — each finished run looks for its thread's next one — end shortly.)
    await expect.poll(() => largeCollections(runtime, THREADS / 100, stores), { timeout: 5000 }).toEqual([]);
  });
});
