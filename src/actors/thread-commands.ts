import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { RunbusError } from "../errors.js";
import { isHeldRun, threadBelongsTo, type Clock, type RunStore } from "../ports.js";
import type { ThreadCreateCommand, ThreadDeleteCommand, ThreadUpdateCommand } from "../protocol/commands.js";
import type { Reply } from "../protocol/replies.js";
import { isTerminalRunStatus } from "../protocol/run-status.js";
import type { LeaseEndings } from "./lease-endings.js";
import type { ThreadStoreActor } from "./thread-store-actor.js";

/** How long a thread delete waits for its runs to stop, by default: a run's worker may have to lose its lease first. */
export const DEFAULT_THREAD_DELETE_WAIT_MS = 60_000;
const SETTLE_POLL_MS = 100;

export interface ThreadCommandDeps {
  threads: ThreadStoreActor;
  runs: Pick<RunStore, "listByThread" | "deleteByThread">;
  checkpointer?: BaseCheckpointSaver;
  guard?: { forget(threadId: string): void };
  clock: Clock;
  /** How long a thread delete waits for the thread's runs to stop before it gives up. */
  threadDeleteWaitMs?: number;
  /** Cancels the thread's live runs wherever they execute, through the durable path. */
  cancelThreadRuns(threadId: string): Promise<void>;
  /** Finished runs' leases waiting for their end here (see LeaseEndings). */
  leaseEndings?: Pick<LeaseEndings, "flush">;
}

/**
 * The thread commands (create, update, delete). The supervisor calls them inside the thread's
 * admission, as it admits the thread's runs, so none interleaves with a run's admission.
 */
export async function createThread(deps: Pick<ThreadCommandDeps, "threads">, command: ThreadCreateCommand): Promise<Reply> {
  const { thread, created } = await deps.threads.ensure(command.thread_id, command.metadata ?? {}, command.owner);
  // Another identity's thread is never handed over, not even under do_nothing.
  if (!created && (command.if_exists !== "do_nothing" || !threadBelongsTo(thread, command.owner))) {
    throw new RunbusError("thread_exists", `Thread ${command.thread_id} already exists.`);
  }
  return { command_id: command.command_id ?? null, thread_id: command.thread_id, accepted: true };
}

export async function updateThread(deps: Pick<ThreadCommandDeps, "threads">, command: ThreadUpdateCommand): Promise<Reply> {
  await deps.threads.updateMetadata(command.thread_id, command.metadata);
  return { command_id: command.command_id ?? null, thread_id: command.thread_id, accepted: true };
}

/**
 * Deletes a thread, its runs and its checkpoints. Its live runs — on any worker — are cancelled
 * through the durable path first, and the delete waits (bounded) until every one has ended in
 * its record and the slot is free: checkpoints removed while a graph still writes would come back.
 */
export async function deleteThread(deps: ThreadCommandDeps, command: ThreadDeleteCommand): Promise<Reply> {
  const threadId = command.thread_id;
  const thread = await deps.threads.get(threadId);
  if (!thread) throw new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
  if (thread.active_run_id !== null && !command.force) {
    throw new RunbusError("thread_busy", `Thread ${threadId} is busy with run ${thread.active_run_id}; delete it with force to override.`);
  }
  await deps.cancelThreadRuns(threadId);
  await settled(deps, threadId);
  // Left first: once the thread is gone, a create of the same id must find it.
  await deps.threads.leaveTombstone(threadId);
  await deps.threads.delete(threadId, { force: true });
  await deps.runs.deleteByThread(threadId);
  await deps.checkpointer?.deleteThread(threadId);
  deps.guard?.forget(threadId);
  return { command_id: command.command_id ?? null, thread_id: threadId, accepted: true };
}

/** Waits until the thread's slot is free and none of its runs is live or still finishing. */
async function settled(deps: ThreadCommandDeps, threadId: string): Promise<void> {
  const deadline = deps.clock.now().getTime() + (deps.threadDeleteWaitMs ?? DEFAULT_THREAD_DELETE_WAIT_MS);
  // A run that finished here may still wait for its lease's end (LeaseEndings).
  await deps.leaseEndings?.flush(threadId);
  for (;;) {
    const thread = await deps.threads.get(threadId);
    const unsettled = (await deps.runs.listByThread(threadId)).filter((run) => !isTerminalRunStatus(run.status) || isHeldRun(run));
    if ((thread?.active_run_id ?? null) === null && unsettled.length === 0) return;
    if (deps.clock.now().getTime() >= deadline) {
      const waiting = unsettled.map((run) => `${run.run_id} (${run.status})`).join(", ") || `the slot held by ${thread?.active_run_id}`;
      throw new RunbusError("thread_busy", `Thread ${threadId} was not deleted: ${waiting} did not stop in time; try again.`, { retryable: true });
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}
