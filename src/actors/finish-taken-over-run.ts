import { RunbusError } from "../errors.js";
import type { RunnableGraph } from "../graph/registry.js";
import { readThreadState, type ThreadState } from "../graph/thread-state.js";
import { isHeldRun, type RunRecord } from "../ports.js";
import type { EndEvent } from "../protocol/events.js";
import { leaseLeavesRoomToWrite } from "./lease.js";
import { nextAuditSeq, storedStatus, storedTransitions } from "./machine-snapshot.js";
import type { RunActorDeps } from "./run-actor.js";

/**
 * Finishes a run whose worker died after storing its outcome, before it had written its `end`,
 * released its thread or cleared its lease (DESIGN §7). Each step first looks whether it was done:
 * `end` (sent in one batch with the terminal audit record) is written unless the stream already
 * reaches the stored `end_seq`; the thread is released if the run still holds it; then the lease
 * is cleared. A worker that dies in the middle of this leaves the rest to the next one.
 */
export async function finishTakenOverRun(deps: RunActorDeps, record: RunRecord, graph: RunnableGraph, leaseMs: number): Promise<void> {
  const { run_id: runId, thread_id: threadId } = record;
  const status = record.status;
  if (!isHeldRun(record) || status === "pending" || status === "running" || status === "rolling_back") {
    throw new RunbusError("invalid_state", `Run ${runId} is ${status}, not a run that ended and is still finishing.`);
  }
  const owner = { worker_id: deps.workerId, attempt: record.attempt };
  let leaseUntil = record.lease_until;
  const lapsed = () => new RunbusError("lease_lost", `Run ${runId}: this worker's lease lapsed at ${leaseUntil?.toISOString()} while finishing it.`);
  // Before each write the lease is renewed, while it leaves room to write as the run actor's
  // Kafka records do (reading the thread's state can take much of a lease on a loaded server);
  // past that, or taken over meanwhile, the next worker finishes the run.
  const keepLease = async () => {
    if (leaseUntil === null) return;
    const now = deps.clock.now();
    if (!leaseLeavesRoomToWrite(leaseUntil, leaseMs, now)) throw lapsed();
    if (!(await deps.runs.renewLease(runId, owner, leaseMs))) throw lapsed();
    leaseUntil = new Date(now.getTime() + leaseMs);
  };
  let state: ThreadState | undefined;
  try {
    state = await readThreadState(graph, threadId);
  } catch {
    // Only the title and the thread's status after an interrupt depend on it.
  }

  await deps.events.open(runId);
  const next = await deps.events.nextSeq(runId);
  const endSeq = record.end_seq ?? null;
  if (endSeq !== null && next <= endSeq) {
    await keepLease();
    const interrupts = status === "success" ? (state?.interrupts ?? []) : [];
    const end: EndEvent = { status, ...(record.error ? { error: record.error } : {}), ...(interrupts.length > 0 ? { interrupts } : {}) };
    const at = deps.clock.now().toISOString();
    // One turn, one batch, as the worker that died would have sent them.
    await Promise.all([
      deps.events.emit({ run_id: runId, thread_id: threadId, seq: next, name: "end", data: end, at }),
      deps.audit.record({ kind: "run", id: runId, thread_id: threadId, from: storedStatus(record.machine), to: status, cause: "finished_after_worker_loss", at, worker_id: deps.workerId, seq: nextAuditSeq(storedTransitions(record.machine)) }),
    ]);
  }
  const thread = await deps.threads.get(threadId);
  if (thread?.active_run_id === runId) {
    await keepLease();
    await deps.threads.release(threadId, runId, owner, { runStatus: status, hasNext: state?.hasNext ?? false, title: state?.title ?? null });
  } else {
    // Released by the worker that died, which may not have published the release.
    await deps.threads.republishRelease(threadId, runId);
  }
  await keepLease();
  if (!(await deps.runs.update(runId, owner, { lease_until: null }))) throw lapsed();
  deps.logger.info({ run_id: runId, thread_id: threadId, status, endWritten: endSeq !== null && next <= endSeq }, "finished a run whose worker stopped while finishing it");
}
