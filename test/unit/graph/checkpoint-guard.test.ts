import { MemorySaver } from "@langchain/langgraph";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { CheckpointGuard } from "../../../src/graph/checkpoint-guard.js";

const config = (threadId: string) => ({ configurable: { thread_id: threadId, checkpoint_ns: "" } });

async function put(saver: MemorySaver | CheckpointGuard["saver"], threadId: string, step: number) {
  const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { step }, channel_versions: { step } };
  return saver.put(config(threadId), checkpoint, { source: "loop", step, parents: {} }, { step });
}

/** A saver whose writes wait until released, to hold them "in flight". */
class SlowSaver extends MemorySaver {
  gate: Promise<void> = Promise.resolve();
  override async put(...args: Parameters<MemorySaver["put"]>) {
    await this.gate;
    return super.put(...args);
  }
}

describe("CheckpointGuard", () => {
  it("passes writes through until the thread is fenced, then drops them, other threads unaffected", async () => {
    const inner = new MemorySaver();
    const guard = new CheckpointGuard(inner);
    await put(guard.saver, "a", 1);
    await guard.fence("a");
    const dropped = await put(guard.saver, "a", 2);
    await put(guard.saver, "b", 1);

    expect(dropped.configurable?.checkpoint_id).toEqual(expect.any(String));
    expect((await inner.getTuple(config("a")))?.checkpoint.channel_values).toEqual({ step: 1 });
    expect((await inner.getTuple(config("b")))?.checkpoint.channel_values).toEqual({ step: 1 });

    guard.unfence("a");
    await put(guard.saver, "a", 3);
    expect((await inner.getTuple(config("a")))?.checkpoint.channel_values).toEqual({ step: 3 });
  });

  it("fence resolves only after the writes already under way have landed", async () => {
    const inner = new SlowSaver();
    let release!: () => void;
    inner.gate = new Promise((resolve) => (release = resolve));
    const guard = new CheckpointGuard(inner);
    const inFlight = put(guard.saver, "a", 1);
    let fenced = false;
    const fencing = guard.fence("a").then(() => (fenced = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fenced).toBe(false);

    release();
    await Promise.all([inFlight, fencing]);
    expect((await inner.getTuple(config("a")))?.checkpoint.channel_values).toEqual({ step: 1 });
  });

  it("settle lets a chain of writes finish before fencing", async () => {
    const inner = new SlowSaver();
    const guard = new CheckpointGuard(inner);
    // Like LangGraph's background loop: each checkpoint write starts when the previous one ends.
    const chain = (async () => {
      for (let step = 1; step <= 5; step++) {
        inner.gate = new Promise((resolve) => setTimeout(resolve, 5));
        await put(guard.saver, "a", step);
      }
    })();
    await guard.settle("a", 30);
    await chain;
    expect((await inner.getTuple(config("a")))?.checkpoint.channel_values).toEqual({ step: 5 });
    await put(guard.saver, "a", 6);
    expect((await inner.getTuple(config("a")))?.checkpoint.channel_values).toEqual({ step: 5 });
  });

  it("keeps the saver's other methods and identity", async () => {
    const inner = new MemorySaver();
    const guard = new CheckpointGuard(inner);
    await put(guard.saver, "a", 1);
    expect(guard.saver).toBeInstanceOf(MemorySaver);
    expect((await guard.saver.getTuple(config("a")))?.checkpoint.channel_values).toEqual({ step: 1 });
    await guard.saver.deleteThread("a");
    expect(await inner.getTuple(config("a"))).toBeUndefined();
  });
});
