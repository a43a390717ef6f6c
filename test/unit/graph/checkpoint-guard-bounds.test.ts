/**
 * What the guard keeps per thread, and for how long (issue 11, bounded memory): nothing once a
 * thread's run ended normally; a fence from a cancel until the thread's next run or deletion; and
 * a settle that gives up on a graph that goes on writing, so its run can finish.
 */
import { MemorySaver } from "@langchain/langgraph";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { CheckpointGuard } from "../../../src/graph/checkpoint-guard.js";

const config = (threadId: string, runId?: string) => ({ configurable: { thread_id: threadId, checkpoint_ns: "", ...(runId ? { run_id: runId } : {}) } });

async function put(saver: CheckpointGuard["saver"], threadId: string, step: number, runId?: string) {
  const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { step }, channel_versions: { step } };
  return saver.put(config(threadId, runId), checkpoint, { source: "loop", step, parents: {} }, { step });
}

const stepOf = async (inner: MemorySaver, threadId: string) => (await inner.getTuple(config(threadId)))?.checkpoint.channel_values.step;

/** A graph that ignores its abort: writes a checkpoint every few ms until stopped. */
function runaway(saver: CheckpointGuard["saver"], threadId: string, runId: string) {
  let stopped = false;
  let step = 0;
  const done = (async () => {
    while (!stopped) {
      await put(saver, threadId, ++step, runId);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return { stop: () => ((stopped = true), done) };
}

describe("CheckpointGuard memory", () => {
  it("keeps nothing for threads whose runs wrote, bound their lease and ended", async () => {
    const guard = new CheckpointGuard(new MemorySaver());
    for (let i = 0; i < 500; i++) {
      const thread = `t-${i}`;
      guard.unfence(thread);
      const unbind = guard.bindLease(thread, () => true);
      await Promise.all([put(guard.saver, thread, 1, `r-${i}`), put(guard.saver, thread, 2, `r-${i}`)]);
      unbind();
    }
    expect(guard.size).toBe(0);
  });

  it("keeps a cancelled thread's fence until the thread's next run, or its deletion, and nothing after", async () => {
    const guard = new CheckpointGuard(new MemorySaver());
    await guard.settle("a", 10);
    await guard.fence("b");
    expect(guard.size).toBe(2);

    guard.unfence("a");
    guard.forget("b");
    expect(guard.isFenced("a") || guard.isFenced("b")).toBe(false);
    expect(guard.size).toBe(0);
  });
});

describe("CheckpointGuard.settle with a graph that goes on writing after its abort", () => {
  it("fences the thread after the timeout, and the run stays fenced after the thread's next run", async () => {
    const inner = new MemorySaver();
    const guard = new CheckpointGuard(inner, { settleTimeoutMs: 300 });
    const graph = runaway(guard.saver, "a", "r1");
    await new Promise((resolve) => setTimeout(resolve, 30));

    const started = Date.now();
    await guard.settle("a", 20);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(guard.isFenced("a")).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fencedAt = await stepOf(inner, "a");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stepOf(inner, "a")).toBe(fencedAt);

    // The thread's next run writes; the runaway one still does not.
    guard.unfence("a");
    await put(guard.saver, "a", 1000, "r2");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stepOf(inner, "a")).toBe(1000);
    await graph.stop();
  });

  it("gives up on a write that never completes", async () => {
    const inner = new MemorySaver();
    inner.put = () => new Promise(() => undefined);
    const guard = new CheckpointGuard(inner, { settleTimeoutMs: 100 });
    void put(guard.saver, "a", 1, "r1");

    const started = Date.now();
    await guard.settle("a", 10);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(guard.isFenced("a")).toBe(true);
  });

  it("still lets a graph that stops writing land everything it queued", async () => {
    const inner = new MemorySaver();
    const guard = new CheckpointGuard(inner, { settleTimeoutMs: 2000 });
    const graph = runaway(guard.saver, "a", "r1");
    setTimeout(() => void graph.stop(), 100);
    await guard.settle("a", 30);
    await graph.stop();
    const settledAt = await stepOf(inner, "a");
    expect(settledAt).toBeGreaterThan(1);
    // Once the thread is unfenced for its next run, that run's writes land; the settled run's
    // never do again, even though it went quiet (a stall would look the same).
    guard.unfence("a");
    await put(guard.saver, "a", 1000, "r2");
    expect(await stepOf(inner, "a")).toBe(1000);
    await put(guard.saver, "a", 2000, "r1");
    expect(await stepOf(inner, "a")).toBe(1000);
  });
});
