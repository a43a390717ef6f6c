import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it, vi } from "vitest";
import { LeaseEndings } from "../../../src/actors/lease-endings.js";
import { silentLogger } from "../../../src/logger.js";
import { systemClock } from "../../../src/ports.js";
import { Runtime, memoryAdapters } from "../../../src/runtime.js";
import { MemoryRunStore } from "../../../src/adapters/memory/run-store.js";
import { allRunsDone, lifecycleGraphs, newId } from "../../helpers/runtime.js";
import { pendingRun } from "../../contract/run-store.contract.js";

const LEASE_MS = 60_000;

function leasedRuntime() {
  const adapters = memoryAdapters();
  const runtime = new Runtime({ graphs: lifecycleGraphs(), checkpointer: new MemorySaver(), adapters, workerId: "worker-a", leaseMs: LEASE_MS });
  return { adapters, runtime, endLeases: vi.spyOn(adapters.runs, "endLeases") };
}

async function runToEnd(runtime: Runtime, threadId: string): Promise<string> {
  const reply = await runtime.submit({ type: "run.create", thread_id: threadId, graph_id: "echo", input: { messages: [{ role: "human", content: "hi" }] } });
  expect(reply).toMatchObject({ accepted: true, disposition: "started" });
  await allRunsDone(runtime);
  return reply.run_id!;
}

describe("the leases of finished runs end in batches (DESIGN §7)", () => {
  it("a finished run stays held (finishing) until its batch; many runs' leases end in one write", async () => {
    const { adapters, runtime, endLeases } = leasedRuntime();
    const runIds = await Promise.all([1, 2, 3].map(() => runToEnd(runtime, newId("thread"))));
    for (const runId of runIds) expect((await adapters.runs.get(runId))?.lease_until).not.toBeNull();
    expect(endLeases).not.toHaveBeenCalled();

    await runtime.supervisor.drain(0);
    expect(endLeases).toHaveBeenCalledTimes(1);
    expect(endLeases.mock.calls[0]![0].map((run) => run.run_id).sort()).toEqual([...runIds].sort());
    for (const runId of runIds) expect((await adapters.runs.get(runId))?.lease_until).toBeNull();
  });

  it("a run deleted right after its end is deleted, not refused as still finishing", async () => {
    const { adapters, runtime, endLeases } = leasedRuntime();
    const threadId = newId("thread");
    const other = await runToEnd(runtime, newId("thread"));
    const runId = await runToEnd(runtime, threadId);
    expect(await runtime.submit({ type: "run.delete", thread_id: threadId, run_id: runId })).toMatchObject({ accepted: true });
    expect(await adapters.runs.get(runId)).toBeUndefined();
    // Only the thread's own leases were ended: the other thread's run waits for its batch.
    expect(endLeases.mock.calls.flatMap(([runs]) => runs.map((run) => run.run_id))).toEqual([runId]);
    expect((await adapters.runs.get(other))?.lease_until).not.toBeNull();
  });

  it("a thread deleted right after its run's end is deleted at once", async () => {
    const { adapters, runtime } = leasedRuntime();
    const threadId = newId("thread");
    await runToEnd(runtime, threadId);
    const started = Date.now();
    expect(await runtime.submit({ type: "thread.delete", thread_id: threadId })).toMatchObject({ accepted: true });
    expect(Date.now() - started).toBeLessThan(LEASE_MS / 4);
    expect(await adapters.threads.get(threadId)).toBeUndefined();
  });

  it("ends the leases of a batch that failed with the next one, as long as they hold", async () => {
    const runs = new MemoryRunStore();
    const thread = newId("thread");
    const owner = { worker_id: "w1", attempt: 1 };
    await runs.create(pendingRun("r1", thread, new Date(), { status: "success", ...owner, end_seq: 3, lease_until: new Date(Date.now() + LEASE_MS) }));
    const endings = new LeaseEndings({ runs, clock: systemClock, logger: silentLogger() }, LEASE_MS);
    const endLeases = vi.spyOn(runs, "endLeases").mockRejectedValueOnce(new Error("database unreachable"));
    endings.add("r1", thread, owner);
    await endings.flush();
    expect(endings.size).toBe(1);
    expect((await runs.get("r1"))?.lease_until).not.toBeNull();
    await endings.flush();
    expect(endLeases).toHaveBeenCalledTimes(2);
    expect(endings.size).toBe(0);
    expect((await runs.get("r1"))?.lease_until).toBeNull();
    endings.stop();
  });
});
