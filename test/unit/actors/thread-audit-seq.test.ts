/**
 * A thread's audit records (DESIGN §4.4) are numbered by the seq the thread store keeps with the
 * thread, so the numbering goes on across workers and restarts and a re-announced claim keeps
 * its seq: readers order a thread's transitions by seq and drop re-deliveries by `ce_id`.
 */
import { describe, expect, it } from "vitest";
import { ThreadStoreActor, type RunEnding } from "../../../src/actors/thread-store-actor.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/audit-log.js";
import { MemoryThreadStore } from "../../../src/adapters/memory/thread-store.js";
import { silentLogger } from "../../../src/logger.js";
import { systemClock, type ThreadRecord } from "../../../src/ports.js";
import { distinctTransitions, transitionId, type Transition } from "../../../src/protocol/audit.js";

const ended: RunEnding = { runStatus: "success", hasNext: false, title: null };
const owner = (worker_id: string, attempt = 1) => ({ worker_id, attempt });

/** A memory store where another worker's transitions can slip in between a read and the write decided on it. */
class RacingStore extends MemoryThreadStore {
  interleave: (() => Promise<void>) | undefined;

  override async getWithSeq(threadId: string): Promise<{ thread: ThreadRecord; auditSeq: number } | undefined> {
    const read = await super.getWithSeq(threadId);
    const other = this.interleave;
    this.interleave = undefined;
    if (other) await other();
    return read;
  }
}

function cluster() {
  const store = new RacingStore();
  const audit = new MemoryAuditLog();
  const worker = (workerId: string) => new ThreadStoreActor({ store, audit, clock: systemClock, logger: silentLogger(), workerId });
  const records = (threadId: string): Transition[] => audit.list({ kind: "thread", id: threadId });
  return { store, worker, records };
}

describe("thread audit seqs", () => {
  it("go on in one sequence whichever worker makes the transition, also after a worker restarts", async () => {
    const { worker, records } = cluster();
    const w1 = worker("w1");
    const w2 = worker("w2");
    await w1.ensure("t");
    expect(await w1.claim("t", "r1", owner("w1"))).toBe(true);
    expect(await w1.release("t", "r1", owner("w1"), ended)).toBe("idle");
    expect(await w2.claim("t", "r2", owner("w2"))).toBe(true);
    expect(await w2.release("t", "r2", owner("w2"), ended)).toBe("idle");
    // w1 again, restarted: a new actor with nothing in memory.
    const restarted = worker("w1");
    expect(await restarted.claim("t", "r3", owner("w1", 2))).toBe(true);
    expect(await restarted.release("t", "r3", owner("w1", 2), { ...ended, runStatus: "error" })).toBe("error");

    // A claim first publishes the release before it again when another worker made it (it may have
    // died before publishing): the audit topic is at-least-once, and readers keep one per ce_id.
    const all = records("t");
    const path = distinctTransitions(all);
    expect(path.map((r) => [r.seq, r.worker_id, r.from, r.to])).toEqual([
      [0, "w1", null, "idle"],
      [1, "w1", "idle", "busy"],
      [2, "w1", "busy", "idle"],
      [3, "w2", "idle", "busy"],
      [4, "w2", "busy", "idle"],
      [5, "w1", "idle", "busy"],
      [6, "w1", "busy", "error"],
    ]);
    expect(all.map((r) => r.seq)).toEqual([0, 1, 2, 2, 3, 4, 4, 5, 6]);
    expect(new Set(all.map(transitionId)).size).toBe(path.length);
  });

  it("repeat the claim's seq and ce_id when a taker re-announces it, so readers count it once", async () => {
    const { worker, records } = cluster();
    const w1 = worker("w1");
    const taker = worker("w2");
    await w1.ensure("t");
    await w1.claim("t", "r1", owner("w1"));
    // w1 dies; w2 takes the run over.
    expect(await taker.transferClaim("t", "r1", owner("w2", 2))).toBe(true);
    await taker.reannounceClaim("t", "r1");
    expect(await taker.release("t", "r1", owner("w2", 2), ended)).toBe("idle");

    const all = records("t");
    const [claim, again] = all.filter((r) => r.cause === "claimed:r1");
    expect(again).toMatchObject({ seq: claim?.seq, worker_id: "w2" });
    expect(transitionId(again!)).toBe(transitionId(claim!));
    expect(distinctTransitions(all).map((r) => [r.seq, r.to])).toEqual([
      [0, "idle"],
      [1, "busy"],
      [2, "idle"],
    ]);
  });

  it("are taken in the same write as the status: a claim overtaken by another worker's claim and release reads again", async () => {
    const { store, worker, records } = cluster();
    const w1 = worker("w1");
    const w2 = worker("w2");
    await w1.ensure("t");
    store.interleave = async () => {
      expect(await w2.claim("t", "r2", owner("w2"))).toBe(true);
      expect(await w2.release("t", "r2", owner("w2"), ended)).toBe("idle");
    };
    expect(await w1.claim("t", "r1", owner("w1"))).toBe(true);

    expect(distinctTransitions(records("t")).map((r) => [r.seq, r.cause])).toEqual([
      [0, "created"],
      [1, "claimed:r2"],
      [2, "released:r2:success"],
      [3, "claimed:r1"],
    ]);
  });

  it("leave the actor holding nothing per thread", async () => {
    const { worker } = cluster();
    const w1 = worker("w1");
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await w1.ensure(`t-${i}`);
        await w1.claim(`t-${i}`, `r-${i}`, owner("w1"));
        await w1.release(`t-${i}`, `r-${i}`, owner("w1"), ended);
      }),
    );
    expect(w1.threadsInFlight).toBe(0);
  });
});

describe("a release after the claim", () => {
  it("goes on from the thread as the claim left it, without reading it again", async () => {
    const { store, worker, records } = cluster();
    const w1 = worker("w1");
    await w1.ensure("t");
    expect(await w1.claim("t", "r1", owner("w1"))).toBe(true);
    let reads = 0;
    store.interleave = async () => void reads++;
    expect(await w1.release("t", "r1", owner("w1"), ended)).toBe("idle");
    expect(reads).toBe(0);
    expect(records("t").map((t) => [t.seq, t.cause])).toEqual([[0, "created"], [1, "claimed:r1"], [2, "released:r1:success"]]);
  });

  it("reads the thread afresh when it changed since the claim, and releases it from there", async () => {
    const { store, worker, records } = cluster();
    const w1 = worker("w1");
    await w1.ensure("t");
    expect(await w1.claim("t", "r1", owner("w1"))).toBe(true);
    // Meanwhile, as after a takeover: the slot freed and claimed again for the run by its next owner.
    const w2 = worker("w2");
    expect(await w2.release("t", "r1", owner("w1"), ended)).toBe("idle");
    expect(await w2.claim("t", "r1", owner("w1", 2))).toBe(true);
    expect(await w1.release("t", "r1", owner("w1", 2), ended)).toBe("idle");
    expect(await store.get("t")).toMatchObject({ active_run_id: null, status: "idle" });
    expect(records("t").map((t) => t.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it("does not release a thread the run no longer holds under that owner", async () => {
    const { store, worker } = cluster();
    const w1 = worker("w1");
    await w1.ensure("t");
    expect(await w1.claim("t", "r1", owner("w1"))).toBe(true);
    expect(await store.transferClaim("t", "r1", owner("w2", 2))).toBe(true);
    expect(await w1.release("t", "r1", owner("w1"), ended)).toBeUndefined();
    expect(await store.get("t")).toMatchObject({ active_run_id: "r1", status: "busy" });
  });
});
