import { describe, expect, it, vi } from "vitest";
import type { RunEvent } from "../../../src/protocol/events.js";
import {
  UNLIMITED_STEPS,
  allRunsDone,
  collectRun,
  createRun,
  createTestRuntime,
  lifecycleGraphs,
  newId,
  quickSlowGraph,
  runPath,
  waitForEvent,
} from "../../helpers/runtime.js";

const human = (content: string) => ({ messages: [{ role: "user", content }] });

describe("admission edge cases", () => {
  it("a delayed create with the interrupt strategy cancels the active run when its time comes", async () => {
    const { runtime } = createTestRuntime({ graphs: lifecycleGraphs({ long: quickSlowGraph(100_000, 10) }) });
    const threadId = newId("thread");
    const active = await createRun(runtime, { thread_id: threadId, graph_id: "long", input: human("a"), config: UNLIMITED_STEPS });
    const delayed = await createRun(runtime, {
      thread_id: threadId,
      graph_id: "echo",
      input: human("b"),
      after_seconds: 0.05,
      multitask_strategy: "interrupt",
    });
    expect(delayed.disposition).toBe("scheduled");

    expect((await collectRun(runtime, active.run_id)).at(-1)?.data).toEqual({ status: "interrupted" });
    expect((await collectRun(runtime, delayed.run_id)).at(-1)?.data).toEqual({ status: "success" });
    expect(runPath(runtime, delayed.run_id)).toEqual(["pending", "running", "success"]);
  });

  it("a graph factory that throws rejects the create and leaves no run behind", async () => {
    const { runtime } = createTestRuntime({
      graphs: lifecycleGraphs({
        broken: () => {
          throw new Error("factory failed");
        },
      }),
    });
    const threadId = newId("thread");
    const runId = newId("run");
    const reply = await createRun(runtime, { thread_id: threadId, graph_id: "broken", run_id: runId });
    expect(reply).toMatchObject({ accepted: false, reason: "factory failed" });
    expect(await runtime.adapters.runs.get(runId)).toBeUndefined();
    expect(runtime.supervisor.activeRuns.size).toBe(0);

    // The thread is not blocked by a ghost run, and the same run id can be used again.
    const next = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("x"), run_id: runId });
    expect(next).toMatchObject({ accepted: true, disposition: "started" });
    expect((await collectRun(runtime, runId)).at(-1)?.data).toEqual({ status: "success" });
  });

  it("a create sent on seeing the previous run's end is admitted, not answered thread_busy", async () => {
    const { runtime } = createTestRuntime();
    const threadId = newId("thread");
    // Slow down the release so the create arrives while the first run is still finalizing.
    const release = runtime.threads.release.bind(runtime.threads);
    runtime.threads.release = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return release(...args);
    };
    const first = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("1") });
    await waitForEvent(runtime, first.run_id, (event: RunEvent) => event.name === "end");

    const second = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("2") });
    expect(second).toMatchObject({ accepted: true, disposition: "started" });
    await allRunsDone(runtime);
    expect(runPath(runtime, second.run_id)).toEqual(["pending", "running", "success"]);
  });
});

describe("store reads after a run ends", () => {
  it("a run reads its thread's queue on admission to a used thread only, and never after its end", async () => {
    const { runtime } = createTestRuntime();
    const threadId = newId("thread");
    const runs = runtime.adapters.runs;
    const listPending = vi.spyOn(runs, "listPending");
    const first = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("a") });
    expect((await collectRun(runtime, first.run_id)).at(-1)?.data).toEqual({ status: "success" });
    await allRunsDone(runtime);
    // A thread the run itself created has nothing queued: no read at all.
    expect(listPending).not.toHaveBeenCalled();
    const second = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("b") });
    expect((await collectRun(runtime, second.run_id)).at(-1)?.data).toEqual({ status: "success" });
    await allRunsDone(runtime);
    // Once, on admission (are runs of other workers queued on the thread?), never after the end.
    expect(listPending).toHaveBeenCalledTimes(1);
  });

  it("admission reads the thread once, and its claim goes on from that read", async () => {
    const { runtime } = createTestRuntime();
    const threadId = newId("thread");
    const threads = runtime.adapters.threads;
    const get = vi.spyOn(threads, "get");
    const getWithSeq = vi.spyOn(threads, "getWithSeq");
    for (const content of ["a", "b"]) {
      // The first run creates the thread, the second finds it.
      const run = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human(content) });
      expect(run.disposition).toBe("started");
      expect((await collectRun(runtime, run.run_id)).at(-1)?.data).toEqual({ status: "success" });
      await allRunsDone(runtime);
    }
    // Per run: one read on admission; none before the claim, none on release (it goes on from the claim).
    expect(getWithSeq).toHaveBeenCalledTimes(2);
    expect(get).not.toHaveBeenCalled();
  });

  it("a queued run behind it still starts when it ends", async () => {
    const { runtime } = createTestRuntime({ graphs: lifecycleGraphs({ slow: quickSlowGraph(5, 20) }) });
    const threadId = newId("thread");
    const first = await createRun(runtime, { thread_id: threadId, graph_id: "slow", input: human("a") });
    const second = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("b"), multitask_strategy: "enqueue" });
    expect(second.disposition).toBe("queued");
    expect((await collectRun(runtime, first.run_id)).at(-1)?.data).toEqual({ status: "success" });
    expect((await collectRun(runtime, second.run_id)).at(-1)?.data).toEqual({ status: "success" });
  });
});
