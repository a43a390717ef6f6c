import type { RunnableConfig } from "@langchain/core/runnables";
import {
  emptyCheckpoint,
  type BaseCheckpointSaver,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { RunbusError, messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import { rekeyPendingWrites, type TaskIdSource } from "./task-rekey.js";

export type { TaskIdSource } from "./task-rekey.js";

/** The latest root checkpoint of a thread as it was before a run, deep-copied. */
export interface CapturedCheckpoint {
  checkpoint_ns: string;
  checkpoint: Checkpoint;
  metadata: CheckpointMetadata;
  /** `[taskId, channel, value]` */
  pending_writes: CheckpointPendingWrite[];
  /**
   * The parent of the captured checkpoint, if it had one. The restored copy gets the same parent,
   * so channels that LangGraph rebuilds from ancestor writes (DeltaChannel) come back as they were.
   */
  parent_checkpoint_id?: string;
}

/** What the run actor captured before the graph started. */
export type PreRunSnapshot =
  | { kind: "captured"; captured: CapturedCheckpoint }
  | { kind: "empty" }
  | { kind: "unavailable"; reason: string };

export type RestoreOutcome =
  | { action: "skipped"; reason: string }
  | { action: "deleted" }
  | { action: "restored"; checkpointId: string };

function rootConfig(threadId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: "" } };
}

/**
 * Reads the latest root checkpoint of the thread before a run starts. Never throws: when there is
 * no checkpointer or reading fails, rollback for the run is disabled rather than guessed.
 */
export async function capturePreRunCheckpoint(
  saver: BaseCheckpointSaver | undefined,
  threadId: string,
  logger?: Logger,
): Promise<PreRunSnapshot> {
  if (saver === undefined) return { kind: "unavailable", reason: "The graph has no checkpointer." };
  try {
    const tuple = await saver.getTuple(rootConfig(threadId));
    if (tuple === undefined) return { kind: "empty" };
    if (tuple.metadata === undefined) {
      throw new Error(`the checkpointer returned checkpoint ${tuple.checkpoint.id} without its metadata`);
    }
    const parent: unknown = tuple.parentConfig?.configurable?.checkpoint_id;
    const captured: CapturedCheckpoint = {
      checkpoint_ns: String(tuple.config.configurable?.checkpoint_ns ?? ""),
      ...(await copyThroughSerde(saver, {
        checkpoint: tuple.checkpoint,
        metadata: tuple.metadata,
        pending_writes: tuple.pendingWrites ?? [],
      })),
      ...(typeof parent === "string" && parent !== "" ? { parent_checkpoint_id: parent } : {}),
    };
    return { kind: "captured", captured };
  } catch (error) {
    const reason = `Reading the latest checkpoint of thread '${threadId}' failed: ${messageOf(error)}`;
    logger?.warn({ thread_id: threadId, err: error }, `${reason} Rollback is disabled for this run.`);
    return { kind: "unavailable", reason };
  }
}

/**
 * A deep copy made by the saver's own serializer, so the values are exactly what the saver would
 * load (LangChain messages stay BaseMessage instances; structuredClone would flatten them).
 */
async function copyThroughSerde<T>(saver: BaseCheckpointSaver, value: T): Promise<T> {
  const [type, bytes] = await saver.serde.dumpsTyped(value);
  return (await saver.serde.loadsTyped(type, bytes)) as T;
}

/**
 * Puts the thread back to how `capturePreRunCheckpoint` found it, after a cancelled run:
 * skips when nothing usable was captured, deletes the thread when it had no checkpoint, and
 * otherwise writes the captured checkpoint again as the latest one, with its pending writes.
 * Given the run's graph, the writes move to the task ids LangGraph derives for the restored
 * checkpoint (see `rekeyPendingWrites`), so finished tasks stay done and interrupts stay pending;
 * without it they keep the captured task ids. Fails with `rollback_failed`.
 */
export async function restorePreRunCheckpoint(
  saver: BaseCheckpointSaver | undefined,
  threadId: string,
  snapshot: PreRunSnapshot,
  logger?: Logger,
  graph?: TaskIdSource,
): Promise<RestoreOutcome> {
  if (snapshot.kind === "unavailable" || saver === undefined) {
    const reason = snapshot.kind === "unavailable" ? snapshot.reason : "The graph has no checkpointer.";
    logger?.warn({ thread_id: threadId, reason }, `Rollback of thread '${threadId}' skipped: ${reason}`);
    return { action: "skipped", reason };
  }

  if (snapshot.kind === "empty") {
    await saverCall(threadId, "deleting its checkpoints", () => saver.deleteThread(threadId));
    logger?.info({ thread_id: threadId }, `Rollback of thread '${threadId}' deleted the checkpoints of the cancelled run.`);
    return { action: "deleted" };
  }

  const { captured } = snapshot;
  // Checked before anything is written, so a bad snapshot leaves the thread untouched.
  groupWritesByTask(threadId, captured.pending_writes);
  const checkpointNs = captured.checkpoint_ns;

  const fresh = emptyCheckpoint();
  const latest = await saverCall(threadId, "reading its latest checkpoint", () =>
    saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: checkpointNs } }),
  );
  // Checkpoint ids are time-ordered (uuid6). Had a host whose clock runs ahead written the cancelled
  // run, the fresh id would sort before that run's checkpoints and the restore would not be the latest.
  if (latest !== undefined && latest.checkpoint.id >= fresh.id) {
    throw new RunbusError(
      "rollback_failed",
      `Rollback of thread '${threadId}' failed: the new checkpoint id ${fresh.id} does not sort after ` +
        `the latest checkpoint id ${latest.checkpoint.id}.`,
    );
  }

  const checkpoint: Checkpoint = { ...captured.checkpoint, id: fresh.id, ts: fresh.ts };
  // The parent is the captured checkpoint's own parent, not the cancelled run's last checkpoint:
  // LangGraph rebuilds DeltaChannel values by replaying the writes of every ancestor, so a parent
  // inside the cancelled run would replay that run's writes into the restored state. The
  // cancelled run's checkpoints stay in the history as an abandoned branch.
  const parentConfig: RunnableConfig = {
    configurable: {
      thread_id: threadId,
      checkpoint_ns: checkpointNs,
      ...(captured.parent_checkpoint_id === undefined ? {} : { checkpoint_id: captured.parent_checkpoint_id }),
    },
  };
  const written = await saverCall(threadId, "writing the restored checkpoint", () =>
    saver.put(parentConfig, checkpoint, captured.metadata, { ...checkpoint.channel_versions }),
  );
  const checkpointId: unknown = written.configurable?.checkpoint_id;
  if (typeof checkpointId !== "string" || checkpointId === "") {
    throw new RunbusError(
      "rollback_failed",
      `Rollback of thread '${threadId}' failed: the checkpointer returned no checkpoint_id for the restored checkpoint.`,
    );
  }

  const restoredConfig: RunnableConfig = {
    configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: checkpointId },
  };
  const pendingWrites =
    graph === undefined
      ? captured.pending_writes
      : await rekeyedWrites(graph, { threadId, checkpointNs, oldCheckpointId: captured.checkpoint.id, newCheckpointId: checkpointId }, captured.pending_writes, logger);
  for (const [taskId, writes] of groupWritesByTask(threadId, pendingWrites)) {
    await saverCall(threadId, `re-attaching the pending writes of task '${taskId}'`, () =>
      saver.putWrites(restoredConfig, writes, taskId),
    );
  }
  logger?.info(
    { threadId, checkpointId, replacedCheckpointId: captured.checkpoint.id },
    `Rollback of thread '${threadId}' restored its pre-run checkpoint as ${checkpointId}.`,
  );
  return { action: "restored", checkpointId };
}

/**
 * The captured writes under the restored checkpoint's task ids. Writes no task matches keep their
 * ids, logged; if the graph cannot plan the tasks, all of them do, as without a graph.
 */
async function rekeyedWrites(
  graph: TaskIdSource,
  target: Parameters<typeof rekeyPendingWrites>[1],
  writes: CheckpointPendingWrite[],
  logger: Logger | undefined,
): Promise<CheckpointPendingWrite[]> {
  const { threadId } = target;
  let rekeyed;
  try {
    rekeyed = await rekeyPendingWrites(graph, target, writes);
  } catch (error) {
    logger?.warn(
      { threadId, err: error },
      `Rollback of thread '${threadId}' keeps the captured task ids of its pending writes: planning the restored ` +
        `checkpoint's tasks failed (${messageOf(error)}). Finished tasks may run again and interrupts may not show.`,
    );
    return writes;
  }
  if (rekeyed.unmatched.length > 0) {
    logger?.warn(
      { threadId, taskIds: rekeyed.unmatched },
      `Rollback of thread '${threadId}' keeps the captured ids of pending writes that match no task of the restored ` +
        `checkpoint: ${rekeyed.unmatched.join(", ")}.`,
    );
  }
  if (rekeyed.staleInterrupts.length > 0) {
    logger?.warn(
      { threadId, interruptIds: rekeyed.staleInterrupts },
      `Rollback of thread '${threadId}' could not derive the restored ids of interrupts ${rekeyed.staleInterrupts.join(", ")}; ` +
        `a resume naming them will not reach them.`,
    );
  }
  logger?.debug({ thread_id: threadId, tasks: Object.fromEntries(rekeyed.tasks) }, `Rollback of thread '${threadId}' moved pending writes to the restored task ids.`);
  return rekeyed.writes;
}

/** The writes per task id, in first-seen order; throws on the first malformed write. */
function groupWritesByTask(threadId: string, writes: readonly unknown[]): Map<string, PendingWrite[]> {
  const byTask = new Map<string, PendingWrite[]>();
  writes.forEach((write, index) => {
    const problem = malformation(write);
    if (problem !== undefined) {
      throw new RunbusError(
        "rollback_failed",
        `Rollback of thread '${threadId}' failed: pending write ${index} is malformed: ${problem}.`,
      );
    }
    const [taskId, channel, value] = write as CheckpointPendingWrite;
    const group = byTask.get(taskId);
    if (group === undefined) byTask.set(taskId, [[channel, value]]);
    else group.push([channel, value]);
  });
  return byTask;
}

function malformation(write: unknown): string | undefined {
  if (!Array.isArray(write)) return `expected a [taskId, channel, value] tuple, got ${describe(write)}`;
  if (write.length !== 3) return `expected a [taskId, channel, value] tuple, got an array of length ${write.length}`;
  if (typeof write[0] !== "string") return `its task id is ${describe(write[0])}, not a string`;
  if (typeof write[1] !== "string") return `its channel is ${describe(write[1])}, not a string`;
  return undefined;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Runs one saver operation of a restore, turning its failure into `rollback_failed`. */
async function saverCall<T>(threadId: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    // Restoring again is safe: each attempt writes a fresh checkpoint that supersedes the last.
    throw new RunbusError("rollback_failed", `Rollback of thread '${threadId}' failed while ${what}: ${messageOf(error)}`, {
      retryable: true,
      cause: error,
    });
  }
}
