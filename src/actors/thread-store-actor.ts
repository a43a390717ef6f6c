import { transition } from "xstate";
import { RunbusError, messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import { threadMachine, threadOutcome } from "../machines/thread.machine.js";
import type { AuditSink, Clock, ThreadQuery, ThreadRecord, ThreadStore } from "../ports.js";
import type { RunStatus, ThreadStatus } from "../protocol/run-status.js";
import { KeyedSerializer } from "./keyed-serializer.js";

export interface ThreadStoreActorDeps {
  store: ThreadStore;
  audit: AuditSink;
  clock: Clock;
  logger: Logger;
  workerId: string;
}

export interface RunEnding {
  runStatus: RunStatus;
  /** The latest checkpoint has pending tasks (`next` non-empty): the graph paused. */
  hasNext: boolean;
  /** `channel_values.title` of the latest root checkpoint, when present. */
  title: string | null;
}

/**
 * The single writer of thread state. Updates to one thread run one at a time; the active-run
 * slot is the store's conditional update, so it also holds across workers. Every status change
 * goes through the thread machine and onto the audit topic.
 */
export class ThreadStoreActor {
  private readonly serial = new KeyedSerializer();
  private readonly auditSeq = new Map<string, number>();

  constructor(private readonly deps: ThreadStoreActorDeps) {}

  get(threadId: string): Promise<ThreadRecord | undefined> {
    return this.deps.store.get(threadId);
  }

  list(query?: ThreadQuery): Promise<ThreadRecord[]> {
    return this.deps.store.list(query);
  }

  ensure(threadId: string, metadata: Record<string, unknown> = {}): Promise<{ thread: ThreadRecord; created: boolean }> {
    return this.serial.run(threadId, async () => {
      const result = await this.deps.store.create(threadId, metadata);
      if (result.created) await this.publish(threadId, null, "idle", "created");
      return result;
    });
  }

  updateMetadata(threadId: string, metadata: Record<string, unknown>): Promise<ThreadRecord> {
    return this.serial.run(threadId, async () => {
      const thread = await this.require(threadId);
      const updated = await this.deps.store.update(threadId, { metadata: { ...thread.metadata, ...metadata } });
      if (!updated) throw notFound(threadId);
      return updated;
    });
  }

  /** Deletes the thread document; refused while a run holds it unless forced. */
  delete(threadId: string, options: { force?: boolean } = {}): Promise<ThreadRecord> {
    return this.serial.run(threadId, async () => {
      const thread = await this.require(threadId);
      if (thread.active_run_id !== null && !options.force) {
        throw new RunbusError("thread_busy", `Thread ${threadId} is busy with run ${thread.active_run_id}; delete it with force to override.`);
      }
      await this.deps.store.delete(threadId);
      return thread;
    });
  }

  /** Takes the active-run slot for `runId`; false when another run holds it. */
  claim(threadId: string, runId: string): Promise<boolean> {
    return this.serial.run(threadId, async () => {
      const before = await this.require(threadId);
      if (before.active_run_id !== null) return before.active_run_id === runId;
      const won = await this.deps.store.claim(threadId, runId);
      if (won) await this.publish(threadId, before.status, "busy", `claimed:${runId}`);
      return won;
    });
  }

  /**
   * Publishes the claim of a thread `runId` holds again (same `ce_id`): the worker that claimed it
   * may have died between storing the claim and publishing it. For a worker taking the run over.
   */
  reannounceClaim(threadId: string, runId: string): Promise<void> {
    return this.serial.run(threadId, async () => {
      const thread = await this.deps.store.get(threadId);
      if (thread?.active_run_id !== runId) return;
      await this.publish(threadId, null, thread.status, `claimed:${runId}`);
    });
  }

  /** Frees the slot held by `runId` and sets the thread's status and title from how the run ended. */
  release(threadId: string, runId: string, ending: RunEnding): Promise<ThreadStatus | undefined> {
    return this.serial.run(threadId, async () => {
      const before = await this.deps.store.get(threadId);
      if (!before || before.active_run_id !== runId) {
        this.deps.logger.warn({ threadId, runId, holder: before?.active_run_id ?? null }, "release by a run that does not hold the thread");
        return undefined;
      }
      const current = threadMachine.resolveState({ value: before.status, context: { threadId, activeRunId: before.active_run_id } });
      const [next] = transition(threadMachine, current, { type: "RELEASE", runId, outcome: threadOutcome(ending.runStatus, ending.hasNext) });
      const status = next.value as ThreadStatus;
      const patch = ending.title === null ? { status } : { status, display_name: ending.title };
      if (!(await this.deps.store.release(threadId, runId, patch))) return undefined;
      await this.publish(threadId, before.status, status, `released:${runId}:${ending.runStatus}`);
      return status;
    });
  }

  private async require(threadId: string): Promise<ThreadRecord> {
    const thread = await this.deps.store.get(threadId);
    if (!thread) throw notFound(threadId);
    return thread;
  }

  private async publish(threadId: string, from: ThreadStatus | null, to: ThreadStatus, cause: string): Promise<void> {
    const seq = this.auditSeq.get(threadId) ?? 0;
    this.auditSeq.set(threadId, seq + 1);
    try {
      await this.deps.audit.record({
        kind: "thread",
        id: threadId,
        thread_id: threadId,
        from,
        to,
        cause,
        at: this.deps.clock.now().toISOString(),
        worker_id: this.deps.workerId,
        seq,
      });
    } catch (error) {
      this.deps.logger.error({ threadId, from, to, err: messageOf(error) }, "could not record a thread transition");
    }
  }
}

function notFound(threadId: string): RunbusError {
  return new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
}
