import { MemorySaver } from "@langchain/langgraph";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { LeaseKeeper } from "../../../src/actors/lease-keeper.js";
import { systemClock, type Clock, type RunEventSink } from "../../../src/ports.js";
import type { RunEvent } from "../../../src/protocol/events.js";
import { Runtime, memoryAdapters } from "../../../src/runtime.js";
import { UNLIMITED_STEPS, lifecycleGraphs, newId, quickSlowGraph } from "../../helpers/runtime.js";

const LEASE_MS = 60_000;
const ownerA = { worker_id: "worker-a", attempt: 1 };
const ownerB = { worker_id: "worker-b", attempt: 2 };

/** The store's clock (the database server's): moved on by hand, so a lease lapses there while worker A's clock says it holds. */
class StoreClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Counts the events a worker emits through its sink. */
class CountingSink implements RunEventSink {
  emitted: RunEvent[] = [];
  constructor(private readonly inner: RunEventSink) {}
  open(runId: string): Promise<void> {
    return this.inner.open(runId);
  }
  emit(event: RunEvent): Promise<void> {
    this.emitted.push(event);
    return this.inner.emit(event);
  }
  nextSeq(runId: string): Promise<number> {
    return this.inner.nextSeq(runId);
  }
}

/**
 * Worker A runs a run under a long lease; by the store's clock the lease lapses and worker B takes
 * the run over (its record and its thread slot), while A's own clock says the lease still holds —
 * a paused process, or a clock that drifted. The conditional writes fence A all the same.
 */
async function staleWorker(steps: number) {
  const storeClock = new StoreClock();
  const shared = memoryAdapters(storeClock);
  const events = new CountingSink(shared.events);
  const a = new Runtime({
    graphs: lifecycleGraphs({ steps: quickSlowGraph(steps, 50) }),
    checkpointer: new MemorySaver(),
    adapters: { ...shared, events },
    workerId: "worker-a",
    leaseMs: LEASE_MS,
  });
  const threadId = newId("thread");
  const reply = await a.submit({ type: "run.create", thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
  const runId = reply.run_id!;
  const run = a.supervisor.activeRuns.get(runId)!;
  await expect.poll(() => events.emitted.filter((e) => e.name === "values").length, { timeout: 5000, interval: 10 }).toBeGreaterThan(1);

  // The taker's first two writes (Supervisor.takeOverExpired), made here directly.
  storeClock.advance(2 * LEASE_MS);
  const seen = (await shared.runs.listExpiredLeases(10)).find((r) => r.run_id === runId)!;
  expect(seen).toMatchObject(ownerA);
  expect(await shared.runs.takeOver(seen, { ...ownerB, leaseMs: LEASE_MS })).toMatchObject(ownerB);
  expect(await shared.threads.transferClaim(threadId, runId, ownerB)).toBe(true);
  return { a, shared, events, threadId, runId, run };
}

describe("fencing by conditional writes (DESIGN §7)", () => {
  it("a stale worker's lease renewal matches nothing: it stops the run at once and emits nothing more", async () => {
    const { a, shared, events, threadId, runId, run } = await staleWorker(200);
    const keeper = new LeaseKeeper(
      { runs: shared.runs, clock: systemClock, logger: pino({ level: "silent" }), workerId: "worker-a", hosted: () => a.supervisor.activeRuns.values() },
      LEASE_MS,
    );
    await keeper.renewAll();
    expect(await run.done).toMatchObject({ status: "fenced" });

    const emitted = events.emitted.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(events.emitted.length).toBe(emitted);
    expect(events.emitted.some((e) => e.name === "end")).toBe(false);
    // Nothing of A's outcome reached the record or the thread: both are the taker's.
    expect(await shared.runs.get(runId)).toMatchObject({ ...ownerB, status: "running", ended_at: null });
    expect(await shared.threads.get(threadId)).toMatchObject({ active_run_id: runId, status: "busy" });
    expect(await shared.threads.release(threadId, runId, ownerB, { status: "idle" })).toBe(true);
  });

  it("a stale worker whose run completes writes no outcome, no end and no thread release", async () => {
    const { shared, events, threadId, runId, run } = await staleWorker(6);
    // A's graph completes on its own; its first conditional write — the terminal snapshot — matches nothing.
    expect(await run.done).toMatchObject({ status: "fenced" });
    expect(events.emitted.some((e) => e.name === "end")).toBe(false);
    const record = await shared.runs.get(runId);
    expect(record).toMatchObject({ ...ownerB, status: "running", ended_at: null });
    expect(record?.end_seq ?? null).toBeNull();
    // The slot is still held for the run, by its new owner: A's release, had it been tried, matches nothing.
    expect(await shared.threads.get(threadId)).toMatchObject({ active_run_id: runId, status: "busy" });
    expect(await shared.threads.release(threadId, runId, ownerA, { status: "idle" })).toBe(false);
    expect(await shared.runs.update(runId, ownerA, { status: "success" })).toBe(false);
    expect(await shared.runs.renewLease(runId, ownerA, LEASE_MS)).toBe(false);
  });
});
