import { MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { LeaseKeeper } from "../../../src/actors/lease-keeper.js";
import { silentLogger } from "../../../src/logger.js";
import { systemClock } from "../../../src/ports.js";
import type { MemoryEventLog } from "../../../src/adapters/memory/event-log.js";
import { isComplete, validateRunPath } from "../../../src/machines/run-path.js";
import type { RunEvent } from "../../../src/protocol/events.js";
import { Runtime, memoryAdapters } from "../../../src/runtime.js";
import { UNLIMITED_STEPS, lifecycleGraphs, newId, quickSlowGraph } from "../../helpers/runtime.js";
import { distinctTransitions, transitionId } from "../../../src/protocol/audit.js";
import { pendingRun } from "../../contract/run-store.contract.js";

const LEASE_MS = 1200;

/** Two workers over one set of stores, one event log and one checkpointer, as over Kafka and MongoDB. */
function cluster(options: { onWorkerLoss?: "resume" | "fail" } = {}) {
  const adapters = memoryAdapters();
  const checkpointer = new MemorySaver();
  const graphs = lifecycleGraphs({ steps: quickSlowGraph(12, 100) });
  const worker = (workerId: string) =>
    new Runtime({ graphs, checkpointer, adapters, workerId, leaseMs: LEASE_MS, ...(options.onWorkerLoss ? { onWorkerLoss: options.onWorkerLoss } : {}) });
  const b = worker("worker-b");
  // Worker A renews nothing, as a worker that died; B is alive and keeps the runs it takes over,
  // however slow the machine is (a 1.2 s lease lapses quickly under load).
  const keeper = new LeaseKeeper({ runs: adapters.runs, clock: systemClock, logger: silentLogger(), workerId: "worker-b", hosted: () => b.supervisor.activeRuns.values() }, LEASE_MS);
  keeper.start();
  keepers.push(keeper);
  return { adapters, checkpointer, a: worker("worker-a"), b };
}

const keepers: LeaseKeeper[] = [];
afterEach(() => {
  for (const keeper of keepers.splice(0)) keeper.stop();
});

async function collect(events: MemoryEventLog, runId: string): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of events.read(runId)) all.push(event);
  return all;
}

/** Keeps sweeping on worker B until it has taken a run over (its lease has to expire first). */
async function takeOverWhenExpired(runtime: Runtime): Promise<void> {
  await expect.poll(() => runtime.supervisor.takeOverExpired(), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
}

describe("takeover after a worker loss (DESIGN §7)", () => {
  it("resumes the run from its last checkpoint with attempt 2, continuing the seq on the same stream", async () => {
    const { adapters, checkpointer, a, b } = cluster();
    const threadId = newId("thread");
    const reply = await a.submit({ type: "run.create", thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
    const runId = reply.run_id!;
    // Worker A renews nothing: it stops emitting once its lease lapses, like a worker that died.
    await takeOverWhenExpired(b);

    const events = await collect(adapters.events, runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const metadata = events.filter((e) => e.name === "metadata").map((e) => e.data);
    expect(metadata).toEqual([
      { run_id: runId, thread_id: threadId, attempt: 1 },
      { run_id: runId, thread_id: threadId, attempt: 2 },
    ]);
    expect(events.at(-1)).toMatchObject({ name: "end", data: { status: "success" } });
    expect(events.filter((e) => e.name === "end")).toHaveLength(1);

    // The graph went on from where attempt 1 stopped: every step ran once, to the last.
    const latest = await checkpointer.getTuple({ configurable: { thread_id: threadId } });
    expect(latest?.checkpoint.channel_values).toMatchObject({ step: 12 });
    const ticks = (latest?.checkpoint.channel_values.messages as Array<{ content: string }>).map((m) => m.content);
    expect(ticks).toEqual(Array.from({ length: 12 }, (_, i) => `tick ${i + 1}`));

    const path = distinctTransitions(adapters.audit.list({ kind: "run", id: runId }));
    expect(path.map((t) => t.to)).toEqual(["pending", "running", "success"]);
    expect(validateRunPath(path.map((t) => t.to))).toEqual({ valid: true });
    expect(isComplete(path.map((t) => t.to))).toBe(true);
    expect(path.at(-1)?.worker_id).toBe("worker-b");
    // B published the transition A had stored last again, unchanged (the same ce_id), since A
    // might have died before publishing it; B's own seqs go on after A's.
    const raw = adapters.audit.list({ kind: "run", id: runId });
    expect(raw.map(transitionId)).toEqual(["run:" + runId + ":worker-a:0", "run:" + runId + ":worker-a:1", "run:" + runId + ":worker-a:1", "run:" + runId + ":worker-b:2"]);
    expect(await adapters.runs.get(runId)).toMatchObject({ status: "success", attempt: 2, worker_id: "worker-b" });
    expect(await adapters.threads.get(threadId)).toMatchObject({ status: "idle", active_run_id: null });
  });

  it("ends the run error with RUNBUS_ON_WORKER_LOSS=fail, and frees the thread", async () => {
    const { adapters, a, b } = cluster({ onWorkerLoss: "fail" });
    const threadId = newId("thread");
    const reply = await a.submit({ type: "run.create", thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
    await takeOverWhenExpired(b);

    const events = await collect(adapters.events, reply.run_id!);
    expect(events.at(-1)?.data).toEqual({
      status: "error",
      error: { name: "WorkerLost", message: expect.stringContaining("RUNBUS_ON_WORKER_LOSS=fail") },
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const path = distinctTransitions(adapters.audit.list({ kind: "run", id: reply.run_id! })).map((t) => t.to);
    expect(path).toEqual(["pending", "running", "error"]);
    expect(validateRunPath(path)).toEqual({ valid: true });
    expect(await adapters.threads.get(threadId)).toMatchObject({ status: "error", active_run_id: null });
  });

  it("starts an adopted run that had claimed its thread when its worker died before starting it", async () => {
    const { adapters, a, b } = cluster();
    const threadId = newId("thread");
    const runId = newId("run");
    // As if worker A died between claiming the thread and starting the run: the record is still
    // pending, leased to A, and the thread's slot is held by the run.
    const reply = await a.submit({ type: "run.create", thread_id: threadId, graph_id: "echo", run_id: runId, input: { messages: [] }, after_seconds: 3600 });
    expect(reply.disposition).toBe("scheduled");
    const ownerA = { worker_id: "worker-a", attempt: 1 };
    expect(await adapters.runs.update(runId, ownerA, { not_before: null })).toBe(true);
    expect(await adapters.threads.claim(threadId, runId, ownerA)).toBe(true);
    await takeOverWhenExpired(b);

    const events = await collect(adapters.events, runId);
    expect(events.at(-1)?.data).toEqual({ status: "success" });
    expect(distinctTransitions(adapters.audit.list({ kind: "run", id: runId })).map((t) => t.to)).toEqual(["pending", "running", "success"]);
    expect(await adapters.threads.get(threadId)).toMatchObject({ status: "idle", active_run_id: null });
  });

  it("adopts the dead worker's queued runs, which run after the resumed one, in order", async () => {
    const { adapters, a, b } = cluster();
    const threadId = newId("thread");
    const first = await a.submit({ type: "run.create", thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
    const second = await a.submit({ type: "run.create", thread_id: threadId, graph_id: "echo", input: { messages: [] }, multitask_strategy: "enqueue" });
    expect(second.disposition).toBe("queued");
    await expect.poll(() => b.supervisor.takeOverExpired(), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
    // The queued run's lease lapses a little later: keep sweeping until B has taken it over too.
    await expect
      .poll(
        async () => {
          await b.supervisor.takeOverExpired();
          return (await adapters.runs.get(second.run_id!))?.worker_id;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe("worker-b");

    const firstEvents = await collect(adapters.events, first.run_id!);
    const secondEvents = await collect(adapters.events, second.run_id!);
    expect(firstEvents.at(-1)?.data).toEqual({ status: "success" });
    expect(secondEvents.at(-1)?.data).toEqual({ status: "success" });
    // The queued run announced itself once: adoption is not a new attempt.
    expect(secondEvents.filter((e) => e.name === "metadata")).toHaveLength(1);
    const secondPath = distinctTransitions(adapters.audit.list({ kind: "run", id: second.run_id! })).map((t) => t.to);
    expect(secondPath).toEqual(["pending", "running", "success"]);
    const firstEnd = distinctTransitions(adapters.audit.list({ kind: "run", id: first.run_id! })).at(-1)!;
    const secondStart = distinctTransitions(adapters.audit.list({ kind: "run", id: second.run_id! })).find((t) => t.to === "running")!;
    expect(Date.parse(secondStart.at)).toBeGreaterThanOrEqual(Date.parse(firstEnd.at));
  });
  it("finishes a run whose worker died after storing its outcome: writes its end, releases the thread, clears the lease", async () => {
    const { adapters, b } = cluster();
    const threadId = newId("thread");
    const runId = newId("run");
    const died = new Date(Date.now() - 10 * LEASE_MS);
    await adapters.threads.create(threadId, {});
    await adapters.runs.create(
      pendingRun(runId, threadId, died, {
        graph_id: "echo",
        status: "interrupted",
        attempt: 1,
        worker_id: "worker-a",
        lease_until: died,
        ended_at: died,
        end_seq: 1,
      }),
    );
    expect(await adapters.threads.claim(threadId, runId, { worker_id: "worker-a", attempt: 1 })).toBe(true);
    await adapters.events.open(runId);
    await adapters.events.emit({ run_id: runId, thread_id: threadId, seq: 0, name: "metadata", data: { run_id: runId, thread_id: threadId, attempt: 1 }, at: died.toISOString() });

    expect(await b.supervisor.takeOverExpired()).toBe(1);

    const events = await collect(adapters.events, runId);
    expect(events.map((e) => [e.seq, e.name])).toEqual([
      [0, "metadata"],
      [1, "end"],
    ]);
    expect(events[1]?.data).toEqual({ status: "interrupted" });
    expect(adapters.audit.list({ kind: "run", id: runId }).map((t) => [t.to, t.cause, t.worker_id])).toEqual([["interrupted", "finished_after_worker_loss", "worker-b"]]);
    expect(await adapters.threads.get(threadId)).toMatchObject({ active_run_id: null });
    expect(await adapters.runs.get(runId)).toMatchObject({ status: "interrupted", lease_until: null, worker_id: "worker-b" });
    // Finished for good: nothing is left to take over.
    expect(await b.supervisor.takeOverExpired()).toBe(0);
  });
});
